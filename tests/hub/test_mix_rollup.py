"""The content-mix rollup: the reports' mix table from ``mix_rollups`` equals the raw posts, always.

Posts are written and moved through the outbox's own services, in random order: created as
drafts at random times across month edges, decided (a new decision, product or not, set
through the relationship or the column as the composer and the review queue do), moved by
``move_item`` (a flush) and by ``take_item`` (a conditional UPDATE statement), and purged by an
ORM ``delete()``. After every run the mix table for random periods and filters must equal the
raw query, and a recount must give the very rows the live counting gave.
"""

from __future__ import annotations

import itertools
import operator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, event, func, insert, select, update
from sqlalchemy.orm import Session

import hub.models
import policies
from hub.compliance import reports, rollups
from hub.db import job_session
from hub.models import MixRollup, OutboundItem, PlatformAccount, Staff, Team
from hub.publishing.compose import record_decision
from hub.publishing.outbox import TRANSITIONS, move_item, take_item
from hub.publishing.submission import create_item

BASE = datetime(2026, 1, 20, tzinfo=UTC)
_KEYS = itertools.count()
DAYS = 80
EDGES = [
    (date(2026, 2, 1), date(2026, 2, 28)),
    (date(2026, 1, 31), date(2026, 3, 1)),
    (date(2026, 2, 2), date(2026, 3, 31)),
    (date(2026, 1, 20), date(2026, 4, 10)),
]


class _Clock(datetime):
    """``hub.models.datetime`` during a write: ``utcnow()`` answers ``_Clock.at``."""

    at = BASE

    @classmethod
    def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
        return cls.at


@pytest.fixture
def people(app, make_staff, sandbox_account) -> list[Staff]:
    """Three authors: two in team Care, one in no team."""
    with job_session(app) as s:
        care = Team(slug="care", name="Care")
        s.add(care)
        s.flush()
        homes = [care.id, care.id, None]
    staff = [make_staff("employee", name=f"Author {i}") for i in range(3)]
    with job_session(app) as s:
        for person, team_id in zip(staff, homes, strict=True):
            s.get(Staff, person.id).team_id = team_id  # type: ignore[union-attr]
    return staff


def _decision(product: bool | None) -> policies.Decision:
    return policies.Decision("allow", (), "test-pack", 1.0, is_product=product)


#: one step: (op, post index, author / target, product flag, seconds after BASE)
op_st = st.tuples(
    st.sampled_from(("new", "new", "decide", "decide_column", "move", "take", "purge")),
    st.integers(0, 7),
    st.integers(0, 20),
    st.sampled_from((True, False, None)),
    st.integers(0, DAYS * 86400 - 1),
)


def _run(app, people: list[Staff], ops: list[tuple[Any, ...]]) -> None:
    """Each step in its own transaction, as requests and jobs write them."""
    for op, which, pick, product, seconds in ops:
        with pytest.MonkeyPatch.context() as mp, job_session(app) as s:
            mp.setattr(hub.models, "datetime", _Clock)
            _Clock.at = BASE + timedelta(seconds=seconds)
            account = s.scalar(select(PlatformAccount).where(PlatformAccount.platform == "sandbox"))
            ids = list(s.scalars(select(OutboundItem.id).order_by(OutboundItem.id)))
            if op == "new" or not ids:
                author = s.get(Staff, people[pick % len(people)].id)
                create_item(
                    s,
                    kind="post",
                    account=account,
                    author=author,
                    text=f"post {seconds}",
                    idempotency_key=f"k{next(_KEYS)}",
                )
                continue
            item = s.get(OutboundItem, ids[which % len(ids)])
            assert item is not None
            if op in ("decide", "decide_column"):
                row = record_decision(
                    s, item.author, item.text, "sandbox", _decision(product), item
                )
                if op == "decide":
                    item.decision = row
                else:
                    item.decision_id = row.id
            elif op == "purge":
                s.execute(delete(OutboundItem).where(OutboundItem.id == item.id))
            else:
                moves = sorted(TRANSITIONS[item.state])
                if moves:
                    to = moves[pick % len(moves)]
                    if op == "move":
                        move_item(s, item, to, None)
                    else:
                        assert take_item(s, item, to, None)


