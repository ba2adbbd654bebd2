"""CSRF on every form, and hostile text rendered inert everywhere it appears."""

from __future__ import annotations

import pytest

HOSTILE = (
    "@KestrelFootwear <script>alert('x')</script> <img src=x onerror=alert(1)> {{ 7*7 }} {% raw %}"
)


@pytest.fixture
def csrf_app(app):  # type: ignore[no-untyped-def]
    app.config["WTF_CSRF_ENABLED"] = True
    return app


def test_login_without_csrf_token_is_rejected(csrf_app, make_staff):
    staff = make_staff("manager")
    resp = csrf_app.test_client().post(
        "/login", data={"email": staff.email, "password": "password123"}
    )
    assert resp.status_code == 400
    assert b"form expired" in resp.data


def test_state_change_without_csrf_token_is_rejected(
    csrf_app, make_staff, make_mention, csrf_token
):
    staff = make_staff("manager")
    mention = make_mention()
    client = csrf_app.test_client()
    token = csrf_token(client.get("/login").text)
    assert (
        client.post(
            "/login", data={"email": staff.email, "password": "password123", "csrf_token": token}
        ).status_code
        == 302
    )
    assert client.post(f"/mentions/{mention.id}/claim").status_code == 400
    assert (
        client.post(f"/mentions/{mention.id}/claim", data={"csrf_token": token}).status_code == 302
    )
    assert client.post("/sandbox/post", data={"handle": "x", "text": "y"}).status_code == 400


@pytest.mark.parametrize("page", ["/queue", "/mentions/{id}"])
def test_hostile_mention_text_renders_inert(client, make_staff, make_mention, login, page):
    mention = make_mention(HOSTILE, handle="evil<b>")
    login(client, make_staff("manager"))
    html = client.get(page.format(id=mention.id)).text
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "&lt;script&gt;" in html
    assert "{{ 7*7 }}" in html  # shown literally, never evaluated
    assert "evil&lt;b&gt;" in html


def test_hostile_text_on_the_sandbox_renders_inert(client):
    resp = client.post("/sandbox/post", data={"handle": "mallory", "text": HOSTILE})
    html = client.get(resp.headers["Location"]).text
    assert "<script>alert" not in html and "{{ 7*7 }}" in html.replace("&#39;", "'")


def test_open_redirect_after_login_is_refused(client, make_staff):
    staff = make_staff("manager")
    resp = client.post(
        "/login?next=//evil.example/", data={"email": staff.email, "password": "password123"}
    )
    assert resp.headers["Location"] == "/"


def test_wrong_password_gives_a_clear_message(client, make_staff):
    staff = make_staff("manager")
    resp = client.post("/login", data={"email": staff.email, "password": "nope-nope"})
    assert resp.status_code == 200 and b"don&#39;t match" in resp.data


def test_credentials_are_encrypted_at_rest(app):
    from sqlalchemy import select

    from hub.db import job_session
    from hub.models import PlatformAccount
    from hub.platforms.accounts import create_account

    with job_session(app) as s:
        create_account(
            s,
            app,
            "sandbox",
            "brand2",
            {"handle": "brand2"},
            {"app_password": "hunter2-very-secret"},
        )
    with job_session(app) as s:
        row = s.scalars(select(PlatformAccount)).one()
        assert b"hunter2" not in row.secrets_encrypted
        assert app.extensions["hub.secretbox"].open(row.secrets_encrypted) == {
            "app_password": "hunter2-very-secret"
        }
