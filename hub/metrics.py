"""Prometheus metrics at /metrics, through prometheus_client.

Two kinds: what this process counts as it works (request latency by endpoint, policy decisions
by verdict since the process started), kept by prometheus_client and summed over every gunicorn
worker in multiprocess mode (``PROMETHEUS_MULTIPROC_DIR`` set); and what the database says at
scrape time (queue depth by team and status, ingest lag per account, outbox items by state,
webhook deliveries waiting or failed, stored decisions by verdict), read in the scrape's
read-only transaction. The stored-decisions count reads a whole index, so it is cached for
``DECISIONS_TTL`` seconds per database; everything else is a small indexed GROUP BY.

Access: with ``HUB_METRICS_TOKEN`` set, only ``Authorization: Bearer <token>``; otherwise only
clients in ``HUB_METRICS_ALLOW`` (networks). Anyone else gets a 404, as if there were nothing.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import threading
import time
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hub.db import get_session
from hub.models import (
    HELD_STATUSES,
    OUTBOUND_STATES,
    DecisionRollup,
    DeliveryState,
    Mention,
    OutboundItem,
    PlatformAccount,
    Team,
    WebhookDelivery,
    utcnow,
)

#: this process's own metrics (multiprocess mode keeps their values in files instead)
PROCESS = CollectorRegistry(auto_describe=True)
REQUEST_SECONDS = Histogram(
    "hub_request_duration_seconds",
    "Time to answer a request, by Flask endpoint and method",
    ["endpoint", "method"],
    registry=PROCESS,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DECISIONS = Counter(
    "hub_policy_decisions",
    "Policy decisions recorded since the process started, by verdict",
    ["verdict"],
    registry=PROCESS,
)
#: seconds the stored-decisions count is reused before it is read again
DECISIONS_TTL = 60.0

bp = Blueprint("metrics", __name__)


def count_decision(verdict: str) -> None:
    """Count one recorded policy decision (hub.publishing.compose calls it)."""
    DECISIONS.labels(verdict=verdict).inc()


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()


def _observe(response: Response) -> Response:
    started = g.pop("metrics_started", None)
    if started is not None:
        REQUEST_SECONDS.labels(
            endpoint=request.endpoint or "unmatched", method=request.method
        ).observe(time.perf_counter() - started)
    return response


def init_app(app: Flask) -> None:
    """Time every request and serve /metrics."""
    app.before_request(_start_timer)
    app.after_request(_observe)
    app.register_blueprint(bp)


def _networks(value: Any) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    items = value.split(",") if isinstance(value, str) else list(value or ())
    return [ipaddress.ip_network(str(v).strip(), strict=False) for v in items if str(v).strip()]


def may_scrape(config: Mapping[str, Any], authorization: str | None, address: str | None) -> bool:
    """The access rule: the bearer token when one is set, else the client's network."""
    token = config.get("METRICS_TOKEN")
    if token:
        return hmac.compare_digest((authorization or "").encode(), f"Bearer {token}".encode())
    try:
        ip = ipaddress.ip_address((address or "").split("%", 1)[0])
    except ValueError:
        return False
    return any(ip in net for net in _networks(config.get("METRICS_ALLOW")))


_cache_lock = threading.Lock()
_decisions_cache: dict[str, tuple[float, dict[str, int]]] = {}


def stored_decisions(session: Session, key: str, now: float | None = None) -> dict[str, int]:
    """Stored policy decisions by verdict, read at most once per ``DECISIONS_TTL`` per
    database (``key``)."""
    now = time.monotonic() if now is None else now
    with _cache_lock:
        hit = _decisions_cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
    # the monthly rollups hold every decision (hub.compliance.rollups): a few hundred rows
    # where counting the decisions themselves read a million (1.2 s on SQLite)
    counts = {
        str(verdict): int(n)
        for verdict, n in session.execute(
            select(DecisionRollup.verdict, func.sum(DecisionRollup.decisions))
            .where(DecisionRollup.grain == "month")
            .group_by(DecisionRollup.verdict)
        )
        if n
    }
    with _cache_lock:
        _decisions_cache[key] = (now + DECISIONS_TTL, counts)
    return counts


