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
