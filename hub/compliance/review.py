"""The compliance review queue: approve, reject or edit-and-approve drafts the policy check held.

Rules enforced here (not only in the views, so a crafted POST cannot skip them):

- separation of duties: nobody reviews their own draft, admins included, and nobody approves
  text they wrote: a reviewer who edits a held item (edit-and-approve) becomes one of its
  authors, so their approval is recorded but does not count and a *different* reviewer has to
  approve the edited text (see :func:`editors`);
- two-person approval: an item needs ``required_approvals`` *distinct* reviewers, none of them
  an author of the text, and approvals given to an earlier version of the text (before the
  current decision) do not count;
- a draft whose current decision is *block* is only released with each approver's written reason,
  recorded as a ``ReviewAction`` with action ``"override"``;
- the item row is locked (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE``
  already serialises writers) and its state re-read before anything is decided, so two reviewers
  clicking at once neither lose an approval nor move the item twice.

Every action is a ``ReviewAction`` row plus an audit event with the reviewer as actor. Functions
add and flush; the caller commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

import policies
from hub.audit import record_event
from hub.compliance.packs import active_pack
from hub.errors import Conflict, Forbidden, UserError
from hub.i18n import _, label
from hub.models import (
    DecisionFinding,
    OutboundItem,
    OutboundState,
    PlatformAccount,
    PolicyDecision,
    ReviewAction,
    Staff,
    utcnow,
)
from hub.publishing.compose import author_history, check_text, record_decision
from hub.publishing.outbox import move_item
from hub.settings import get_setting, set_setting
from policies import share_after

TWO_PERSON_SETTING = "review.two_person_rules"
MIN_REJECT_REASON = 10
MIN_OVERRIDE_REASON = 20
MAX_REASON = 2000
MAX_TEXT = 5000
#: actions that count towards ``required_approvals`` (one per distinct reviewer)
APPROVING = ("approve", "edit_approve", "override")
KINDS = ("post", "reply")


class ReviewError(UserError):
    """A review action that cannot go ahead; the message is for the reviewer."""


class ReviewForbidden(ReviewError, Forbidden):
    """Not allowed for this person (their own draft, or not a reviewer): HTTP 403."""


class ReviewConflict(ReviewError, Conflict):
    """The item is no longer waiting for review (someone else decided it first)."""


class EditBlocked(ReviewError):
    """The reviewer's edit is blocked by the check and no override reason was given."""

    def __init__(self, message: str, decision: policies.Decision) -> None:
        super().__init__(message)
        self.decision = decision


# --- inputs and outputs --------------------------------------------------------------------


@dataclass(frozen=True)
class Approve:
    """Approve the current version; ``reason`` is required (≥ 20 characters) to override a block."""

    item_id: int
    reason: str = ""


@dataclass(frozen=True)
class Reject:
    """Send the draft back to its author with a reason they will read."""

    item_id: int
    reason: str


@dataclass(frozen=True)
class EditApprove:
    """Replace the text with the reviewer's edit, re-check it, and approve it."""

    item_id: int
    text: str
    #: needed (≥ 20 characters) only when the edited text is blocked by the check
    reason: str = ""


@dataclass(frozen=True)
class ReviewOutcome:
    """What a review action did."""

    item: OutboundItem
    action: str  # approve | reject | edit_approve | override
    approvals: int
    required: int
    #: True when this action released the item to the outbox (approved → scheduled)
    released: bool
    #: True for an edit made in review: the reviewer's own approval of it does not count
    edited: bool = False


@dataclass(frozen=True)
class QueueFilters:
    """The queue's filters; empty strings mean "any"."""

    kind: str = ""
    platform: str = ""
    guideline: str = ""


@dataclass(frozen=True)
class QueueRow:
    """One held item as the queue lists it."""

    item: OutboundItem
    waited_seconds: int
    verdict: str
    guidelines: list[str]
    approvals: int
    required: int

    @property
    def override_requested(self) -> bool:
        """The author asked compliance to override a block."""
        return bool(self.item.override_reason)


@dataclass(frozen=True)
class MixView:
    """The author's content mix as the reviewer needs it (this item not counted twice)."""

    posts_30d: int
    product_posts_30d: int
    limit: float
    is_product: bool | None
    share_after: float | None


