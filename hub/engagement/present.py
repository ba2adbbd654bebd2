"""What the queue and the mention page offer to choose from: filters, people, moves."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.models import MENTION_STATUSES, Staff, Team
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
    """People who can be assigned a mention, by name."""
    return list(session.scalars(select(Staff).where(Staff.active.is_(True)).order_by(Staff.name)))


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
