"""Performance: each person's figures, their team's for a lead, everyone's for managers; a CSV
per table and a leaderboard a lead can put on a screen."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, abort, render_template, request, url_for
from flask_login import current_user

from hub import spreadsheet
from hub.auth import role_required
from hub.compliance import reports
from hub.compliance.present import trend_chart
from hub.db import get_session
from hub.engagement import performance
from hub.engagement.present import bar_chart
from hub.errors import Forbidden
from hub.i18n import gettext as _
from hub.ids import parse_id
from hub.models import utcnow

bp = Blueprint("performance", __name__, url_prefix="/performance")

#: the leaderboard's period when none is asked for
BOARD_DAYS = "7"
#: seconds between the leaderboard's reloads (a <meta> refresh: the CSP allows no inline script)
BOARD_REFRESH = 60


def _period_args(args: Mapping[str, str], default_days: str | None = None) -> dict[str, str]:
    """The period and team arguments (a platform filter means nothing here)."""
    kept = {k: v for k, v in args.items() if k in ("days", "from", "to", "team")}
    if default_days and not (kept.get("days") or kept.get("from") or kept.get("to")):
        kept["days"] = default_days
    return kept


def _parse(args: Mapping[str, str], default_days: str | None = None) -> tuple[Any, int | None]:
    """The period filter and the person asked for; ReportInputError lists every problem."""
    errors: list[str] = []
    try:
        f = reports.parse_filter(_period_args(args, default_days), utcnow().date())
    except reports.ReportInputError as exc:
        errors += exc.messages
        f = None
    raw = (args.get("person") or "").strip()
    person = parse_id(raw) if raw else None
    if raw and person is None:
        errors.append(_("'person' must be a person's id."))
    if errors:
        raise reports.ReportInputError(errors)
    return f, person


def _query_args(f: reports.ReportFilter, person: int | None) -> dict[str, str]:
    args = f.query_args()
    if person is not None:
        args["person"] = str(person)
    return args


def _period_only(f: reports.ReportFilter) -> dict[str, Any]:
    if f.preset:
        return {"days": f.preset}
    return {"from": f.start.isoformat(), "to": f.end.isoformat()}


@bp.route("/")
@role_required("employee", "manager", "compliance")
def index() -> Any:
    session = get_session()
    scope = performance.scope_for(session, current_user)
    context: dict[str, Any] = {"presets": reports.PRESETS, "args": request.args, "scope": scope}
    try:
        f, person = _parse(request.args)
    except reports.ReportInputError as exc:
        return render_template(
            "engagement/performance/index.html", errors=exc.messages, f=None, **context
        ), 400
    sel = performance.select_view(session, scope, person, f.team_id)
    tables = performance.build_tables(session, f, sel)
    people_chart = bar_chart(
        [(row[0], row[2]) for row in tables["people"].rows],
        _("Replies sent per person in the period; the table has every number."),
    )
    team_chart = bar_chart(
        [(row[0], row[7]) for row in tables["teams"].rows],
        _("SLA met % per team in the period; the table has every number."),
        unit="%",
    )
    days_chart = trend_chart(tables["days"], series=performance.SERIES, what=_("Replies sent"))
    return render_template(
        "engagement/performance/index.html",
        errors=[],
        f=f,
        sel=sel,
        t=tables,
        people_chart=people_chart,
        team_chart=team_chart,
        days_chart=days_chart,
        series=performance.SERIES,
        qargs=_query_args(f, person),
        person_links=[
            url_for(".index", person=x["id"], **_period_only(f)) for x in tables["people"].extras
        ],
        fmt=reports.format_cell,
        teams=performance.board_teams(session, scope),
        **context,
    )


@role_required("employee", "manager", "compliance")
def export(table: str) -> Any:
    """One table of the page as a CSV download (the same scope rules as the page)."""
    session = get_session()
    try:
        f, person = _parse(request.args)
    except reports.ReportInputError as exc:
        abort(400, " ".join(exc.messages))
    sel = performance.select_view(
        session, performance.scope_for(session, current_user), person, f.team_id
    )
    body = reports.table_csv(performance.build_tables(session, f, sel)[table])
    filename = f"kestrel-performance-{table}-{f.label}.csv"
    return spreadsheet.download(body, filename)


# One literal route per table, as the policy reports do: each export is its own role-matrix row.
for _name in performance.TABLES:
    bp.add_url_rule(
        f"/{_name}.csv", endpoint=f"csv_{_name}", view_func=export, defaults={"table": _name}
    )


@bp.route("/leaderboard")
@role_required("employee", "manager")
def leaderboard() -> Any:
    """A team's people ranked, in large type, reloading itself: for a screen on the wall."""
    session = get_session()
    scope = performance.scope_for(session, current_user)
    if not scope.leads:
        raise Forbidden(_("The leaderboard is for team leads and community managers."))
    try:
        f, _person = _parse(request.args, default_days=BOARD_DAYS)
    except reports.ReportInputError as exc:
        abort(400, " ".join(exc.messages))
    teams = performance.board_teams(session, scope)
    team_id = f.team_id if f.team_id is not None else (teams[0].id if teams else None)
    boards: list[performance.Board] = []
    team = None
    if team_id is not None:
        sel = performance.select_view(session, scope, None, team_id)
        team = sel.teams[0]
        period = performance.collect(session, f, [p.id for p in sel.people])
        boards = performance.leaderboard(period, sel.people)
    return render_template(
        "engagement/performance/leaderboard.html",
        f=f,
        team=team,
        teams=teams,
        boards=boards,
        refresh=BOARD_REFRESH,
        presets=reports.PRESETS,
    )
