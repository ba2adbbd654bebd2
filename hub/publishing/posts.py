"""Employee posts: compose, check, schedule, edit and withdraw a personal post until it is sent.

A post follows the outbox's state machine (hub.publishing.outbox.TRANSITIONS) and goes through
the same submission pipeline as a reply (hub.publishing.submission): allow → scheduled, warn →
scheduled once the author confirms, review → in_review, block → back to the author (or in_review
when they ask compliance for an override with a written reason). Every version keeps its own
PolicyDecision.

Edits move the item back to ``draft`` and re-check it. Review approvals given to an earlier
version stop counting: :func:`approvals` counts only ReviewActions dated after the current
version's decision (``item.decision.created_at``), which is written in the same transaction as
the ``outbound.edited`` audit event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

import policies
from connectors.base import clean_text
from hub.audit import record_event
from hub.compliance.packs import active_pack
from hub.compliance.review import MIN_OVERRIDE_REASON, approvers
from hub.i18n import _, format_decimal, label, when
from hub.models import (
    OutboundItem,
    OutboundState,
    PlatformAccount,
    PolicyDecision,
    Staff,
    utcnow,
)
from hub.publishing.compose import check_text, platform_limit
from hub.publishing.outbox import take_item
from hub.publishing.submission import (
    STOPPED,
    AlreadySubmitted,
    Outcome,
    SubmissionError,
    SubmitResult,
    create_item,
    gate,
    normalised_text,
    record_stop,
    route_item,
    same_draft,
)
from policies import LengthCount

#: the most a post may hold (the pack's content rules read 5,000 characters, like replies)
MAX_POST_CHARS = 5000
MAX_SCHEDULE_AHEAD = timedelta(days=365)
#: datetime-local inputs have minute precision: "this minute" is not yet "in the past"
SCHEDULE_GRACE = timedelta(minutes=2)
S = OutboundState
EDITABLE = frozenset({S.DRAFT, S.CHECKED, S.IN_REVIEW, S.REJECTED, S.SCHEDULED, S.FAILED})
WITHDRAWABLE = EDITABLE | {S.APPROVED}


class PostError(SubmissionError):
    """A post that cannot go ahead as asked; the message is for the author."""


@dataclass(frozen=True)
class NewPost:
    """A post as the composer sends it."""

    account_id: int | None
    text: str
    #: None = now
    schedule_at: datetime | None = None
    confirm_warnings: bool = False
    #: the author's written reason for asking compliance to override a block
    override_reason: str = ""


@dataclass(frozen=True)
class PostEdit:
    """A new version of an existing post."""

    text: str
    schedule_at: datetime | None = None
    confirm_warnings: bool = False
    override_reason: str = ""


# --- reading ---------------------------------------------------------------------------------


def postable_accounts(session: Session, user: Staff) -> list[PlatformAccount]:
    """Active brand accounts plus the user's own connected accounts; nobody else's."""
    return list(
        session.scalars(
            select(PlatformAccount)
            .where(
                PlatformAccount.active.is_(True),
                or_(PlatformAccount.owner_id.is_(None), PlatformAccount.owner_id == user.id),
            )
            # brand accounts first: the composer preselects the first one
            .order_by(
                PlatformAccount.owner_id.is_not(None), PlatformAccount.platform, PlatformAccount.id
            )
        )
    )


def postable_account(session: Session, user: Staff, account_id: int | None) -> PlatformAccount:
    """The account the user picked, if they may post to it."""
    if account_id is None:
        raise PostError(_("Pick the account to post from."))
    for account in postable_accounts(session, user):
        if account.id == account_id:
            return account
    raise PostError(_("You can't post to that account."), status=403)


def visible_post(session: Session, user: Staff, item_id: int) -> OutboundItem | None:
    """The post if ``user`` wrote it (admins see every post), else None."""
    item = session.get(OutboundItem, item_id)
    if item is None or item.kind != "post":
        return None
    if item.author_id != user.id and user.role != "admin":
        return None
    return item


def my_items(session: Session, user: Staff, kind: str, limit: int = 200) -> list[OutboundItem]:
    """The user's own posts (or replies), newest first."""
    return list(
        session.scalars(
            select(OutboundItem)
            .where(OutboundItem.author_id == user.id, OutboundItem.kind == kind)
            .order_by(OutboundItem.created_at.desc(), OutboundItem.id.desc())
            .limit(limit)
        )
    )


