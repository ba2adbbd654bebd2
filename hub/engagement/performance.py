"""Performance that staff can see: each person's and each team's figures over a period.

A period is whole UTC days, both ends included (``hub.compliance.reports.ReportFilter``), and
every figure counts what happened inside it:

- **replies sent**: the person's replies (outbound items of kind "reply") whose ``sent_at``, the
  time the platform accepted them, is in the period.
- **first responses**: those replies that were their mention's first response. The sender sets
  ``Mention.first_response_at`` to the first sent reply's ``sent_at``, so a reply is the first
  response exactly when the two times are equal.
- **first-response time** (median, p90): ``first_response_at - received_at`` (when the hub
  received the mention) of each first response. Percentiles are nearest-rank: the value at rank
  ceil(p·n) of the sorted times, as the compliance reports' review times.
- **SLA met %**: of the first responses whose mention has a deadline (``first_response_due_at``,
  set by routing at ingest), the share sent at or before the deadline. A mention nobody has
  answered has no first response, so it is in no one's figure until it is answered.
- **closed, time to close** (median, p90): mentions whose last move to "closed" within the period
  (the audit log's ``mention.moved`` events) the person made; the time runs from ``received_at``
  to that move, reopenings included. Closes the hub made by itself count for no one.
- **mentions handled**: distinct mentions the person sent a reply to, or closed, in the period.
- **checked, held, blocked, held or blocked %**: the person's reply submissions the culture check
  judged in the period (policy decisions of kind "reply"; a compliance officer's edit of the
  reply is checked again under the author's name, and those checks are left out). Held means the
  verdict "review" (it waited for compliance), blocked the verdict "block"; the share is
  (held + blocked) / checked.

A team's figures pool those of its people as the team is now (home team or an extra team):
counts add up, percentiles are taken over the pooled times, and a mention two members handled
counts once.

Counts of checks are aggregated by the database; replies and closes come back one row each (only
the period's, through the indexes of migration 0008) because the percentiles need every time,
and SQLite has no percentile aggregate. Python arithmetic on the same rows gives the same numbers
on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, union
from sqlalchemy.orm import Session

from hub.compliance.reports import ReportFilter, Table
from hub.errors import Forbidden
from hub.i18n import gettext as _
from hub.models import (
    AuditEvent,
    Mention,
    MentionStatus,
    OutboundItem,
    PolicyDecision,
    ReviewAction,
    Staff,
    StaffTeam,
    Team,
)

#: the audit action of a mention's status change (hub.engagement.moderation)
MOVED = "mention.moved"
#: the trend chart's series: first responses in time and late, and every other reply sent
SERIES = ("in_time", "late", "other")
#: people shown on a leaderboard
BOARD_SIZE = 10


def nearest_rank(values: list[float]) -> tuple[float | None, float | None]:
    """(median, p90) of ``values`` by nearest rank: the sorted value at rank ceil(p·n)."""
    if not values:
        return None, None
    ordered = sorted(values)
    n = len(ordered)
    return ordered[(n + 1) // 2 - 1], ordered[(9 * n + 9) // 10 - 1]


def _pct(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


@dataclass
class _Tally:
    """What one person (or, pooled, one team) did in the period, before it is summarised."""

    handled: set[int] = field(default_factory=set)
    replies: int = 0
    first_times: list[float] = field(default_factory=list)
    with_deadline: int = 0
    in_time: int = 0
    close_times: list[float] = field(default_factory=list)
    checked: int = 0
    held: int = 0
    blocked: int = 0

    def add(self, other: _Tally) -> None:
        self.handled |= other.handled
        self.replies += other.replies
        self.first_times += other.first_times
        self.with_deadline += other.with_deadline
        self.in_time += other.in_time
        self.close_times += other.close_times
        self.checked += other.checked
        self.held += other.held
        self.blocked += other.blocked


@dataclass(frozen=True)
class Figures:
    """One person's or team's figures for a period (times in seconds; see the module doc)."""

    mentions_handled: int
    replies_sent: int
    first_responses: int
    frt_median: float | None
    frt_p90: float | None
    #: first responses whose mention had a deadline, and how many met it
    with_deadline: int
    sla_met: int
    closed: int
    close_median: float | None
    close_p90: float | None
    checked: int
    held: int
    blocked: int

    @property
    def sla_met_pct(self) -> float | None:
        return _pct(self.sla_met, self.with_deadline)

    @property
    def held_or_blocked_pct(self) -> float | None:
        return _pct(self.held + self.blocked, self.checked)

    @classmethod
    def of(cls, t: _Tally) -> Figures:
        frt_median, frt_p90 = nearest_rank(t.first_times)
        close_median, close_p90 = nearest_rank(t.close_times)
        return cls(
            mentions_handled=len(t.handled),
            replies_sent=t.replies,
            first_responses=len(t.first_times),
            frt_median=frt_median,
            frt_p90=frt_p90,
            with_deadline=t.with_deadline,
            sla_met=t.in_time,
            closed=len(t.close_times),
            close_median=close_median,
            close_p90=close_p90,
            checked=t.checked,
            held=t.held,
            blocked=t.blocked,
        )


# --- who sees whom ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Scope:
    """Whose figures a viewer may see: ``None`` means everyone (every team)."""

    viewer_id: int
    people: frozenset[int] | None
    teams: frozenset[int] | None

    def sees_person(self, staff_id: int) -> bool:
        return self.people is None or staff_id in self.people

    def sees_team(self, team_id: int) -> bool:
        return self.teams is None or team_id in self.teams

    @property
    def leads(self) -> bool:
        """True when the viewer sees more than their own figures."""
        return self.teams is None or bool(self.teams)


def team_members(session: Session, team_ids: Collection[int] | None) -> dict[int, set[int]]:
    """Each team's people as it is now: home team (``Staff.team_id``) and extra teams."""
    home = select(Staff.team_id, Staff.id).where(Staff.team_id.is_not(None))
    extra = select(StaffTeam.team_id, StaffTeam.staff_id)
    if team_ids is not None:
        home = home.where(Staff.team_id.in_(team_ids))
        extra = extra.where(StaffTeam.team_id.in_(team_ids))
    members: dict[int, set[int]] = {t: set() for t in team_ids or ()}
    result: Any = session.execute(union(home, extra))
    for team_id, staff_id in result:
        members.setdefault(int(team_id), set()).add(int(staff_id))
    return members


