"""Append-only audit events chained by hash, so any edited or deleted row is detectable."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from .models import AuditEvent, utcnow

GENESIS = "0" * 64


def _digest(
    prev_hash: str,
    at: datetime,
    actor_id: int | None,
    action: str,
    subject_type: str,
    subject_id: int,
    data: dict[str, Any],
) -> str:
    body = json.dumps(
        [prev_hash, at.isoformat(), actor_id, action, subject_type, subject_id, data],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    return hashlib.sha256(body.encode()).hexdigest()


def record_event(
    session: Session,
    action: str,
    subject_type: str,
    subject_id: int,
    actor_id: int | None = None,
    **data: Any,
) -> AuditEvent:
    """Append one event in the caller's transaction, chained to the previous one."""
    return record_events(session, [(action, subject_type, subject_id, actor_id, data)])[0]


def record_events(
    session: Session, events: list[tuple[str, str, int, int | None, dict[str, Any]]]
) -> list[AuditEvent]:
    """Append several events at once (action, subject type, subject id, actor id, data)."""
    if session.get_bind().dialect.name == "postgresql":
        # Serialise appenders so two transactions never chain onto the same predecessor.
        session.execute(text("SELECT pg_advisory_xact_lock(7283001)"))
    prev_hash = (
        session.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)) or GENESIS
    )
    rows = []
    for action, subject_type, subject_id, actor_id, data in events:
        at = utcnow()
        digest = _digest(prev_hash, at, actor_id, action, subject_type, subject_id, data)
        rows.append(
            AuditEvent(
                at=at,
                actor_id=actor_id,
                action=action,
                subject_type=subject_type,
                subject_id=subject_id,
                data=data,
                prev_hash=prev_hash,
                hash=digest,
            )
        )
        prev_hash = digest
    session.add_all(rows)
    session.flush()
    return rows


def verify_chain(session: Session, batch: int = 5000) -> tuple[int, int | None]:
    """Recompute the chain; return (events checked, id of the first broken event or None)."""
    prev_hash = GENESIS
    checked = 0
    last_id = 0
    while True:
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
        ).all()
        if not rows:
            return checked, None
        for ev in rows:
            expected = _digest(
                prev_hash, ev.at, ev.actor_id, ev.action, ev.subject_type, ev.subject_id, ev.data
            )
            if ev.prev_hash != prev_hash or ev.hash != expected:
                return checked, ev.id
            prev_hash = ev.hash
            checked += 1
            last_id = ev.id
        session.expunge_all()


def history(session: Session, subject_type: str, subject_id: int) -> list[AuditEvent]:
    """Every event about one subject, oldest first."""
    return list(
        session.scalars(
            select(AuditEvent)
            .where(AuditEvent.subject_type == subject_type, AuditEvent.subject_id == subject_id)
            .order_by(AuditEvent.id)
        )
    )
