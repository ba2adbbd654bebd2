"""Background jobs: poll each account, send due outbox rows, (demo) trickle customer posts, and
push: one firehose consumer thread per account whose platform can stream (Bluesky).

Started only by ``hub run`` / ``hub worker``, never by create_app, or every web worker would run
every job. On PostgreSQL a session-level advisory lock per account makes sure one account has one
poller, and another one that it has one stream consumer, even when several worker processes run.

Push never replaces polling: pushed mentions go through the same ingest (the unique key makes a
mention seen both ways one row) but never move the poll cursor, and the poll keeps running, only
less often (``PUSH_POLL_SECONDS``) while the stream is connected. When the stream drops, the
account is polled at once and the consumer reconnects with exponential backoff and jitter.
The stream's health is kept in ``PlatformAccount.config["push_status"]`` for the accounts page.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from apscheduler.events import EVENT_SCHEDULER_SHUTDOWN, SchedulerEvent
from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from connectors.base import (
    REGISTRY,
    AuthExpired,
    Batch,
    ConnectorError,
    IncomingMention,
    RateLimited,
)

from .accounts import _fingerprint, _optional_platforms, connector_for
from .accounts import _lock as _connector_lock
from .db import job_session
from .ingest import IngestResult, ingest_batch
from .models import PlatformAccount, utcnow
from .outbox import send_due

log = logging.getLogger(__name__)
_local_locks: dict[int, threading.Lock] = {}
_local_guard = threading.Lock()
#: advisory-lock namespaces (any constants unlikely to clash): account pollers, stream consumers
_LOCK_NS = 7283
_PUSH_LOCK_NS = 7284
_local_push_locks: dict[int, threading.Lock] = {}

#: the poll interval while an account's stream is connected (the poll is then only a safety net)
PUSH_POLL_SECONDS = 60
#: reconnect backoff of a stream consumer: first wait, cap (seconds; jitter 0.5-1.5x on top)
PUSH_RETRY_SECONDS = 2.0
PUSH_RETRY_MAX_SECONDS = 300.0
#: a connection that lasted this long was healthy: the next failure starts the backoff over
PUSH_HEALTHY_SECONDS = 60.0
#: how often the push job looks for accounts that gained or lost push
PUSH_SYNC_SECONDS = 10


@contextmanager
def _lease(
    app: Flask, ns: int, locks: dict[int, threading.Lock], account_id: int
) -> Iterator[bool]:
    """A per-account lease: a PostgreSQL advisory lock, or a process-local lock on SQLite."""
    engine = app.extensions["hub.engine"]
    if engine.dialect.name == "postgresql":
        # A session-level lock on its own autocommit connection: it outlives the short
        # transactions of the job it guards and is never part of one.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            got = conn.execute(
                text("SELECT pg_try_advisory_lock(:ns, :id)"), {"ns": ns, "id": account_id}
            ).scalar()
            try:
                yield bool(got)
            finally:
                if got:
                    conn.execute(
                        text("SELECT pg_advisory_unlock(:ns, :id)"), {"ns": ns, "id": account_id}
                    )
        return
    with _local_guard:
        lock = locks.setdefault(account_id, threading.Lock())
    got = lock.acquire(blocking=False)
    try:
        yield got
    finally:
        if got:
            lock.release()


@contextmanager
def poll_lease(app: Flask, account_id: int) -> Iterator[bool]:
    """Hold the right to poll one account; yields False if someone else holds it."""
    with _lease(app, _LOCK_NS, _local_locks, account_id) as got:
        yield got


@contextmanager
def push_lease(app: Flask, account_id: int) -> Iterator[bool]:
    """Hold the right to consume one account's stream; yields False if someone else holds it.

    Separate from the poll lease: the stream is held for hours and the poll must keep running.
    """
    with _lease(app, _PUSH_LOCK_NS, _local_push_locks, account_id) as got:
        yield got


@dataclass(frozen=True)
class PollOutcome:
    account_id: int
    result: IngestResult | None
    error: str | None = None


def next_poll_delay(
    base_seconds: float, remaining: int | None, reset_at: datetime | None, now: datetime
) -> timedelta:
    """How long to wait before the next poll, spreading the reported budget until its reset.

    Never sooner than ``base_seconds``; with nothing left, wait until the budget refills. A
    missing or already-past reset time tells us nothing, so the base interval applies.
    """
    base = timedelta(seconds=base_seconds)
    if remaining is None or reset_at is None or reset_at <= now:
        return base
    until_reset = reset_at - now
    if remaining <= 0:
        return max(base, until_reset)
    return max(base, until_reset / remaining)


def _record_error(session: Session, account_id: int, exc: Exception, base_seconds: int) -> None:
    account = session.get(PlatformAccount, account_id)
    if account is None:
        return
    now = utcnow()
    account.last_poll_at = now
    account.error_count += 1
    account.last_error = f"{type(exc).__name__}: {exc}"[:2000]
    delay = timedelta(
        seconds=min(3600, base_seconds * 2 ** min(account.error_count, 8)) * (0.5 + random.random())
    )
    if isinstance(exc, RateLimited) and exc.reset_at is not None:
        delay = max(exc.reset_at - now, timedelta(seconds=1))
    if isinstance(exc, AuthExpired):
        delay = timedelta(hours=1)  # a person has to fix the credentials first
    account.next_poll_at = now + delay


def poll_account(app: Flask, account_id: int) -> PollOutcome:
    """Fetch one account's new mentions and ingest them in one transaction."""
    with poll_lease(app, account_id) as got:
        if not got:
            return PollOutcome(account_id, None, "another poller holds this account")
        with job_session(app) as session:
            account = session.get(PlatformAccount, account_id)
            if account is None or not account.active:
                return PollOutcome(account_id, None, "inactive")
            connector = connector_for(app, account)
            cursor = account.cursor
        try:
            batch = connector.fetch_mentions(cursor)
        except (ConnectorError, ValueError) as exc:
            with job_session(app) as session:
                _record_error(session, account_id, exc, app.config["POLL_SECONDS"])
            return PollOutcome(account_id, None, str(exc))
        with job_session(app) as session:
            account = session.get(PlatformAccount, account_id, with_for_update=True)
            assert account is not None
            if account.cursor != cursor:
                return PollOutcome(account_id, None, "cursor moved under us; next poll resumes")
            result = ingest_batch(
                session, account, batch, default_sla=app.config["DEFAULT_SLA_MINUTES"]
            )
            now = utcnow()
            account.last_poll_at = now
            account.error_count = 0
            account.last_error = None
            budget = batch.rate_limit  # only this batch's report: an older one may be stale
            delay = next_poll_delay(
                app.config["POLL_SECONDS"],
                budget.remaining if budget else None,
                budget.reset_at if budget else None,
                now,
            )
            if push_connected(account):
                delay = max(delay, timedelta(seconds=PUSH_POLL_SECONDS))
            account.next_poll_at = now + delay
        return PollOutcome(account_id, result)


