"""Settings → Webhooks in the Flask test client: admins only, CSRF on every form, the secret
shown once and stored encrypted, every endpoint change audited, the delivery log and redeliver."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from hub.db import job_session
from hub.models import AuditEvent, WebhookDelivery, WebhookEndpoint, utcnow
from hub.webhooks.delivery import MAX_ATTEMPTS, run_deliveries
from hub.webhooks.events import emit

SECRET = re.compile(r'<code id="webhook-secret">(whsec_[A-Za-z0-9_-]+)</code>')


@pytest.fixture
def admin_client(local_app: Any, make_staff: Any, csrf_token: Any) -> Any:
    """An admin signed in through the real form, CSRF on as in production."""
    local_app.config["WTF_CSRF_ENABLED"] = True
    admin = make_staff("admin")
    client = local_app.test_client()
    token = csrf_token(client.get("/login").text)
    resp = client.post(
        "/login", data={"email": admin.email, "password": "password123", "csrf_token": token}
    )
    assert resp.status_code == 302
    return client


def _token(client: Any, url: str = "/admin/webhooks/") -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get(url).text)
    assert match
    return match.group(1)


def _add(client: Any, url: str, *events: str) -> Any:
    return client.post(
        "/admin/webhooks/",
        data={"url": url, "events": list(events), "csrf_token": _token(client)},
    )


def _endpoints(app: Any) -> list[WebhookEndpoint]:
    with job_session(app) as s:
        rows = list(s.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))
        for r in rows:
            s.expunge(r)
        return rows


def _actions(app: Any) -> list[str]:
    with job_session(app) as s:
        return list(
            s.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.action.startswith("webhook."))
                .order_by(AuditEvent.id)
            )
        )


def test_adding_an_endpoint_shows_its_secret_once_and_stores_it_encrypted(
    local_app, admin_client, receiver
):
    resp = _add(admin_client, receiver.url, "mention.created", "sla.breached")
    assert resp.status_code == 200
    secret = SECRET.search(resp.text).group(1)
    [row] = _endpoints(local_app)
    assert (row.url, row.events, row.active) == (
        receiver.url,
        ["mention.created", "sla.breached"],
        True,
    )
    assert secret.encode() not in row.secret_encrypted
    assert local_app.extensions["hub.secretbox"].open(row.secret_encrypted) == {"secret": secret}
    page = admin_client.get("/admin/webhooks/").text
    assert receiver.url in page and secret not in page  # never shown again
    assert _actions(local_app) == ["webhook.added"]
    # the secret signs what the receiver gets
    receiver.secret = secret
    with job_session(local_app) as s:
        emit(s, "mention.created", {"mention_id": 1})
    run_deliveries(local_app)
    assert [r.signed for r in receiver.got] == [True]


def test_a_form_without_its_csrf_token_changes_nothing(local_app, admin_client, receiver):
    resp = admin_client.post(
        "/admin/webhooks/", data={"url": receiver.url, "events": "mention.created"}
    )
    assert resp.status_code == 400
    assert _endpoints(local_app) == []


@pytest.mark.parametrize("role", ["employee", "manager", "compliance"])
def test_only_admins_may_see_or_change_webhooks(local_app, client, login, make_staff, role):
    login(client, make_staff(role))
    assert client.get("/admin/webhooks/").status_code == 403
    assert client.get("/admin/webhooks/deliveries").status_code == 403
    resp = client.post(
        "/admin/webhooks/", data={"url": "https://93.184.215.14/h", "events": "mention.created"}
    )
    assert resp.status_code == 403
    assert _endpoints(local_app) == []
    assert "/admin/webhooks" not in client.get("/account/").text  # no nav link either


@pytest.mark.parametrize(
    ("form", "field"),
    [
        ({"url": "gopher://93.184.215.14/", "events": ["mention.created"]}, "https://"),
        ({"url": "https://93.184.215.14/h", "events": []}, "at least one"),
        ({"url": "https://93.184.215.14/h", "events": ["mention.deleted"]}, "at least one"),
    ],
)
def test_bad_input_is_shown_in_the_form_and_stores_nothing(local_app, admin_client, form, field):
    resp = admin_client.post("/admin/webhooks/", data=form | {"csrf_token": _token(admin_client)})
    assert resp.status_code == 422 and field in resp.text
    assert _endpoints(local_app) == []


def test_edit_disable_rotate_and_ping_are_audited(local_app, admin_client, receiver):
    first = SECRET.search(_add(admin_client, receiver.url, "mention.created").text).group(1)
    [row] = _endpoints(local_app)
    token = _token(admin_client, f"/admin/webhooks/{row.id}")
    resp = admin_client.post(
        f"/admin/webhooks/{row.id}",
        data={"url": receiver.url + "2", "events": ["reply.sent"], "csrf_token": token},
    )
    assert resp.status_code == 302
    bad = admin_client.post(
        f"/admin/webhooks/{row.id}",
        data={"url": "http://169.254.169.254/", "events": ["reply.sent"], "csrf_token": token},
    )
    assert bad.status_code == 422
    [row] = _endpoints(local_app)
    assert (row.url, row.events) == (receiver.url + "2", ["reply.sent"])
    resp = admin_client.post(
        f"/admin/webhooks/{row.id}/active", data={"active": "0", "csrf_token": token}
    )
    assert resp.status_code == 302 and not _endpoints(local_app)[0].active
    rotated = admin_client.post(f"/admin/webhooks/{row.id}/rotate", data={"csrf_token": token})
    second = SECRET.search(rotated.text).group(1)
    assert second != first
    resp = admin_client.post(f"/admin/webhooks/{row.id}/ping", data={"csrf_token": token})
    assert resp.status_code == 302 and "deliveries" in resp.headers["Location"]
    assert _actions(local_app) == [
        "webhook.added",
        "webhook.changed",
        "webhook.disabled",
        "webhook.secret_rotated",
        "webhook.pinged",
    ]


def test_the_delivery_log_shows_outcomes_filters_and_redelivers(
    local_app, admin_client, receiver, make_endpoint
):
    make_endpoint(receiver)
    receiver.answers = [500] * MAX_ATTEMPTS
    with job_session(local_app) as s:
        failing = emit(s, "mention.created", {"mention_id": 1})
    now = utcnow()
    for n in range(MAX_ATTEMPTS):
        run_deliveries(local_app, now + timedelta(days=n))
    with job_session(local_app) as s:
        fine = emit(s, "mention.created", {"mention_id": 2})
    run_deliveries(local_app, now + timedelta(days=9))
    page = admin_client.get("/admin/webhooks/deliveries").text
    assert page.index(fine) < page.index(failing)  # newest first
    assert "HTTP 500" in page and "Send again" in page
    only_failed = admin_client.get("/admin/webhooks/deliveries?state=failed").text
    assert failing in only_failed and fine not in only_failed
    odd = admin_client.get("/admin/webhooks/deliveries?state=nonsense&receiver=x&before=-1")
    assert odd.status_code == 200
    with job_session(local_app) as s:
        failed = s.scalars(select(WebhookDelivery).where(WebhookDelivery.event_id == failing)).one()
        delivered = s.scalars(select(WebhookDelivery).where(WebhookDelivery.event_id == fine)).one()
    token = _token(admin_client, "/admin/webhooks/deliveries")
    resp = admin_client.post(
        f"/admin/webhooks/deliveries/{failed.id}/redeliver", data={"csrf_token": token}
    )
    assert resp.status_code == 302
    # a delivered one is not sent again (409), and nothing new appears
    resp = admin_client.post(
        f"/admin/webhooks/deliveries/{delivered.id}/redeliver", data={"csrf_token": token}
    )
    assert resp.status_code == 409
    assert run_deliveries(local_app, now + timedelta(days=30)) == {"delivered": 1}
    assert receiver.delivered_ids.count(failing) == MAX_ATTEMPTS + 1
    with job_session(local_app) as s:
        assert len(list(s.scalars(select(WebhookDelivery)))) == 2


def test_unknown_ids_are_404s(admin_client):
    token = _token(admin_client)
    assert admin_client.get("/admin/webhooks/999").status_code == 404
    assert (
        admin_client.post(
            "/admin/webhooks/deliveries/999/redeliver", data={"csrf_token": token}
        ).status_code
        == 404
    )
