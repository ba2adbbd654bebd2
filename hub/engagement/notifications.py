"""A person's notifications: a deadline breach in the team they lead, a teammate's note that
names them, a task given to them or overdue (hub.engagement.teamwork), and more.

A notification stores what the UI needs to word it (``Notification.data``), never English
text, so each reader sees it in their own language (``describe``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from hub.audit import record_event
from hub.engagement.present import duration_words
from hub.i18n import _, when
from hub.models import Notification

#: the most notifications the page lists
PAGE = 100


@dataclass(frozen=True)
class NotificationView:
    """One notification as the page shows it."""

    id: int
    created_at: datetime
    text: str
    mention_id: int | None
    unread: bool


def unread_count(session: Session, staff_id: int) -> int:
    """How many of the person's notifications are unread."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.staff_id == staff_id, Notification.read_at.is_(None))
        )
        or 0
    )


def describe(n: Notification) -> str:
    """The notification in the reader's language."""
    data = n.data or {}
    if n.kind == "sla_breach":
        late = duration_words(int(data.get("minutes_late") or 0))
        team = str(data.get("team") or "")
        action = data.get("action")
        if action == "raised":
            return _(
                "%(team)s: a first response is %(late)s late; its priority was raised.",
                team=team,
                late=late,
            )
        if action == "reassigned":
            return _(
                "%(team)s: a first response is %(late)s late; it was given to someone else.",
                team=team,
                late=late,
            )
        return _("%(team)s: a first response is %(late)s late.", team=team, late=late)
    if n.kind == "note_mention":
        return _("%(name)s mentioned you in an internal note.", name=str(data.get("by_name") or ""))
    if n.kind == "task_assigned":
        return _(
            "%(name)s gave you a task: %(title)s (due %(when)s UTC).",
            name=str(data.get("by_name") or ""),
            title=str(data.get("title") or ""),
            when=_when_iso(data.get("due_at")),
        )
    if n.kind == "task_overdue":
        return _(
            "Your task is overdue: %(title)s (was due %(when)s UTC).",
            title=str(data.get("title") or ""),
            when=_when_iso(data.get("due_at")),
        )
    return _("Something needs your attention.")


def _when_iso(value: object) -> str:
    """A stored ISO time in the reader's locale ("" when there is none or it is not a time)."""
    try:
        return when(datetime.fromisoformat(str(value))) if value else ""
    except ValueError:
        return ""


def list_notifications(session: Session, staff_id: int) -> list[NotificationView]:
    """The person's newest notifications first."""
    rows = session.scalars(
        select(Notification)
        .where(Notification.staff_id == staff_id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(PAGE)
    )
    return [
        NotificationView(n.id, n.created_at, describe(n), n.mention_id, n.read_at is None)
        for n in rows
    ]


def mark_all_read(session: Session, staff_id: int, now: datetime) -> int:
    """Mark the person's unread notifications read; returns how many (audited when any)."""
    result = session.execute(
        update(Notification)
        .where(Notification.staff_id == staff_id, Notification.read_at.is_(None))
        .values(read_at=now)
        .execution_options(synchronize_session=False)
    )
    count = int(result.rowcount or 0)  # type: ignore[attr-defined]
    if count:
        record_event(session, "notifications.read", "staff", staff_id, staff_id, count=count)
    return count
