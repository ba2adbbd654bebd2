"""Compliance reports: policy decisions, findings, content mix and review work over a period.

The decision and finding counts (verdicts, employees, teams, platforms, the trend per day,
guidelines, top findings) and the content mix are sums over the rollups of
hub.compliance.rollups, kept as decisions and posts are written; the rest (time in review,
overrides, example drafts) are SQL over the raw rows of the period, limited and indexed. Python
only pivots the few aggregated rows. The same ``Table`` feeds the page, the CSV export and the
daily summary, so they cannot disagree.

Periods are whole UTC days, ``start`` and ``end`` both included, so the rollups cover them
exactly: whole months at month grain, the days around them at day grain, never part of a day.
Inside ``raw_queries(session)`` the counts come from the raw decisions instead, as before the
rollups: the reference the tests compare with, and the benchmark's baseline.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from fractions import Fraction
from typing import Any

from flask import Flask, url_for
from sqlalchemy import ColumnElement, Select, and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from hub.compliance.packs import active_pack
from hub.compliance.rollups import month_after
from hub.db import job_session
from hub.errors import UserError
from hub.i18n import _, format_percent, label
from hub.ids import parse_id
from hub.models import (
    DailySummary,
    DecisionFinding,
    DecisionRollup,
    FindingRollup,
    MixRollup,
    OutboundItem,
    OutboundState,
    PolicyDecision,
    ReviewAction,
    Staff,
    Team,
    VerdictRollup,
    utcnow,
)
from hub.publishing.compose import MIX_COUNTED_STATES
from hub.spreadsheet import SafeWriter

VERDICTS = ("allow", "warn", "review", "block")
PRESETS = (7, 30, 90)
DEFAULT_DAYS = 30
#: longest period a report may span (a bigger one is almost certainly a typo in the year)
MAX_DAYS = 3 * 366
TOP_FINDINGS = 10
EXAMPLES_PER_FINDING = 3
EXAMPLE_CHARS = 120
OVERRIDES_SHOWN = 500
SUMMARY_DAYS = 14
_PLATFORM_RE = re.compile(r"[a-z0-9_-]{1,20}")
_DATE_RE = re.compile(r"\d{4}-\d{2}-\d{2}")


class ReportInputError(UserError):
    """The request's period or filters are unusable; ``messages`` says every reason."""

    status = 400

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


@dataclass(frozen=True)
class ReportFilter:
    """A report's period (whole UTC days, both included) and optional platform/team filters."""

    start: date
    end: date
    platform: str | None = None
    team_id: int | None = None
    #: the preset the period came from (7/30/90), None for explicit dates
    preset: int | None = None

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time.min, UTC)

    @property
    def end_at(self) -> datetime:
        """The first instant after the period (exclusive bound)."""
        return datetime.combine(self.end + timedelta(days=1), time.min, UTC)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def label(self) -> str:
        """The period in file names: ``2026-01-01_2026-01-30``."""
        return f"{self.start.isoformat()}_{self.end.isoformat()}"

    def query_args(self) -> dict[str, str]:
        """The request arguments that reproduce this filter (for links and CSV exports)."""
        args = {"from": self.start.isoformat(), "to": self.end.isoformat()}
        if self.platform:
            args["platform"] = self.platform
        if self.team_id is not None:
            args["team"] = str(self.team_id)
        return args


def _parse_date(text: str, name: str, errors: list[str]) -> date | None:
    if not _DATE_RE.fullmatch(text):
        errors.append(
            _(
                "'%(field)s' must be a date written YYYY-MM-DD (got '%(value)s').",
                field=name,
                value=text[:20],
            )
        )
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        errors.append(_("'%(field)s' is not a real date: %(value)s.", field=name, value=text))
        return None