@dataclass(frozen=True)
class ReviewDetail:
    """Everything the review page shows about one item."""

    item: OutboundItem
    decision: PolicyDecision | None
    versions: list[PolicyDecision]
    actions: list[ReviewAction]
    approvals: int
    approved_by: list[int]
    #: reviewers who edited the text during review: co-authors, so they cannot approve it
    edited_by: list[int]
    mix: MixView | None
    active_pack_version: str
    waited_seconds: int


# --- reading -------------------------------------------------------------------------------


def _started(item: OutboundItem) -> datetime:
    # Items submitted before review_started_at existed fall back to their creation time.
    return item.review_started_at or item.created_at


def _waited(item: OutboundItem, now: datetime) -> int:
    return max(0, int((now - _started(item)).total_seconds()))


def _is_edit(action: Any = ReviewAction) -> ColumnElement[bool]:
    # an edit made in review is the one kind of ReviewAction that names the decision on the
    # text it wrote (edit_and_approve's "edit_approve", or "override" when the edit was blocked)
    return action.decision_id.is_not(None)  # type: ignore[no-any-return]


def _not_an_editor() -> ColumnElement[bool]:
    """The review action's reviewer edited no version of its item's text: only such reviewers'
    approvals count (the item's own author never gets this far: ``_lock`` refuses them)."""
    edit = aliased(ReviewAction)
    return ~exists().where(
        edit.outbound_id == ReviewAction.outbound_id,
        edit.reviewer_id == ReviewAction.reviewer_id,
        _is_edit(edit),
    )


def _approval_counts(session: Session, item_ids: Sequence[int]) -> dict[int, int]:
    """Distinct reviewers whose approval is for the current version, per item."""
    if not item_ids:
        return {}
    current = PolicyDecision.__table__.alias("current_decision")
    rows = session.execute(
        select(ReviewAction.outbound_id, func.count(func.distinct(ReviewAction.reviewer_id)))
        .join(OutboundItem, OutboundItem.id == ReviewAction.outbound_id)
        .outerjoin(current, current.c.id == OutboundItem.decision_id)
        .where(
            ReviewAction.outbound_id.in_(item_ids),
            ReviewAction.action.in_(APPROVING),
            or_(current.c.id.is_(None), ReviewAction.at >= current.c.created_at),
            _not_an_editor(),
        )
        .group_by(ReviewAction.outbound_id)
    )
    return {int(oid): int(n) for oid, n in rows}


def approvers(session: Session, item: OutboundItem) -> list[int]:
    """Ids of the distinct reviewers who approved the item's current version and wrote none of
    its text (an editor's own approval is on record but does not count)."""
    q = select(ReviewAction.reviewer_id).where(
        ReviewAction.outbound_id == item.id,
        ReviewAction.action.in_(APPROVING),
        _not_an_editor(),
    )
    if item.decision is not None:
        q = q.where(ReviewAction.at >= item.decision.created_at)
    return sorted(set(session.scalars(q)))


def editors(session: Session, item_id: int) -> list[int]:
    """Reviewers who edited the item's text during review, in any version: they are among its
    authors from then on, so (like the author) they cannot approve it."""
    q = select(ReviewAction.reviewer_id).where(ReviewAction.outbound_id == item_id, _is_edit())
    return sorted(set(session.scalars(q)))


def version_editors(session: Session, item_id: int) -> dict[int, Staff]:
    """Who wrote each version that a reviewer edited, by decision id (for the version lists)."""
    rows = session.scalars(
        select(ReviewAction)
        .where(ReviewAction.outbound_id == item_id, _is_edit())
        .options(selectinload(ReviewAction.reviewer))
    )
    return {a.decision_id: a.reviewer for a in rows if a.decision_id is not None}


