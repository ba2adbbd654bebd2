"""Compliance reports: the report page and one CSV export per table."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, render_template, request
from sqlalchemy import select

from hub import spreadsheet
from hub.auth import role_required
from hub.compliance import present, reports
from hub.db import get_session
from hub.engagement.present import platform_names
from hub.models import Team, utcnow

bp = Blueprint("reports", __name__, url_prefix="/reports")


def _form_context() -> dict[str, Any]:
    return {
        "presets": reports.PRESETS,
        "platforms": platform_names(),
        "teams": get_session().scalars(select(Team).order_by(Team.name)).all(),
        "args": request.args,
    }


@bp.route("/")
@role_required("compliance")
def index() -> Any:
    session = get_session()
    try:
        f = reports.parse_filter(request.args, utcnow().date())
    except reports.ReportInputError as exc:
        return render_template(
            "compliance/reports/index.html", errors=exc.messages, f=None, **_form_context()
        ), 400
    tables = reports.build_report(session, f)
    return render_template(
        "compliance/reports/index.html",
        errors=[],
        f=f,
        t=tables,
        chart=present.trend_chart(tables["trend"]),
        summaries=reports.recent_summaries(session),
        item_url=reports.item_url_builder(current_app),
        fmt=reports.format_cell,
        verdicts=reports.VERDICTS,
        **_form_context(),
    )


@role_required("compliance")
def export(table: str) -> Any:
    """One report table as a CSV download named after the period."""
    try:
        f = reports.parse_filter(request.args, utcnow().date())
    except reports.ReportInputError as exc:
        abort(400, " ".join(exc.messages))
    body = reports.table_csv(reports.TABLES[table](get_session(), f))
    filename = f"kestrel-{table.replace('_', '-')}-{f.label}.csv"
    return spreadsheet.download(body, filename)


# One literal route per table (not /<table>.csv) so each export is its own row in the role
# matrix and an unknown table is a plain 404.
for _name in reports.TABLES:
    bp.add_url_rule(
        f"/{_name}.csv", endpoint=f"csv_{_name}", view_func=export, defaults={"table": _name}
    )
