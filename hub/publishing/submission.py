"""One way in for everything an employee publishes: replies and posts alike.

The policy decision decides the route (``gate``, a pure function); one function creates the
outbound row (``create_item``) and one sends it on (``route_item``): recorded decision →
checked → in review (through ``review.enter_review``) or scheduled. Replies and posts differ
only in what they check before (who may answer a mention; which account a post may use) and in
what they may ask for (a post may ask compliance to override a block).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
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
    """A fresh random key (for rows that are not a composer's draft)."""
    return uuid.uuid4().hex


#: the same draft sent again within this time is the same reply or post, not a new one
SAME_DRAFT_WINDOW = timedelta(hours=24)
#: states after which the same text may be submitted afresh at once (nothing went out)
_DEAD = frozenset({OutboundState.WITHDRAWN.value, OutboundState.REJECTED.value})
_SPACE = re.compile(r"\s+")


def normalised_text(text: str) -> str:
    """The text as the draft key sees it: NFC, whitespace collapsed, trimmed."""
    return _SPACE.sub(" ", unicodedata.normalize("NFC", text)).strip()


def draft_key(*parts: object, generation: int = 0) -> str:
    """sha256 of the draft's target, author and normalised text (the caller's ``parts``)."""
    raw = "|".join(str(p) for p in parts) + (f"|#{generation}" if generation else "")
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def same_draft(
    session: Session, author: Staff, *parts: object, now: datetime | None = None
) -> tuple[str, OutboundItem | None]:
    """The idempotency key of a draft, and the item an earlier send of it created, if any.

    The key comes from what is sent (target, author, normalised text), never from the form
    render, so Back + Send, two tabs and a double click all map to one key. The same text to
    the same target by the same author within ``SAME_DRAFT_WINDOW`` (24 h) is the same draft;
    after that, or once the earlier one was withdrawn or rejected, a deliberate identical send
    gets the next key of the chain (``generation`` 1, 2, …). Concurrent sends compute the same
    key, and the unique constraint on ``idempotency_key`` lets only one of them insert
    (see :func:`create_item`).
    """
    now = now or utcnow()
    for generation in range(1000):
        key = draft_key(*parts, generation=generation)
        existing = session.scalar(select(OutboundItem).where(OutboundItem.idempotency_key == key))
        if existing is None:
            return key, None
        if existing.author_id != author.id:  # a hash collision across authors: never theirs
            continue
        if existing.state not in _DEAD and existing.created_at > now - SAME_DRAFT_WINDOW:
            return key, existing
    raise SubmissionError(_("You sent this text too many times; change it a little."))


class AlreadySubmitted(Exception):
    """A concurrent request inserted the same draft first (the unique key said so)."""

    def __init__(self, item: OutboundItem) -> None:
        super().__init__(item.id)
        self.item = item


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
    """The outbound row of a new reply or post, as a draft, with its audit event.

    The unique constraint on ``idempotency_key`` is the guard against a draft sent twice at
    once: the loser's insert fails and it raises :class:`AlreadySubmitted` with the winner's row.
    """
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
    try:
        with session.begin_nested():
            session.add(item)
            session.flush()
    except IntegrityError:
        existing = session.scalar(
            select(OutboundItem).where(OutboundItem.idempotency_key == idempotency_key)
        )
        if existing is None or existing.author_id != author.id:
            raise
        raise AlreadySubmitted(existing) from None
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
