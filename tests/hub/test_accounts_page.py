"""The admin accounts page: add accounts with sealed secrets, test connections, pause them."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest
from sqlalchemy import select

from hub.db import job_session
from hub.models import AuditEvent, PlatformAccount, utcnow


@pytest.fixture
def manager(client, make_staff, login):  # type: ignore[no-untyped-def]
    staff = make_staff("manager")
    login(client, staff)
    return staff


@pytest.fixture
def dead_port() -> int:
    """A 127.0.0.1 port nothing listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _account(app, platform, handle):  # type: ignore[no-untyped-def]
    with job_session(app) as s:
        row = s.scalars(
            select(PlatformAccount).where(
                PlatformAccount.platform == platform, PlatformAccount.handle == handle
            )
        ).one()
        s.expunge(row)
    return row


def test_page_lists_accounts_with_health(app, client, manager, sandbox_account):
    with job_session(app) as s:
        a = s.get(PlatformAccount, sandbox_account.id)
        a.last_success_at = utcnow() - timedelta(minutes=5)
        a.budget_remaining = 42
        a.budget_reset_at = utcnow() + timedelta(minutes=10)
        a.last_error = "Transient: X did not answer in 10 s"
        a.error_count = 2
    html = client.get("/admin/accounts/").get_data(as_text=True)
    assert "@KestrelFootwear" in html
    assert "5 min" in html
    assert "42 until" in html
    assert "The platform could not be reached: X did not answer in 10 s" in html
    assert "2 failed polls in a row" in html
    for platform in ("sandbox", "x", "bluesky"):
        assert f'<option value="{platform}"' in html
    assert 'type="password" name="bluesky-app_password"' in html


def test_nav_link_only_for_managers(client, make_staff, login):
    login(client, make_staff("employee"))
    assert "/admin/accounts/" not in client.get("/queue").get_data(as_text=True)
    client.post("/logout")
    login(client, make_staff("manager"))
    assert "/admin/accounts/" in client.get("/queue").get_data(as_text=True)


def test_add_account_seals_secrets(app, client, manager):
    app.config["ALLOW_LOCAL_PLATFORMS"] = True  # the PDS address below is on this machine
    resp = client.post(
        "/admin/accounts/",
        data={
            "platform": "bluesky",
            "handle": "@kestrel.example",
            "bluesky-service": "http://127.0.0.1:9",
            "bluesky-app_password": "abcd-efgh-ijkl-mnop",
        },
    )
    assert resp.status_code == 302
    account = _account(app, "bluesky", "kestrel.example")
    assert account.config == {"handle": "kestrel.example", "service": "http://127.0.0.1:9"}
    assert b"abcd-efgh" not in account.secrets_encrypted
    box = app.extensions["hub.secretbox"]
    assert box.open(account.secrets_encrypted) == {"app_password": "abcd-efgh-ijkl-mnop"}
    with job_session(app) as s:
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "account_added")).one()
        assert "abcd" not in str(event.data)
    page = client.get("/admin/accounts/").get_data(as_text=True)
    assert "abcd-efgh" not in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"platform": "myspace", "handle": "x"}, "Choose a platform."),
        ({"platform": "bluesky", "handle": " "}, "Give the account&#39;s handle."),
        ({"platform": "x", "handle": "kestrel"}, "API key (consumer key) is required."),
    ],
)
def test_add_account_refuses_bad_input(app, client, manager, data, message):
    resp = client.post("/admin/accounts/", data=data)
    assert resp.status_code == 422
    assert message in resp.get_data(as_text=True)
    with job_session(app) as s:
        assert s.scalars(select(PlatformAccount)).all() == []


def test_add_account_refuses_duplicates(client, manager, sandbox_account):
    resp = client.post(
        "/admin/accounts/", data={"platform": "sandbox", "handle": "KestrelFootwear"}
    )
    assert resp.status_code == 422
    assert "already connected" in resp.get_data(as_text=True)


def test_test_connection_sandbox(client, manager, sandbox_account):
    resp = client.post(f"/admin/accounts/{sandbox_account.id}/test", follow_redirects=True)
    assert resp.status_code == 200
    assert "Connected as @KestrelFootwear" in resp.get_data(as_text=True)


def test_test_connection_unreachable_platforms_say_so(app, client, manager, dead_port):
    from hub.platforms.accounts import create_account

    app.config["ALLOW_LOCAL_PLATFORMS"] = True  # platforms on this machine, nobody listening
    base = f"http://127.0.0.1:{dead_port}"
    with job_session(app) as s:
        ids = [
            create_account(
                s,
                app,
                "bluesky",
                "kestrel.example",
                {"handle": "kestrel.example", "service": base},
                {"app_password": "pw"},
            ).id,
            create_account(
                s,
                app,
                "x",
                "kestrel",
                {"handle": "kestrel", "api_base": base, "user_id": "1", "timeout": 2},
                {
                    "consumer_key": "ck-123456",
                    "consumer_secret": "cs-123456",
                    "access_token": "at-123456",
                    "access_token_secret": "ats-123456",
                },
            ).id,
        ]
    for account_id in ids:
        resp = client.post(f"/admin/accounts/{account_id}/test", follow_redirects=True)
        assert resp.status_code == 200
        html = resp.get_data(as_text=True)
        assert "Could not reach the platform right now" in html, html[
            html.find("<main>") : html.find("<main>") + 600
        ]
        assert "Something went wrong" not in html
        assert "123456" not in html


def test_pause_and_activate(app, client, manager, sandbox_account):
    client.post(f"/admin/accounts/{sandbox_account.id}/active", data={"active": "0"})
    assert _account(app, "sandbox", "KestrelFootwear").active is False
    assert "paused" in client.get("/admin/accounts/").get_data(as_text=True)
    client.post(f"/admin/accounts/{sandbox_account.id}/active", data={"active": "1"})
    assert _account(app, "sandbox", "KestrelFootwear").active is True


def test_replacing_credentials_forgets_saved_state(app, client, manager):
    from hub.platforms.accounts import create_account

    box = app.extensions["hub.secretbox"]
    with job_session(app) as s:
        account = create_account(
            s, app, "bluesky", "kestrel.example", {}, {"app_password": "old-password"}
        )
        account.state_encrypted = box.seal({"session": "old-session"})
        account.last_error = "AuthExpired: bad password"
        account.error_count = 3
        account_id = account.id
    resp = client.post(
        f"/admin/accounts/{account_id}/credentials", data={"app_password": "new-password"}
    )
    assert resp.status_code == 302
    with job_session(app) as s:
        account = s.get(PlatformAccount, account_id)
        assert box.open(account.secrets_encrypted) == {"app_password": "new-password"}
        assert account.state_encrypted is None
        assert account.error_count == 0 and account.last_error is None


def test_replacing_with_nothing_changes_nothing(app, client, manager):
    from hub.platforms.accounts import create_account

    box = app.extensions["hub.secretbox"]
    with job_session(app) as s:
        account_id = create_account(s, app, "bluesky", "k.example", {}, {"app_password": "pw"}).id
    resp = client.post(f"/admin/accounts/{account_id}/credentials", data={"app_password": ""})
    assert resp.status_code == 302
    assert "Fill in at least one credential" in client.get("/admin/accounts/").get_data(
        as_text=True
    )
    with job_session(app) as s:
        assert box.open(s.get(PlatformAccount, account_id).secrets_encrypted) == {
            "app_password": "pw"
        }
