"""The delivery job: send due webhook deliveries, signed, each event to each endpoint once.

A run frees deliveries orphaned in "sending" (a worker died mid-send), claims due ones with a
compare-and-set ``UPDATE ... WHERE state = 'pending'`` (after ``FOR UPDATE SKIP LOCKED`` on
PostgreSQL, so concurrent workers take different rows rather than queueing on the same ones),
then POSTs each with no transaction open and records the outcome, again only if the row is
still the attempt this worker claimed. 2xx is delivered; anything else (another status, a
timeout, a refused address) is retried with exponential backoff and jitter, up to
``MAX_ATTEMPTS`` attempts over about a day, then failed.

Signature: ``X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>``
with ``X-Hub-Timestamp`` the Unix time of the attempt; the README shows a receiver's check.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from flask import Flask
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from connectors.base import ConnectorError
from connectors.outbound import AddressPolicy, GuardedTransport, UnsafeAddress
from hub.crypto import secret_box
from hub.db import job_session
from hub.models import DeliveryState, WebhookDelivery, WebhookEndpoint, utcnow

log = logging.getLogger(__name__)

D = DeliveryState
#: attempts before a delivery is given up as failed
MAX_ATTEMPTS = 8
#: seconds to wait after the n-th failed attempt (n = 1..7): about 21 hours in all
BACKOFF = (60, 300, 900, 3600, 7200, 21600, 43200)
#: each wait is stretched or shrunk by up to this share, so retries of many events spread out
JITTER = 0.2
#: a delivery "sending" longer than this was orphaned by a crash: it goes back to pending
SENDING_TIMEOUT = timedelta(seconds=60)
#: seconds a receiver has to answer (connect, send, read)
TIMEOUT = 5.0
#: deliveries one run claims at most; the rest wait for the next run
BATCH = 50
SCHEMES = ("http", "https")


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The X-Hub-Signature-256 header of ``body`` sent at ``timestamp``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def backoff(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed attempt, with jitter."""
    base = BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]
    return timedelta(seconds=base * (1 + JITTER * (2 * random.random() - 1)))


class ReceiverTransport(GuardedTransport):
    """httpx transport for receivers: http or https, every connection to an address the policy
    accepted (resolved at connect time, so DNS rebinding cannot slip past the check)."""

    def __init__(self, policy: AddressPolicy) -> None:
        super().__init__(policy, "webhook receiver")

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Refuse a scheme other than http and https; the address is checked on connect."""
        if request.url.scheme not in SCHEMES:
            raise UnsafeAddress("The webhook receiver must start with https:// or http://.")
        return httpx.HTTPTransport.handle_request(self, request)


def receiver_client(allow_private: bool) -> httpx.Client:
    """The client deliveries are POSTed with: 5 s timeout, no redirects, no proxies."""
    return httpx.Client(
        transport=ReceiverTransport(AddressPolicy(allow_local=allow_private)),
        timeout=TIMEOUT,
        follow_redirects=False,
        trust_env=False,
    )


def release_stale(session: Session, now: datetime, timeout: timedelta = SENDING_TIMEOUT) -> int:
    """Put deliveries orphaned in "sending" back to pending, due now; returns how many."""
    res = session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.state == D.SENDING.value, WebhookDelivery.claimed_at < now - timeout)
        .values(state=D.PENDING.value, next_attempt_at=now, claimed_at=None)
        .execution_options(synchronize_session=False)
    )
    return int(res.rowcount or 0)  # type: ignore[attr-defined]


def due_ids(session: Session, now: datetime, limit: int = BATCH) -> list[int]:
    """Pending deliveries whose time has come, oldest first (locked, skipping rows another
    worker holds, on PostgreSQL)."""
    q = (
        select(WebhookDelivery.id)
        .where(WebhookDelivery.state == D.PENDING.value, WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
        .limit(limit)
    )
    return list(session.scalars(q.with_for_update(skip_locked=True)))  # SQLite omits it


def claim(session: Session, ids: list[int], now: datetime) -> list[int]:
    """Move those of ``ids`` still pending to "sending" (one attempt more); the ids this caller
    got. Another worker that read the same ids gets none of them."""
    if not ids:
        return []
    rows = session.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(ids), WebhookDelivery.state == D.PENDING.value)
        .values(state=D.SENDING.value, claimed_at=now, attempts=WebhookDelivery.attempts + 1)
        .returning(WebhookDelivery.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(rows.scalars())


@dataclass(frozen=True)
class Attempt:
    """One claimed delivery, with what sending it needs."""

    id: int
    attempts: int
    event_id: str
    event_type: str
    payload: dict[str, Any]
    url: str
    secret: str


def load_attempts(app: Flask, session: Session, ids: list[int]) -> list[Attempt]:
    """The claimed deliveries with their endpoint's URL and decrypted secret."""
    box = secret_box(app)
    rows = session.execute(
        select(WebhookDelivery, WebhookEndpoint)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.id.in_(ids))
        .order_by(WebhookDelivery.id)
    )
    return [
        Attempt(
            d.id,
            d.attempts,
            d.event_id,
            d.event_type,
            d.payload,
            e.url,
            str(box.open(e.secret_encrypted).get("secret", "")),
        )
        for d, e in rows
    ]