def versions(session: Session, item: OutboundItem) -> list[PolicyDecision]:
    """Every checked version of a post (its text and findings), newest first."""
    return list(
        session.scalars(
            select(PolicyDecision)
            .where(PolicyDecision.outbound_id == item.id)
            .order_by(PolicyDecision.created_at.desc(), PolicyDecision.id.desc())
        )
    )


# --- the live check --------------------------------------------------------------------------


def count_length(platform: str, text: str) -> LengthCount | None:
    """Count ``text`` the way ``platform`` does, against its connector's limit (None: no
    connector for that platform, so no counter); the connector, not the pack, says how long."""
    limit = platform_limit(platform)
    return policies.measure_length(text, limit) if limit is not None else None


def check_post(
    session: Session,
    author: Staff,
    text: str,
    platform: str,
    editing: OutboundItem | None = None,
) -> policies.Decision:
    """The policy decision for a post (nothing stored); a post being edited is left out of the
    author's mix history, or the new version would be counted twice."""
    return check_text(
        session, author, text, platform, "post", exclude_id=editing.id if editing else None
    )


# --- input -----------------------------------------------------------------------------------


def clean_post_text(raw: str) -> str:
    """The text as it will be checked and stored; too long or empty is an error."""
    text = clean_text(raw).strip()
    if not text:
        raise PostError(_("Write something first: the post is empty."))
    if len(text) > MAX_POST_CHARS:
        raise PostError(
            _(
                "Posts are at most %(max)s characters; this one has %(num)s.",
                max=format_decimal(MAX_POST_CHARS),
                num=format_decimal(len(text)),
            )
        )
    return text


def parse_schedule(raw: str, now: datetime | None = None) -> datetime | None:
    """A "Schedule for" value (UTC, from a datetime-local input); empty means now."""
    raw = (raw or "").strip()
    if not raw:
        return None
    now = now or utcnow()
    try:
        at = datetime.fromisoformat(raw)
        # a far-off offset overflows here (0001-01-01T00:00+01:00)
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    except (ValueError, OverflowError):
        raise PostError(
            _("“Schedule for” must be a date and time like 2025-06-01 09:30 (UTC).")
        ) from None
    if at < now - SCHEDULE_GRACE:
        raise PostError(
            _(
                "%(when)s UTC is in the past. Pick a later time, or leave it empty to post now.",
                when=when(at, year=True),
            )
        )
    if at > now + MAX_SCHEDULE_AHEAD:
        raise PostError(_("Posts can be scheduled at most a year ahead."))
    return max(at, now)


def _override_reason(raw: str) -> str:
    reason = clean_text(raw or "").strip()
    if len(reason) < MIN_OVERRIDE_REASON:
        raise PostError(
            _(
                "Tell compliance why this should go out anyway, in at least %(min)s characters.",
                min=MIN_OVERRIDE_REASON,
            )
        )
    return reason[:2000]


# --- routing ---------------------------------------------------------------------------------


def _length_error(session: Session, decision: policies.Decision, platform: str, text: str) -> None:
    """Refuse a post its platform can't take when no rule of the active pack said so (its
    length rule disabled, or filtered away from this platform)."""
    pack = active_pack(session)
    count = count_length(platform, text)
    length_rules = pack.rule_ids("length")
    if count and count.over and not any(f.rule_id in length_rules for f in decision.findings):
        raise PostError(
            _(
                "This is %(length)s characters long for %(platform)s; the limit is %(max)s. "
                "Cut %(over)s.",
                length=count.length,
                platform=count.platform_name,
                max=count.limit,
                over=count.over,
            )
        )


def _gate(
    session: Session,
    author: Staff,
    text: str,
    platform: str,
    decision: policies.Decision,
    confirm_warnings: bool,
    override_reason: str,
    resubmitted: bool = False,
) -> tuple[Outcome, str | None]:
    """The route for a post's decision, and the author's override reason when they gave one.

    A stopped post keeps its decision on record (``record_stop``) but creates no item.
    """
    _length_error(session, decision, platform, text)
    override = None
    if decision.verdict == "block" and override_reason.strip():
        override = _override_reason(override_reason)
    outcome = gate(
        decision.verdict,
        confirmed=confirm_warnings,
        override_requested=override is not None,
        resubmitted=resubmitted,
    )
    if outcome in STOPPED:
        record_stop(session, author, text, platform, "post", decision, outcome)
    return outcome, override


