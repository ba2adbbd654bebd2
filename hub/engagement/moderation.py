"""The mention's life: new → open → pending customer → closed, escalation on the side.

``allowed_moves`` is the one place that decides which moves are legal, so the queue, the
conversation page and the scheduler can never disagree. Every move appends an audit event in the
same transaction that changes the status column.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from hub.audit import record_event
from hub.engagement.assignment import can_reply
from hub.errors import UserError
from hub.i18n import _, label
from hub.models import Mention, MentionStatus, Staff

S = MentionStatus

#: the moves a person may make (the conversation page offers exactly these)
TRANSITIONS: dict[str, frozenset[str]] = {
    S.NEW: frozenset({S.OPEN, S.ESCALATED, S.CLOSED}),
    S.OPEN: frozenset({S.NEW, S.PENDING, S.ESCALATED, S.CLOSED}),
    S.PENDING: frozenset({S.OPEN, S.CLOSED}),
    S.ESCALATED: frozenset({S.OPEN, S.PENDING, S.CLOSED}),
    S.CLOSED: frozenset({S.OPEN}),
}
#: the moves the hub makes by itself, by cause: a sent reply leaves the next turn to the customer
#: (a manager may answer a mention nobody claimed, so ``new`` moves on too)
AUTOMATIC: dict[str, dict[str, str]] = {
    "reply sent": {S.NEW: S.PENDING, S.OPEN: S.PENDING, S.ESCALATED: S.PENDING},
}


class MoveError(UserError):
    """A move that the rules or the person's role do not allow; the message says why."""


def allowed_moves(status: str) -> frozenset[str]:
    """Statuses a mention in ``status`` may move to."""
    return TRANSITIONS.get(status, frozenset())


def _set_status(mention: Mention, to: str) -> None:
    """The one line that writes a mention's status; every caller checked a table first."""
    mention.status = MentionStatus(to).value


def _check(mention: Mention, to: str) -> None:
    if to not in set(MentionStatus):
        raise MoveError(_("Choose what should happen to the mention (open, close, escalate…)."))
    if to not in allowed_moves(mention.status):
        raise MoveError(
            _(
                "This mention is %(status)s and cannot move to %(to)s.",
                status=label(mention.status),
                to=label(to),
            )
        )


def can_work(staff: Staff, mention: Mention) -> bool:
    """Managers work any mention; employees the ones assigned to them."""
    return staff.has_role("manager") or mention.assignee_id == staff.id


def claim_mention(session: Session, mention: Mention, actor: Staff) -> None:
    """Take a mention for yourself; someone else's needs a manager's reassignment."""
    if mention.assignee_id == actor.id:
        return
    if mention.assignee_id is not None and not actor.has_role("manager"):
        raise MoveError(_("Someone else already has this mention; ask a community manager."))
    if mention.status == S.CLOSED:
        raise MoveError(_("This mention is closed; reopen it first."))
    previous = mention.assignee_id
    mention.assignee_id = actor.id
    old = mention.status
    if old == S.NEW:
        _set_status(mention, S.OPEN)
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
        raise MoveError(_("Only community managers assign mentions to others."))
    if assignee is not None and not assignee.active:
        raise MoveError(_("%(name)s is not active.", name=assignee.name))
    if assignee is not None and not can_reply(assignee):
        raise MoveError(_("%(name)s cannot reply to mentions.", name=assignee.name))
    old = mention.status
    previous = mention.assignee_id
    mention.assignee_id = assignee.id if assignee else None
    if assignee is not None and old == S.NEW:
        _set_status(mention, S.OPEN)
    elif assignee is None and old == S.OPEN:
        _set_status(mention, S.NEW)
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
        raise MoveError(_("Claim this mention before changing it."))
    _check(mention, to)
    _move(session, mention, to, actor.id if actor else None, why)


def apply_automatic(session: Session, mention: Mention, cause: str, actor_id: int | None) -> bool:
    """Make the move ``AUTOMATIC[cause]`` prescribes for the mention's status, if any."""
    to = AUTOMATIC[cause].get(mention.status)
    if to is None:
        return False
    _move(session, mention, to, actor_id, cause)
    return True


def _move(session: Session, mention: Mention, to: str, actor_id: int | None, why: str) -> None:
    """Change the status (the caller checked a table) and record who, what and why."""
    old = mention.status
    _set_status(mention, to)
    record_event(
        session,
        "mention.moved",
        "mention",
        mention.id,
        actor_id,
        status_from=old,
        status_to=to,
        why=why,
    )
