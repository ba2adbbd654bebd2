"""Who is writing a reply to which mention, so two people don't answer the same customer.

The reply composer sends a heartbeat every ~15 s while it holds text (``touch_presence``); a
row older than ``FRESH`` is ignored, so a closed tab needs no clean-up. Rows live in the
database, so every web worker sees the same presence.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hub.models import MentionPresence, Staff, utcnow

#: a heartbeat older than this no longer counts as "writing"
FRESH = timedelta(seconds=45)


def touch_presence(
    session: Session, mention_id: int, staff: Staff, now: datetime | None = None
) -> None:
    """Record that ``staff`` is writing a reply to the mention now."""
    now = now or utcnow()
    row = session.get(MentionPresence, (mention_id, staff.id))
    if row is None:
        session.add(
            MentionPresence(mention_id=mention_id, staff_id=staff.id, since=now, last_seen=now)
        )
    else:
        if row.last_seen < now - FRESH:
            row.since = now
        row.last_seen = now
    session.flush()


def clear_presence(session: Session, mention_id: int, staff: Staff) -> None:
    """``staff`` stopped writing (sent the reply, or emptied the composer)."""
    session.execute(
        delete(MentionPresence).where(
            MentionPresence.mention_id == mention_id, MentionPresence.staff_id == staff.id
        )
    )


def writers(
    session: Session, mention_id: int, exclude: int | None = None, now: datetime | None = None
) -> list[Staff]:
    """The people writing a reply to the mention right now (but ``exclude``, the reader)."""
    since = (now or utcnow()) - FRESH
    query = (
        select(Staff)
        .join(MentionPresence, MentionPresence.staff_id == Staff.id)
        .where(MentionPresence.mention_id == mention_id, MentionPresence.last_seen >= since)
        .order_by(MentionPresence.since)
    )
    if exclude is not None:
        query = query.where(Staff.id != exclude)
    return list(session.scalars(query))


def mentions_being_written(
    session: Session, mention_ids: Iterable[int], now: datetime | None = None
) -> set[int]:
    """Of ``mention_ids`` (a queue page), the ones someone is writing a reply to: one query."""
    ids = list(mention_ids)
    if not ids:
        return set()
    since = (now or utcnow()) - FRESH
    return set(
        session.scalars(
            select(MentionPresence.mention_id)
            .where(MentionPresence.mention_id.in_(ids), MentionPresence.last_seen >= since)
            .distinct()
        )
    )