def parse_filter(args: Mapping[str, str], today: date) -> ReportFilter:
    """Read ``from``/``to`` or ``days`` (7, 30, 90; default 30), ``platform`` and ``team``.

    Collects every problem and raises ReportInputError with all of them.
    """
    errors: list[str] = []
    raw_from = (args.get("from") or "").strip()
    raw_to = (args.get("to") or "").strip()
    raw_days = (args.get("days") or "").strip()
    preset: int | None = None
    start = end = None
    if raw_from or raw_to:
        end = _parse_date(raw_to, "to", errors) if raw_to else today
        if raw_from:
            start = _parse_date(raw_from, "from", errors)
        elif end is not None:
            start = end - timedelta(days=DEFAULT_DAYS - 1)
        if start and end and start > end:
            errors.append(
                _("The period starts (%(start)s) after it ends (%(end)s).", start=start, end=end)
            )
        elif start and end and (end - start).days + 1 > MAX_DAYS:
            errors.append(_("A report covers at most %(max)s days.", max=MAX_DAYS))
    else:
        if raw_days and raw_days not in {str(p) for p in PRESETS}:
            errors.append(
                _("'days' must be one of %(choices)s.", choices=", ".join(map(str, PRESETS)))
            )
        preset = next((p for p in PRESETS if str(p) == raw_days), DEFAULT_DAYS)
        end = today
        start = today - timedelta(days=preset - 1)
    platform = (args.get("platform") or "").strip() or None
    if platform is not None and not _PLATFORM_RE.fullmatch(platform):
        errors.append(_("'platform' must be a platform name such as x, bluesky or sandbox."))
    raw_team = (args.get("team") or "").strip()
    team_id = None
    if raw_team:
        team_id = parse_id(raw_team)
        if team_id is None:
            errors.append(_("'team' must be a team id."))
    if errors:
        raise ReportInputError(errors)
    assert start is not None and end is not None
    return ReportFilter(start, end, platform, team_id, preset)


def parse_day(text: str) -> date:
    """A ``YYYY-MM-DD`` day for the daily summary command."""
    errors: list[str] = []
    day = _parse_date(text.strip(), "day", errors)
    if day is None:
        raise ReportInputError(errors)
    return day


@dataclass(frozen=True)
class Table:
    """One report table: what the page shows and the CSV exports, cell for cell."""

    name: str
    title: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    #: per-row extras the page shows but the CSV leaves out (e.g. an item's id for its link)
    extras: list[dict[str, Any]] = field(default_factory=list)


def format_cell(value: Any) -> str:
    """How a cell reads on the page and in the CSV (one decimal for rates and minutes)."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.1f}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _day_of(session: Session, column: Any) -> ColumnElement[str]:
    """The UTC day of a timestamp column as ``YYYY-MM-DD`` text, computed by the database."""
    if _dialect(session) == "postgresql":
        return func.to_char(func.timezone("UTC", column), "YYYY-MM-DD")
    # SQLite stores our UTC timestamps as ISO text, so the day is its first ten characters
    return func.substr(column, 1, 10)


def _seconds_between(session: Session, start: Any, end: Any) -> ColumnElement[Any]:
    if _dialect(session) == "postgresql":
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def decision_filters(f: ReportFilter) -> list[ColumnElement[bool]]:
    """The period, platform and team conditions on PolicyDecision (reports and the API)."""
    conds = [PolicyDecision.created_at >= f.start_at, PolicyDecision.created_at < f.end_at]
    conds += _dimension_filters(f)
    return conds


def _dimension_filters(
    f: ReportFilter,
    model: type[PolicyDecision]
    | type[DecisionRollup]
    | type[VerdictRollup]
    | type[FindingRollup]
    | type[MixRollup] = PolicyDecision,
) -> list[ColumnElement[bool]]:
    """Platform and team conditions on the decisions or one of their rollups (joined by the
    caller where needed; a rollup's "no team" 0 is never a filter's team, ids start at 1)."""
    conds: list[ColumnElement[bool]] = []
    if f.platform:
        conds.append(model.platform == f.platform)
    if f.team_id is not None:
        conds.append(model.team_id == f.team_id)
    return conds


def _filtered(f: ReportFilter) -> bool:
    return bool(f.platform) or f.team_id is not None


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


#: ``session.info`` flag: count from the raw decisions (see ``raw_queries``)
_RAW = "hub.compliance.reports.raw"


@contextmanager
def raw_queries(session: Session) -> Iterator[None]:
    """Inside the block, the report counts come from the raw decisions and findings, as they
    did before the rollups: the exactness reference and the benchmark's baseline."""
    session.info[_RAW] = True
    try:
        yield
    finally:
        session.info.pop(_RAW, None)


def _raw(session: Session) -> bool:
    return bool(session.info.get(_RAW))


