"""Replies to mentions: who may answer, then the one submission pipeline."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from hub.engagement.moderation import MoveError, can_work
from hub.i18n import _
from hub.models import Mention, Staff
from hub.publishing.compose import check_text
from hub.publishing.submission import (
    STOPPED,
    SubmissionError,
    SubmitResult,
    create_item,
    earlier_submission,
    gate,
    record_stop,
    route_item,
)
from hub.publishing.submission import Outcome as Outcome


@dataclass(frozen=True)
class SubmitReply:
    """A reply as the composer sends it."""

    mention_id: int
    text: str
    #: generated when the form is rendered; a resubmitted form maps to the same row
    idempotency_key: str
    confirm_warnings: bool = False


def submit_reply(session: Session, form: SubmitReply, author: Staff) -> SubmitResult:
    """Check a reply and route it by verdict: allow → send, warn → send once confirmed,
    review → compliance queue, block → back to the author with the reasons."""
    existing = earlier_submission(session, form.idempotency_key, author)
    if existing is not None:
        return SubmitResult(existing, existing.decision, Outcome.DUPLICATE)
    mention = session.get(Mention, form.mention_id)
    if mention is None:
        raise SubmissionError(_("That mention does not exist."), status=404)
    if not can_work(author, mention):
        raise MoveError(_("Claim this mention before replying to it."))
    if mention.account is None:
        raise SubmissionError(_("This mention did not come through one of our accounts."))
    text = form.text.strip()
    if not text:
        raise SubmissionError(_("The reply is empty."))
    decision = check_text(session, author, text, mention.platform, "reply", mention.text)
    outcome = gate(decision.verdict, confirmed=form.confirm_warnings)
    if outcome in STOPPED:
        return record_stop(session, author, text, mention.platform, "reply", decision, outcome)
    item = create_item(
        session,
        kind="reply",
        account=mention.account,
        author=author,
        text=text,
        idempotency_key=form.idempotency_key,
        mention=mention,
    )
    outcome = route_item(
        session, item, author.id, decision, outcome, confirmed=form.confirm_warnings
    )
    return SubmitResult(item, decision, outcome)