def _gauge(name: str, doc: str, labels: list[str], rows: Iterable[tuple[Any, ...]]) -> Any:
    family = GaugeMetricFamily(name, doc, labels=labels)
    for *values, n in rows:
        family.add_metric([str(v) for v in values], float(n))
    return family


def database_metrics(session: Session, now: datetime, db_key: str) -> list[Any]:
    """The gauges read from the database at scrape time."""
    teams = dict(session.execute(select(Team.id, Team.slug)).all())
    queue = session.execute(
        select(Mention.team_id, Mention.status, func.count())
        .where(Mention.status.in_(HELD_STATUSES))
        .group_by(Mention.team_id, Mention.status)
    )
    lag_rows = []
    accounts = session.execute(
        select(
            PlatformAccount.id,
            PlatformAccount.platform,
            PlatformAccount.handle,
            PlatformAccount.last_success_at,
        ).where(PlatformAccount.active.is_(True))
    ).all()
    # accounts never polled (push only): their newest mention, if any, in one query for all
    unpolled = [a.id for a in accounts if a.last_success_at is None]
    newest = dict(
        session.execute(
            select(Mention.account_id, func.max(Mention.received_at))
            .where(Mention.account_id.in_(unpolled))
            .group_by(Mention.account_id)
        ).all()
        if unpolled
        else ()
    )
    for account_id, platform, handle, last in accounts:
        if last is None:
            last = newest.get(account_id)
            if last is not None and last.tzinfo is None:
                last = last.replace(tzinfo=now.tzinfo)
        if last is not None:
            lag_rows.append((platform, handle, max(0.0, (now - last).total_seconds())))
    outbox = dict.fromkeys((s.value for s in OUTBOUND_STATES), 0)
    for state, n in session.execute(
        select(OutboundItem.state, func.count()).group_by(OutboundItem.state)
    ):
        outbox[str(state)] = int(n)
    waiting = {
        DeliveryState.PENDING.value: 0,
        DeliveryState.SENDING.value: 0,
        DeliveryState.FAILED.value: 0,
    }
    for state, n in session.execute(
        select(WebhookDelivery.state, func.count())
        .where(WebhookDelivery.state.in_(list(waiting)))
        .group_by(WebhookDelivery.state)
    ):
        waiting[str(state)] = int(n)
    return [
        _gauge(
            "hub_queue_depth",
            "Mentions not closed, by team (slug; 'none' when unrouted) and status",
            ["team", "status"],
            ((teams.get(t, "none") if t else "none", s, n) for t, s, n in queue),
        ),
        _gauge(
            "hub_ingest_lag_seconds",
            "Seconds since an active account's last successful poll (or its newest mention)",
            ["platform", "account"],
            lag_rows,
        ),
        _gauge("hub_outbox_items", "Replies and posts by outbox state", ["state"], outbox.items()),
        _gauge(
            "hub_webhook_deliveries",
            "Webhook deliveries waiting, being sent or given up on",
            ["state"],
            waiting.items(),
        ),
        _gauge(
            "hub_policy_decisions_stored",
            f"Policy decisions in the database by verdict (cached {DECISIONS_TTL:g} s)",
            ["verdict"],
            stored_decisions(session, db_key).items(),
        ),
    ]


class _Families(Collector):
    def __init__(self, families: list[Any]) -> None:
        self._families = families

    def collect(self) -> Iterable[Any]:
        return self._families


def process_registry() -> CollectorRegistry:
    """This process's metrics, or in multiprocess mode every worker's, summed from their files."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return PROCESS
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


def exposition(session: Session, db_key: str, now: datetime | None = None) -> bytes:
    """The text the scraper reads: process metrics (every worker's, in multiprocess mode),
    then the database's."""
    process = process_registry()
    database = CollectorRegistry(auto_describe=False)
    database.register(_Families(database_metrics(session, now or utcnow(), db_key)))
    return generate_latest(process) + generate_latest(database)


@bp.route("/metrics")
def scrape() -> Any:
    if not may_scrape(
        current_app.config, request.headers.get("Authorization"), request.remote_addr
    ):
        abort(404)
    body = exposition(get_session(), str(current_app.config["DATABASE_URL"]))
    return Response(body, content_type=CONTENT_TYPE_LATEST)