def scope_for(session: Session, viewer: Staff) -> Scope:
    """Managers and admins see everyone; a team lead (``Team.lead_id``) sees the people of the
    teams they lead; everyone sees their own figures."""
    if viewer.has_role("manager"):
        return Scope(viewer.id, None, None)
    led = frozenset(session.scalars(select(Team.id).where(Team.lead_id == viewer.id)))
    people = {viewer.id}
    for members in team_members(session, led).values():
        people |= members
    return Scope(viewer.id, frozenset(people), led)


@dataclass(frozen=True)
class Selection:
    """The people and teams one page (or CSV) shows, already checked against the scope."""

    people: list[Staff]
    teams: list[Team]
    members: dict[int, set[int]]
    #: the one person or team asked for, if any
    person_id: int | None = None
    team_id: int | None = None
    #: everyone's figures (a manager's default view): read without a list of people
    everyone: bool = False


def select_view(
    session: Session, scope: Scope, person_id: int | None, team_id: int | None
) -> Selection:
    """What the viewer asked for (one person, one team, or all they may see), or Forbidden."""
    if person_id is not None:
        person = session.get(Staff, person_id)
        if person is None or not scope.sees_person(person_id):
            raise Forbidden(_("You can see your own figures and those of the teams you lead."))
        return Selection([person], [], {}, person_id=person_id)
    if team_id is not None:
        team = session.get(Team, team_id)
        if team is None or not scope.sees_team(team_id):
            raise Forbidden(_("You can see the figures of the teams you lead only."))
        members = team_members(session, [team_id])
        people = _staff(session, members[team_id])
        return Selection(people, [team], members, team_id=team_id)
    team_ids = None if scope.teams is None else sorted(scope.teams)
    members = team_members(session, team_ids)
    team_q = select(Team).order_by(Team.name)
    if team_ids is not None:
        team_q = team_q.where(Team.id.in_(team_ids))
    teams = list(session.scalars(team_q))
    if scope.people is None:
        people = list(session.scalars(select(Staff).order_by(Staff.name, Staff.id)))
    else:
        people = _staff(session, scope.people)
    return Selection(people, teams, members, everyone=scope.people is None)


def _staff(session: Session, ids: Iterable[int]) -> list[Staff]:
    wanted = sorted(set(ids))
    if not wanted:
        return []
    return list(
        session.scalars(select(Staff).where(Staff.id.in_(wanted)).order_by(Staff.name, Staff.id))
    )


# --- the figures -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Everyone's tallies for one period, and the per-day counts of the trend chart."""

    tallies: dict[int, _Tally]
    #: day -> person -> [first responses in time, late, other replies]
    days: dict[str, dict[int, list[int]]]

    def person(self, staff_id: int) -> Figures:
        return Figures.of(self.tallies.get(staff_id, _Tally()))

    def pooled(self, staff_ids: Iterable[int]) -> Figures:
        total = _Tally()
        for staff_id in staff_ids:
            if staff_id in self.tallies:
                total.add(self.tallies[staff_id])
        return Figures.of(total)


