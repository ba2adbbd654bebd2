"""API tokens: made on the account page and shown once, kept only as a digest, revoked by their
owner or an admin (audited), and checked on every request: a revoked token, a deactivated owner
or a read token asked to write is refused at once; the browser's session cookie never counts."""

from __future__ import annotations

import hashlib
import re

from sqlalchemy import select, text

from hub.api.tokens import digest
from hub.auth import deactivate_staff
from hub.db import job_session
from hub.models import ApiToken, AuditEvent, Staff


def _new_token_on_page(client, name="CRM sync", scope="write"):
    resp = client.post("/account/api-tokens/", data={"name": name, "scope": scope})
    assert resp.status_code == 201, resp.text[:300]
    match = re.search(r'id="new-token">([^<]+)<', resp.text)
    assert match, "the new token is shown on the page"
    return match.group(1)


def test_the_account_page_links_to_the_tokens_page(client, make_staff, login):
    login(client, make_staff("employee"))
    assert "/account/api-tokens/" in client.get("/account/").text


def test_the_page_says_which_header_carries_the_token(client, make_staff, login):
    """The header is a value in the sentence, so it is escaped: as part of the translation
    (trusted markup) "<token>" was read as a tag and vanished."""
    login(client, make_staff("employee"))
    assert "Authorization: Bearer &lt;token&gt;" in client.get("/account/api-tokens/").text


def test_a_token_is_shown_once_and_only_its_digest_is_kept(app, client, make_staff, login):
    emp = make_staff("employee")
    login(client, emp)
    token = _new_token_on_page(client)
    assert token.startswith("hub_") and len(token) > 40
    page = client.get("/account/api-tokens/").text
    assert token not in page
    with job_session(app) as s:
        row = s.scalars(select(ApiToken)).one()
        assert row.digest == hashlib.sha256(token.encode()).hexdigest()
        assert page.count(row.prefix) == 1 and token.startswith(row.prefix + "_")
        assert (row.staff_id, row.scope, row.name) == (emp.id, "write", "CRM sync")
        dump = " ".join(str(v) for r in s.execute(text("SELECT * FROM api_tokens")) for v in r)
        # the secret after "hub_<prefix>_" (it may hold "_" itself: split() took a fragment)
        assert token not in dump and token[len(row.prefix) + 1 :] not in dump
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "api_token.created")).one()
        assert event.actor_id == emp.id and token not in str(event.data)


def test_a_token_works_until_its_owner_revokes_it(app, client, make_staff, login):
    emp = make_staff("employee")
    login(client, emp)
    token = _new_token_on_page(client, scope="read")
    api = app.test_client()
    auth = {"Authorization": f"Bearer {token}"}
    assert api.get("/api/v1/posts", headers=auth).status_code == 200
    with job_session(app) as s:
        row = s.scalars(select(ApiToken)).one()
        assert row.last_used_at is not None
    assert "never" not in client.get("/account/api-tokens/").text.split(row.prefix)[1][:200]
    resp = client.post(f"/account/api-tokens/{row.id}/revoke")
    assert resp.status_code == 302
    resp = api.get("/api/v1/posts", headers=auth)
    assert resp.status_code == 401
    assert resp.json["error"]["code"] == "unauthorized"
    with job_session(app) as s:
        revoked = s.get(ApiToken, row.id)
        assert revoked.revoked_at is not None and revoked.revoked_by == emp.id
        events = s.scalars(select(AuditEvent.action).where(AuditEvent.subject_type == "api_token"))
        assert list(events) == ["api_token.created", "api_token.revoked"]


