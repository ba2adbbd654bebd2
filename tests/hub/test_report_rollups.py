"""The report rollups: every figure read from them equals the raw-decision query, always.

Decisions are written through the real service (``record_decision``, one or several per
transaction) at random times across month boundaries; then every report table, for random
periods and filters, is built from the rollups and from the raw rows (``raw_queries``) and must
be identical. A recount from the raw rows (what migration 0017 and retention run) must give the
very rows the live increments gave.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, insert, select

import hub.models
import policies
from hub.compliance import reports
from hub.compliance.retention import purge, retention_cutoff, retention_years
from hub.compliance.rollups import Tally, rebuild
from hub.db import job_session
from hub.models import (
    DecisionFinding,
    DecisionRollup,
    FindingRollup,
    PolicyDecision,
    Staff,
    Team,
    VerdictRollup,
)
from hub.publishing.compose import record_decision

BASE = datetime(2026, 1, 20, tzinfo=UTC)
DAYS = 80
PLATFORMS = ("x", "bluesky", "sandbox")
RULES = [
    ("g5-customer-data", "G5", "block"),
    ("g4-codenames", "G4", "block"),
    ("g4-unreleased", "G4", "block"),
    ("g6-disclosure", "G6", "review"),
    ("g10-stiff-tone", "G10", "warn"),
    ("g10-language", "G10", "warn"),
    ("g9-boilerplate", "G9", "warn"),
]
ROLLUPS = (DecisionRollup, VerdictRollup, FindingRollup)


class _Clock(datetime):
    """``hub.models.datetime`` during a write: ``utcnow()`` answers ``_Clock.at``."""

    at = BASE

    @classmethod
    def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
        return cls.at


@pytest.fixture
def people(app, make_staff) -> list[Staff]:
    """Four authors: two in team Care, one in Social, one in no team."""
    with job_session(app) as s:
        care, social = Team(slug="care", name="Care"), Team(slug="social", name="Social")
        s.add_all([care, social])
        s.flush()
        homes = [care.id, care.id, social.id, None]
    staff = [make_staff("employee", name=f"Author {i}") for i in range(4)]
    with job_session(app) as s:
        for person, team_id in zip(staff, homes, strict=True):
            s.get(Staff, person.id).team_id = team_id  # type: ignore[union-attr]
            person.team_id = team_id
    return staff


def _decision(verdict: str, rules: list[int]) -> policies.Decision:
    findings = tuple(
        policies.Finding(RULES[r][0], RULES[r][1], RULES[r][2], "test finding")  # type: ignore[arg-type]
        for r in rules
    )
    return policies.Decision(verdict, findings, "test-pack", 1.0)  # type: ignore[arg-type]


decision_st = st.tuples(
    st.integers(0, 3),  # author
    st.sampled_from(PLATFORMS),
    st.sampled_from(("allow", "warn", "review", "block")),
    st.lists(st.integers(0, len(RULES) - 1), max_size=4),  # findings, repeats allowed
    st.integers(0, DAYS * 86400 - 1),  # seconds after BASE
    st.sampled_from(("post", "reply")),
)
#: periods (first, last day) around the month edges inside BASE + DAYS, where grains meet
EDGES = [
    (date(2026, 2, 1), date(2026, 2, 28)),
    (date(2026, 1, 31), date(2026, 3, 1)),
    (date(2026, 2, 2), date(2026, 3, 31)),
    (date(2026, 2, 1), date(2026, 3, 30)),
    (date(2026, 1, 20), date(2026, 4, 10)),
    (date(2026, 3, 1), date(2026, 3, 1)),
    (date(2026, 2, 28), date(2026, 3, 1)),
]
query_st = st.tuples(
    st.one_of(
        st.tuples(st.integers(-3, DAYS), st.integers(1, DAYS + 5)).map(
            lambda t: (
                BASE.date() + timedelta(days=t[0]),
                BASE.date() + timedelta(days=t[0] + t[1] - 1),
            )
        ),
        st.sampled_from(EDGES),
    ),
    st.sampled_from((None, *PLATFORMS)),
    st.integers(-1, 1),  # team: -1 none, 0 Care, 1 Social
)


def _write(app, people: list[Staff], batch: list[tuple[Any, ...]]) -> None:
    """One transaction writing ``batch`` through the composer's service."""
    with pytest.MonkeyPatch.context() as mp, job_session(app) as s:
        mp.setattr(hub.models, "datetime", _Clock)
        for who, platform, verdict, rules, seconds, kind in batch:
            _Clock.at = BASE + timedelta(seconds=seconds)
            author = people[who]
            record_decision(
                s, author, f"text {seconds}", platform, _decision(verdict, rules), kind=kind
            )