def poll_all(app: Flask, force: bool = False) -> list[PollOutcome]:
    """Poll every active account that is due; one account's failure never stops the others."""
    now = utcnow()
    with job_session(app) as session:
        ids = [
            a.id
            for a in session.scalars(
                select(PlatformAccount).where(PlatformAccount.active.is_(True))
            )
            if force or a.next_poll_at is None or a.next_poll_at <= now
        ]
    outcomes = []
    for account_id in ids:
        try:
            outcomes.append(poll_account(app, account_id))
        except Exception as exc:  # isolate accounts: log, count, carry on with the next
            log.exception("poll of account %s failed", account_id)
            with job_session(app) as session:
                _record_error(session, account_id, exc, app.config["POLL_SECONDS"])
            outcomes.append(PollOutcome(account_id, None, str(exc)))
    return outcomes


def build_scheduler(app: Flask) -> BackgroundScheduler:
    """The process's jobs, each with a stable id; not started here.

    The "push" job starts and stops the stream consumers (``PushSupervisor``); they stop with
    the scheduler.
    """
    scheduler = BackgroundScheduler(timezone="UTC")
    supervisor = PushSupervisor(app)
    app.extensions["hub.push"] = supervisor
    scheduler.add_job(
        supervisor.sync,
        "interval",
        id="push",
        seconds=PUSH_SYNC_SECONDS,
        max_instances=1,
        coalesce=True,
        next_run_time=utcnow(),
    )

    def stop_push(event: SchedulerEvent) -> None:
        supervisor.stop()

    scheduler.add_listener(stop_push, EVENT_SCHEDULER_SHUTDOWN)
    scheduler.add_job(
        poll_all,
        "interval",
        args=[app],
        id="poll",
        # Every second: each account keeps its own next_poll_at, and a coarser tick rounds every
        # interval up to the tick (15 s polls on a 5 s tick ran every 20 s).
        seconds=1,
        max_instances=1,
        coalesce=True,
        next_run_time=utcnow(),
    )
    scheduler.add_job(
        send_due,
        "interval",
        args=[app],
        id="send",
        seconds=app.config["SEND_SECONDS"],
        max_instances=1,
        coalesce=True,
        next_run_time=utcnow(),
    )
    from .reports import run_daily_summary
    from .retention import run_retention

    scheduler.add_job(
        run_retention,
        "cron",
        args=[app],
        id="retention",
        hour=3,
        minute=15,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=3600,
    )

    scheduler.add_job(
        run_daily_summary,
        "cron",
        args=[app],
        id="daily-summary",
        hour=0,
        minute=5,
        max_instances=1,
        coalesce=True,
        misfire_grace_time=3600,
    )
    trickle = int(app.config.get("DEMO_TRICKLE_SECONDS") or 0)
    if trickle > 0:
        from .demo import trickle_one

        scheduler.add_job(
            trickle_one,
            "interval",
            args=[app],
            id="demo-trickle",
            seconds=trickle,
            max_instances=1,
            coalesce=True,
        )
    return scheduler


