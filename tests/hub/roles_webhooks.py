"""Role-matrix rows for Settings → Webhooks (admins only) and /metrics (collected by
test_roles.py).

PREPARE (for the allowed role) overrides {s} with a webhook endpoint and {o} with a failed
delivery of it, so every action has something real to act on. /metrics is not a staff page:
anyone on an allowed network (the test client's 127.0.0.1) reads it, signed in or not.
"""

from typing import Any

ANON, EMP, MGR, COMP, ADMIN = "anon", "employee", "manager", "compliance", "admin"
ALL_STAFF = {EMP, MGR, COMP, ADMIN}

ROWS = [
    ("GET", "/admin/webhooks/", {ADMIN}, 200),
    ("POST", "/admin/webhooks/", {ADMIN}, 200),  # the page showing the new secret once
    ("GET", "/admin/webhooks/{s}", {ADMIN}, 200),
    ("POST", "/admin/webhooks/{s}", {ADMIN}, 302),
    ("POST", "/admin/webhooks/{s}/active", {ADMIN}, 302),
    ("POST", "/admin/webhooks/{s}/rotate", {ADMIN}, 200),
    ("POST", "/admin/webhooks/{s}/ping", {ADMIN}, 302),
    ("GET", "/admin/webhooks/deliveries", {ADMIN}, 200),
    ("POST", "/admin/webhooks/deliveries/{o}/redeliver", {ADMIN}, 302),
    ("GET", "/metrics", ALL_STAFF | {ANON}, 200),
]
# a public address literal: no DNS lookup, and no setting needed to allow it
FORM = {"url": "https://93.184.215.14/hook", "events": "mention.created"}


def _endpoint(app: Any, actor_id: int) -> dict[str, Any]:
    from hub.db import job_session
    from hub.models import WebhookDelivery
    from hub.webhooks.endpoints import EndpointInput, add_endpoint

    with job_session(app) as s:
        endpoint, _ = add_endpoint(
            s, app, EndpointInput("https://93.184.215.14/hook", ("mention.created",)), actor_id
        )
        failed = WebhookDelivery(
            endpoint_id=endpoint.id,
            event_id="f" * 32,
            event_type="mention.created",
            payload={},
            state="failed",
            attempts=8,
        )
        s.add(failed)
        s.flush()
        return {"s": endpoint.id, "o": failed.id}


PREPARE = {(m, p): _endpoint for m, p, _, _ in ROWS if "{" in p}
