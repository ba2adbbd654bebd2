"""Receiver addresses: http or https only, and never this machine, a private network or a
link-local address unless HUB_WEBHOOKS_ALLOW_PRIVATE says so; checked when saved and again on
every connection."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from hub.db import job_session
from hub.models import WebhookDelivery, WebhookEndpoint
from hub.webhooks.delivery import run_deliveries
from hub.webhooks.endpoints import url_problem
from hub.webhooks.events import emit


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://[::1]/hook",
        "http://localhost/hook",  # a DNS name resolving to loopback
        "https://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://[::ffff:127.0.0.1]/hook",  # loopback inside an IPv6 address
    ],
)
def test_local_and_private_receivers_are_refused_without_the_setting(url):
    problem = url_problem(url, allow_private=False)
    assert problem is not None and "HUB_WEBHOOKS_ALLOW_PRIVATE" in problem
    assert url_problem(url, allow_private=True) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data",  # cloud metadata: link-local
        "http://[fe80::1]/hook",
        "ftp://93.184.215.14/hook",
        "file:///etc/passwd",
        "https://user:pw@93.184.215.14/hook",
        "https:///hook",
        "http://[::1/hook",
        "",
        "https://93.184.215.14/" + "x" * 2100,
    ],
)
def test_other_bad_receivers_are_refused_even_with_the_setting(url):
    assert url_problem(url, allow_private=True) is not None


def test_a_public_address_passes():
    assert url_problem("https://93.184.215.14/hook", allow_private=False) is None
    assert url_problem("http://93.184.215.14:8080/hook", allow_private=False) is None


def test_the_form_refuses_a_loopback_receiver(app, client, login, make_staff):
    login(client, make_staff("admin"))
    resp = client.post(
        "/admin/webhooks/", data={"url": "http://127.0.0.1:9/hook", "events": "mention.created"}
    )
    assert resp.status_code == 422
    assert "HUB_WEBHOOKS_ALLOW_PRIVATE" in resp.text
    with job_session(app) as s:
        assert s.scalar(select(func.count()).select_from(WebhookEndpoint)) == 0


def test_delivery_checks_the_address_again_on_connect(
    local_app: Any, receiver: Any, make_endpoint: Any
) -> None:
    """An endpoint saved while local receivers were allowed gets nothing once they are not."""
    make_endpoint(receiver)
    with job_session(local_app) as s:
        emit(s, "mention.created", {"mention_id": 1})
    local_app.config["WEBHOOKS_ALLOW_PRIVATE"] = False
    assert run_deliveries(local_app) == {"pending": 1}
    assert receiver.got == []
    with job_session(local_app) as s:
        row = s.scalars(select(WebhookDelivery)).one()
        assert row.last_status is None and "this machine" in (row.last_error or "")