def _mix(app, f: reports.ReportFilter) -> tuple[list[Any], list[Any]]:
    with app.extensions["hub.sessionmaker"]() as s:
        ours = reports.mix_table(s, f).rows
    with app.extensions["hub.sessionmaker"]() as s, reports.raw_queries(s):
        raw = reports.mix_table(s, f).rows
    return ours, raw


def _snapshot(conn: Any) -> list[tuple[Any, ...]]:
    return sorted(tuple(r) for r in conn.execute(select(MixRollup.__table__)))


def _assert_exact(app) -> None:
    teams = [None]
    with app.extensions["hub.sessionmaker"]() as s:
        teams += list(s.scalars(select(Team.id)))
    for start, end in EDGES:
        for platform in (None, "sandbox", "x"):
            for team in teams:
                f = reports.ReportFilter(start, end, platform, team)
                ours, raw = _mix(app, f)
                assert ours == raw, f
    with app.extensions["hub.engine"].connect() as conn:
        live = _snapshot(conn)
        rollups.rebuild_mix(conn)
        assert _snapshot(conn) == live
        conn.rollback()


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=st.lists(op_st, min_size=1, max_size=25))
def test_the_mix_from_rollups_equals_the_raw_posts(app, people, ops):
    # rows of earlier examples stay: the equality holds for any content, so they only add cases
    _run(app, people, ops)
    _assert_exact(app)


def _scheduled_post(app, people: list[Staff], product: bool = True) -> int:
    """A post decided as a product post and scheduled, on BASE's day: in the mix."""
    _run(app, people, [("new", 0, 0, None, 3600), ("decide", 0, 0, product, 3600)])
    with job_session(app) as s:
        item = s.scalar(select(OutboundItem))
        assert item is not None
        move_item(s, item, "checked", None)
        move_item(s, item, "scheduled", None)
        return item.id


def _counted(app) -> tuple[int, int]:
    with app.extensions["hub.sessionmaker"]() as s:
        posts, products = s.execute(
            select(func.sum(MixRollup.posts), func.sum(MixRollup.product_posts)).where(
                MixRollup.grain == "day"
            )
        ).one()
    return int(posts or 0), int(products or 0)


def test_a_scheduled_product_post_is_counted_once(app, people):
    _scheduled_post(app, people)
    assert _counted(app) == (1, 1)
    _assert_exact(app)


def test_a_new_decision_on_a_counted_post_moves_it(app, people):
    """The edit's decision says "not a product": the product count drops (the before-flush
    snapshot is what the change is measured against)."""
    _scheduled_post(app, people)
    _run(app, people, [("decide", 0, 0, False, 7200)])
    assert _counted(app) == (1, 0)
    _assert_exact(app)


def test_a_withdrawn_post_leaves_the_mix(app, people):
    item_id = _scheduled_post(app, people)
    with job_session(app) as s:
        move_item(s, s.get(OutboundItem, item_id), "withdrawn", None)
    assert _counted(app) == (0, 0)
    with app.extensions["hub.sessionmaker"]() as s:
        assert s.scalar(select(func.count()).select_from(MixRollup)) == 0
    _assert_exact(app)


def test_a_conditional_update_statement_is_counted(app, people):
    """The outbox's take_item moves rows with an UPDATE … WHERE state = old, not a flush."""
    item_id = _scheduled_post(app, people)
    with job_session(app) as s:
        assert take_item(s, s.get(OutboundItem, item_id), "draft", None)
    assert _counted(app) == (0, 0)
    with job_session(app) as s:
        item = s.get(OutboundItem, item_id)
        move_item(s, item, "checked", None)
        assert take_item(s, item, "in_review", None)
    assert _counted(app) == (1, 1)
    _assert_exact(app)


