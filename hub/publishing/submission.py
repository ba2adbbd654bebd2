"""One way in for everything an employee publishes: replies and posts alike.

The policy decision decides the route (``gate``, a pure function); one function creates the
outbound row (``create_item``) and one sends it on (``route_item``): recorded decision →
checked → in review (through ``review.enter_review``) or scheduled. Replies and posts differ
only in what they check before (who may answer a mention; which account a post may use) and in
what they may ask for (a post may ask compliance to override a block).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import Session

import policies
from hub.audit import record_event
from hub.compliance.review import enter_review
from hub.errors import UserError
from hub.i18n import _, pack_text
from hub.models import Mention, OutboundItem, OutboundState, PlatformAccount, Staff, utcnow
from hub.publishing.compose import finding_dict, record_decision
from hub.publishing.outbox import move_item


class Outcome(StrEnum):
    """What became of a submission."""

    SCHEDULED = "scheduled"
    IN_REVIEW = "in_review"
    NEEDS_CONFIRMATION = "needs_confirmation"
    BLOCKED = "blocked"
    #: the same form sent again: nothing new was created
    DUPLICATE = "duplicate"
    #: an edit that changed nothing
    UNCHANGED = "unchanged"


#: outcomes after which nothing was created and the author is shown the findings
STOPPED = frozenset({Outcome.BLOCKED, Outcome.NEEDS_CONFIRMATION})


class SubmissionError(UserError):
    """A submission that cannot go ahead as asked; the message is for the author."""


@dataclass(frozen=True)
class SubmitResult:
    """What happened to a submission: the item (if one exists) and the decision."""

    item: OutboundItem | None
    decision: object  # policies.Decision, or the stored PolicyDecision for a repeat
    outcome: Outcome


def new_idempotency_key() -> str:
    """A fresh key for a composer form."""
    return uuid.uuid4().hex


def gate(
    verdict: str, *, confirmed: bool, override_requested: bool = False, resubmitted: bool = False
) -> Outcome:
    """Where a draft goes, from its verdict alone.

    block → stopped, unless the author asks compliance to override it (→ review); warn → stopped
    until the author confirms; review → review; a draft compliance rejected before goes back to
    review whatever its new verdict (the reviewer may have seen what no rule sees); else → out.
    """
    if verdict == "block":
        return Outcome.IN_REVIEW if override_requested else Outcome.BLOCKED
    if verdict == "warn" and not confirmed:
        return Outcome.NEEDS_CONFIRMATION
    if verdict == "review" or resubmitted:
        return Outcome.IN_REVIEW
    return Outcome.SCHEDULED


def earlier_submission(session: Session, key: str, author: Staff) -> OutboundItem | None:
    """The item an earlier send of the same form created, if any (never someone else's)."""
    existing = session.scalar(select(OutboundItem).where(OutboundItem.idempotency_key == key))
    if existing is not None and existing.author_id != author.id:
        raise SubmissionError(_("This form was already used by someone else; reload the page."))
    return existing


def record_stop(
    session: Session,
    author: Staff,
    text: str,
    platform: str,
    kind: str,
    decision: policies.Decision,
    outcome: Outcome,
) -> SubmitResult:
    """Keep the decision of a draft that stopped at the gate; nothing goes out."""
    record_decision(session, author, text, platform, decision, kind=kind)
    return SubmitResult(None, decision, outcome)


def create_item(
    session: Session,
    *,
    kind: str,
    account: PlatformAccount,
    author: Staff,
    text: str,
    idempotency_key: str,
    mention: Mention | None = None,
) -> OutboundItem:
    """The outbound row of a new reply or post, as a draft, with its audit event."""
    item = OutboundItem(
        kind=kind,
        account_id=account.id,
        account=account,
        author_id=author.id,
        mention_id=mention.id if mention is not None else None,
        text=text,
        state=OutboundState.DRAFT.value,
        idempotency_key=idempotency_key,
    )
    session.add(item)
    session.flush()
    where = {"mention_id": mention.id} if mention is not None else {"account_id": account.id}
    record_event(session, "outbound.draft", "outbound", item.id, author.id, **where, text=text)
    return item


def reason_words(findings: list[dict[str, Any]], override_reason: str | None = None) -> str:
    """Why a held draft waits, in the current language: the guidelines that hold it (or, for an
    override request, the ones that block it and the author's reason)."""

    def words(severity: str) -> str:
        return "; ".join(
            f"{f.get('guideline', '')} {pack_text(f.get('message'))}"
            for f in findings
            if f.get("severity") == severity
        )

    if override_reason:
        return _(
            "Waiting for compliance to decide on your override request. Blocked by: "
            "%(findings)s. Your reason: “%(reason)s”",
            findings=words("block"),
            reason=override_reason,
        )
    return _("Waiting for compliance review: %(findings)s", findings=words("review"))


def review_reason(decision: policies.Decision, override_reason: str | None = None) -> str:
    """What the author is told while the draft waits, as the hub records it (in English; pages
    show it in the reader's language through :func:`reason_words`)."""
    with force_locale("en"):
        return str(reason_words([finding_dict(f) for f in decision.findings], override_reason))


RESUBMITTED_REASON = "Waiting for compliance review: you edited a post compliance had rejected."


def route_item(
    session: Session,
    item: OutboundItem,
    actor_id: int,
    decision: policies.Decision,
    outcome: Outcome,
    *,
    not_before: datetime | None = None,
    confirmed: bool = False,
    override_reason: str | None = None,
) -> Outcome:
    """Record the decision on a draft item and send it on: into review, or scheduled."""
    row = record_decision(
        session, item.author, item.text, item.account.platform, decision, item, item.kind
    )
    item.decision_id = row.id
    item.decision = row
    item.not_before = not_before or utcnow()
    move_item(
        session,
        item,
        OutboundState.CHECKED,
        actor_id,
        verdict=decision.verdict,
        pack_version=row.pack_version,
    )
    if outcome == Outcome.IN_REVIEW:
        item.review_reason = (
            review_reason(decision, override_reason)
            if decision.verdict in ("review", "block")
            else RESUBMITTED_REASON
        )
        item.override_reason = override_reason
        enter_review(
            session,
            item,
            actor_id,
            reason=item.review_reason,
            override_requested=override_reason is not None,
        )
        return Outcome.IN_REVIEW
    item.review_reason = None
    item.override_reason = None
    move_item(
        session,
        item,
        OutboundState.SCHEDULED,
        actor_id,
        not_before=item.not_before.isoformat(),
        confirmed_warnings=confirmed,
    )
    return Outcome.SCHEDULED