def _grain_period(
    model: type[DecisionRollup] | type[FindingRollup] | type[MixRollup], f: ReportFilter
) -> Any:
    """Rollup rows covering the period exactly: its whole months at month grain, the days before
    and after them at day grain (all at day grain when no whole month fits)."""
    stop = f.end + timedelta(days=1)
    m0 = f.start if f.start.day == 1 else month_after(f.start)
    m1 = stop.replace(day=1)
    day, grain = model.day, model.grain
    if m0 >= m1:
        return and_(grain == "day", day >= f.start, day < stop)
    # three flat branches, each a range of the primary key (grain, day, ...): with the day
    # ranges nested under one grain the planners read every day-grain row of the table
    return or_(
        and_(grain == "month", day >= m0, day < m1),
        and_(grain == "day", day >= f.start, day < m0),
        and_(grain == "day", day >= m1, day < stop),
    )


# --- decisions -------------------------------------------------------------------------------


def _decision_cube(
    session: Session, f: ReportFilter
) -> list[tuple[int, int | None, str, str, int]]:
    """(author, team, platform, verdict, decisions) over the period: one scan for four tables.

    A few thousand groups at most (authors × their teams × platforms × verdicts), so the
    verdict, employee, team and platform tables are sums over this small result. It is kept
    in ``session.info`` for the rest of the request, so the page reads the period once: from
    ``decision_rollups`` (whole months, then days), or the raw decisions under ``raw_queries``.
    """
    key = ("hub.compliance.reports.cube", f, _raw(session))
    cached = session.info.get(key)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    if not _raw(session):
        r = DecisionRollup
        dims = (r.author_id, r.team_id, r.platform, r.verdict)
        rq = (
            select(*dims, func.sum(r.decisions))
            .where(_grain_period(r, f), *_dimension_filters(f, r))
            .group_by(*dims)
        )
        cube = [(int(a), t or None, p, v, int(n)) for a, t, p, v, n in session.execute(rq)]
        session.info[key] = cube
        return cube
    # "+ 0": SQLite would otherwise walk ix_decisions_author_time for its author order and
    # look every row up in the table; the covering report index is several times faster.
    author = (PolicyDecision.author_id + 0).label("author_id")
    q = (
        select(
            author,
            PolicyDecision.team_id,
            PolicyDecision.platform,
            PolicyDecision.verdict,
            func.count(),
        )
        .where(*decision_filters(f))
        .group_by(author, PolicyDecision.team_id, PolicyDecision.platform, PolicyDecision.verdict)
    )
    cube = [(int(a), t, p, v, int(n)) for a, t, p, v, n in session.execute(q)]
    session.info[key] = cube
    return cube


def verdict_table(session: Session, f: ReportFilter) -> Table:
    """Decisions per verdict over the period, with each verdict's share."""
    counts: dict[str, int] = {}
    for *_keys, verdict, n in _decision_cube(session, f):
        counts[verdict] = counts.get(verdict, 0) + n
    total = sum(counts.values())
    order = list(VERDICTS) + sorted(set(counts) - set(VERDICTS))
    rows = [(v, counts.get(v, 0), _pct(counts.get(v, 0), total)) for v in order]
    rows.append(("total", total, _pct(total, total)))
    return Table(
        "verdicts", _("Decisions by verdict"), (_("verdict"), _("decisions"), _("share %")), rows
    )


def guideline_table(session: Session, f: ReportFilter) -> Table:
    """Findings and distinct decisions per guideline × severity."""
    if not _raw(session):
        r = FindingRollup
        rq = (
            select(r.guideline, r.severity, func.sum(r.findings), func.sum(r.decisions))
            .where(_grain_period(r, f), *_dimension_filters(f, r))
            .group_by(r.guideline, r.severity)
        )
        return _guideline_table(session.execute(rq))
    q = select(
        DecisionFinding.guideline,
        DecisionFinding.severity,
        func.count(),
        func.count(DecisionFinding.decision_id.distinct()),
    ).where(DecisionFinding.created_at >= f.start_at, DecisionFinding.created_at < f.end_at)
    if _filtered(f):
        q = q.join(PolicyDecision, PolicyDecision.id == DecisionFinding.decision_id).where(
            *_dimension_filters(f)
        )
    q = q.group_by(DecisionFinding.guideline, DecisionFinding.severity)
    return _guideline_table(session.execute(q))


def _guideline_table(counts: Iterable[Any]) -> Table:
    rows = sorted(
        ((g, s, int(n), int(d)) for g, s, n, d in counts),
        key=lambda r: (-r[2], r[0], r[1]),
    )
    return Table(
        "guidelines",
        _("Findings by guideline"),
        (_("guideline"), _("severity"), _("findings"), _("decisions")),
        rows,
    )