def test_only_the_owner_or_an_admin_revokes_a_token(app, client, make_staff, make_token, login):
    owner, other, admin = make_staff("employee"), make_staff("manager"), make_staff("admin")
    token = make_token(owner)
    with job_session(app) as s:
        token_id = s.scalar(select(ApiToken.id))
    login(client, other)
    assert client.post(f"/account/api-tokens/{token_id}/revoke").status_code == 403
    assert token[:12] not in client.get("/account/api-tokens/").text  # nor see it
    assert (
        app.test_client()
        .get("/api/v1/posts", headers={"Authorization": f"Bearer {token}"})
        .status_code
        == 200
    )
    admin_client = app.test_client()
    login(admin_client, admin)
    assert owner.name in admin_client.get("/account/api-tokens/").text  # admins see everyone's
    assert admin_client.post(f"/account/api-tokens/{token_id}/revoke").status_code == 302
    assert (
        app.test_client()
        .get("/api/v1/posts", headers={"Authorization": f"Bearer {token}"})
        .status_code
        == 401
    )


def test_a_deactivated_owners_token_stops_at_once(app, make_staff, api):
    emp = make_staff("employee")
    caller = api(emp)
    assert caller.get("/posts").status_code == 200
    with job_session(app) as s:
        deactivate_staff(s, s.get(Staff, emp.id))
    assert caller.get("/posts").status_code == 401


def test_a_read_token_cannot_change_anything(make_staff, make_mention, api):
    emp = make_staff("employee")
    mention = make_mention()
    reader = api(emp, "read")
    assert reader.get(f"/mentions/{mention.id}").status_code == 200
    resp = reader.post(f"/mentions/{mention.id}/claim")
    assert resp.status_code == 403
    assert "only read" in resp.json["error"]["message"]
    assert reader.get(f"/mentions/{mention.id}").json["assignee"] is None
    assert api(emp, "write").post(f"/mentions/{mention.id}/claim").status_code == 200


def test_bad_names_and_scopes_are_refused_on_the_page(client, make_staff, login):
    login(client, make_staff("employee"))
    resp = client.post("/account/api-tokens/", data={"name": " ", "scope": "admin"})
    assert resp.status_code == 422
    assert "Give the token a name" in resp.text and "Choose what the token may do" in resp.text
    assert 'id="new-token"' not in resp.text


def test_wrong_or_missing_tokens_get_401(app, make_staff, make_token):
    token = make_token(make_staff("employee"))
    client = app.test_client()
    for header in ("", "Bearer", f"Basic {token}", f"Bearer {token}x", "Bearer hub_nope"):
        resp = client.get("/api/v1/posts", headers={"Authorization": header} if header else {})
        assert resp.status_code == 401, header
        assert resp.headers["WWW-Authenticate"].startswith("Bearer")
        assert set(resp.json["error"]) == {"code", "message"}
    assert digest(token) != digest(token + "x")


def test_the_session_cookie_does_not_authenticate_the_api(app, client, make_staff, login):
    """A signed-in browser gets 401 from the API, for reads and writes alike: so a page on
    another site cannot drive the API through the person's cookie."""
    login(client, make_staff("admin"))
    assert client.get("/queue").status_code == 200  # the cookie works for the pages
    assert client.get("/api/v1/mentions").status_code == 401
    assert client.post("/api/v1/posts", json={"account_id": 1, "text": "hi"}).status_code == 401


def test_the_api_needs_no_csrf_token_but_the_token_page_does(app, make_staff, make_token, login):
    app.config["WTF_CSRF_ENABLED"] = True
    emp = make_staff("employee")
    token = make_token(emp)
    api = app.test_client()
    resp = api.post(
        "/api/v1/posts",
        json={"account_id": 99, "text": "hello"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert resp.status_code == 403  # reached the service: the account is not one it may use
    assert "can't post to that account" in resp.json["error"]["message"]
    browser = app.test_client()
    page = browser.get("/login").text
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    browser.post("/login", data={"email": emp.email, "password": "password123", "csrf_token": csrf})
    resp = browser.post("/account/api-tokens/", data={"name": "x", "scope": "read"})
    assert resp.status_code == 400 and "form expired" in resp.text