def list_in_review(
    session: Session, filters: QueueFilters, now: datetime | None = None, limit: int = 200
) -> list[QueueRow]:
    """Held items, oldest first, with what the queue shows about each."""
    now = now or utcnow()
    started = func.coalesce(OutboundItem.review_started_at, OutboundItem.created_at)
    q = (
        select(OutboundItem)
        .join(PlatformAccount, PlatformAccount.id == OutboundItem.account_id)
        .where(OutboundItem.state == OutboundState.IN_REVIEW.value)
        .options(
            selectinload(OutboundItem.author),
            selectinload(OutboundItem.account),
            selectinload(OutboundItem.decision),
        )
        .order_by(started, OutboundItem.id)
        .limit(limit)
    )
    if filters.kind:
        q = q.where(OutboundItem.kind == filters.kind)
    if filters.platform:
        q = q.where(PlatformAccount.platform == filters.platform)
    if filters.guideline:
        q = q.where(
            exists().where(
                and_(
                    DecisionFinding.decision_id == OutboundItem.decision_id,
                    DecisionFinding.guideline == filters.guideline,
                )
            )
        )
    items = list(session.scalars(q))
    counts = _approval_counts(session, [i.id for i in items])
    return [
        QueueRow(
            item=i,
            waited_seconds=_waited(i, now),
            verdict=i.decision.verdict if i.decision else "?",
            guidelines=sorted(
                {f["guideline"] for f in (i.decision.findings if i.decision else [])}
            ),
            approvals=counts.get(i.id, 0),
            required=i.required_approvals,
        )
        for i in items
    ]


def queue_choices(session: Session) -> dict[str, list[str]]:
    """Values for the queue's filter menus."""
    platforms = sorted(set(session.scalars(select(PlatformAccount.platform).distinct())))
    guidelines = sorted({r.guideline for r in active_pack(session).rules if r.guideline})
    return {"kinds": list(KINDS), "platforms": platforms, "guidelines": guidelines}


def review_detail(
    session: Session, item: OutboundItem, now: datetime | None = None
) -> ReviewDetail:
    """Load what the review page needs about one item."""
    now = now or utcnow()
    pack = active_pack(session)
    versions = list(
        session.scalars(
            select(PolicyDecision)
            .where(PolicyDecision.outbound_id == item.id)
            .order_by(PolicyDecision.created_at.desc(), PolicyDecision.id.desc())
        )
    )
    actions = list(
        session.scalars(
            select(ReviewAction)
            .where(ReviewAction.outbound_id == item.id)
            .options(selectinload(ReviewAction.reviewer))
            .order_by(ReviewAction.at, ReviewAction.id)
        )
    )
    approved_by = approvers(session, item)
    mix = None
    if item.kind == "post":
        history = author_history(session, item.author_id, exclude_id=item.id)
        is_product = item.decision.is_product if item.decision else None
        mix = MixView(
            posts_30d=history.posts_30d,
            product_posts_30d=history.product_posts_30d,
            limit=pack.mix.limit,
            is_product=is_product,
            share_after=float(share_after(history, bool(is_product)))
            if is_product is not None
            else None,
        )
    return ReviewDetail(
        item=item,
        decision=item.decision,
        versions=versions,
        actions=actions,
        approvals=len(approved_by),
        approved_by=approved_by,
        edited_by=editors(session, item.id),
        mix=mix,
        active_pack_version=pack.version,
        waited_seconds=_waited(item, now),
    )


# --- two-person rules -----------------------------------------------------------------------


def two_person_rules(session: Session) -> list[str]:
    """Rule ids whose findings need two distinct approvers."""
    value = get_setting(session, TWO_PERSON_SETTING) or []
    return [str(v) for v in value]


def rule_choices(session: Session) -> list[Any]:
    """The active pack's rules (each has ``.id``, ``.guideline`` and ``.severity``)."""
    return list(active_pack(session).rules)


def save_two_person_rules(session: Session, rule_ids: Iterable[str], actor: Staff) -> list[str]:
    """Store the rule ids needing two approvers; unknown ids are refused, nothing is saved."""
    if not actor.has_role("compliance"):
        raise ReviewForbidden(_("Only compliance officers choose the two-person rules."))
    known = {r.id for r in active_pack(session).rules}
    chosen = sorted({r.strip() for r in rule_ids if r.strip()})
    unknown = [r for r in chosen if r not in known]
    if unknown:
        raise ReviewError(
            _(
                "The active policy pack has no rule %(rules)s; choose from the list.",
                rules=", ".join(repr(u) for u in unknown),
            )
        )
    if chosen != sorted(two_person_rules(session)):
        set_setting(session, TWO_PERSON_SETTING, chosen, actor.id)
    return chosen


