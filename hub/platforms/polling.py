"""Polling: fetch each account's new mentions, ingest them, and decide when to poll again.

Each account keeps its own ``next_poll_at``: the interval spreads the request budget the
platform reported until its reset, failures back off exponentially (with jitter), and a
connected push stream makes the poll a slower safety net. One account's failure never stops
the others.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.base import AuthExpired, ConnectorError, RateLimited
from connectors.outbound import UnsafeAddress
from hub.db import job_session
from hub.engagement.ingest import IngestResult, ingest_batch
from hub.models import PlatformAccount, utcnow
from hub.platforms.leases import poll_lease
from hub.platforms.push import PUSH_POLL_SECONDS, push_connected
from hub.platforms.registry import connector_for

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PollOutcome:
    """What one poll of one account did: the ingest's counts, or why there were none."""

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
    """Count a failed poll and put the next one off: exponential backoff with jitter, the
    platform's reset time when it gave one, an hour when a person must fix the credentials."""
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
    if isinstance(exc, AuthExpired | UnsafeAddress):
        delay = timedelta(hours=1)  # a person has to fix the credentials or the address first
    account.next_poll_at = now + delay


def poll_account(app: Flask, account_id: int, due_at: datetime | None = None) -> PollOutcome:
    """Fetch one account's new mentions and ingest them in one transaction.

    With ``due_at`` (the scheduler's poll), an account whose next poll is later than that is
    left alone: another worker polled it between our reading the due list and taking the lease.
    """
    with poll_lease(app, account_id) as got:
        if not got:
            return PollOutcome(account_id, None, "another poller holds this account")
        with job_session(app) as session:
            account = session.get(PlatformAccount, account_id)
            if account is None or not account.active:
                return PollOutcome(account_id, None, "inactive")
            if due_at is not None and account.next_poll_at and account.next_poll_at > due_at:
                return PollOutcome(account_id, None, "polled meanwhile by another worker")
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
                0 if batch.more else app.config["POLL_SECONDS"],
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
            outcomes.append(poll_account(app, account_id, None if force else now))
        except Exception as exc:  # isolate accounts: log, count, carry on with the next
            log.exception("poll of account %s failed", account_id)
            with job_session(app) as session:
                _record_error(session, account_id, exc, app.config["POLL_SECONDS"])
            outcomes.append(PollOutcome(account_id, None, str(exc)))
    return outcomes
