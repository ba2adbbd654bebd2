"""Push: one stream consumer thread per account whose platform can stream (``StreamingConnector``).

Push never replaces polling: pushed mentions go through the same ingest (the unique key makes a
mention seen both ways one row) but never move the poll cursor, and the poll keeps running, only
less often (``PUSH_POLL_SECONDS``) while the stream is connected. When the stream drops, the
account is polled at once and the consumer reconnects with exponential backoff and jitter.
The stream's health is kept in the account's ``push_state``, ``push_since`` and ``push_error``
columns for the accounts page.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable

from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from connectors.base import (
    AuthExpired,
    Batch,
    ConnectorError,
    IncomingMention,
    RateLimited,
    StreamingConnector,
)
from hub.db import job_session
from hub.engagement.ingest import ingest_batch
from hub.models import PlatformAccount, PushState, utcnow
from hub.platforms.leases import push_lease
from hub.platforms.registry import connector_for, release_connector, supports_streaming

log = logging.getLogger(__name__)

#: the poll interval while an account's stream is connected (the poll is then only a safety net)
PUSH_POLL_SECONDS = 60
#: reconnect backoff of a stream consumer: first wait, cap (seconds; jitter 0.5-1.5x on top)
PUSH_RETRY_SECONDS = 2.0
PUSH_RETRY_MAX_SECONDS = 300.0
#: a connection that lasted this long was healthy: the next failure starts the backoff over
PUSH_HEALTHY_SECONDS = 60.0
#: how often the push job looks for accounts that gained or lost push
PUSH_SYNC_SECONDS = 10
#: how often a worker whose account stream another worker holds asks again (a stopped or killed
#: holder's lease is free as soon as its connection closes)
PUSH_LEASE_RETRY_SECONDS = 15.0


def can_push(account: PlatformAccount) -> bool:
    """Whether the account should have a stream consumer: active, its platform can stream, and
    push not switched off in its settings (``config["push"]``, on by default)."""
    wanted = account.config.get("push", True)
    if isinstance(wanted, str):  # from a form or `hub add-account --set push=false`
        wanted = wanted.strip().lower() not in ("", "0", "false", "no", "off")
    return bool(account.active and supports_streaming(account.platform) and wanted)


def push_connected(account: PlatformAccount) -> bool:
    """Whether the account's stream was connected when last reported."""
    return account.push_state == PushState.CONNECTED


def _record_push_state(
    app: Flask, account_id: int, state: PushState, error: str | None = None
) -> None:
    """Record the stream's state on the account; "since" only moves when the state changes.

    Anything but "connected" also makes the next poll due now, so the poll covers the gap.
    """
    with job_session(app) as session:
        account = session.get(PlatformAccount, account_id, with_for_update=True)
        if account is None:
            return
        now = utcnow()
        if account.push_state != state or account.push_since is None:
            account.push_state = state.value
            account.push_since = now
        account.push_error = error
        if state != PushState.CONNECTED:
            account.next_poll_at = now


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


def start_push(app: Flask) -> PushSupervisor:
    """A new supervisor for the app's scheduler; the "push" job syncs it (``sync_streams``)."""
    supervisor = PushSupervisor(app)
    app.extensions["hub.push"] = supervisor
    return supervisor


def sync_streams(app: Flask) -> None:
    """The "push" job: bring the stream consumers in line with the accounts that can push."""
    supervisor: PushSupervisor = app.extensions["hub.push"]
    supervisor.sync()


def consume_stream(
    app: Flask,
    account_id: int,
    stop: threading.Event,
    on_ingested: Callable[[IncomingMention, bool], None] | None = None,
) -> None:
    """Run one account's stream until ``stop`` is set or the account no longer pushes.

    Holds the push lease the whole time (another process that holds it keeps the account; we
    look again every ``PUSH_LEASE_RETRY_SECONDS``). Every failure is logged, recorded on the
    account and followed by a reconnect after an exponential, jittered wait; the thread itself
    never dies of one.
    """
    while not stop.is_set():
        with push_lease(app, account_id) as got:
            if got:
                _stream_while_leased(app, account_id, stop, on_ingested)
                return
        stop.wait(PUSH_LEASE_RETRY_SECONDS)


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
                    _record_push_state(app, account_id, PushState.OFF)
                return
            connector = connector_for(app, account)
        if not isinstance(connector, StreamingConnector):
            return

        def deliver(mention: IncomingMention) -> None:
            new = ingest_pushed(app, account_id, mention)
            if on_ingested is not None:
                on_ingested(mention, new)

        def connected() -> None:
            connected_at.append(time.monotonic())
            _record_push_state(app, account_id, PushState.CONNECTED)

        error: str
        wait: float | None = None
        try:
            try:
                connector.stream_mentions(deliver, stop, on_connect=connected)
            finally:
                release_connector(app, account_id, connector)
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
            _record_push_state(app, account_id, PushState.DISCONNECTED, error[:500])
        except Exception:
            log.exception("could not record the push status of account %s", account_id)
        if wait is None:
            wait = min(PUSH_RETRY_MAX_SECONDS, PUSH_RETRY_SECONDS * 2 ** min(failures - 1, 10))
            wait *= 0.5 + random.random()
        stop.wait(wait)
    try:
        _record_push_state(app, account_id, PushState.DISCONNECTED, "the hub stopped the stream")
    except Exception:
        log.exception("could not record the push status of account %s", account_id)
