"""Daily and monthly rollups of policy decisions, findings and the content mix, kept as rows are
written.

Every flush that inserts ``PolicyDecision`` or ``DecisionFinding`` rows through the ORM adds
their counts to ``decision_rollups``, ``verdict_rollups`` and ``finding_rollups`` in the same
transaction (one ``INSERT … ON CONFLICT DO UPDATE n = n + excluded.n`` per table and flush, on
SQLite and PostgreSQL alike), so a rolled-back write leaves no count behind and no writer can
forget the rollups. Writers that bypass the ORM (bulk Core inserts: the benchmark's seed) and
deletions (retention) recount with ``rebuild``; migrations 0017 and 0019 fill the tables the
same way.

Days and months are UTC, as the reports bucket them (hub.compliance.reports). Decisions and
findings are never updated in place (a new version of a draft is a new decision), so inserts
and deletions are all there is to count.

Outbound posts are different: a post enters and leaves the content mix as its state moves
(``MIX_COUNTED_STATES``) and its decision changes with each edit. So ``mix_rollups`` is kept by
difference: the counted rows of the items a write touches are read from the database just
before it and just after it, and the rollup gets after minus before. That covers flushes of
the ORM unit of work and ORM ``update()``/``delete()`` statements on ``OutboundItem`` (the
outbox's conditional moves, retention's purge); on PostgreSQL the rows read before a statement
are locked, so nothing moves them in between.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    Table,
    delete,
    event,
    inspect,
    select,
    true,
    tuple_,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import ORMExecuteState, Session

from hub.models import (
    DecisionFinding,
    DecisionRollup,
    FindingRollup,
    MixRollup,
    OutboundItem,
    PolicyDecision,
    VerdictRollup,
)
from hub.publishing.compose import MIX_COUNTED_STATES

#: rows per INSERT when writing many counts at once
_CHUNK = 5000
#: decisions per IN (...) list when looking up the decisions of new findings
_LOOKUP_CHUNK = 500

DecisionKey = tuple[str, date, int, int, str, str]
VerdictKey = tuple[date, int, str, str]
FindingKey = tuple[str, date, int, str, str, str, str]
MixKey = tuple[str, date, int, int, str]
#: an item's place in the content mix: (created_at, author, team, platform, is a product post)
MixRow = tuple[datetime, int, int | None, str | None, bool | None]
#: the item attributes a post's place in the content mix depends on (``decision``: the
#: relationship, whose foreign key the flush itself fills in)
_MIX_ATTRS = ("state", "kind", "author_id", "created_at", "decision_id", "decision")
_ITEMS = OutboundItem.__table__
#: ``session.info`` key: counted mix rows of the items a flush is about to write
_MIX_BEFORE = "hub.compliance.rollups.mix_before"


def _day(at: datetime) -> date:
    return at.astimezone(UTC).date()


def month_after(day: date) -> date:
    """The first day of the month after ``day``'s (where the next month-grain row starts)."""
    return date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _grains(day: date) -> tuple[tuple[str, date], tuple[str, date]]:
    return ("day", day), ("month", day.replace(day=1))


def _team(team_id: int | None) -> int:
    return 0 if team_id is None else team_id


