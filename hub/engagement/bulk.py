"""Bulk actions on the queue: assign, close or tag the mentions a person ticked.

A bulk action is the single action repeated: each mention goes through the same service
(:func:`~hub.engagement.moderation.assign_mention`, :func:`~hub.engagement.moderation.move_mention`,
:func:`tag_mention`), so it makes the same legal move and appends the same audit event as the
button on the mention's page.

Transactions: the whole batch is one transaction (the request's one commit, hub.db) with one
savepoint per mention. A mention that cannot be changed (already closed, someone else's,
assigned to a person who cannot reply) rolls back only its own savepoint and is reported as
skipped with the reason; the others commit together. One transaction per mention would need a
commit per mention inside the request, which the hub's unit of work forbids, and would leave a
half-applied batch if the request died midway; one all-or-nothing transaction would let one
closed mention refuse the other 24. The batch's rows are locked (``FOR UPDATE``, in id order, so
two overlapping batches cannot deadlock) before any is checked, so a concurrent single action
cannot slip between a mention's check and its change on PostgreSQL; SQLite's ``BEGIN IMMEDIATE``
already serialises writers. A batch is at most :data:`MAX_BATCH` mentions, which bounds how long
the audit chain's lock is held.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.audit import record_event
from hub.engagement.moderation import MoveError, assign_mention, can_work, move_mention
from hub.errors import Forbidden, UserError
from hub.i18n import _, ngettext
from hub.models import Mention, MentionStatus, Staff

#: the most mentions one bulk action takes (four full queue pages)
MAX_BATCH = 100
#: a tag's length and a mention's tag count, as routing rules allow
MAX_TAG = 40
MAX_TAGS = 20

#: who may run each bulk action: the roles of the single action it repeats (assigning to
#: someone else is a manager's act, as on the mention page; admins pass every role check)
ACTION_ROLES: dict[str, tuple[str, ...]] = {
    "assign": ("manager",),
    "close": ("employee", "manager"),
    "tag": ("employee", "manager"),
}


@dataclass(frozen=True)
class BulkAction:
    """What the bulk form asks: an action, the ticked mentions, and the action's argument."""

    action: str
    mention_ids: tuple[int, ...]
    #: for "assign": the person (None: back to the team's pool)
    assignee_id: int | None = None
    #: for "tag"
    tag: str = ""


@dataclass(frozen=True)
class Skipped:
    """A mention the action left as it was, and why (for the person)."""

    mention_id: int
    reason: str


@dataclass(frozen=True)
class BulkResult:
    """Which mentions changed and which were skipped, with their reasons."""

    action: str
    done: list[int] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)

    def summary(self) -> str:
        """E.g. "3 closed, 1 skipped: already closed (1)." in the reader's language."""
        n = len(self.done)
        if self.action == "assign":
            head = ngettext("%(num)s mention assigned", "%(num)s mentions assigned", n)
        elif self.action == "close":
            head = ngettext("%(num)s mention closed", "%(num)s mentions closed", n)
        else:
            head = ngettext("%(num)s mention tagged", "%(num)s mentions tagged", n)
        if not self.skipped:
            return _("%(done)s.", done=head)
        reasons = Counter(s.reason for s in self.skipped)
        why = "; ".join(f"{reason} ({count})" for reason, count in reasons.items())
        return _(
            "%(done)s, %(skipped)s: %(why)s",
            done=head,
            skipped=ngettext("%(num)s skipped", "%(num)s skipped", len(self.skipped)),
            why=why,
        )


def normalise_tag(raw: str) -> str:
    """A tag as stored: one line, inner spaces collapsed, no control characters."""
    return " ".join("".join(ch for ch in raw if ch.isprintable()).split())


def tag_mention(session: Session, mention: Mention, tag: str, actor: Staff) -> bool:
    """Add a tag to a mention (a tag it has in any case is not added twice); audited.

    Who may: as for a status change, managers any mention, employees the ones assigned to them.
    Returns False when the mention had the tag already.
    """
    if not can_work(actor, mention):
        raise MoveError(_("Claim this mention before changing it."))
    tag = normalise_tag(tag)
    if not tag or len(tag) > MAX_TAG:
        raise UserError(_("A tag has 1 to %(max)s characters.", max=MAX_TAG))
    tags = list(mention.tags or [])
    if tag.casefold() in {t.casefold() for t in tags}:
        return False
    if len(tags) >= MAX_TAGS:
        raise UserError(_("A mention has at most %(max)s tags.", max=MAX_TAGS))
    mention.tags = [*tags, tag]
    record_event(session, "mention.tagged", "mention", mention.id, actor.id, tag=tag)
    return True


def _check_request(session: Session, form: BulkAction, actor: Staff) -> Staff | None:
    """Refuse the whole batch before touching anything; the assignee for "assign"."""
    roles = ACTION_ROLES.get(form.action)
    if roles is None:
        raise UserError(_("Choose what to do with the selected mentions."))
    if not actor.has_role(*roles):
        raise Forbidden(_("Only community managers assign mentions to others."))
    if not form.mention_ids:
        raise UserError(_("Select at least one mention."))
    if len(form.mention_ids) > MAX_BATCH:
        raise UserError(_("Select at most %(max)s mentions for one action.", max=MAX_BATCH))
    if form.action == "tag":
        tag = normalise_tag(form.tag)
        if not tag or len(tag) > MAX_TAG:
            raise UserError(_("A tag has 1 to %(max)s characters.", max=MAX_TAG))
    if form.action == "assign" and form.assignee_id is not None:
        assignee = session.get(Staff, form.assignee_id)
        if assignee is None:
            raise UserError(_("No such person."))
        return assignee
    return None


def _apply_one(
    session: Session, form: BulkAction, mention: Mention, assignee: Staff | None, actor: Staff
) -> str | None:
    """Do the action to one mention; the reason it was skipped, or None when it changed."""
    if form.action == "close":
        if mention.status == MentionStatus.CLOSED:
            return _("already closed")
        move_mention(session, mention, MentionStatus.CLOSED, actor)
    elif form.action == "assign":
        if mention.assignee_id == (assignee.id if assignee else None):
            return (
                _("already with %(name)s", name=assignee.name)
                if assignee
                else _("already unassigned")
            )
        assign_mention(session, mention, assignee, actor)
    elif not tag_mention(session, mention, form.tag, actor):
        return _("already tagged")
    return None


def apply_bulk(session: Session, form: BulkAction, actor: Staff) -> BulkResult:
    """Apply one action to each ticked mention, each in its own savepoint (see the module)."""
    assignee = _check_request(session, form, actor)
    ids = sorted(set(form.mention_ids))
    mentions = {
        m.id: m
        for m in session.scalars(
            select(Mention).where(Mention.id.in_(ids)).order_by(Mention.id).with_for_update()
        )
    }
    result = BulkResult(form.action)
    for mention_id in ids:
        mention = mentions.get(mention_id)
        if mention is None:
            result.skipped.append(Skipped(mention_id, _("no such mention")))
            continue
        try:
            with session.begin_nested():
                reason = _apply_one(session, form, mention, assignee, actor)
        except UserError as exc:
            reason = str(exc)
        if reason is None:
            result.done.append(mention_id)
        else:
            result.skipped.append(Skipped(mention_id, reason))
    return result