# --- push: firehose consumers -------------------------------------------------------------------


def can_push(account: PlatformAccount) -> bool:
    """Whether the account should have a stream consumer: active, its platform can stream, and
    push not switched off in its settings (``config["push"]``, on by default)."""
    _optional_platforms()
    factory = REGISTRY.get(account.platform)
    streams = callable(getattr(factory, "stream_mentions", None))
    wanted = account.config.get("push", True)
    if isinstance(wanted, str):  # from a form or `hub add-account --set push=false`
        wanted = wanted.strip().lower() not in ("", "0", "false", "no", "off")
    return bool(account.active and streams and wanted)


def push_connected(account: PlatformAccount) -> bool:
    """Whether the account's stream was connected when last reported."""
    status = account.config.get("push_status")
    return isinstance(status, dict) and status.get("state") == "connected"


def push_health(account: PlatformAccount) -> str:
    """The stream's health in words for the accounts page, e.g. "push: connected since …"."""
    status = account.config.get("push_status")
    if not can_push(account):
        return "push: off"
    if not isinstance(status, dict) or not status.get("state"):
        return "push: not started"
    since = _parse_since(status.get("since"))
    words = f"push: {status['state']}"
    if since is not None:
        words += f" since {since:%b %d %H:%M:%S} UTC"
    if status.get("state") != "connected" and status.get("error"):
        words += f" ({status['error']})"
    return words


