"""What keeps several scheduler workers from doing one thing twice: the leader of the
once-a-cluster jobs, the outbox's SKIP LOCKED claims, the poll's second look after its lease,
and on SQLite the one scheduler process. Each test fails if its guard's line is removed."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import create_engine, select, text

from connectors.sandbox import SandboxStore
from hub.db import job_session
from hub.models import OutboundItem, PlatformAccount, utcnow
from hub.platforms.leases import Leadership, SchedulerBusy, scheduler_slot
from hub.platforms.polling import poll_account
from hub.platforms.scheduler import JOBS, LEADER_EXECUTOR, LeaderExecutor, build_scheduler
from hub.publishing.outbox import _claim, reconcile_sending

ONCE_PER_CLUSTER = {
    "deadlines",
    "task-deadlines",
    "statistics",
    "retention",
    "daily-summary",
    "demo-trickle",
}


def _postgres(app: Any) -> bool:
    return app.extensions["hub.engine"].dialect.name == "postgresql"


@pytest.fixture
def other_worker(app: Any) -> Iterator[Any]:
    """A connection of "another worker" on the same database, in autocommit (for its
    advisory locks)."""
    if not _postgres(app):
        pytest.skip("leases across processes are PostgreSQL's")
    engine = create_engine(app.config["DATABASE_URL"])
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        yield conn
    engine.dispose()


@pytest.fixture
def row_locker(app: Any) -> Iterator[Any]:
    """lock(item_id): a context in which another worker's transaction holds the item's row."""
    if not _postgres(app):
        pytest.skip("row locks across processes are PostgreSQL's")
    engine = create_engine(app.config["DATABASE_URL"])

    @contextmanager
    def lock(item_id: int) -> Iterator[None]:
        with engine.begin() as conn:
            conn.execute(
                text("SELECT id FROM outbound_items WHERE id = :i FOR UPDATE"), {"i": item_id}
            )
            yield

    yield lock
    engine.dispose()


def test_the_jobs_that_must_run_once_per_cluster_run_in_the_leader_only(app: Any) -> None:
    assert {j.id for j in JOBS if j.once_per_cluster} == ONCE_PER_CLUSTER
    scheduler = build_scheduler(app)
    for job in scheduler.get_jobs():
        assert (job.executor == LEADER_EXECUTOR) == (job.id in ONCE_PER_CLUSTER), job.id


def _run_once_per_cluster(app: Any, leadership: Leadership) -> list[int]:
    """A scheduler with the leader executor runs one leader-only job due now; what ran."""
    ran: list[int] = []
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_executor(LeaderExecutor(leadership), LEADER_EXECUTOR)
    scheduler.add_job(ran.append, "date", args=[1], executor=LEADER_EXECUTOR, run_date=utcnow())
    scheduler.start()
    try:
        deadline = time.monotonic() + 3
        while not ran and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)
    finally:
        scheduler.shutdown()
    return ran


def test_a_worker_that_does_not_lead_skips_the_leaders_jobs(app: Any, other_worker: Any) -> None:
    assert other_worker.execute(text("SELECT pg_try_advisory_lock(7285, 1)")).scalar()
    leadership = Leadership(app)
    assert not leadership.held()
    assert _run_once_per_cluster(app, leadership) == []
    # the leader stops (or dies: its connection closes): the next one to ask leads
    other_worker.execute(text("SELECT pg_advisory_unlock(7285, 1)"))
    leadership = Leadership(app)
    assert _run_once_per_cluster(app, leadership) == [1]
    assert other_worker.execute(text("SELECT pg_try_advisory_lock(7285, 1)")).scalar() is False
    leadership.release()
    assert other_worker.execute(text("SELECT pg_try_advisory_lock(7285, 1)")).scalar()
    other_worker.execute(text("SELECT pg_advisory_unlock(7285, 1)"))


def test_on_sqlite_the_one_scheduler_leads(app: Any) -> None:
    if _postgres(app):
        pytest.skip("SQLite's rule")
    assert Leadership(app).held()


def test_on_sqlite_a_second_scheduler_is_refused(app: Any) -> None:
    if _postgres(app):
        with scheduler_slot(app), scheduler_slot(app):  # no limit on PostgreSQL
            return
    with (
        scheduler_slot(app),
        pytest.raises(SchedulerBusy, match="exactly one may run"),
        scheduler_slot(app),
    ):
        pass
    with scheduler_slot(app):  # free again once the first one ended
        pass


# --- the outbox ---------------------------------------------------------------------------


@pytest.fixture
def due_item(app: Any, make_staff: Any, make_mention: Any) -> int:
    mention = make_mention()
    staff = make_staff("manager")
    with job_session(app) as s:
        item = OutboundItem(
            kind="reply",
            account_id=mention.account_id,
            author_id=staff.id,
            mention_id=mention.id,
            text="Thanks, we are on it.",
            state="scheduled",
            not_before=utcnow(),
            idempotency_key="cluster-guard-1",
        )
        s.add(item)
        s.flush()
        return int(item.id)


def _in_thread(fn: Any, *args: Any) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []
    thread = threading.Thread(target=lambda: out.append(fn(*args)), daemon=True)
    thread.start()
    thread.join(5)
    return thread, out


def test_a_claim_passes_by_a_row_another_worker_is_claiming(
    app: Any, row_locker: Any, due_item: int
) -> None:
    """SKIP LOCKED: while another worker's claim holds the row, ours returns at once with
    False (it would otherwise wait for that transaction)."""
    with row_locker(due_item):
        thread, out = _in_thread(_claim, app, due_item)
        assert not thread.is_alive(), "the claim waited for the other worker's lock"
        assert out == [False]
    assert _claim(app, due_item) is True
    assert _claim(app, due_item) is False  # claimed once: the conditional UPDATE


def test_a_stale_send_another_worker_is_reconciling_is_left_to_it(
    app: Any, row_locker: Any, due_item: int
) -> None:
    with job_session(app) as s:
        item = s.get(OutboundItem, due_item)
        assert item is not None
        item.state = "sending"
        item.updated_at = utcnow() - timedelta(hours=1)
    with row_locker(due_item):
        thread, out = _in_thread(reconcile_sending, app)
        assert not thread.is_alive(), "reconciling waited for the other worker's lock"
        assert out == [0]
    assert reconcile_sending(app) == 1
    with job_session(app) as s:
        assert s.scalar(select(OutboundItem.state).where(OutboundItem.id == due_item)) == (
            "scheduled"
        )


# --- polling ------------------------------------------------------------------------------


def test_a_poll_that_got_its_lease_late_leaves_an_account_just_polled(
    app: Any, sandbox_account: Any, tmp_path: Path
) -> None:
    """Another worker polled the account between our due list and our lease: no second poll."""
    SandboxStore(app.config["SANDBOX_URL"]).create_post("fan", "@KestrelFootwear hello")
    now = utcnow()
    with job_session(app) as s:
        account = s.get(PlatformAccount, sandbox_account.id)
        assert account is not None
        account.next_poll_at = now + timedelta(seconds=15)
    outcome = poll_account(app, sandbox_account.id, due_at=now)
    assert outcome.result is None and outcome.error == "polled meanwhile by another worker"
    forced = poll_account(app, sandbox_account.id)  # `hub poll --once` polls regardless
    assert forced.result is not None and forced.result.inserted == 1