def test_a_bulk_update_by_primary_key_counts_only_its_rows(app, people, monkeypatch):
    """Only the listed rows are read around it, not every item (a bulk UPDATE has no WHERE)."""
    first = _scheduled_post(app, people)
    with job_session(app) as s:
        other, _bystander = (
            create_item(
                s,
                kind="post",
                account=s.get(PlatformAccount, s.get(OutboundItem, first).account_id),
                author=s.get(Staff, people[1].id),
                text=text,
                idempotency_key=f"k{next(_KEYS)}",
            ).id
            for text in ("another", "one the statement leaves alone")
        )
    read: list[list[int]] = []
    mix_rows = rollups._mix_rows
    monkeypatch.setattr(
        rollups, "_mix_rows", lambda conn, ids: read.append(sorted(ids)) or mix_rows(conn, ids)
    )
    with job_session(app) as s:
        s.execute(
            update(OutboundItem),
            [{"id": first, "state": "withdrawn"}, {"id": other, "state": "scheduled"}],
        )
    assert read == [sorted([first, other])] * 2
    assert _counted(app) == (1, 0)
    _assert_exact(app)


def test_a_purged_post_leaves_the_mix(app, people):
    item_id = _scheduled_post(app, people)
    with job_session(app) as s:
        s.execute(delete(OutboundItem).where(OutboundItem.id == item_id))
    assert _counted(app) == (0, 0)


def test_a_rolled_back_move_leaves_no_count(app, people):
    item_id = _scheduled_post(app, people)
    with pytest.raises(RuntimeError), job_session(app) as s:
        move_item(s, s.get(OutboundItem, item_id), "withdrawn", None)
        s.flush()
        raise RuntimeError("the request failed after the move")
    assert _counted(app) == (1, 1)


@pytest.mark.parametrize("name", [name for name, _listener in rollups._LISTENERS])
def test_each_listener_is_needed(app, people, name):
    """Without any one of the three Session listeners the rollup drifts from the posts: a post
    scheduled by flushes, then taken back to draft by an UPDATE statement."""
    listener = dict(rollups._LISTENERS)[name]
    period = reports.ReportFilter(BASE.date(), BASE.date())
    agreed = []
    event.remove(Session, name, listener)
    try:
        item_id = _scheduled_post(app, people)
        agreed.append(operator.eq(*_mix(app, period)))
        with job_session(app) as s:
            assert take_item(s, s.get(OutboundItem, item_id), "draft", None)
        agreed.append(operator.eq(*_mix(app, period)))
    finally:
        event.listen(Session, name, listener)
    assert not all(agreed)


def test_migration_0019_counts_the_posts_already_stored(app, people, database_url):
    from alembic import command

    from hub.migrate import alembic_config

    _scheduled_post(app, people)
    cfg = alembic_config(database_url)
    engine = app.extensions["hub.engine"]

    def migrate(step: Any, revision: str) -> None:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            step(cfg, revision)

    try:
        migrate(command.downgrade, "0018")
    finally:
        migrate(command.upgrade, "head")
    assert _counted(app) == (1, 1)
    _assert_exact(app)


def test_hub_reports_recount_counts_posts_written_around_the_orm(app, people, monkeypatch):
    from click.testing import CliRunner

    import hub.cli

    with app.extensions["hub.sessionmaker"]() as s:
        account_id = s.scalar(select(PlatformAccount.id))
    with app.extensions["hub.engine"].begin() as conn:
        conn.execute(
            insert(OutboundItem),
            [
                {
                    "kind": "post",
                    "account_id": account_id,
                    "author_id": people[2].id,
                    "text": "bulk",
                    "state": "sent",
                    "idempotency_key": "bulk-1",
                    "created_at": BASE,
                }
            ],
        )
    assert _counted(app) == (0, 0)
    monkeypatch.setattr(hub.cli, "_app", lambda: app)
    result = CliRunner().invoke(hub.cli.main, ["reports", "recount"])
    assert result.exit_code == 0, result.output
    assert _counted(app) == (1, 0)
    _assert_exact(app)