def _filter(query: tuple[Any, ...], session: Any) -> reports.ReportFilter:
    (start, end), platform, team = query
    teams = list(session.scalars(select(Team.id).order_by(Team.id)))
    return reports.ReportFilter(start, end, platform, None if team < 0 else teams[team])


def _both(app, f: reports.ReportFilter) -> tuple[dict[str, Any], dict[str, Any]]:
    with app.extensions["hub.sessionmaker"]() as s:
        ours = {n: t.rows for n, t in reports.build_report(s, f).items()}
    with app.extensions["hub.sessionmaker"]() as s, reports.raw_queries(s):
        raw = {n: t.rows for n, t in reports.build_report(s, f).items()}
    return ours, raw


def _snapshot(conn: Any) -> dict[str, list[tuple[Any, ...]]]:
    return {
        m.__tablename__: sorted(tuple(r) for r in conn.execute(select(m.__table__)))
        for m in ROLLUPS
    }


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    batches=st.lists(st.lists(decision_st, min_size=1, max_size=6), min_size=1, max_size=3),
    queries=st.lists(query_st, min_size=1, max_size=3),
)
def test_every_figure_from_rollups_equals_the_raw_query(app, people, batches, queries):
    # rows of earlier examples stay: the equality holds for any content, so they only add cases
    for batch in batches:
        _write(app, people, batch)
    for query in queries:
        with app.extensions["hub.sessionmaker"]() as s:
            f = _filter(query, s)
        ours, raw = _both(app, f)
        assert ours == raw, f
    engine = app.extensions["hub.engine"]
    with engine.connect() as conn:
        live = _snapshot(conn)
        rebuild(conn)
        assert _snapshot(conn) == live
        conn.rollback()


