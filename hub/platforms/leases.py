"""Leases: one poller and one stream consumer per account, one leader for the jobs that run once
per cluster, however many workers run.

On PostgreSQL a lease is a session-level advisory lock, so it holds across worker processes and
dies with its holder's connection (a worker killed with -9 frees its leases as its connection
closes). On SQLite exactly one scheduler process runs (``scheduler_slot``, a file lock), so an
account lease is a process-local lock and that process is the leader.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import Flask
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

#: advisory-lock namespaces (any constants unlikely to clash): account pollers, stream consumers
_POLL_NS = 7283
_PUSH_NS = 7284
#: the leader's lock: namespace and key
_LEADER_NS = 7285
_LEADER_KEY = 1
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


class Leadership:
    """Whether this scheduler process is the cluster's leader, the one that runs the jobs that
    must run once per cluster (``JobSpec.once_per_cluster``).

    On PostgreSQL the leader holds an advisory lock on a connection of its own for as long as
    it lives; the others try to take it each time they ask, so when the leader stops (or is
    killed, and its connection closes) the next one to ask becomes leader. The answer is kept
    for ``ttl`` seconds so asking costs no round trip per job run. On SQLite the one scheduler
    process is always the leader.
    """

    def __init__(self, app: Flask, ttl: float = 2.0) -> None:
        self.engine = app.extensions["hub.engine"]
        self.ttl = ttl
        self._conn: Connection | None = None
        self._checked_at = -ttl
        self._held = False
        self._guard = threading.Lock()

    def held(self) -> bool:
        """Whether this process leads now (taking the lead if nobody holds it)."""
        if self.engine.dialect.name != "postgresql":
            return True
        with self._guard:
            if time.monotonic() - self._checked_at < self.ttl:
                return self._held
            self._held = self._refresh()
            self._checked_at = time.monotonic()
            return self._held

    def _refresh(self) -> bool:
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT 1"))
                return True
            except DBAPIError:  # the connection (and with it the lock) is gone
                self._drop()
        try:
            conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except DBAPIError:
            return False
        try:
            got = conn.execute(
                text("SELECT pg_try_advisory_lock(:ns, :key)"),
                {"ns": _LEADER_NS, "key": _LEADER_KEY},
            ).scalar()
        except DBAPIError:
            conn.invalidate()
            conn.close()
            return False
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.invalidate()
            conn.close()

    def release(self) -> None:
        """Give the lead up (the scheduler is stopping): another worker may take it at once."""
        with self._guard:
            conn, self._conn = self._conn, None
            self._held = False
            self._checked_at = -self.ttl
            if conn is None:
                return
            try:
                conn.execute(
                    text("SELECT pg_advisory_unlock(:ns, :key)"),
                    {"ns": _LEADER_NS, "key": _LEADER_KEY},
                )
            except DBAPIError:
                conn.invalidate()
            conn.close()


class SchedulerBusy(RuntimeError):
    """Another scheduler process already runs on this SQLite database."""


@contextmanager
def scheduler_slot(app: Flask) -> Iterator[None]:
    """On SQLite, the right to be the database's one scheduler process: an exclusive lock on a
    file beside the database, freed when the process ends however it ends. Raises
    ``SchedulerBusy`` if another process holds it. On PostgreSQL there is no limit (the leases
    above share the work)."""
    engine = app.extensions["hub.engine"]
    if engine.dialect.name != "sqlite":
        yield
        return
    import fcntl  # POSIX only, as gunicorn is

    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    path = Path(f"{database}.scheduler-lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise SchedulerBusy(
                f"another scheduler (pid {holder}) runs on this SQLite database; on SQLite "
                "exactly one may run (use PostgreSQL for several workers)"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(fd)
