"""The outbox: replies and posts on their way out, never lost and never sent twice.

States: draft → checked → (in_review → approved | rejected) → scheduled → sending → sent | failed.
``TRANSITIONS`` is the only place that says which moves are legal.

Sending is claim → publish → record, each step its own short transaction, so no database lock is
held while the platform is called. A row found in ``sending`` from an earlier run (a crash between
publish and record) is reconciled against the account's own recent posts before any retry.
"""

from __future__ import annotations

import logging
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from connectors.base import (
    AuthExpired,
    ConnectorError,
    PostRequest,
    Published,
    RateLimited,
    Rejected,
    ReplyTarget,
)

from .audit import record_event
from .compose import check_text, record_decision
from .db import job_session
from .models import Mention, OutboundItem, PlatformAccount, Staff, utcnow
from .moderation import MoveError, can_work
from .platforms.registry import connector_for

log = logging.getLogger(__name__)

# An author may edit (→ draft, then re-checked) or withdraw anything not yet sending or done.
TRANSITIONS: dict[str, frozenset[str]] = {
    "draft": frozenset({"checked", "withdrawn"}),
    "checked": frozenset({"in_review", "scheduled", "draft", "withdrawn"}),
    "in_review": frozenset({"approved", "rejected", "draft", "withdrawn"}),
    "approved": frozenset({"scheduled", "withdrawn"}),
    "rejected": frozenset({"draft", "withdrawn"}),
    "scheduled": frozenset({"sending", "withdrawn", "draft"}),
    "sending": frozenset({"sent", "failed", "scheduled"}),
    "failed": frozenset({"scheduled", "draft", "withdrawn"}),
    "sent": frozenset(),
    "withdrawn": frozenset(),
}
#: a row left in "sending" longer than this is presumed orphaned by a crash
SENDING_STALE = timedelta(seconds=120)
MAX_ATTEMPTS = 8


class OutboxError(Exception):
    """A submission that cannot go ahead; the message is for the author."""


def move_item(
    session: Session, item: OutboundItem, to: str, actor_id: int | None, **data: object
) -> None:
    """Change an item's state if legal, with an audit event."""
    if to not in TRANSITIONS[item.state]:
        raise OutboxError(f"A {item.state} item cannot become {to}.")
    old = item.state
    item.state = to
    item.updated_at = utcnow()
    record_event(session, f"outbound.{to}", "outbound", item.id, actor_id, state_from=old, **data)


