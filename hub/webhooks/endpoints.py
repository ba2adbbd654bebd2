"""The webhooks settings' services: endpoints (add, edit, disable, rotate the secret), a test
ping, the delivery log and redelivery. Every endpoint change is an audit event; a secret is
stored encrypted (hub.crypto) and shown once, when it is made."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from connectors.base import Transient
from connectors.outbound import AddressPolicy, UnsafeAddress
from hub.audit import record_event
from hub.crypto import secret_box
from hub.errors import Conflict, UserError
from hub.i18n import _
from hub.models import DeliveryState, WebhookDelivery, WebhookEndpoint, utcnow
from hub.webhooks.delivery import SCHEMES
from hub.webhooks.events import EVENT_TYPES, PING, envelope, new_event_id

#: deliveries one page of the log shows
LOG_PAGE = 50
MAX_URL = 2000


class WebhookError(UserError):
    """Bad input for an endpoint; the message is for the admin who typed it."""


@dataclass(frozen=True)
class EndpointInput:
    """What the endpoint form sends."""

    url: str
    events: tuple[str, ...]
    description: str = ""


def url_problem(url: str, allow_private: bool) -> str | None:
    """Why a receiver URL is refused, or None: http or https, no user name or password, and
    every address its host resolves to outside loopback, private and link-local networks
    (loopback and private ones allowed by HUB_WEBHOOKS_ALLOW_PRIVATE). The delivery checks the
    addresses again on every connection."""
    if not url or len(url) > MAX_URL:
        return _("Enter the receiver's address (up to %(n)s characters).", n=MAX_URL)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return _("That is not a valid address.")
    if parts.scheme.lower() not in SCHEMES:
        return _("The address must start with https:// or http://.")
    if parts.username is not None or parts.password is not None:
        return _("The address must not contain a user name or password.")
    if not parts.hostname:
        return _("The address has no host name.")
    port = port or (443 if parts.scheme.lower() == "https" else 80)
    try:
        AddressPolicy(allow_local=allow_private).resolve(parts.hostname, port, "receiver")
    except UnsafeAddress as exc:
        if exc.local:
            return _(
                "The address is on this machine or a private network; the hub sends webhooks "
                "there only with the %(setting)s setting.",
                setting="HUB_WEBHOOKS_ALLOW_PRIVATE",
            )
        return _("The address is link-local, reserved or a cloud metadata service.")
    except Transient:
        return _("The host name of the address could not be found.")
    return None


def _checked(app: Flask, new: EndpointInput) -> EndpointInput:
    url = new.url.strip()
    errors: dict[str, str] = {}
    problem = url_problem(url, bool(app.config["WEBHOOKS_ALLOW_PRIVATE"]))
    if problem:
        errors["url"] = problem
    events = tuple(e for e in EVENT_TYPES if e in new.events)
    if not events or len(events) != len(set(new.events)):
        errors["events"] = _("Choose at least one of the listed events.")
    if len(new.description) > 200:
        errors["description"] = _("The description is too long (at most 200 characters).")
    if errors:
        raise WebhookError(" ".join(errors.values()), errors=errors)
    return EndpointInput(url, events, new.description.strip())


def new_secret() -> str:
    """A fresh signing secret (32 random bytes, URL-safe text)."""
    return "whsec_" + secrets.token_urlsafe(32)


def add_endpoint(
    session: Session, app: Flask, new: EndpointInput, actor_id: int
) -> tuple[WebhookEndpoint, str]:
    """Add an active endpoint with a fresh secret; the endpoint and the secret (shown once)."""
    new = _checked(app, new)
    secret = new_secret()
    endpoint = WebhookEndpoint(
        url=new.url,
        events=list(new.events),
        description=new.description,
        secret_encrypted=secret_box(app).seal({"secret": secret}),
        active=True,
        created_by=actor_id,
    )
    session.add(endpoint)
    session.flush()
    record_event(
        session,
        "webhook.added",
        "webhook",
        endpoint.id,
        actor_id,
        url=new.url,
        events=list(new.events),
    )
    return endpoint, secret


def edit_endpoint(
    session: Session, app: Flask, endpoint: WebhookEndpoint, new: EndpointInput, actor_id: int
) -> None:
    """Change an endpoint's address, events or description (the secret stays)."""
    new = _checked(app, new)
    old = {"url": endpoint.url, "events": list(endpoint.events or [])}
    endpoint.url = new.url
    endpoint.events = list(new.events)
    endpoint.description = new.description
    session.flush()
    record_event(
        session,
        "webhook.changed",
        "webhook",
        endpoint.id,
        actor_id,
        old=old,
        new={"url": new.url, "events": list(new.events)},
    )


