"""Failed sign-ins counted per account and per client address, in the hub's own database.

Why a table and not Flask-Limiter: Flask-Limiter keeps its counters in the ``limits`` library's
storage, which is process memory (each web worker counting on its own), or Redis, Memcached,
MongoDB or etcd (a new service to run). One row per key in the hub's database is shared by every
web process and machine, on SQLite and PostgreSQL alike, and lets the hub count failures only,
so a person who types the right password is not held back by the limit.

Each key has a fixed window that starts at its first failure; once ``limit`` failures fall in
the window, sign-ins under that key are refused until it ends. An attempt counts as a failure
from the moment it starts (``reserve_attempt``) until it is known to have succeeded
(``forgive_attempt``), so concurrent guesses cannot all slip in before any failure is recorded.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from hub.models import LoginThrottle

#: expired rows removed per attempt, so the table stays small without a job of its own
_PRUNE_BATCH = 100


@dataclass(frozen=True)
class Limit:
    """At most ``limit`` failed sign-ins per window under one key (an account, an address)."""

    kind: str
    value: str
    limit: int

    @property
    def key(self) -> str:
        """The row's key: a digest, so the e-mails people type are not stored."""
        return hashlib.sha256(f"{self.kind}:{self.value}".encode()).hexdigest()


@dataclass(frozen=True)
class Refusal:
    """Too many failures: no sign-in under this key for ``retry_after`` seconds."""

    retry_after: int


def reserve_attempt(
    session: Session, limits: Sequence[Limit], window: timedelta, now: datetime
) -> Refusal | None:
    """Count one sign-in attempt as a failure under every limit, or refuse it if one is spent."""
    keys = sorted({lim.key for lim in limits})
    _prune(session, keys, now - window)
    _ensure_rows(session, keys, now + window)
    rows = _locked_rows(session, keys)
    for row in rows.values():
        if row.window_ends <= now:
            row.failures = 0
            row.window_ends = now + window
    waits = [
        rows[lim.key].window_ends - now for lim in limits if rows[lim.key].failures >= lim.limit
    ]
    if waits:
        session.flush()
        return Refusal(retry_after=max(1, math.ceil(max(waits).total_seconds())))
    for row in rows.values():
        row.failures += 1
    session.flush()
    return None


def forgive_attempt(session: Session, cleared: Sequence[Limit], undone: Sequence[Limit]) -> None:
    """A sign-in succeeded: forget the failures under ``cleared`` (the account) and take this
    attempt back under ``undone`` (the address, whose other failures still count)."""
    keys = sorted({lim.key for lim in (*cleared, *undone)})
    rows = _locked_rows(session, keys)
    for lim in cleared:
        if lim.key in rows:
            session.delete(rows.pop(lim.key))
    for lim in undone:
        if lim.key in rows:
            rows[lim.key].failures = max(0, rows[lim.key].failures - 1)
    session.flush()


def _locked_rows(session: Session, keys: list[str]) -> dict[str, LoginThrottle]:
    """The rows under ``keys``, freshly read and locked, always in key order (no deadlock)."""
    return {
        row.key: row
        for row in session.scalars(
            select(LoginThrottle)
            .where(LoginThrottle.key.in_(keys))
            .order_by(LoginThrottle.key)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    }


def _ensure_rows(session: Session, keys: list[str], window_ends: datetime) -> None:
    """Create the missing rows. On PostgreSQL the no-op update on conflict also locks an existing
    row, so a concurrent prune cannot delete it before this transaction reads it; two attempts
    that insert the same new key at once meet no unique-key error."""
    values = [{"key": key, "failures": 0, "window_ends": window_ends} for key in keys]
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(LoginThrottle).values(values)
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=[LoginThrottle.key], set_={"failures": LoginThrottle.failures}
        )
    )


def _prune(session: Session, keep: list[str], before: datetime) -> None:
    """Remove rows whose window ended long ago. On PostgreSQL rows another sign-in holds are
    skipped (SKIP LOCKED), so pruning never waits on, or deadlocks with, a sign-in."""
    stale = (
        select(LoginThrottle.key)
        .where(LoginThrottle.window_ends < before, LoginThrottle.key.not_in(keep))
        .limit(_PRUNE_BATCH)
        .with_for_update(skip_locked=True)
    )
    session.execute(
        delete(LoginThrottle)
        .where(LoginThrottle.key.in_(stale.scalar_subquery()))
        .execution_options(synchronize_session=False)
    )
