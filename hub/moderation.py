"""The mention's life: new → open → pending customer → closed, escalation on the side.

``allowed_moves`` is the one place that decides which moves are legal, so the queue, the
conversation page and the scheduler can never disagree. Every move appends an audit event in the
same transaction that changes the status column.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from .audit import record_event
from .errors import UserError
from .models import Mention, Staff

TRANSITIONS: dict[str, frozenset[str]] = {
    "new": frozenset({"open", "escalated", "closed"}),
    "open": frozenset({"new", "pending", "escalated", "closed"}),
    "pending": frozenset({"open", "closed"}),
    "escalated": frozenset({"open", "pending", "closed"}),
    "closed": frozenset({"open"}),
}


class MoveError(UserError):
    """A move that the rules or the person's role do not allow; the message says why."""


def allowed_moves(status: str) -> frozenset[str]:
    """Statuses a mention in ``status`` may move to."""
    return TRANSITIONS.get(status, frozenset())


def _check(mention: Mention, to: str) -> None:
    if to not in allowed_moves(mention.status):
        raise MoveError(f"A {mention.status} mention cannot be moved to {to}.")


def can_work(staff: Staff, mention: Mention) -> bool:
    """Managers work any mention; employees the ones assigned to them."""
    return staff.has_role("manager") or mention.assignee_id == staff.id


def claim_mention(session: Session, mention: Mention, actor: Staff) -> None:
    """Take a mention for yourself; someone else's needs a manager's reassignment."""
    if mention.assignee_id == actor.id:
        return
    if mention.assignee_id is not None and not actor.has_role("manager"):
        raise MoveError("Someone else already has this mention; ask a community manager.")
    if mention.status == "closed":
        raise MoveError("This mention is closed; reopen it first.")
    previous = mention.assignee_id
    mention.assignee_id = actor.id
    old = mention.status
    if old == "new":
        mention.status = "open"
    record_event(
        session,
        "mention.claimed",
        "mention",
        mention.id,
        actor.id,
        previous_assignee=previous,
        status_from=old,
        status_to=mention.status,
    )


def assign_mention(
    session: Session, mention: Mention, assignee: Staff | None, actor: Staff
) -> None:
    """A manager gives a mention to someone (or back to the team's pool with None)."""
    if not actor.has_role("manager"):
        raise MoveError("Only community managers assign mentions to others.")
    if assignee is not None and not assignee.active:
        raise MoveError(f"{assignee.name} is not active.")
    old = mention.status
    previous = mention.assignee_id
    mention.assignee_id = assignee.id if assignee else None
    if assignee is not None and old == "new":
        mention.status = "open"
    elif assignee is None and old == "open":
        mention.status = "new"
    record_event(
        session,
        "mention.assigned",
        "mention",
        mention.id,
        actor.id,
        previous_assignee=previous,
        assignee=mention.assignee_id,
        status_from=old,
        status_to=mention.status,
    )


def move_mention(
    session: Session, mention: Mention, to: str, actor: Staff | None, why: str = ""
) -> None:
    """Change the status if the move is legal, recording who, what and why."""
    if actor is not None and not can_work(actor, mention):
        raise MoveError("Claim this mention before changing it.")
    _check(mention, to)
    old = mention.status
    mention.status = to
    record_event(
        session,
        "mention.moved",
        "mention",
        mention.id,
        actor.id if actor else None,
        status_from=old,
        status_to=to,
        why=why,
    )
