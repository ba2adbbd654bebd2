"""Background jobs: poll each account, send due outbox rows, (demo) trickle customer posts.

Started only by ``hub run`` / ``hub worker``, never by create_app, or every web worker would run
every job. On PostgreSQL a session-level advisory lock per account makes sure one account has one
poller even when several worker processes run.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from connectors.base import AuthExpired, ConnectorError, RateLimited

from .accounts import connector_for
from .db import job_session
from .ingest import IngestResult, ingest_batch
from .models import PlatformAccount, utcnow
from .outbox import send_due

log = logging.getLogger(__name__)
_local_locks: dict[int, threading.Lock] = {}
_local_guard = threading.Lock()
#: advisory-lock namespace for account pollers (any constant unlikely to clash)
_LOCK_NS = 7283


@contextmanager
def poll_lease(app: Flask, account_id: int) -> Iterator[bool]:
    """Hold the right to poll one account; yields False if someone else holds it."""
    engine = app.extensions["hub.engine"]
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            got = conn.execute(
                text("SELECT pg_try_advisory_lock(:ns, :id)"), {"ns": _LOCK_NS, "id": account_id}
            ).scalar()
            conn.commit()
            try:
                yield bool(got)
            finally:
                if got:
                    conn.execute(
                        text("SELECT pg_advisory_unlock(:ns, :id)"),
                        {"ns": _LOCK_NS, "id": account_id},
                    )
                    conn.commit()
        return
    with _local_guard:
        lock = _local_locks.setdefault(account_id, threading.Lock())
    got = lock.acquire(blocking=False)
    try:
        yield got
    finally:
        if got:
            lock.release()


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
            account.next_poll_at = now + next_poll_delay(
                app.config["POLL_SECONDS"],
                budget.remaining if budget else None,
                budget.reset_at if budget else None,
                now,
            )
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
    """The process's jobs, each with a stable id; not started here."""
    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(
        poll_all,
        "interval",
        args=[app],
        id="poll",
        seconds=max(1, min(app.config["POLL_SECONDS"], 5)),
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
