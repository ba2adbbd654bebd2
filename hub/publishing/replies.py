"""Replies to mentions: who may answer, then the one submission pipeline.

One answer per customer: a reply is one draft however often it is sent (``same_draft``), a
reply someone else sent since the author opened the page is shown before a second one goes out
(``AlreadyAnswered``), and a reply its platform can't take is refused with its count, never cut.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

import policies
from connectors.base import clean_text
from hub.engagement.moderation import MoveError, can_work
from hub.i18n import _, format_decimal
from hub.models import Mention, OutboundItem, OutboundState, Staff, utcnow
from hub.publishing.compose import check_text, platform_limit
from hub.publishing.submission import (
    STOPPED,
    AlreadySubmitted,
    SubmissionError,
    SubmitResult,
    create_item,
    gate,
    normalised_text,
    record_stop,
    route_item,
    same_draft,
)
from hub.publishing.submission import Outcome as Outcome
from policies import LengthCount

#: the most the hub keeps of a reply (the pack's content rules read 5,000 characters)
MAX_REPLY_CHARS = 5000
#: outbound states that mean "nothing went, or will go, out"
NOT_ANSWERED = frozenset(
    {OutboundState.WITHDRAWN.value, OutboundState.REJECTED.value, OutboundState.FAILED.value}
)


@dataclass(frozen=True)
class SubmitReply:
    """A reply as the composer sends it."""

    mention_id: int
    text: str
    confirm_warnings: bool = False
    #: the newest outbound item of the mention when the composer was rendered (0: none)
    seen_outbound_id: int | None = None
    #: the author saw someone else's reply and wants to send theirs anyway
    confirm_answered: bool = False


class AlreadyAnswered(SubmissionError):
    """Someone else replied to the mention since the author opened the page."""

    status = 409

    def __init__(self, item: OutboundItem, now: datetime) -> None:
        minutes = max(0, int((now - item.created_at).total_seconds() // 60))
        super().__init__(
            _(
                "%(name)s already replied %(minutes)s min ago: “%(text)s”. Send yours anyway?",
                name=item.author.name,
                minutes=minutes,
                text=item.text if len(item.text) <= 140 else item.text[:139] + "…",
            )
        )
        self.item = item


def reply_length(platform: str, text: str) -> LengthCount | None:
    """Count a reply as its platform does (on X, the opening @names are free); None: no
    connector for that platform."""
    limit = platform_limit(platform)
    return policies.measure_length(text, limit, "reply") if limit is not None else None


def check_reply_length(platform: str, text: str) -> None:
    """Refuse a reply longer than the hub keeps or its platform takes; the message has the
    count and the limit (nothing is ever cut)."""
    if len(text) > MAX_REPLY_CHARS:
        raise SubmissionError(
            _(
                "Replies are at most %(max)s characters; this one has %(num)s. Shorten it.",
                max=format_decimal(MAX_REPLY_CHARS),
                num=format_decimal(len(text)),
            )
        )
    count = reply_length(platform, text)
    if count is not None and count.over:
        raise SubmissionError(
            _(
                "This reply is %(length)s characters long for %(platform)s; the limit is "
                "%(max)s. Cut %(over)s.",
                length=count.length,
                platform=count.platform_name,
                max=count.limit,
                over=count.over,
            )
        )


def answered_since(
    session: Session, mention: Mention, seen_outbound_id: int | None, author: Staff
) -> OutboundItem | None:
    """Someone else's newest reply to the mention created after the one the author saw."""
    if seen_outbound_id is None:
        return None
    return session.scalar(
        select(OutboundItem)
        .where(
            OutboundItem.mention_id == mention.id,
            OutboundItem.id > seen_outbound_id,
            OutboundItem.author_id != author.id,
            OutboundItem.state.not_in(NOT_ANSWERED),
        )
        .order_by(OutboundItem.id.desc())
        .limit(1)
    )


def newest_outbound_id(session: Session, mention_id: int) -> int:
    """The id the composer carries so a later submit can tell what was sent meanwhile."""
    return (
        session.scalar(
            select(OutboundItem.id)
            .where(OutboundItem.mention_id == mention_id)
            .order_by(OutboundItem.id.desc())
            .limit(1)
        )
        or 0
    )


def submit_reply(
    session: Session, form: SubmitReply, author: Staff, now: datetime | None = None
) -> SubmitResult:
    """Check a reply and route it by verdict: allow → send, warn → send once confirmed,
    review → compliance queue, block → back to the author with the reasons.

    The same text to the same mention by the same author within 24 h is the same reply
    (:func:`hub.publishing.submission.same_draft`): sending it again returns the first item.
    """
    now = now or utcnow()
    mention = session.get(Mention, form.mention_id)
    if mention is None:
        raise SubmissionError(_("That mention does not exist."), status=404)
    text = clean_text(form.text).strip()
    key, existing = same_draft(
        session, author, "reply", mention.id, author.id, normalised_text(text), now=now
    )
    if existing is not None:
        return SubmitResult(existing, existing.decision, Outcome.DUPLICATE)
    if not can_work(author, mention):
        raise MoveError(_("Claim this mention before replying to it."))
    if mention.account is None:
        raise SubmissionError(_("This mention did not come through one of our accounts."))
    if not text:
        raise SubmissionError(_("The reply is empty."))
    check_reply_length(mention.platform, text)
    if not form.confirm_answered:
        other = answered_since(session, mention, form.seen_outbound_id, author)
        if other is not None:
            raise AlreadyAnswered(other, now)
    decision = check_text(session, author, text, mention.platform, "reply", mention.text)
    outcome = gate(decision.verdict, confirmed=form.confirm_warnings)
    if outcome in STOPPED:
        return record_stop(session, author, text, mention.platform, "reply", decision, outcome)
    try:
        item = create_item(
            session,
            kind="reply",
            account=mention.account,
            author=author,
            text=text,
            idempotency_key=key,
            mention=mention,
        )
    except AlreadySubmitted as dup:
        return SubmitResult(dup.item, dup.item.decision, Outcome.DUPLICATE)
    outcome = route_item(
        session, item, author.id, decision, outcome, confirmed=form.confirm_warnings
    )
    return SubmitResult(item, decision, outcome)