def _parse_since(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _set_push_status(app: Flask, account_id: int, state: str, error: str | None = None) -> None:
    """Record the stream's state on the account; "since" only moves when the state changes.

    Anything but "connected" also makes the next poll due now, so the poll covers the gap.
    """
    with job_session(app) as session:
        account = session.get(PlatformAccount, account_id, with_for_update=True)
        if account is None:
            return
        now = utcnow()
        old = account.config.get("push_status")
        old = old if isinstance(old, dict) else {}
        since = old.get("since") if old.get("state") == state else None
        status = {"state": state, "since": since or now.isoformat(), "error": error}
        old_fingerprint = new_fingerprint = ""
        if status != old:
            old_fingerprint = _fingerprint(account)
            account.config = {**account.config, "push_status": status}
            new_fingerprint = _fingerprint(account)
        if state != "connected":
            account.next_poll_at = now
    if old_fingerprint:
        _keep_cached_connector(app, account_id, old_fingerprint, new_fingerprint)


def _close_if_replaced(app: Flask, account_id: int, connector: Any) -> None:
    """Close a stream's connector that ``connector_for`` no longer hands out (new settings)."""
    cache: dict[int, tuple[str, Any]] = app.extensions.setdefault("hub.connectors", {})
    with _connector_lock:
        hit = cache.get(account_id)
        replaced = hit is None or hit[1] is not connector
    if replaced and callable(getattr(connector, "close", None)):
        connector.close()


def _keep_cached_connector(app: Flask, account_id: int, old: str, new: str) -> None:
    """Re-key the account's cached connector after a push-status change.

    ``connector_for`` rebuilds a connector whenever the account's config changes; the status is
    not a setting the connector reads, and a rebuild on every connect/disconnect would leave
    the old instance (and its HTTP connections) behind while the stream still uses it.
    """
    cache: dict[int, tuple[str, Any]] = app.extensions.setdefault("hub.connectors", {})
    with _connector_lock:
        hit = cache.get(account_id)
        if hit is not None and hit[0] == old:
            cache[account_id] = (new, hit[1])


def ingest_pushed(app: Flask, account_id: int, mention: IncomingMention) -> bool:
    """Store one pushed mention through the same ingest as polling; True if it was new.

    The account row is locked first, as ``poll_account`` does before its ingest, so a poll and
    a push of the same mention run one after the other and the second sees the first's row.
    The poll cursor and the "last successful poll" time are left alone: only polls move them.
    """
    for attempt in range(2):
        try:
            with job_session(app) as session:
                account = session.get(PlatformAccount, account_id, with_for_update=True)
                if account is None or not account.active:
                    return False
                last_poll_success = account.last_success_at
                result = ingest_batch(
                    session,
                    account,
                    Batch([mention], None),
                    default_sla=app.config["DEFAULT_SLA_MINUTES"],
                )
                account.last_success_at = last_poll_success
                return result.inserted == 1
        except IntegrityError:
            # Another writer stored the same mention between our check and our insert (e.g. the
            # poll of a second account of ours mentioned in the same post, which locks another
            # row): the retry sees the stored row and skips it.
            if attempt:
                raise
    return False


class PushSupervisor:
    """Keeps one stream consumer thread per account that can push (see ``can_push``)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._consumers: dict[int, tuple[threading.Thread, threading.Event]] = {}
        self._guard = threading.Lock()
        self._stopped = False

    def sync(self) -> None:
        """Start consumers for accounts that gained push, stop those of accounts that lost it."""
        with job_session(self.app) as session:
            wanted = {
                a.id
                for a in session.scalars(
                    select(PlatformAccount).where(PlatformAccount.active.is_(True))
                )
                if can_push(a)
            }
        with self._guard:
            if self._stopped:
                return
            for account_id, (thread, stop) in list(self._consumers.items()):
                if account_id not in wanted or not thread.is_alive():
                    stop.set()
                    if not thread.is_alive():
                        del self._consumers[account_id]
            for account_id in wanted - set(self._consumers):
                stop = threading.Event()
                thread = threading.Thread(
                    target=consume_stream,
                    args=(self.app, account_id, stop),
                    name=f"push-{account_id}",
                    daemon=True,
                )
                self._consumers[account_id] = (thread, stop)
                thread.start()

    def running(self) -> set[int]:
        """Accounts with a live consumer thread in this process."""
        with self._guard:
            return {i for i, (thread, _) in self._consumers.items() if thread.is_alive()}

    def stop(self, timeout: float = 10.0) -> None:
        """Stop every consumer and wait for them (each marks its account disconnected)."""
        with self._guard:
            self._stopped = True
            consumers = list(self._consumers.values())
            self._consumers.clear()
        for _, stop in consumers:
            stop.set()
        deadline = time.monotonic() + timeout
        for thread, _ in consumers:
            thread.join(max(0.0, deadline - time.monotonic()))


def consume_stream(
    app: Flask,
    account_id: int,
    stop: threading.Event,
    on_ingested: Callable[[IncomingMention, bool], None] | None = None,
) -> None:
    """Run one account's stream until ``stop`` is set or the account no longer pushes.

    Holds the push lease the whole time (another process that holds it keeps the account; we
    look again every ``PUSH_RETRY_MAX_SECONDS``). Every failure is logged, recorded on the
    account and followed by a reconnect after an exponential, jittered wait; the thread itself
    never dies of one.
    """
    while not stop.is_set():
        with push_lease(app, account_id) as got:
            if got:
                _stream_while_leased(app, account_id, stop, on_ingested)
                return
        stop.wait(PUSH_RETRY_MAX_SECONDS)


def _stream_while_leased(
    app: Flask,
    account_id: int,
    stop: threading.Event,
    on_ingested: Callable[[IncomingMention, bool], None] | None,
) -> None:
    failures = 0
    connected_at: list[float] = []  #: when the current connection's handshake finished
    while not stop.is_set():
        connected_at.clear()
        with job_session(app) as session:
            account = session.get(PlatformAccount, account_id)
            if account is None or not can_push(account):
                if account is not None:
                    _set_push_status(app, account_id, "off")
                return
            connector = connector_for(app, account)
        stream: Callable[..., None] | None = getattr(connector, "stream_mentions", None)
        if stream is None:
            return

        def deliver(mention: IncomingMention) -> None:
            new = ingest_pushed(app, account_id, mention)
            if on_ingested is not None:
                on_ingested(mention, new)

        def connected() -> None:
            connected_at.append(time.monotonic())
            _set_push_status(app, account_id, "connected")

        error: str
        wait: float | None = None
        try:
            try:
                stream(deliver, stop, on_connect=connected)
            finally:
                _close_if_replaced(app, account_id, connector)
        except AuthExpired as exc:
            error = f"the platform refused the credentials: {exc}"
            wait = PUSH_RETRY_MAX_SECONDS  # a person has to fix them; the poll says so too
        except RateLimited as exc:
            error = str(exc)
            if exc.reset_at is not None:
                wait = max(1.0, (exc.reset_at - utcnow()).total_seconds())
        except ConnectorError as exc:
            error = str(exc)
        except Exception as exc:  # an ingest or database failure: keep the thread, retry later
            log.exception("push stream of account %s failed", account_id)
            error = f"{type(exc).__name__}: {exc}"
        else:
            break  # asked to stop
        if stop.is_set():
            break
        if connected_at and time.monotonic() - connected_at[-1] >= PUSH_HEALTHY_SECONDS:
            failures = 0
        failures += 1
        log.warning("push stream of account %s stopped: %s", account_id, error)
        try:
            _set_push_status(app, account_id, "disconnected", error[:500])
        except Exception:
            log.exception("could not record the push status of account %s", account_id)
        if wait is None:
            wait = min(PUSH_RETRY_MAX_SECONDS, PUSH_RETRY_SECONDS * 2 ** min(failures - 1, 10))
            wait *= 0.5 + random.random()
        stop.wait(wait)
    try:
        _set_push_status(app, account_id, "disconnected", "the hub stopped the stream")
    except Exception:
        log.exception("could not record the push status of account %s", account_id)