def post(
    client: httpx.Client, attempt: Attempt, now: float | None = None
) -> tuple[int | None, str]:
    """POST one attempt; (HTTP status or None, what went wrong or "")."""
    body = json.dumps(attempt.payload, separators=(",", ":"), sort_keys=True).encode()
    timestamp = str(int(now if now is not None else time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "kestrel-hub-webhooks/1",
        "X-Hub-Event": attempt.event_type,
        "X-Hub-Delivery": attempt.event_id,
        "X-Hub-Timestamp": timestamp,
        "X-Hub-Signature-256": signature(attempt.secret, timestamp, body),
    }
    try:
        resp = client.post(attempt.url, content=body, headers=headers)
    except ConnectorError as exc:  # the address policy refused it, or DNS failed
        return None, str(exc)
    except httpx.TimeoutException:
        return None, f"no answer within {TIMEOUT:g} s"
    except httpx.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:500]
    if 200 <= resp.status_code < 300:
        return resp.status_code, ""
    return resp.status_code, f"HTTP {resp.status_code}"


def record(
    session: Session, attempt: Attempt, status: int | None, error: str, now: datetime
) -> str:
    """Store an attempt's outcome, if the row is still this attempt (not released and claimed
    again meanwhile); the state it ends in, or "" if it had moved on."""
    values: dict[str, Any] = {"last_status": status, "last_error": error or None}
    if not error:
        values |= {"state": D.DELIVERED.value, "delivered_at": now}
    elif attempt.attempts >= MAX_ATTEMPTS:
        values |= {"state": D.FAILED.value}
    else:
        values |= {"state": D.PENDING.value, "next_attempt_at": now + backoff(attempt.attempts)}
    res = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == attempt.id,
            WebhookDelivery.state == D.SENDING.value,
            WebhookDelivery.attempts == attempt.attempts,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return str(values["state"]) if res.rowcount == 1 else ""  # type: ignore[attr-defined]


def send_claimed(app: Flask, ids: list[int]) -> dict[str, int]:
    """Send claimed deliveries one by one, each outcome in its own short transaction."""
    with job_session(app) as session:
        attempts = load_attempts(app, session, ids)
    counts: dict[str, int] = {}
    with receiver_client(bool(app.config["WEBHOOKS_ALLOW_PRIVATE"])) as client:
        for attempt in attempts:
            status, error = post(client, attempt)
            if error:
                log.info("webhook delivery %s failed: %s", attempt.id, error)
            with job_session(app) as session:
                state = record(session, attempt, status, error, utcnow()) or "lost"
            counts[state] = counts.get(state, 0) + 1
    return counts


def run_deliveries(app: Flask, now: datetime | None = None) -> dict[str, int]:
    """The scheduler's job: free orphans, claim what is due, send it; counts by outcome."""
    now = now or utcnow()
    with job_session(app) as session:
        release_stale(session, now)
    with job_session(app) as session:
        ids = claim(session, due_ids(session, now), now)
    return send_claimed(app, ids) if ids else {}
