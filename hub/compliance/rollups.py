"""Daily and monthly rollups of policy decisions and findings, kept as the decisions are written.

Every flush that inserts ``PolicyDecision`` or ``DecisionFinding`` rows through the ORM adds
their counts to ``decision_rollups``, ``verdict_rollups`` and ``finding_rollups`` in the same
transaction (one ``INSERT … ON CONFLICT DO UPDATE n = n + excluded.n`` per table and flush, on
SQLite and PostgreSQL alike), so a rolled-back write leaves no count behind and no writer can
forget the rollups. Writers that bypass the ORM (bulk Core inserts: the benchmark's seed) and
deletions (retention) recount with ``rebuild``; migration 0017 fills the tables the same way.

Days and months are UTC, as the reports bucket them (hub.compliance.reports). Decisions and
findings are never updated in place (a new version of a draft is a new decision), so inserts
and deletions are all there is to count.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import Connection, Table, delete, event, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hub.models import DecisionFinding, DecisionRollup, FindingRollup, PolicyDecision, VerdictRollup

#: rows per INSERT when writing many counts at once
_CHUNK = 5000
#: decisions per IN (...) list when looking up the decisions of new findings
_LOOKUP_CHUNK = 500

DecisionKey = tuple[str, date, int, int, str, str]
VerdictKey = tuple[date, int, str, str]
FindingKey = tuple[str, date, int, str, str, str, str]


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
    """After a flush: count the decisions and findings it inserted (a Session event)."""
    decisions = [o for o in session.new if isinstance(o, PolicyDecision)]
    findings = [o for o in session.new if isinstance(o, DecisionFinding)]
    if not decisions and not findings:
        return
    tally = Tally()
    for d in decisions:
        tally.add_decision(d.author_id, d.team_id, d.platform, d.verdict, d.created_at)
    if findings:
        _count_findings(session.connection(), findings, tally)
    tally.write(session.connection())


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


def install() -> None:
    """Keep the rollups on every ORM flush (idempotent; create_app calls it)."""
    if not event.contains(Session, "after_flush", count_flushed):
        event.listen(Session, "after_flush", count_flushed)


def rebuild(conn: Connection, until: date | None = None) -> None:
    """Recount the rollups from the raw rows: every day before ``until`` (the first day of a
    month, so no month is half recounted), or all days when ``until`` is None."""
    if until is not None and until.day != 1:
        raise ValueError("rebuild(until=...) takes the first day of a month")
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