def set_endpoint_active(
    session: Session, endpoint: WebhookEndpoint, active: bool, actor_id: int
) -> None:
    """Enable or disable an endpoint; a disabled one gets no new events (queued ones still go)."""
    if endpoint.active == active:
        return
    endpoint.active = active
    session.flush()
    record_event(
        session,
        "webhook.enabled" if active else "webhook.disabled",
        "webhook",
        endpoint.id,
        actor_id,
    )


def rotate_secret(session: Session, app: Flask, endpoint: WebhookEndpoint, actor_id: int) -> str:
    """Replace an endpoint's secret; the new one (shown once). Deliveries from now on are
    signed with it, retries of earlier events included."""
    secret = new_secret()
    sealed = secret_box(app).seal({"secret": secret})
    assert sealed is not None
    endpoint.secret_encrypted = sealed
    session.flush()
    record_event(session, "webhook.secret_rotated", "webhook", endpoint.id, actor_id)
    return secret


def queue_ping(session: Session, endpoint: WebhookEndpoint, actor_id: int) -> WebhookDelivery:
    """A test event for this one endpoint, due now."""
    event_id = new_event_id()
    now = utcnow()
    delivery = WebhookDelivery(
        endpoint_id=endpoint.id,
        event_id=event_id,
        event_type=PING,
        payload=envelope(event_id, PING, {"endpoint_id": endpoint.id}, now),
        state=DeliveryState.PENDING.value,
        attempts=0,
        next_attempt_at=now,
        created_at=now,
    )
    session.add(delivery)
    session.flush()
    record_event(session, "webhook.pinged", "webhook", endpoint.id, actor_id, event_id=event_id)
    return delivery


def redeliver(session: Session, delivery: WebhookDelivery, actor_id: int) -> None:
    """Try a failed delivery once more: the same event id and payload, due now (never a new
    event). Only a failed one; Conflict if it is not (any more)."""
    res = session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery.id, WebhookDelivery.state == DeliveryState.FAILED)
        .values(state=DeliveryState.PENDING.value, next_attempt_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if res.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(_("Only a failed delivery can be sent again."))
    session.refresh(delivery)
    record_event(
        session,
        "webhook.redelivered",
        "webhook",
        delivery.endpoint_id,
        actor_id,
        delivery_id=delivery.id,
        event_id=delivery.event_id,
    )


def delivery_log(
    session: Session, endpoint_id: int | None, state: str | None, before: int | None = None
) -> list[WebhookDelivery]:
    """Deliveries newest first, optionally of one endpoint and in one state (keyset paged)."""
    q = select(WebhookDelivery).order_by(WebhookDelivery.id.desc()).limit(LOG_PAGE)
    if endpoint_id is not None:
        q = q.where(WebhookDelivery.endpoint_id == endpoint_id)
    if state in tuple(DeliveryState):
        q = q.where(WebhookDelivery.state == state)
    if before is not None:
        q = q.where(WebhookDelivery.id < before)
    return list(session.scalars(q))


def endpoints(session: Session) -> list[WebhookEndpoint]:
    """Every endpoint, oldest first."""
    return list(session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))