def _breakdown(session: Session, f: ReportFilter, dim: int) -> list[tuple[Any, int, int, int, int]]:
    """(key, decisions, warn, review, block) per value of the cube's dimension ``dim``."""
    sums: dict[Any, list[int]] = {}
    for row in _decision_cube(session, f):
        verdict, n = row[3], row[4]
        acc = sums.setdefault(row[dim], [0, 0, 0, 0])
        acc[0] += n
        if verdict in ("warn", "review", "block"):
            acc[("warn", "review", "block").index(verdict) + 1] += n
    return [(k, *v) for k, v in sums.items()]  # type: ignore[misc]


def _breakdown_columns() -> tuple[str, ...]:
    return (_("decisions"), label("warn"), label("review"), label("block"), _("block rate %"))


def _breakdown_rows(
    counts: Iterable[tuple[Any, int, int, int, int]], names: Mapping[Any, str]
) -> list[tuple[Any, ...]]:
    rows = [(names.get(k, str(k)), n, w, r, b, _pct(b, n)) for k, n, w, r, b in counts]
    return sorted(rows, key=lambda r: (-r[1], r[0]))


def employee_table(session: Session, f: ReportFilter) -> Table:
    """Decisions and warn/review/block counts per author."""
    counts = _breakdown(session, f, 0)
    names = _staff_names(session, [c[0] for c in counts])
    return Table(
        "employees",
        _("By employee"),
        (_("employee"), *_breakdown_columns()),
        _breakdown_rows(counts, names),
    )


def team_table(session: Session, f: ReportFilter) -> Table:
    """The same counts per team (the author's team when the decision was made)."""
    counts = _breakdown(session, f, 1)
    names: dict[Any, str] = dict(session.execute(select(Team.id, Team.name)).all())
    names[None] = "(no team)"
    return Table(
        "teams", _("By team"), (_("team"), *_breakdown_columns()), _breakdown_rows(counts, names)
    )


def platform_table(session: Session, f: ReportFilter) -> Table:
    """The same counts per platform."""
    counts = _breakdown(session, f, 2)
    return Table(
        "platforms",
        _("By platform"),
        (_("platform"), *_breakdown_columns()),
        _breakdown_rows(counts, {}),
    )


