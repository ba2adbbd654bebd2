"""Webhook events, written in the same transaction as the change they report (outbox pattern).

``emit`` adds one pending delivery per active endpoint subscribed to the event type; the delivery
job (hub.webhooks.delivery) sends them after the transaction committed. If the change rolls back,
so does its event; if the hub crashes after the commit, the delivery is still there to send.
Each event has one id (``event_id``) shared by all its endpoints and all its attempts, and the
unique key (endpoint_id, event_id) keeps one delivery per endpoint per event.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from hub.i18n import lazy_gettext
from hub.models import DeliveryState, WebhookDelivery, WebhookEndpoint, utcnow

#: the events an endpoint may subscribe to, as the settings page names them
EVENT_TYPES = {
    "mention.created": lazy_gettext("A mention arrived (with where routing put it)"),
    "reply.sent": lazy_gettext("A reply was published"),
    "post.sent": lazy_gettext("A post was published"),
    "draft.held": lazy_gettext("A draft was held for review or blocked by the policy check"),
    "sla.breached": lazy_gettext("A first-response deadline was missed"),
}
#: the test event the settings page sends to one endpoint; nobody subscribes to it
PING = "ping"


def new_event_id() -> str:
    """A fresh event id (32 hex characters)."""
    return uuid.uuid4().hex


def subscribers(session: Session, event_type: str) -> list[int]:
    """The active endpoints that want ``event_type`` (one small query; none active: none)."""
    rows = session.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.events).where(WebhookEndpoint.active.is_(True))
    )
    return [endpoint_id for endpoint_id, events in rows if event_type in (events or ())]


def envelope(event_id: str, event_type: str, data: Mapping[str, Any], at: datetime) -> dict:
    """The JSON document a receiver gets: the event's id, type, time and data."""
    return {"id": event_id, "type": event_type, "created_at": at.isoformat(), "data": dict(data)}


def emit_many(
    session: Session, event_type: str, payloads: Iterable[Mapping[str, Any]]
) -> list[str]:
    """Record one event per payload for every subscribed endpoint, in one INSERT (caller
    commits); returns the event ids. With no endpoint subscribed it costs one small query."""
    endpoints = subscribers(session, event_type)
    if not endpoints:
        return []
    now = utcnow()
    rows = []
    ids = []
    for data in payloads:
        event_id = new_event_id()
        ids.append(event_id)
        body = envelope(event_id, event_type, data, now)
        rows += [
            {
                "endpoint_id": endpoint_id,
                "event_id": event_id,
                "event_type": event_type,
                "payload": body,
                "state": DeliveryState.PENDING.value,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            }
            for endpoint_id in endpoints
        ]
    if rows:
        session.execute(insert(cast(Table, WebhookDelivery.__table__)), rows)
    return ids


def emit(session: Session, event_type: str, payload: Mapping[str, Any]) -> str | None:
    """Record one event for every subscribed endpoint (caller commits); its id, or None when
    nobody subscribes."""
    ids = emit_many(session, event_type, [payload])
    return ids[0] if ids else None