class Tally:
    """Counts to add to the rollups, gathered in memory and written in one statement per table."""

    def __init__(self) -> None:
        self.decisions: Counter[DecisionKey] = Counter()
        self.verdicts: Counter[VerdictKey] = Counter()
        self.findings: Counter[FindingKey] = Counter()
        self.finding_decisions: Counter[FindingKey] = Counter()
        self.mix_posts: Counter[MixKey] = Counter()
        self.mix_products: Counter[MixKey] = Counter()

    def add_mix(self, row: MixRow, sign: int = 1) -> None:
        """Count one post into the content mix (``sign`` -1: take it out)."""
        at, author_id, team_id, platform, is_product = row
        for grain, bucket in _grains(_day(at)):
            key = (grain, bucket, author_id, _team(team_id), platform or "")
            self.mix_posts[key] += sign
            self.mix_products[key] += sign if is_product else 0

    def add_decision(
        self, author_id: int, team_id: int | None, platform: str, verdict: str, at: datetime
    ) -> None:
        """Count one decision."""
        day, team = _day(at), _team(team_id)
        for grain, bucket in _grains(day):
            self.decisions[(grain, bucket, author_id, team, platform, verdict)] += 1
        self.verdicts[(day, team, platform, verdict)] += 1

    def add_findings(
        self,
        team_id: int | None,
        platform: str,
        findings: Iterable[tuple[str, str, str, datetime]],
        counted: set[tuple[str, str]] = frozenset(),  # type: ignore[assignment]
    ) -> None:
        """Count one decision's findings ``(rule_id, guideline, severity, created_at)``.

        ``counted``: the (guideline, severity) pairs of this decision's findings counted
        before, whose decision is already counted. The decision counts once per other pair, on
        its first finding of the pair by rule id.
        """
        team = _team(team_id)
        first: dict[tuple[str, str], tuple[str, datetime]] = {}
        for rule_id, guideline, severity, at in findings:
            for grain, bucket in _grains(_day(at)):
                self.findings[(grain, bucket, team, platform, rule_id, guideline, severity)] += 1
            pair = (guideline, severity)
            if pair not in counted and (pair not in first or rule_id < first[pair][0]):
                first[pair] = (rule_id, at)
        for (guideline, severity), (rule_id, at) in first.items():
            for grain, bucket in _grains(_day(at)):
                key = (grain, bucket, team, platform, rule_id, guideline, severity)
                self.finding_decisions[key] += 1

    def write(self, conn: Connection) -> None:
        """Add the counts to the rollup tables."""
        d = DecisionRollup.__table__
        _upsert(
            conn,
            d,  # type: ignore[arg-type]
            [{**_row(d, k), "decisions": n} for k, n in self.decisions.items()],  # type: ignore[arg-type]
            ("decisions",),
        )
        v = VerdictRollup.__table__
        _upsert(
            conn,
            v,  # type: ignore[arg-type]
            [{**_row(v, k), "decisions": n} for k, n in self.verdicts.items()],  # type: ignore[arg-type]
            ("decisions",),
        )
        f = FindingRollup.__table__
        keys = set(self.findings) | set(self.finding_decisions)
        _upsert(
            conn,
            f,  # type: ignore[arg-type]
            [
                {
                    **_row(f, k),  # type: ignore[arg-type]
                    "findings": self.findings[k],
                    "decisions": self.finding_decisions[k],
                }
                for k in keys
            ],
            ("findings", "decisions"),
        )
        m = cast(Table, MixRollup.__table__)
        # only keys whose counts changed: a post that left and came back adds nothing
        changed = [k for k in self.mix_posts.keys() | self.mix_products.keys() if self._moved(k)]
        _upsert(
            conn,
            m,
            [
                {
                    **_row(m, k),
                    "posts": self.mix_posts[k],
                    "product_posts": self.mix_products[k],
                }
                for k in changed
            ],
            ("posts", "product_posts"),
        )
        # a key whose posts all left the mix goes, so live counting and a recount hold the
        # very same rows
        emptied = [k for k in changed if self.mix_posts[k] < 0]
        pk = tuple(m.primary_key.columns)
        for i in range(0, len(emptied), _LOOKUP_CHUNK):
            conn.execute(
                delete(m).where(tuple_(*pk).in_(emptied[i : i + _LOOKUP_CHUNK]), m.c.posts == 0)
            )

    def _moved(self, key: MixKey) -> bool:
        return bool(self.mix_posts[key] or self.mix_products[key])


def _row(table: Table, key: Sequence[Any]) -> dict[str, Any]:
    return dict(zip([c.name for c in table.primary_key.columns], key, strict=True))


