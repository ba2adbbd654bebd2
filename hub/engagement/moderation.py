"""The mention's life: new → open → pending customer → closed, escalation on the side.

``allowed_moves`` is the one place that decides which moves are legal, so the queue, the
conversation page and the scheduler can never disagree. Every move appends an audit event in the
same transaction that changes the status column.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, select, update
from sqlalchemy.orm import Session

from hub.audit import record_event
from hub.engagement.assignment import can_reply
from hub.errors import UserError
from hub.i18n import _, label, when
from hub.models import AuditEvent, Mention, MentionStatus, Notification, Staff

S = MentionStatus
#: audit actions that give a mention its current assignee
ASSIGNING_ACTIONS = ("mention.claimed", "mention.assigned", "mention.taken_over")

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


class AlreadyTaken(MoveError):
    """Someone else holds the mention now: who, and since when (for "Take over")."""

    status = 409

    def __init__(self, message: str, holder: Staff | None, since: datetime | None) -> None:
        super().__init__(message)
        self.holder = holder
        self.since = since


def assigned_since(session: Session, mention: Mention) -> datetime | None:
    """When the mention's current assignee got it (the newest claim, assignment or take-over)."""
    return session.scalar(
        select(AuditEvent.at)
        .where(
            AuditEvent.subject_type == "mention",
            AuditEvent.subject_id == mention.id,
            AuditEvent.action.in_(ASSIGNING_ACTIONS),
        )
        .order_by(AuditEvent.id.desc())
        .limit(1)
    )


def _taken(session: Session, mention: Mention) -> AlreadyTaken:
    holder = mention.assignee
    since = assigned_since(session, mention)
    if holder is None:
        message = _("Someone changed this mention meanwhile; look again and retry.")
    elif since is None:
        message = _("%(name)s has this mention.", name=holder.name)
    else:
        message = _("%(name)s has this mention since %(when)s.", name=holder.name, when=when(since))
    return AlreadyTaken(message, holder, since)


def _swap_assignee(
    session: Session, mention: Mention, actor: Staff, seen_assignee: int | None
) -> bool:
    """Compare-and-set: give the mention to ``actor`` only if its assignee is still the one the
    person saw. Only the one UPDATE that matched a row wins; a concurrent second one (blocked on
    the row lock, then re-evaluated) matches nothing."""
    seen = (
        Mention.assignee_id.is_(None)
        if seen_assignee is None
        else Mention.assignee_id == seen_assignee
    )
    result = session.execute(
        update(Mention)
        .where(Mention.id == mention.id, seen, Mention.status != S.CLOSED.value)
        .values(
            assignee_id=actor.id,
            status=case((Mention.status == S.NEW.value, S.OPEN.value), else_=Mention.status),
        )
        .execution_options(synchronize_session=False)
    )
    session.refresh(mention)
    return bool(getattr(result, "rowcount", 0) == 1)


def claim_mention(
    session: Session, mention: Mention, actor: Staff, seen_assignee: int | None = None
) -> None:
    """Take an unassigned mention for yourself, if it is still as you saw it.

    ``seen_assignee`` is the assignee the person's page showed (None: nobody). If it changed
    meanwhile the claim fails with :class:`AlreadyTaken` naming who has it; taking a mention
    from someone is :func:`take_over_mention`, a manager's explicit act.
    """
    if mention.assignee_id == actor.id:
        return
    if mention.status == S.CLOSED:
        raise MoveError(_("This mention is closed; reopen it first."))
    if seen_assignee is not None and seen_assignee != actor.id:
        raise _taken(session, mention)
    old = mention.status
    if not _swap_assignee(session, mention, actor, seen_assignee):
        if mention.assignee_id == actor.id:
            return
        raise _taken(session, mention)
    record_event(
        session,
        "mention.claimed",
        "mention",
        mention.id,
        actor.id,
        previous_assignee=seen_assignee,
        status_from=old,
        status_to=mention.status,
    )


def take_over_mention(
    session: Session, mention: Mention, actor: Staff, seen_assignee: int | None
) -> None:
    """A manager takes a mention from the person who has it (the one they were shown), who is
    told by a notification."""
    if not actor.has_role("manager"):
        raise MoveError(_("Only community managers take over someone else's mention."))
    if mention.status == S.CLOSED:
        raise MoveError(_("This mention is closed; reopen it first."))
    if seen_assignee is None or seen_assignee == actor.id:
        claim_mention(session, mention, actor, seen_assignee)
        return
    old = mention.status
    if not _swap_assignee(session, mention, actor, seen_assignee):
        raise _taken(session, mention)
    record_event(
        session,
        "mention.taken_over",
        "mention",
        mention.id,
        actor.id,
        previous_assignee=seen_assignee,
        assignee=actor.id,
        status_from=old,
        status_to=mention.status,
    )
    session.add(
        Notification(
            staff_id=seen_assignee,
            kind="taken_over",
            mention_id=mention.id,
            data={"mention_id": mention.id, "by": actor.id},
        )
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