def take_item(
    session: Session, item: OutboundItem, to: str, actor_id: int | None, **data: object
) -> bool:
    """Move an item only if its state is still the one we read (a conditional UPDATE).

    The sender claims due rows the same way (``WHERE state = 'scheduled'``), so an author's edit
    or withdrawal and a send can never both win. Returns False, with ``item`` refreshed to what
    the other party made of it, when the row had moved meanwhile.
    """
    old = item.state
    if to not in TRANSITIONS[old]:
        raise OutboxError(f"A {old} item cannot become {to}.")
    res = session.execute(
        update(OutboundItem)
        .where(OutboundItem.id == item.id, OutboundItem.state == old)
        .values(state=to, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.refresh(item)
    if res.rowcount != 1:  # type: ignore[attr-defined]
        return False
    record_event(session, f"outbound.{to}", "outbound", item.id, actor_id, state_from=old, **data)
    return True


@dataclass(frozen=True)
class SubmitReply:
    """A reply as the composer sends it."""

    mention_id: int
    text: str
    #: generated when the form is rendered; a resubmitted form maps to the same row
    idempotency_key: str
    confirm_warnings: bool = False


@dataclass(frozen=True)
class SubmitResult:
    """What happened to a submission: the item (if one was created) and the decision."""

    item: OutboundItem | None
    decision: object  # policies.Decision, or the stored one for a repeat
    outcome: str  # scheduled | in_review | needs_confirmation | blocked | duplicate


def new_idempotency_key() -> str:
    """A fresh key for a composer form."""
    return uuid.uuid4().hex


def submit_reply(session: Session, form: SubmitReply, author: Staff) -> SubmitResult:
    """Check a reply and route it by verdict: allow → send, warn → send once confirmed,
    review → compliance queue, block → back to the author with the reasons."""
    existing = session.scalar(
        select(OutboundItem).where(OutboundItem.idempotency_key == form.idempotency_key)
    )
    if existing is not None:
        return SubmitResult(existing, existing.decision, "duplicate")
    mention = session.get(Mention, form.mention_id)
    if mention is None:
        raise OutboxError("That mention does not exist.")
    if not can_work(author, mention):
        raise MoveError("Claim this mention before replying to it.")
    if mention.account_id is None:
        raise OutboxError("This mention did not come through one of our accounts.")
    text = form.text.strip()
    if not text:
        raise OutboxError("The reply is empty.")
    decision = check_text(session, author, text, mention.platform, "reply", mention.text)
    if decision.verdict == "block":
        record_decision(session, author, text, mention.platform, decision)
        return SubmitResult(None, decision, "blocked")
    if decision.verdict == "warn" and not form.confirm_warnings:
        record_decision(session, author, text, mention.platform, decision)
        return SubmitResult(None, decision, "needs_confirmation")
    item = OutboundItem(
        kind="reply",
        account_id=mention.account_id,
        author_id=author.id,
        mention_id=mention.id,
        text=text,
        state="draft",
        idempotency_key=form.idempotency_key,
    )
    session.add(item)
    session.flush()
    record_event(
        session, "outbound.draft", "outbound", item.id, author.id, mention_id=mention.id, text=text
    )
    row = record_decision(session, author, text, mention.platform, decision, item)
    item.decision_id = row.id
    move_item(
        session,
        item,
        "checked",
        author.id,
        verdict=decision.verdict,
        pack_version=decision.pack_version,
    )
    if decision.verdict == "review":
        from .review import required_approvals_for  # hub.review imports this module

        item.review_started_at = utcnow()
        item.required_approvals = required_approvals_for(session, decision.findings)
        item.review_reason = "Waiting for compliance review: " + "; ".join(
            f"{f.guideline} {f.message}" for f in decision.findings if f.severity == "review"
        )
        move_item(session, item, "in_review", author.id, required_approvals=item.required_approvals)
        return SubmitResult(item, decision, "in_review")
    item.not_before = utcnow()
    move_item(session, item, "scheduled", author.id, confirmed_warnings=form.confirm_warnings)
    return SubmitResult(item, decision, "scheduled")


# --- sending ------------------------------------------------------------------------------


def _request_for(item: OutboundItem) -> PostRequest:
    target = None
    if item.mention is not None:
        m = item.mention
        extras = {k: str(v) for k, v in (m.reply_ref or {}).items()}
        target = ReplyTarget(external_id=m.external_id, extras=extras)
    return PostRequest(text=item.text, reply_to=target, idempotency_key=item.idempotency_key)


def _claim(app: Flask, item_id: int) -> bool:
    """Atomically move one due row to "sending"; False if another sender got it first."""
    with job_session(app) as session:
        res = session.execute(
            update(OutboundItem)
            .where(OutboundItem.id == item_id, OutboundItem.state == "scheduled")
            .values(state="sending", updated_at=utcnow(), attempts=OutboundItem.attempts + 1)
        )
        if res.rowcount != 1:  # type: ignore[attr-defined]
            return False
        record_event(session, "outbound.sending", "outbound", item_id, None, state_from="scheduled")
        return True


def _record_sent(
    session: Session, item: OutboundItem, published: Published, reconciled: bool = False
) -> None:
    item.external_id = published.external_id
    item.url = published.url
    item.sent_at = utcnow()
    item.last_error = None
    move_item(session, item, "sent", None, external_id=published.external_id, reconciled=reconciled)
    if item.mention is not None:
        m = item.mention
        if m.first_response_at is None:
            m.first_response_at = item.sent_at
        if m.status in ("open", "escalated", "new"):
            old = m.status
            m.status = "pending"
            record_event(
                session,
                "mention.moved",
                "mention",
                m.id,
                item.author_id,
                status_from=old,
                status_to="pending",
                why="reply sent",
            )


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(900, 5 * 2**attempts) * (0.5 + random.random()))


def _record_failure(session: Session, item: OutboundItem, exc: ConnectorError) -> None:
    now = utcnow()
    if isinstance(exc, Rejected):
        item.last_error = f"The platform refused it: {exc.reason}"
        move_item(session, item, "failed", None, reason=exc.reason)
    elif isinstance(exc, AuthExpired):
        item.last_error = f"The account's credentials need attention: {exc}"
        move_item(session, item, "failed", None, reason=str(exc))
    elif item.attempts >= MAX_ATTEMPTS:
        item.last_error = f"Gave up after {item.attempts} attempts: {exc}"
        move_item(session, item, "failed", None, reason=str(exc))
    else:
        wait_until: datetime = now + _backoff(item.attempts)
        if isinstance(exc, RateLimited) and exc.reset_at is not None:
            wait_until = max(exc.reset_at, now + timedelta(seconds=1))
        item.last_error = f"Will retry: {exc}"
        item.not_before = wait_until
        move_item(
            session, item, "scheduled", None, retry_at=wait_until.isoformat(), reason=str(exc)
        )


def send_one(app: Flask, item_id: int) -> str:
    """Claim, publish and record one due item; returns its final state for this run."""
    if not _claim(app, item_id):
        return "skipped"
    with job_session(app) as session:
        item = session.get(OutboundItem, item_id)
        assert item is not None
        connector = connector_for(app, item.account)
        request = _request_for(item)
    try:
        published = connector.publish(request)
    except ConnectorError as exc:
        with job_session(app) as session:
            item = session.get(OutboundItem, item_id)
            assert item is not None
            _record_failure(session, item, exc)
            return item.state
    with job_session(app) as session:
        item = session.get(OutboundItem, item_id)
        assert item is not None
        _record_sent(session, item, published)
    return "sent"


def reconcile_sending(app: Flask, stale_after: timedelta = SENDING_STALE) -> int:
    """Resolve rows stuck in "sending": published already → sent, else back to scheduled."""
    cutoff = utcnow() - stale_after
    with job_session(app) as session:
        ids = list(
            session.scalars(
                select(OutboundItem.id).where(
                    OutboundItem.state == "sending", OutboundItem.updated_at <= cutoff
                )
            )
        )
    fixed = 0
    for item_id in ids:
        with job_session(app) as session:
            item = session.get(OutboundItem, item_id)
            if item is None or item.state != "sending":
                continue
            try:
                found = connector_for(app, item.account).find_published(_request_for(item))
            except ConnectorError as exc:
                log.warning("cannot reconcile outbound %s yet: %s", item_id, exc)
                continue
            if found is not None:
                _record_sent(session, item, found, reconciled=True)
            else:
                item.not_before = utcnow()
                move_item(
                    session,
                    item,
                    "scheduled",
                    None,
                    reason="not found on the platform after an interrupted send",
                )
            fixed += 1
    return fixed


def send_due(app: Flask, now: datetime | None = None, limit: int = 50) -> dict[str, int]:
    """Send every due item (one job run); returns counts by outcome."""
    reconcile_sending(app)
    now = now or utcnow()
    with job_session(app) as session:
        ids = list(
            session.scalars(
                select(OutboundItem.id)
                .join(PlatformAccount, PlatformAccount.id == OutboundItem.account_id)
                .where(
                    OutboundItem.state == "scheduled",
                    OutboundItem.not_before <= now,
                    PlatformAccount.active.is_(True),
                )
                .order_by(OutboundItem.not_before, OutboundItem.id)
                .limit(limit)
            )
        )
    counts: dict[str, int] = {}
    for item_id in ids:
        state = send_one(app, item_id)
        counts[state] = counts.get(state, 0) + 1
    return counts