def _upsert(
    conn: Connection, table: Table, rows: list[dict[str, Any]], counts: tuple[str, ...]
) -> None:
    """Add ``rows``' counts to ``table``: insert new keys, add to the counts of existing ones."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    ins = dialect.insert(table)
    stmt = ins.on_conflict_do_update(
        index_elements=[c.name for c in table.primary_key.columns],
        set_={c: table.c[c] + ins.excluded[c] for c in counts},
    )
    for i in range(0, len(rows), _CHUNK):
        conn.execute(stmt, rows[i : i + _CHUNK])


def count_flushed(session: Session, _flush_context: Any) -> None:
    """After a flush: count the decisions and findings it inserted and the posts it moved in or
    out of the content mix (a Session event)."""
    decisions = [o for o in session.new if isinstance(o, PolicyDecision)]
    findings = [o for o in session.new if isinstance(o, DecisionFinding)]
    before: dict[int, MixRow | None] = session.info.pop(_MIX_BEFORE, {})
    items = [o.id for o in session.new if isinstance(o, OutboundItem)]
    if not decisions and not findings and not items and not before:
        return
    tally = Tally()
    for d in decisions:
        tally.add_decision(d.author_id, d.team_id, d.platform, d.verdict, d.created_at)
    conn = session.connection()
    if findings:
        _count_findings(conn, findings, tally)
    if before or items:
        after = _mix_rows(conn, sorted(set(items) | set(before)))
        _count_mix_change(tally, before, after)
    tally.write(conn)


def _count_findings(conn: Connection, findings: list[DecisionFinding], tally: Tally) -> None:
    """Count new findings; their decisions' team, platform and earlier findings come from the
    database (the decision was usually flushed before its findings)."""
    by_decision: dict[int, list[DecisionFinding]] = {}
    for f in findings:
        by_decision.setdefault(f.decision_id, []).append(f)
    ids = sorted(by_decision)
    new_ids = [f.id for f in findings]
    owners: dict[int, tuple[int | None, str]] = {}
    counted: dict[int, set[tuple[str, str]]] = {}
    df, pd = DecisionFinding, PolicyDecision
    for i in range(0, len(ids), _LOOKUP_CHUNK):
        chunk = ids[i : i + _LOOKUP_CHUNK]
        for did, team_id, platform in conn.execute(
            select(pd.id, pd.team_id, pd.platform).where(pd.id.in_(chunk))
        ):
            owners[did] = (team_id, platform)
        for did, guideline, severity in conn.execute(
            select(df.decision_id, df.guideline, df.severity).where(
                df.decision_id.in_(chunk), df.id.not_in(new_ids)
            )
        ):
            counted.setdefault(did, set()).add((guideline, severity))
    for did, rows in by_decision.items():
        team_id, platform = owners[did]
        tally.add_findings(
            team_id,
            platform,
            [(f.rule_id, f.guideline, f.severity, f.created_at) for f in rows],
            counted.get(did, set()),
        )


def snapshot_mix(session: Session, _flush_context: Any, _instances: Any) -> None:
    """Before a flush: read where the stored items it is about to change or delete stand in
    the content mix, the "before" that ``count_flushed`` compares with (a Session event)."""
    session.info.pop(_MIX_BEFORE, None)
    ids = [o.id for o in session.deleted if isinstance(o, OutboundItem)]
    for o in session.dirty:
        if isinstance(o, OutboundItem):
            attrs = inspect(o).attrs
            if any(attrs[a].history.has_changes() for a in _MIX_ATTRS):
                ids.append(o.id)
    if ids:
        session.info[_MIX_BEFORE] = _mix_rows(session.connection(), ids)


def count_statement(state: ORMExecuteState) -> Any:
    """Around an ``update()`` or ``delete()`` of outbound items run through a Session: count
    the posts it moves in or out of the content mix (a Session event; other statements pass
    untouched)."""
    stmt = state.statement
    if not (state.is_update or state.is_delete) or not stmt.table.compare(_ITEMS):  # type: ignore[attr-defined]
        return None
    q = select(OutboundItem.id)
    if stmt.whereclause is not None:  # type: ignore[attr-defined]
        q = q.where(stmt.whereclause)  # type: ignore[attr-defined]
    if isinstance(state.parameters, list):
        # an ORM bulk UPDATE by primary key: the rows are the ones listed, not the whole table
        q = q.where(OutboundItem.id.in_([p["id"] for p in state.parameters]))
    conn = state.session.connection()
    # locked on PostgreSQL, so no other transaction moves them before the statement does
    ids = list(conn.scalars(q.with_for_update()))
    before = _mix_rows(conn, ids)
    result = state.invoke_statement()
    tally = Tally()
    _count_mix_change(tally, before, _mix_rows(conn, ids))
    tally.write(conn)
    return result


def _mix_query(
    where: ColumnElement[bool],
) -> Select[int, datetime, int, int | None, str, bool | None]:
    """(id, created_at, author, team, platform, is_product) of the items ``where`` selects,
    the dimensions only for a post the content mix counts (hub.publishing.compose's
    ``author_history``): one in ``MIX_COUNTED_STATES``, with its current decision's
    dimensions."""
    o, d = OutboundItem, PolicyDecision
    return (
        select(o.id, o.created_at, o.author_id, d.team_id, d.platform, d.is_product)
        .outerjoin(d, d.id == o.decision_id)
        .where(o.kind == "post", o.state.in_(MIX_COUNTED_STATES), where)
    )


def _mix_rows(conn: Connection, ids: Iterable[int]) -> dict[int, MixRow | None]:
    """Where each item stands in the content mix: its counted row, None when not counted."""
    wanted = sorted(set(ids))
    rows: dict[int, MixRow | None] = dict.fromkeys(wanted)
    for i in range(0, len(wanted), _LOOKUP_CHUNK):
        chunk = wanted[i : i + _LOOKUP_CHUNK]
        for item_id, *row in conn.execute(_mix_query(OutboundItem.id.in_(chunk))):
            rows[item_id] = tuple(row)  # type: ignore[assignment]
    return rows


def _count_mix_change(
    tally: Tally, before: dict[int, MixRow | None], after: dict[int, MixRow | None]
) -> None:
    for item_id in before.keys() | after.keys():
        old, new = before.get(item_id), after.get(item_id)
        if old != new:
            if old is not None:
                tally.add_mix(old, -1)
            if new is not None:
                tally.add_mix(new)


#: (event, listener) pairs on Session that keep the rollups
_LISTENERS = (
    ("before_flush", snapshot_mix),
    ("after_flush", count_flushed),
    ("do_orm_execute", count_statement),
)


def install() -> None:
    """Keep the rollups on every ORM flush and ORM update/delete of outbound items (idempotent;
    create_app calls it)."""
    for name, listener in _LISTENERS:
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)


def _check_until(until: date | None) -> None:
    if until is not None and until.day != 1:
        raise ValueError("rebuild(until=...) takes the first day of a month")


def rebuild(conn: Connection, until: date | None = None) -> None:
    """Recount every rollup from the raw rows: every day before ``until`` (the first day of a
    month, so no month is half recounted), or all days when ``until`` is None."""
    rebuild_decisions(conn, until)
    rebuild_mix(conn, until)


def rebuild_mix(conn: Connection, until: date | None = None) -> None:
    """Recount the content-mix rollup from the stored posts (created before ``until``)."""
    _check_until(until)
    stmt = delete(MixRollup)
    where: ColumnElement[bool] = true()
    if until is not None:
        stmt = stmt.where(MixRollup.day < until)
        where = OutboundItem.created_at < datetime.combine(until, time.min, UTC)
    conn.execute(stmt)
    tally = Tally()
    for _id, *row in conn.execute(_mix_query(where).execution_options(yield_per=_CHUNK)):
        tally.add_mix(tuple(row))  # type: ignore[arg-type]
    tally.write(conn)


def rebuild_decisions(conn: Connection, until: date | None = None) -> None:
    """Recount the decision, verdict and finding rollups (what migration 0017 runs)."""
    _check_until(until)
    for model in (DecisionRollup, VerdictRollup, FindingRollup):
        stmt = delete(model)
        if until is not None:
            stmt = stmt.where(model.day < until)
        conn.execute(stmt)
    until_at = datetime.combine(until, time.min, UTC) if until is not None else None
    pd, df = PolicyDecision, DecisionFinding
    tally = Tally()
    q = select(pd.author_id, pd.team_id, pd.platform, pd.verdict, pd.created_at)
    if until_at is not None:
        q = q.where(pd.created_at < until_at)
    for row in conn.execute(q.execution_options(yield_per=_CHUNK)):
        tally.add_decision(*row)
    fq = (
        select(df.decision_id, pd.team_id, pd.platform, df.rule_id, df.guideline, df.severity)
        .add_columns(df.created_at)
        .join(pd, pd.id == df.decision_id)
        .order_by(df.decision_id)
    )
    if until_at is not None:
        fq = fq.where(df.created_at < until_at)
    current: int | None = None
    owner: tuple[int | None, str] = (None, "")
    batch: list[tuple[str, str, str, datetime]] = []
    for did, team_id, platform, rule_id, guideline, severity, at in conn.execute(
        fq.execution_options(yield_per=_CHUNK)
    ):
        if did != current:
            if batch:
                tally.add_findings(*owner, batch)
            current, owner, batch = did, (team_id, platform), []
        batch.append((rule_id, guideline, severity, at))
    if batch:
        tally.add_findings(*owner, batch)
    tally.write(conn)
