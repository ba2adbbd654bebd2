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
from hub.audit import record_event
from hub.db import job_session
from hub.engagement.moderation import apply_automatic
from hub.errors import UserError
from hub.models import OutboundItem, OutboundState, PlatformAccount, utcnow
from hub.platforms.registry import connector_for
from hub.webhooks.events import emit

log = logging.getLogger(__name__)

# An author may edit (→ draft, then re-checked) or withdraw anything not yet sending or done.
S = OutboundState
TRANSITIONS: dict[str, frozenset[str]] = {
    S.DRAFT: frozenset({S.CHECKED, S.WITHDRAWN}),
    S.CHECKED: frozenset({S.IN_REVIEW, S.SCHEDULED, S.DRAFT, S.WITHDRAWN}),
    S.IN_REVIEW: frozenset({S.APPROVED, S.REJECTED, S.DRAFT, S.WITHDRAWN}),
    S.APPROVED: frozenset({S.SCHEDULED, S.WITHDRAWN}),
    S.REJECTED: frozenset({S.DRAFT, S.WITHDRAWN}),
    S.SCHEDULED: frozenset({S.SENDING, S.WITHDRAWN, S.DRAFT}),
    S.SENDING: frozenset({S.SENT, S.FAILED, S.SCHEDULED}),
    S.FAILED: frozenset({S.SCHEDULED, S.DRAFT, S.WITHDRAWN}),
    S.SENT: frozenset(),
    S.WITHDRAWN: frozenset(),
}
#: a row left in "sending" longer than this is presumed orphaned by a crash
SENDING_STALE = timedelta(seconds=120)
MAX_ATTEMPTS = 8


class OutboxError(UserError):
    """A submission that cannot go ahead; the message is for the author."""


def move_item(
    session: Session, item: OutboundItem, to: str, actor_id: int | None, **data: object
) -> None:
    """Change an item's state if legal, with an audit event."""
    if to not in TRANSITIONS[item.state]:
        raise OutboxError(f"A {item.state} item cannot become {to}.")
    old = item.state
    item.state = OutboundState(to).value
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
        .values(state=OutboundState(to).value, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.refresh(item)
    if res.rowcount != 1:  # type: ignore[attr-defined]
        return False
    record_event(session, f"outbound.{to}", "outbound", item.id, actor_id, state_from=old, **data)
    return True


# --- sending ------------------------------------------------------------------------------


def _request_for(item: OutboundItem) -> PostRequest:
    target = None
    if item.mention is not None:
        m = item.mention
        extras = {k: str(v) for k, v in (m.reply_ref or {}).items()}
        target = ReplyTarget(external_id=m.external_id, extras=extras)
    return PostRequest(text=item.text, reply_to=target, idempotency_key=item.idempotency_key)


def _claim(app: Flask, item_id: int) -> bool:
    """Atomically move one due row to "sending"; False if another sender got it first.

    On PostgreSQL the row is locked first, or passed by when another worker's claim holds it
    (SKIP LOCKED), so two workers never queue up on one row; SQLite ignores the clause (its
    write lock already serialises claims). The conditional UPDATE is the guard either way.
    """
    with job_session(app) as session:
        free = session.scalar(
            select(OutboundItem.id)
            .where(OutboundItem.id == item_id, OutboundItem.state == S.SCHEDULED.value)
            .with_for_update(skip_locked=True)
        )
        if free is None:
            return False
        res = session.execute(
            update(OutboundItem)
            .where(OutboundItem.id == item_id, OutboundItem.state == S.SCHEDULED.value)
            .values(state=S.SENDING.value, updated_at=utcnow(), attempts=OutboundItem.attempts + 1)
        )
        if res.rowcount != 1:  # type: ignore[attr-defined]
            return False
        record_event(
            session, "outbound.sending", "outbound", item_id, None, state_from=S.SCHEDULED.value
        )
        return True


def _record_sent(
    session: Session, item: OutboundItem, published: Published, reconciled: bool = False
) -> None:
    item.external_id = published.external_id
    item.url = published.url
    item.sent_at = utcnow()
    item.last_error = None
    move_item(session, item, S.SENT, None, external_id=published.external_id, reconciled=reconciled)
    emit(
        session,
        f"{item.kind}.sent",
        {
            "outbound_id": item.id,
            "kind": item.kind,
            "account_id": item.account_id,
            "author_id": item.author_id,
            "mention_id": item.mention_id,
            "text": item.text,
            "external_id": published.external_id,
            "url": published.url,
            "sent_at": item.sent_at.isoformat(),
        },
    )
    if item.mention is not None:
        if item.mention.first_response_at is None:
            item.mention.first_response_at = item.sent_at
        apply_automatic(session, item.mention, "reply sent", item.author_id)


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(900, 5 * 2**attempts) * (0.5 + random.random()))


def _record_failure(session: Session, item: OutboundItem, exc: ConnectorError) -> None:
    now = utcnow()
    if isinstance(exc, Rejected):
        item.last_error = f"The platform refused it: {exc.reason}"
        move_item(session, item, S.FAILED, None, reason=exc.reason)
    elif isinstance(exc, AuthExpired):
        item.last_error = f"The account's credentials need attention: {exc}"
        move_item(session, item, S.FAILED, None, reason=str(exc))
    elif item.attempts >= MAX_ATTEMPTS:
        item.last_error = f"Gave up after {item.attempts} attempts: {exc}"
        move_item(session, item, S.FAILED, None, reason=str(exc))
    else:
        wait_until: datetime = now + _backoff(item.attempts)
        if isinstance(exc, RateLimited) and exc.reset_at is not None:
            wait_until = max(exc.reset_at, now + timedelta(seconds=1))
        item.last_error = f"Will retry: {exc}"
        item.not_before = wait_until
        move_item(
            session, item, S.SCHEDULED, None, retry_at=wait_until.isoformat(), reason=str(exc)
        )


def send_one(app: Flask, item_id: int) -> str:
    """Claim, publish and record one due item; returns its final state for this run."""
    if not _claim(app, item_id):
        return "skipped"
    log.info("sending outbound item %s", item_id)  # which worker claimed it, in its log
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
    return S.SENT.value


def reconcile_sending(app: Flask, stale_after: timedelta = SENDING_STALE) -> int:
    """Resolve rows stuck in "sending": published already → sent, else back to scheduled."""
    cutoff = utcnow() - stale_after
    with job_session(app) as session:
        ids = list(
            session.scalars(
                select(OutboundItem.id).where(
                    OutboundItem.state == S.SENDING.value, OutboundItem.updated_at <= cutoff
                )
            )
        )
    fixed = 0
    for item_id in ids:
        with job_session(app) as session:
            # another worker reconciling the same row holds its lock: leave the row to it
            item = session.get(OutboundItem, item_id, with_for_update={"skip_locked": True})
            if item is None or item.state != S.SENDING:
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
                    S.SCHEDULED,
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
                    OutboundItem.state == S.SCHEDULED.value,
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