def required_approvals_for(session: Session, findings: Iterable[Any]) -> int:
    """2 when any finding's rule is configured for two-person approval, else 1.

    ``findings`` are engine Findings or their stored dicts.
    """
    rules = set(two_person_rules(session))
    for f in findings:
        rule_id = f["rule_id"] if isinstance(f, dict) else f.rule_id
        if rule_id in rules:
            return 2
    return 1


def enter_review(
    session: Session, item: OutboundItem, actor_id: int | None, **data: object
) -> None:
    """Move a checked item into review: start the clock and set the approvals it needs."""
    findings = item.decision.findings if item.decision else []
    item.required_approvals = required_approvals_for(session, findings)
    item.review_started_at = utcnow()
    move_item(
        session, item, "in_review", actor_id, required_approvals=item.required_approvals, **data
    )


# --- acting ---------------------------------------------------------------------------------


def _lock(session: Session, item_id: int, reviewer: Staff) -> OutboundItem:
    """The item, locked for this transaction and freshly read, if this reviewer may act on it."""
    if not reviewer.has_role("compliance"):
        raise ReviewForbidden(_("Only compliance officers review held drafts."))
    item = session.scalars(
        select(OutboundItem)
        .where(OutboundItem.id == item_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one_or_none()
    if item is None:
        raise ReviewError(_("That item does not exist."))
    if item.author_id == reviewer.id:
        raise ReviewForbidden(
            _("You wrote this draft, so someone else has to review it (separation of duties).")
        )
    if item.state != OutboundState.IN_REVIEW:
        raise ReviewConflict(
            _(
                "This item is no longer waiting for review (it is %(state)s).",
                state=label(item.state),
            )
        )
    # the relationship may have been loaded earlier in this session: follow the fresh decision_id
    session.expire(item, ["decision"])
    return item


def _reason(raw: str, minimum: int, what: str) -> str:
    reason = raw.strip()
    if len(reason) < minimum:
        if what == "override":
            raise ReviewError(
                _(
                    "Overriding a block needs a written reason of at least %(min)s characters.",
                    min=minimum,
                )
            )
        raise ReviewError(
            _("Rejecting needs a written reason of at least %(min)s characters.", min=minimum)
        )
    if len(reason) > MAX_REASON:
        raise ReviewError(_("Keep the reason under %(max)s characters.", max=MAX_REASON))
    return reason


def _add_action(
    session: Session,
    item: OutboundItem,
    reviewer: Staff,
    action: str,
    reason: str | None,
    decision_id: int | None = None,
) -> ReviewAction:
    # never earlier than the current version, or the approval would not count for it
    at = utcnow()
    if item.decision is not None and at < item.decision.created_at:
        at = item.decision.created_at
    row = ReviewAction(
        outbound_id=item.id,
        reviewer_id=reviewer.id,
        action=action,
        reason=reason,
        decision_id=decision_id,
        at=at,
    )
    session.add(row)
    session.flush()
    return row


def _approve_locked(
    session: Session,
    item: OutboundItem,
    reviewer: Staff,
    action: str,
    reason: str | None,
    decision_id: int | None = None,
) -> ReviewOutcome:
    """Record one approval on a locked item and release it once enough reviewers agree."""
    _add_action(session, item, reviewer, action, reason, decision_id)
    approvals = len(approvers(session, item))
    required = max(1, item.required_approvals)
    released = approvals >= required
    data: dict[str, Any] = {"approvals": approvals, "required": required}
    if decision_id is not None:
        data["decision_id"] = decision_id
    if reason:
        data["reason"] = reason
    if released:
        data["waited_seconds"] = _waited(item, utcnow())
    record_event(session, f"review.{action}", "outbound", item.id, reviewer.id, **data)
    if released:
        now = utcnow()
        move_item(
            session,
            item,
            "approved",
            reviewer.id,
            approvals=approvals,
            approvers=approvers(session, item),
            waited_seconds=data["waited_seconds"],
        )
        if item.not_before is None or item.not_before < now:
            item.not_before = now
        move_item(session, item, "scheduled", reviewer.id, not_before=item.not_before.isoformat())
    return ReviewOutcome(item, action, approvals, required, released)


def _already_approved(session: Session, item: OutboundItem, reviewer: Staff) -> None:
    if reviewer.id in editors(session, item.id):
        raise ReviewForbidden(
            _("You edited this text, so someone else has to approve it (separation of duties).")
        )
    if reviewer.id in approvers(session, item):
        raise ReviewError(
            _("You already approved this version; it needs another reviewer's approval.")
        )


def approve_item(session: Session, form: Approve, reviewer: Staff) -> ReviewOutcome:
    """Approve the current version (an override, with a reason, when the check blocked it)."""
    item = _lock(session, form.item_id, reviewer)
    _already_approved(session, item, reviewer)
    if item.decision is not None and item.decision.verdict == "block":
        reason = _reason(form.reason, MIN_OVERRIDE_REASON, "override")
        return _approve_locked(session, item, reviewer, "override", reason)
    reason_text = form.reason.strip()[:MAX_REASON] or None
    return _approve_locked(session, item, reviewer, "approve", reason_text)


def reject_item(session: Session, form: Reject, reviewer: Staff) -> ReviewOutcome:
    """Reject: the author reads the reason on their page and can edit and resubmit."""
    item = _lock(session, form.item_id, reviewer)
    reason = _reason(form.reason, MIN_REJECT_REASON, "reject")
    _add_action(session, item, reviewer, "reject", reason)
    item.review_reason = reason
    waited = _waited(item, utcnow())
    record_event(
        session,
        "review.reject",
        "outbound",
        item.id,
        reviewer.id,
        reason=reason,
        waited_seconds=waited,
    )
    move_item(session, item, "rejected", reviewer.id, reason=reason, waited_seconds=waited)
    return ReviewOutcome(
        item, "reject", len(approvers(session, item)), item.required_approvals, False
    )


def recheck_for_author(session: Session, item: OutboundItem, text: str) -> policies.Decision:
    """Check ``text`` as if the item's author had written it (their mix, their reply target),
    leaving the item itself out of the author's history."""
    return check_text(
        session,
        item.author,
        text,
        item.account.platform,
        item.kind,
        item.mention.text if item.mention is not None else None,
        exclude_id=item.id,
    )


def edit_and_approve(session: Session, form: EditApprove, reviewer: Staff) -> ReviewOutcome:
    """Replace the text with the reviewer's edit, re-check it in the author's context, and
    record the reviewer's approval of it, which cannot release it: the reviewer is now one of
    the text's authors, so it waits for ``required_approvals`` other reviewers.

    Both versions stay as PolicyDecision rows. Approvals of the old text stop counting, since
    the new decision is newer than them. A blocked edit needs an override reason.
    """
    item = _lock(session, form.item_id, reviewer)
    text = form.text.strip()
    if not text:
        raise ReviewError(_("The edited text is empty."))
    if len(text) > MAX_TEXT:
        raise ReviewError(_("Keep the text under %(max)s characters.", max=MAX_TEXT))
    if text == item.text.strip():
        raise ReviewError(_("The text is unchanged; use Approve instead."))
    decision = recheck_for_author(session, item, text)
    reason: str | None = form.reason.strip()[:MAX_REASON] or None
    action = "edit_approve"
    if decision.verdict == "block":
        if len(form.reason.strip()) < MIN_OVERRIDE_REASON:
            raise EditBlocked(
                "The check blocks the edited text. Change it, or give a written override reason "
                f"of at least {MIN_OVERRIDE_REASON} characters.",
                decision,
            )
        reason = _reason(form.reason, MIN_OVERRIDE_REASON, "override")
        action = "override"
    author = item.author
    row = record_decision(session, author, text, item.account.platform, decision, item)
    old_text, old_decision_id = item.text, item.decision_id
    item.text = text
    item.decision = row
    session.flush()
    # an edit can bring in a finding whose rule needs two approvers; never lower the bar
    item.required_approvals = max(
        item.required_approvals, required_approvals_for(session, decision.findings)
    )
    record_event(
        session,
        "outbound.edited",
        "outbound",
        item.id,
        reviewer.id,
        decision_id=row.id,
        previous_decision_id=old_decision_id,
        previous_text=old_text,
        text=text,
        verdict=decision.verdict,
    )
    outcome = _approve_locked(session, item, reviewer, action, reason, row.id)
    return replace(outcome, edited=True)