def _staff_names(session: Session, ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return dict(session.execute(select(Staff.id, Staff.name).where(Staff.id.in_(wanted))).all())


def trend_table(session: Session, f: ReportFilter) -> Table:
    """Decisions per UTC day and verdict; every day of the period has a row."""
    if _raw(session):
        day: Any = _day_of(session, PolicyDecision.created_at).label("day")
        q = (
            select(day, PolicyDecision.verdict, func.count())
            .where(*decision_filters(f))
            .group_by(day, PolicyDecision.verdict)
        )
    else:
        r = VerdictRollup
        q = (
            select(r.day, r.verdict, func.sum(r.decisions))
            .where(r.day >= f.start, r.day <= f.end, *_dimension_filters(f, r))
            .group_by(r.day, r.verdict)
        )
    per_day: dict[str, dict[str, int]] = {}
    for d, verdict, n in session.execute(q):
        key = d.isoformat() if isinstance(d, date) else str(d)
        per_day.setdefault(key, {})[verdict] = int(n)
    rows = []
    for i in range(f.days):
        key = (f.start + timedelta(days=i)).isoformat()
        counts = per_day.get(key, {})
        cells = [counts.get(v, 0) for v in VERDICTS]
        rows.append((key, *cells, sum(counts.values())))
    return Table(
        "trend", _("Decisions per day"), (_("day"), *map(label, VERDICTS), _("total")), rows
    )


# --- findings --------------------------------------------------------------------------------


def _truncate(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 1] + "…"


def top_findings_table(session: Session, f: ReportFilter) -> Table:
    """The most frequent rules with up to three recent example drafts each."""
    if _raw(session):
        q = select(DecisionFinding.rule_id, DecisionFinding.guideline, func.count()).where(
            DecisionFinding.created_at >= f.start_at, DecisionFinding.created_at < f.end_at
        )
        if _filtered(f):
            q = q.join(PolicyDecision, PolicyDecision.id == DecisionFinding.decision_id).where(
                *_dimension_filters(f)
            )
        q = q.group_by(DecisionFinding.rule_id, DecisionFinding.guideline)
        q = q.order_by(func.count().desc(), DecisionFinding.rule_id).limit(TOP_FINDINGS)
    else:
        r = FindingRollup
        found = func.sum(r.findings)
        q = (
            select(r.rule_id, r.guideline, found)
            .where(_grain_period(r, f), *_dimension_filters(f, r))
            .group_by(r.rule_id, r.guideline)
            .order_by(found.desc(), r.rule_id)
            .limit(TOP_FINDINGS)
        )
    rows: list[tuple[Any, ...]] = []
    extras = []
    for rule_id, guideline, n in session.execute(q).all():
        examples = [_truncate(t) for t in _examples(session, f, rule_id)]
        padded = examples + [""] * (EXAMPLES_PER_FINDING - len(examples))
        rows.append((rule_id, guideline, int(n), *padded))
        extras.append({"examples": examples})
    columns = (_("rule"), _("guideline"), _("findings")) + tuple(
        _("example %(num)s", num=i + 1) for i in range(EXAMPLES_PER_FINDING)
    )
    return Table("top_findings", _("Top findings"), columns, rows, extras)


def _examples(session: Session, f: ReportFilter, rule_id: str) -> list[str]:
    q = (
        select(PolicyDecision.text)
        .join(DecisionFinding, DecisionFinding.decision_id == PolicyDecision.id)
        .where(
            DecisionFinding.rule_id == rule_id,
            DecisionFinding.created_at >= f.start_at,
            DecisionFinding.created_at < f.end_at,
            *_dimension_filters(f),
        )
        .order_by(DecisionFinding.created_at.desc())
        .limit(EXAMPLES_PER_FINDING)
    )
    return list(session.scalars(q))


# --- posts, review, overrides ----------------------------------------------------------------


def _item_filters(f: ReportFilter) -> list[ColumnElement[bool]]:
    """Platform/team for outbound items come from the item's latest decision (joined)."""
    return _dimension_filters(f)


def _mix_counts(session: Session, f: ReportFilter) -> Select[Any, Any, Any]:
    """Counted posts and product posts per author, created in the period: from
    ``mix_rollups`` (whole months, then days), or the raw posts under ``raw_queries``."""
    if not _raw(session):
        r = MixRollup
        return (
            select(r.author_id, func.sum(r.posts), func.sum(r.product_posts))
            .where(_grain_period(r, f), *_dimension_filters(f, r))
            .group_by(r.author_id)
        )
    return (
        select(
            OutboundItem.author_id,
            func.count(),
            func.count().filter(PolicyDecision.is_product.is_(True)),
        )
        .join(PolicyDecision, PolicyDecision.id == OutboundItem.decision_id, isouter=True)
        .where(
            OutboundItem.kind == "post",
            OutboundItem.created_at >= f.start_at,
            OutboundItem.created_at < f.end_at,
            OutboundItem.state.in_(MIX_COUNTED_STATES),
            *_item_filters(f),
        )
        .group_by(OutboundItem.author_id)
    )


def mix_table(session: Session, f: ReportFilter) -> Table:
    """Posts per employee in the period (as the content mix counts them) and the product share.

    An employee is flagged when the product share is over the active pack's limit; like the
    composer's check, exactly the limit is fine.
    """
    limit = Fraction(str(active_pack(session).mix.limit))
    counts = [(a, int(n), int(p)) for a, n, p in session.execute(_mix_counts(session, f))]
    names = _staff_names(session, [c[0] for c in counts])
    rows = [
        (
            names.get(a, str(a)),
            n,
            p,
            _pct(p, n),
            "over limit" if n and Fraction(p, n) > limit else "",
        )
        for a, n, p in counts
    ]
    rows.sort(key=lambda r: (-(r[3] or 0.0), -r[1], r[0]))
    return Table(
        "mix",
        _("Content mix per employee (limit %(limit)s product)", limit=format_percent(float(limit))),
        (_("employee"), _("posts"), _("product posts"), _("product share %"), _("flag")),
        rows,
    )


def _finished_reviews(session: Session, f: ReportFilter) -> Any:
    """(day, wait seconds) of items whose review ended in the period.

    The review ends at the item's last ReviewAction; items still in review are left out. Only
    items with an action inside the period are looked at, so the scan stays in the period.
    """
    ra = ReviewAction
    touched = select(ra.outbound_id).where(ra.at >= f.start_at, ra.at < f.end_at)
    last = (
        select(ra.outbound_id.label("oid"), func.max(ra.at).label("last_at"))
        .where(ra.outbound_id.in_(touched))
        .group_by(ra.outbound_id)
        .having(func.max(ra.at) < f.end_at)
        .subquery()
    )
    q = (
        select(
            _day_of(session, last.c.last_at).label("day"),
            _seconds_between(session, OutboundItem.review_started_at, last.c.last_at).label("wait"),
        )
        .select_from(last)
        .join(OutboundItem, OutboundItem.id == last.c.oid)
        .where(
            OutboundItem.state != OutboundState.IN_REVIEW.value,
            OutboundItem.review_started_at.is_not(None),
            last.c.last_at >= OutboundItem.review_started_at,
        )
    )
    if _filtered(f):
        q = q.join(PolicyDecision, PolicyDecision.id == OutboundItem.decision_id).where(
            *_item_filters(f)
        )
    return q.subquery()


def _nearest_rank(ordered: list[float], tenths: int) -> float:
    """The nearest-rank percentile ``tenths``/10 of sorted values: the one at rank
    ceil(tenths·n/10), counting from 1 (``statistics.quantiles`` interpolates instead)."""
    return ordered[-(-tenths * len(ordered) // 10) - 1]


def _wait_percentiles(session: Session, f: ReportFilter) -> list[tuple[str, int, float, float]]:
    """(day, count, median s, p90 s) per day, then ("all", ...), with nearest-rank percentiles.

    One scan of the period's finished reviews (far fewer than decisions), sorted by the
    database; the ranks are picked here, the same on SQLite (which has no percentile
    aggregate) and PostgreSQL.
    """
    waits = _finished_reviews(session, f)
    per_day: dict[str, list[float]] = {}
    for day, wait in session.execute(select(waits.c.day, waits.c.wait).order_by(waits.c.wait)):
        per_day.setdefault(str(day), []).append(float(wait))
    if not per_day:
        return []
    rows = [
        (day, len(w), _nearest_rank(w, 5), _nearest_rank(w, 9))
        for day, w in sorted(per_day.items())
    ]
    every = sorted(w for day_waits in per_day.values() for w in day_waits)
    rows.append(("all", len(every), _nearest_rank(every, 5), _nearest_rank(every, 9)))
    return rows


def review_time_table(session: Session, f: ReportFilter) -> Table:
    """Reviews that ended in the period: count, median and p90 wait in minutes, per day and all."""
    rows = [
        (g, n, round(m / 60.0, 1), round(p / 60.0, 1))
        for g, n, m, p in _wait_percentiles(session, f)
    ]
    return Table(
        "review_time",
        _("Time in review"),
        (_("day"), _("reviews ended"), _("median wait (min)"), _("p90 wait (min)")),
        rows,
    )


def overrides_table(session: Session, f: ReportFilter) -> Table:
    """Blocks that compliance overrode in the period, newest first."""
    reviewer = aliased(Staff)
    author = aliased(Staff)
    q = (
        select(ReviewAction.at, reviewer.name, author.name, ReviewAction.reason, OutboundItem.id)
        .join(OutboundItem, OutboundItem.id == ReviewAction.outbound_id)
        .join(reviewer, reviewer.id == ReviewAction.reviewer_id)
        .join(author, author.id == OutboundItem.author_id)
        .where(
            ReviewAction.action == "override",
            ReviewAction.at >= f.start_at,
            ReviewAction.at < f.end_at,
        )
        .order_by(ReviewAction.at.desc(), ReviewAction.id.desc())
        .limit(OVERRIDES_SHOWN)
    )
    if _filtered(f):
        q = q.join(PolicyDecision, PolicyDecision.id == OutboundItem.decision_id).where(
            *_item_filters(f)
        )
    result = session.execute(q).all()
    rows = [(at, rev, auth, reason or "", item) for at, rev, auth, reason, item in result]
    return Table(
        "overrides",
        _("Overridden blocks"),
        (_("when (UTC)"), _("reviewer"), _("author"), _("reason"), _("item")),
        rows,
        [{"item_id": r[4]} for r in rows],
    )


#: every table of the report page, by the name used in its CSV url
TABLES: dict[str, Callable[[Session, ReportFilter], Table]] = {
    "verdicts": verdict_table,
    "guidelines": guideline_table,
    "employees": employee_table,
    "teams": team_table,
    "platforms": platform_table,
    "trend": trend_table,
    "top_findings": top_findings_table,
    "mix": mix_table,
    "review_time": review_time_table,
    "overrides": overrides_table,
}


def build_report(session: Session, f: ReportFilter) -> dict[str, Table]:
    """Every table of the report page."""
    return {name: build(session, f) for name, build in TABLES.items()}


# --- presentation helpers --------------------------------------------------------------------


def table_csv(table: Table) -> str:
    """The table as CSV text with a header row, each cell as the page shows it; formula-like
    cells get a leading apostrophe (hub.spreadsheet)."""
    out = io.StringIO()
    writer = SafeWriter(out)
    writer.writerow(table.columns)
    writer.writerows([format_cell(c) for c in row] for row in table.rows)
    return out.getvalue()


def item_url_builder(app: Flask) -> Callable[[int], str | None]:
    """A function giving an outbound item's review page URL, or None if there is no such page.

    The review blueprint names its own endpoints, so look for its GET route taking one id.
    """
    found = next(
        (
            (rule.endpoint, next(iter(rule.arguments)))
            for rule in app.url_map.iter_rules()
            if rule.endpoint.startswith("review.")
            and "GET" in (rule.methods or ())
            and len(rule.arguments) == 1
            and "<id:" in rule.rule
        ),
        None,
    )
    if found is None:
        return lambda item_id: None
    endpoint, arg = found

    def build(item_id: int) -> str:
        values: dict[str, Any] = {arg: item_id}
        return url_for(endpoint, **values)

    return build


# --- daily summary ---------------------------------------------------------------------------


def summarize_day(session: Session, day: date) -> dict[str, Any]:
    """One UTC day in numbers: verdicts, top guidelines, overrides, items in review, mix."""
    f = ReportFilter(day, day)
    verdicts = {row[0]: row[1] for row in verdict_table(session, f).rows if row[0] != "total"}
    per_guideline: dict[str, int] = {}
    for guideline, _severity, n, _decisions in guideline_table(session, f).rows:
        per_guideline[guideline] = per_guideline.get(guideline, 0) + n
    top = sorted(per_guideline.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    overrides = session.scalar(
        select(func.count()).where(
            ReviewAction.action == "override",
            ReviewAction.at >= f.start_at,
            ReviewAction.at < f.end_at,
        )
    )
    posts = product = 0
    for _author, n, p in session.execute(_mix_counts(session, f)):
        posts += int(n)
        product += int(p)
    return {
        "day": day.isoformat(),
        "decisions": sum(verdicts.values()),
        "verdicts": verdicts,
        "top_guidelines": [[g, n] for g, n in top],
        "overrides": int(overrides or 0),
        "in_review": _in_review_at(session, f.end_at),
        "posts": posts,
        "product_posts": product,
        "product_share": _pct(product, posts),
    }


def _in_review_at(session: Session, at: datetime) -> int:
    """Items that had entered review before ``at`` and were not yet decided at ``at``."""
    decided_later = (
        select(ReviewAction.id)
        .where(ReviewAction.outbound_id == OutboundItem.id, ReviewAction.at >= at)
        .exists()
    )
    return int(
        session.scalar(
            select(func.count()).where(
                OutboundItem.review_started_at < at,
                (OutboundItem.state == OutboundState.IN_REVIEW.value) | decided_later,
            )
        )
        or 0
    )


def store_daily_summary(session: Session, day: date) -> DailySummary:
    """Compute and upsert the summary of ``day`` (running it again replaces the row)."""
    data = summarize_day(session, day)
    row = session.get(DailySummary, day.isoformat())
    if row is None:
        row = DailySummary(day=day.isoformat(), data=data)
        session.add(row)
    else:
        row.data = data
        row.created_at = utcnow()
    session.flush()
    return row


def run_daily_summary(app: Flask, day: date | None = None) -> None:
    """Store yesterday's summary (the scheduler runs this every day at 00:05 UTC)."""
    target = day or (utcnow().date() - timedelta(days=1))
    with job_session(app) as session:
        store_daily_summary(session, target)


def recent_summaries(session: Session, limit: int = SUMMARY_DAYS) -> list[DailySummary]:
    """The latest stored daily summaries, newest first."""
    return list(
        session.scalars(select(DailySummary).order_by(DailySummary.day.desc()).limit(limit))
    )
