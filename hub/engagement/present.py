"""What the queue and the mention page offer to choose from: filters, people, moves."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.engagement.assignment import REPLY_ROLES
from hub.i18n import _
from hub.models import MENTION_STATUSES, Mention, MentionStatus, Staff, Team
from hub.platforms.registry import platforms


@dataclass(frozen=True)
class QueueChoices:
    """The queue's filter menus: every status, every platform the hub speaks, teams, people."""

    statuses: tuple[str, ...]
    platforms: tuple[str, ...]
    teams: list[Team]
    staff: list[Staff]

    def context(self) -> dict[str, Any]:
        """The names the queue template reads."""
        return {
            "statuses": self.statuses,
            "platforms": self.platforms,
            "teams": self.teams,
            "staff": self.staff,
        }


def platform_names() -> tuple[str, ...]:
    """The platforms the hub speaks, in the order the PLATFORMS setting loads them."""
    return tuple(platforms())


def active_staff(session: Session) -> list[Staff]:
    """People who can be assigned a mention (active, in a role that replies), by name."""
    return list(
        session.scalars(
            select(Staff)
            .where(Staff.active.is_(True), Staff.role.in_(REPLY_ROLES))
            .order_by(Staff.name)
        )
    )


#: a deadline is close when less than this share of its time is left, or less than SOON_MINUTES
SOON_SHARE = 0.25
SOON_MINUTES = 30


@dataclass(frozen=True)
class DueView:
    """How a mention's first-response deadline reads in the queue: ``state`` is "ok", "soon"
    or "overdue" (the CSS class), ``text`` says the same in words."""

    state: str
    text: str


def duration_words(minutes: int) -> str:
    """A span in the reader's language, coarse enough to read at a glance: 5 min, 1 h 5 min,
    2 d 3 h."""
    if minutes < 60:
        return _("%(m)d min", m=minutes)
    if minutes < 24 * 60:
        return _("%(h)d h %(m)d min", h=minutes // 60, m=minutes % 60)
    return _("%(d)d d %(h)d h", d=minutes // (24 * 60), h=minutes % (24 * 60) // 60)


def due_view(m: Mention, now: datetime) -> DueView | None:
    """The time left to an unanswered mention's deadline, or None (answered, closed, none)."""
    due = m.first_response_due_at
    if due is None or m.first_response_at is not None or m.status == MentionStatus.CLOSED:
        return None
    left = (due - now).total_seconds()
    if left < 0:
        return DueView("overdue", _("overdue by %(time)s", time=duration_words(int(-left // 60))))
    span = (due - m.received_at).total_seconds() if m.received_at else 0
    soon = left < SOON_MINUTES * 60 or (span > 0 and left < SOON_SHARE * span)
    return DueView(
        "soon" if soon else "ok", _("%(time)s left", time=duration_words(int(left // 60)))
    )


def due_views(mentions: Iterable[Mention], now: datetime) -> dict[int, DueView]:
    """``due_view`` of each mention that has one, by id."""
    return {m.id: v for m in mentions if (v := due_view(m, now)) is not None}


def queue_choices(session: Session) -> QueueChoices:
    """The queue's filter menus."""
    return QueueChoices(
        statuses=tuple(MENTION_STATUSES),
        platforms=platform_names(),
        teams=list(session.scalars(select(Team).order_by(Team.name))),
        staff=active_staff(session),
    )


@dataclass(frozen=True)
class HBar:
    """One bar of a ranking chart (SVG user units); ``shown`` is the value as printed."""

    y: float
    width: float
    name: str
    shown: str


@dataclass(frozen=True)
class BarChart:
    """Horizontal bars, one per name, scaled to the largest value; rendered by the template."""

    width: int
    height: int
    left: int
    bar_height: float
    bars: list[HBar]
    summary: str


def bar_chart(
    items: list[tuple[str, float | None]],
    summary: str,
    unit: str = "",
    width: int = 860,
    row: int = 22,
) -> BarChart:
    """Bars for the items that have a value, in the given order (a missing value draws none)."""
    left = 180
    shown = [(name, value) for name, value in items if value is not None]
    top = max((v for _, v in shown), default=0.0)
    plot = width - left - 70
    bars = [
        HBar(
            y=i * row + 4,
            width=(value / top * plot) if top else 0.0,
            name=name,
            shown=f"{value:g}{unit}",
        )
        for i, (name, value) in enumerate(shown)
    ]
    return BarChart(width, max(len(bars), 1) * row + 8, left, row * 0.7, bars, summary)
