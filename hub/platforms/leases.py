"""Per-account leases: one poller and one stream consumer per account, however many workers run.

On PostgreSQL a lease is a session-level advisory lock, so it holds across worker processes;
on SQLite (one process by design) it is a process-local lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from sqlalchemy import text

#: advisory-lock namespaces (any constants unlikely to clash): account pollers, stream consumers
_POLL_NS = 7283
_PUSH_NS = 7284
_local_locks: dict[int, dict[int, threading.Lock]] = {_POLL_NS: {}, _PUSH_NS: {}}
_local_guard = threading.Lock()


@contextmanager
def _lease(app: Flask, ns: int, account_id: int) -> Iterator[bool]:
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
        lock = _local_locks[ns].setdefault(account_id, threading.Lock())
    got = lock.acquire(blocking=False)
    try:
        yield got
    finally:
        if got:
            lock.release()


@contextmanager
def poll_lease(app: Flask, account_id: int) -> Iterator[bool]:
    """Hold the right to poll one account; yields False if someone else holds it."""
    with _lease(app, _POLL_NS, account_id) as got:
        yield got


@contextmanager
def push_lease(app: Flask, account_id: int) -> Iterator[bool]:
    """Hold the right to consume one account's stream; yields False if someone else holds it.

    Separate from the poll lease: the stream is held for hours and the poll must keep running.
    """
    with _lease(app, _PUSH_NS, account_id) as got:
        yield got