@pytest.mark.parametrize("platform", [None, "x"])
def test_month_edges_on_a_steady_stream(app, people, platform):
    """A decision every 7 hours for 80 days: every month-edge period matches the raw query."""
    stream = [
        (
            i % 4,
            PLATFORMS[i % 3],
            ("allow", "warn", "review", "block")[i % 4],
            [i % 7, (i * 3) % 7][: i % 3],
            i * 7 * 3600,
            "post",
        )
        for i in range(DAYS * 24 // 7)
    ]
    _write(app, people, stream)
    for start, end in EDGES:
        f = reports.ReportFilter(start, end, platform)
        ours, raw = _both(app, f)
        assert ours == raw, f
        assert ours["verdicts"][-1][1] > 0


def _write_one(app, people: list[Staff], at: datetime, verdict: str = "block") -> None:
    _write(app, people, [(0, "x", verdict, [0, 1, 2, 4], int((at - BASE).total_seconds()), "post")])


def _total(app, day: date) -> dict[str, Any]:
    ours, raw = _both(app, reports.ReportFilter(day, day))
    assert ours == raw
    return {
        "decisions": ours["verdicts"][-1][1],
        "guidelines": ours["guidelines"],
        "trend": ours["trend"],
    }


def test_a_recorded_decision_is_counted_in_its_own_transaction(app, people):
    at = BASE + timedelta(days=3, hours=5)
    _write_one(app, people, at)
    with app.extensions["hub.sessionmaker"]() as s:
        per_grain = dict(
            s.execute(
                select(DecisionRollup.grain, func.sum(DecisionRollup.decisions)).group_by(
                    DecisionRollup.grain
                )
            ).all()
        )
    assert per_grain == {"day": 1, "month": 1}
    got = _total(app, at.date())
    assert got["decisions"] == 1
    # G4 twice (two rules) is one decision; G5 and G10 one each
    assert sorted(got["guidelines"]) == [
        ("G10", "warn", 1, 1),
        ("G4", "block", 2, 1),
        ("G5", "block", 1, 1),
    ]


def test_the_rollups_count_only_when_installed(app, people, monkeypatch):
    """Without the increment (the flush listener's write), the reports would miss decisions."""
    monkeypatch.setattr(Tally, "write", lambda self, conn: None)
    _write_one(app, people, BASE + timedelta(days=1))
    ours, raw = _both(app, reports.ReportFilter(BASE.date(), BASE.date() + timedelta(days=2)))
    assert raw["verdicts"][-1][1] == 1
    assert ours["verdicts"][-1][1] == 0


def test_a_rolled_back_write_leaves_no_count(app, people):
    at = BASE + timedelta(days=2)
    with pytest.raises(RuntimeError), pytest.MonkeyPatch.context() as mp, job_session(app) as s:
        mp.setattr(hub.models, "datetime", _Clock)
        _Clock.at = at
        record_decision(s, people[0], "gone", "x", _decision("block", [0, 4]))
        raise RuntimeError("the request failed after the decision was written")
    # a savepoint undone inside a transaction that commits
    with pytest.MonkeyPatch.context() as mp, job_session(app) as s:
        mp.setattr(hub.models, "datetime", _Clock)
        _Clock.at = at
        record_decision(s, people[1], "kept", "x", _decision("warn", [4]))
        with pytest.raises(RuntimeError), s.begin_nested():
            record_decision(s, people[2], "undone", "x", _decision("block", [0]))
            raise RuntimeError("the service call failed")
    with app.extensions["hub.sessionmaker"]() as s:
        assert s.scalar(select(func.count()).select_from(PolicyDecision)) == 1
        assert s.scalar(select(func.sum(VerdictRollup.decisions))) == 1
        assert s.scalar(select(func.sum(FindingRollup.findings))) == 2  # day + month grain
    assert _total(app, at.date())["guidelines"] == [("G10", "warn", 1, 1)]


def test_retention_takes_purged_decisions_out_of_the_rollups(app, people):
    now = datetime(2026, 6, 15, 12, tzinfo=UTC)
    with app.extensions["hub.sessionmaker"]() as s:
        cutoff = retention_cutoff(now, retention_years(s))
    old, kept = cutoff - timedelta(days=2), cutoff + timedelta(hours=1)
    for at in (old, old, kept):
        _write(
            app, people, [(1, "bluesky", "review", [3], int((at - BASE).total_seconds()), "post")]
        )
    with job_session(app) as s:
        assert purge(s, now).policy_decisions == 2
    assert _total(app, old.date())["decisions"] == 0
    assert _total(app, kept.date())["decisions"] == 1
    month = reports.ReportFilter(
        cutoff.date().replace(day=1) - timedelta(days=40), kept.date() + timedelta(days=40)
    )
    ours, raw = _both(app, month)
    assert ours == raw and ours["verdicts"][-1][1] == 1


def test_the_daily_summary_reads_the_same_figures(app, people):
    at = BASE + timedelta(days=10, hours=23, minutes=59)
    _write_one(app, people, at)
    _write_one(app, people, at + timedelta(minutes=2), verdict="warn")  # the next day
    with job_session(app) as s:
        data = reports.summarize_day(s, at.date())
        with reports.raw_queries(s):
            assert reports.summarize_day(s, at.date()) == data
    assert data["decisions"] == 1 and data["verdicts"]["block"] == 1


def test_hub_reports_recount_counts_rows_written_around_the_orm(app, people, monkeypatch):
    import hub.cli

    at = BASE + timedelta(days=4)
    with app.extensions["hub.engine"].begin() as conn:
        conn.execute(
            insert(PolicyDecision),
            [
                {
                    "author_id": people[2].id,
                    "text": "bulk",
                    "verdict": "warn",
                    "pack_version": "bulk",
                    "findings": [],
                    "platform": "x",
                    "elapsed_ms": 0.0,
                    "kind": "reply",
                    "team_id": people[2].team_id,
                    "created_at": at,
                }
            ],
        )
    monkeypatch.setattr(hub.cli, "_app", lambda: app)
    f = reports.ReportFilter(at.date(), at.date())
    assert _both(app, f)[0]["verdicts"][-1][1] == 0
    result = CliRunner().invoke(hub.cli.main, ["reports", "recount"])
    assert result.exit_code == 0, result.output
    ours, raw = _both(app, f)
    assert ours == raw and ours["verdicts"][-1][1] == 1


def test_migration_0017_counts_the_decisions_already_stored(app, people, database_url):
    from alembic import command

    from hub.migrate import alembic_config

    cfg = alembic_config(database_url)
    engine = app.extensions["hub.engine"]

    def migrate(step: Any, revision: str) -> None:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            step(cfg, revision)

    at = BASE + timedelta(days=12, hours=3)
    try:
        migrate(command.downgrade, "0014")
        with engine.begin() as conn:
            for i, verdict in enumerate(("block", "warn", "block")):
                did = conn.execute(
                    insert(PolicyDecision).returning(PolicyDecision.id),
                    {
                        "author_id": people[i].id,
                        "text": "stored before 0017",
                        "verdict": verdict,
                        "pack_version": "old",
                        "findings": [],
                        "platform": PLATFORMS[i],
                        "elapsed_ms": 0.0,
                        "kind": "post",
                        "team_id": people[i].team_id,
                        "created_at": at + timedelta(days=20 * i),
                    },
                ).scalar_one()
                conn.execute(
                    insert(DecisionFinding),
                    [
                        {"decision_id": did, "rule_id": r, "guideline": g, "severity": s,
                         "created_at": at + timedelta(days=20 * i)}
                        for r, g, s in RULES[1:3]
                    ],
                )  # fmt: skip
    finally:
        migrate(command.upgrade, "head")
    f = reports.ReportFilter(BASE.date(), BASE.date() + timedelta(days=70))
    ours, raw = _both(app, f)
    assert ours == raw
    assert ours["verdicts"][-1][1] == 3
    assert ours["guidelines"] == [("G4", "block", 6, 3)]