def _seconds(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds()


def collect(session: Session, f: ReportFilter, people: Collection[int] | None) -> Period:
    """Read the period's replies, closes and checks of ``people`` (None: everyone)."""
    tallies: dict[int, _Tally] = {}
    days: dict[str, dict[int, list[int]]] = {}

    def tally(staff_id: int) -> _Tally:
        return tallies.setdefault(staff_id, _Tally())

    replies = (
        select(
            OutboundItem.author_id,
            OutboundItem.mention_id,
            OutboundItem.sent_at,
            Mention.received_at,
            Mention.first_response_at,
            Mention.first_response_due_at,
        )
        .join(Mention, Mention.id == OutboundItem.mention_id, isouter=True)
        .where(
            OutboundItem.kind == "reply",
            OutboundItem.sent_at >= f.start_at,
            OutboundItem.sent_at < f.end_at,
        )
    )
    if people is not None:
        replies = replies.where(OutboundItem.author_id.in_(people))
    for author, mention_id, sent_at, received_at, first_at, due_at in session.execute(replies):
        assert sent_at is not None  # the WHERE bounds it
        t = tally(author)
        t.replies += 1
        series = 2
        if mention_id is not None:
            t.handled.add(mention_id)
            if first_at is not None and first_at == sent_at:
                t.first_times.append(_seconds(received_at, first_at))
                if due_at is not None:
                    t.with_deadline += 1
                    met = first_at <= due_at
                    t.in_time += met
                    series = 0 if met else 1
        day = days.setdefault(sent_at.date().isoformat(), {})
        day.setdefault(author, [0, 0, 0])[series] += 1

    ev = AuditEvent
    last_close = (
        select(
            ev.subject_id.label("mention_id"),
            ev.actor_id.label("actor_id"),
            ev.at.label("at"),
            func.row_number()
            .over(partition_by=ev.subject_id, order_by=(ev.at.desc(), ev.id.desc()))
            .label("rn"),
        )
        .where(
            ev.action == MOVED,
            ev.at >= f.start_at,
            ev.at < f.end_at,
            ev.subject_type == "mention",
            ev.data["status_to"].as_string() == MentionStatus.CLOSED.value,
        )
        .subquery()
    )
    closes = (
        select(last_close.c.actor_id, last_close.c.mention_id, last_close.c.at, Mention.received_at)
        .join(Mention, Mention.id == last_close.c.mention_id)
        .where(last_close.c.rn == 1, last_close.c.actor_id.is_not(None))
    )
    if people is not None:
        closes = closes.where(last_close.c.actor_id.in_(people))
    for actor, mention_id, at, received_at in session.execute(closes):
        t = tally(actor)
        t.handled.add(int(mention_id))
        t.close_times.append(_seconds(received_at, at))

    # an edit's action is recorded with (just after) its decision, so none before the period
    edits = select(ReviewAction.decision_id).where(
        ReviewAction.at >= f.start_at, ReviewAction.decision_id.is_not(None)
    )
    checks = (
        select(
            PolicyDecision.author_id,
            func.count(),
            func.count().filter(PolicyDecision.verdict == "review"),
            func.count().filter(PolicyDecision.verdict == "block"),
        )
        .where(
            PolicyDecision.created_at >= f.start_at,
            PolicyDecision.created_at < f.end_at,
            PolicyDecision.kind == "reply",
            PolicyDecision.id.not_in(edits),
        )
        .group_by(PolicyDecision.author_id)
    )
    if people is not None:
        checks = checks.where(PolicyDecision.author_id.in_(people))
    for author, n, held, blocked in session.execute(checks):
        t = tally(author)
        t.checked, t.held, t.blocked = int(n), int(held), int(blocked)
    return Period(tallies, days)


# --- tables (what the page shows and the CSVs hold) ------------------------------------------


def _minutes(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 60.0, 1)


def _hours(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 3600.0, 1)


def _figure_columns() -> tuple[str, ...]:
    return (
        _("mentions handled"),
        _("replies sent"),
        _("first responses"),
        _("first response, median (min)"),
        _("first response, p90 (min)"),
        _("SLA met %"),
        _("closed"),
        _("time to close, median (h)"),
        _("time to close, p90 (h)"),
        _("replies checked"),
        _("held"),
        _("blocked"),
        _("held or blocked %"),
    )


def _figure_cells(g: Figures) -> tuple[Any, ...]:
    return (
        g.mentions_handled,
        g.replies_sent,
        g.first_responses,
        _minutes(g.frt_median),
        _minutes(g.frt_p90),
        g.sla_met_pct,
        g.closed,
        _hours(g.close_median),
        _hours(g.close_p90),
        g.checked,
        g.held,
        g.blocked,
        g.held_or_blocked_pct,
    )


def people_table(period: Period, people: list[Staff]) -> Table:
    """One row per person, by name; ``extras`` carry each person's id (for links)."""
    rows = [(p.name, *_figure_cells(period.person(p.id))) for p in people]
    return Table(
        "people",
        _("People"),
        (_("person"), *_figure_columns()),
        rows,
        [{"id": p.id, "figures": period.person(p.id)} for p in people],
    )


def teams_table(period: Period, teams: list[Team], members: Mapping[int, set[int]]) -> Table:
    """One row per team, its people's figures pooled."""
    figures = [period.pooled(members.get(t.id, set())) for t in teams]
    rows = [
        (t.name, len(members.get(t.id, ())), *_figure_cells(g))
        for t, g in zip(teams, figures, strict=True)
    ]
    return Table(
        "teams",
        _("Teams"),
        (_("team"), _("people"), *_figure_columns()),
        rows,
        [{"id": t.id, "figures": g} for t, g in zip(teams, figures, strict=True)],
    )


def days_table(period: Period, f: ReportFilter, people: Iterable[int]) -> Table:
    """Replies sent per UTC day by the shown people, split by first response in time, late,
    and every other reply (follow-ups, and first responses to mentions without a deadline)."""
    wanted = set(people)
    rows = []
    for i in range(f.days):
        key = (f.start + timedelta(days=i)).isoformat()
        cells = [0, 0, 0]
        for staff_id, counts in period.days.get(key, {}).items():
            if staff_id in wanted:
                cells = [a + b for a, b in zip(cells, counts, strict=True)]
        rows.append((key, *cells, sum(cells)))
    return Table(
        "days",
        _("Replies per day"),
        (
            _("day"),
            _("first responses in time"),
            _("first responses late"),
            _("other replies"),
            _("replies sent"),
        ),
        rows,
    )


#: the page's tables by the name in their CSV url
TABLES = ("people", "teams", "days")


def build_tables(session: Session, f: ReportFilter, sel: Selection) -> dict[str, Table]:
    """Every table of the performance page for one selection."""
    ids = [p.id for p in sel.people]
    for members in sel.members.values():
        ids += members
    period = collect(session, f, None if sel.everyone else sorted(set(ids)))
    # people who have left are listed only for a period they did something in
    people = [p for p in sel.people if p.active or p.id in period.tallies]
    return {
        "people": people_table(period, people),
        "teams": teams_table(period, sel.teams, sel.members),
        "days": days_table(period, f, [p.id for p in sel.people]),
    }


# --- the leaderboard -------------------------------------------------------------------------


@dataclass(frozen=True)
class Board:
    """One ranking: (rank, name, value as shown) rows, best first; equal values share a rank."""

    key: str
    title: str
    rows: list[tuple[int, str, str]]


def rank_rows(items: list[tuple[str, Any, str]], best_first: bool) -> list[tuple[int, str, str]]:
    """Competition ranking (1, 1, 3) by value, then by name."""
    if best_first:
        ordered = sorted(items, key=lambda i: (-i[1], i[0]))
    else:
        ordered = sorted(items, key=lambda i: (i[1], i[0]))
    rows: list[tuple[int, str, str]] = []
    for pos, (name, value, shown) in enumerate(ordered[:BOARD_SIZE], start=1):
        rank = rows[-1][0] if rows and ordered[pos - 2][1] == value else pos
        rows.append((rank, name, shown))
    return rows


def leaderboard(period: Period, people: list[Staff]) -> list[Board]:
    """Rankings by replies sent (most first), median first-response time (fastest first) and
    SLA met % (highest first); people with nothing to rank are left off a board."""
    figs = [(p.name, period.person(p.id)) for p in people if p.active]
    replies = [(n, g.replies_sent, str(g.replies_sent)) for n, g in figs if g.replies_sent]
    frt = [
        (n, g.frt_median, _("%(minutes).1f min", minutes=g.frt_median / 60.0))
        for n, g in figs
        if g.frt_median is not None
    ]
    sla = [
        (n, g.sla_met_pct, f"{g.sla_met_pct:.1f}%") for n, g in figs if g.sla_met_pct is not None
    ]
    return [
        Board("replies", _("Replies sent"), rank_rows(replies, best_first=True)),
        Board("frt", _("First response, median"), rank_rows(frt, best_first=False)),
        Board("sla", _("SLA met"), rank_rows(sla, best_first=True)),
    ]


def board_teams(session: Session, scope: Scope) -> list[Team]:
    """The teams whose leaderboard the viewer may open (led teams; every team for managers)."""
    q = select(Team).order_by(Team.name)
    if scope.teams is not None:
        q = q.where(Team.id.in_(sorted(scope.teams)))
    return list(session.scalars(q))