def schedule_slot(at: datetime | None) -> str:
    """The part of a post's draft key that says when: the minute it is scheduled for, or "now"
    (a "Post now" sent twice within 24 h is one post; see ``same_draft``)."""
    return "now" if at is None else at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M")


def submit_post(
    session: Session, form: NewPost, author: Staff, now: datetime | None = None
) -> SubmitResult:
    """Check a new post and route it by verdict (see hub.publishing.submission).

    The same text to the same account by the same author for the same slot within 24 h is the
    same post (``same_draft``): sending it again returns the first item.
    """
    account = postable_account(session, author, form.account_id)
    text = clean_post_text(form.text)
    now = now or utcnow()
    key, existing = same_draft(
        session,
        author,
        "post",
        account.id,
        author.id,
        normalised_text(text),
        schedule_slot(form.schedule_at),
        now=now,
    )
    if existing is not None:
        return SubmitResult(existing, existing.decision, Outcome.DUPLICATE)
    decision = check_post(session, author, text, account.platform)
    outcome, override = _gate(
        session,
        author,
        text,
        account.platform,
        decision,
        form.confirm_warnings,
        form.override_reason,
    )
    if outcome in STOPPED:
        return SubmitResult(None, decision, outcome)
    try:
        item = create_item(
            session, kind="post", account=account, author=author, text=text, idempotency_key=key
        )
    except AlreadySubmitted as dup:
        return SubmitResult(dup.item, dup.item.decision, Outcome.DUPLICATE)
    outcome = route_item(
        session,
        item,
        author.id,
        decision,
        outcome,
        not_before=form.schedule_at or now,
        confirmed=form.confirm_warnings,
        override_reason=override,
    )
    return SubmitResult(item, decision, outcome)


def edit_post(
    session: Session, item: OutboundItem, form: PostEdit, actor: Staff, now: datetime | None = None
) -> SubmitResult:
    """Re-check a new version of a post and re-route it; earlier versions and approvals stay
    on record, but approvals no longer count for the new text."""
    if item.state not in EDITABLE:
        raise PostError(_too_late(item), status=409)
    author = item.author
    text = clean_post_text(form.text)
    now = now or utcnow()
    not_before = form.schedule_at or now
    if (
        text == item.text
        and item.state in (S.SCHEDULED, S.IN_REVIEW)
        and (form.schedule_at is None or form.schedule_at == item.not_before)
    ):
        return SubmitResult(item, item.decision, Outcome.UNCHANGED)
    platform = item.account.platform
    decision = check_post(session, author, text, platform, editing=item)
    outcome, override = _gate(
        session,
        author,
        text,
        platform,
        decision,
        form.confirm_warnings,
        form.override_reason,
        resubmitted=item.state == S.REJECTED,
    )
    if outcome in STOPPED:
        return SubmitResult(None, decision, outcome)
    earlier = len(approvers(session, item))
    previous_decision_id = item.decision_id
    old_text = item.text
    if item.state != S.DRAFT and not take_item(session, item, S.DRAFT, actor.id, why="edited"):
        raise PostError(_too_late(item), status=409)
    item.text = text
    record_event(
        session,
        "outbound.edited",
        "outbound",
        item.id,
        actor.id,
        text=text,
        text_changed=text != old_text,
        previous_decision_id=previous_decision_id,
        approvals_no_longer_counted=earlier,
    )
    outcome = route_item(
        session,
        item,
        actor.id,
        decision,
        outcome,
        not_before=not_before,
        confirmed=form.confirm_warnings,
        override_reason=override,
    )
    return SubmitResult(item, decision, outcome)


def withdraw_post(session: Session, item: OutboundItem, actor: Staff) -> None:
    """Take a post back before it is sent."""
    if item.state not in WITHDRAWABLE:
        raise PostError(_too_late(item), status=409)
    if not take_item(session, item, "withdrawn", actor.id, why="withdrawn by the author"):
        raise PostError(_too_late(item), status=409)


def _too_late(item: OutboundItem) -> str:
    if item.state == S.SENDING:
        return _("It is being sent right now and can no longer be changed.")
    if item.state == S.SENT:
        return _("It has been sent already and can no longer be changed.")
    if item.state == S.WITHDRAWN:
        return _("It was withdrawn and can no longer be changed.")
    return _(
        "It changed meanwhile (now: %(state)s); reload the page and try again.",
        state=label(item.state),
    )
