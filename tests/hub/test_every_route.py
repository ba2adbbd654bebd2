"""Guards applied to every route at once, so a new route is covered the day it is added:
CSRF on every POST, and customer or staff text rendered inert on every page that shows it."""

from __future__ import annotations

import re
from typing import Any

import pytest

from connectors.sandbox import SandboxStore
from hub.db import job_session
from hub.models import (
    LegalHold,
    OutboundItem,
    OutboundState,
    PolicyDecision,
    PolicyPackVersion,
    ReviewAction,
)

#: markup that would run if any page printed it unescaped
SCRIPT = "<script>alert('pwned')</script>"
IMG = "<img src=x onerror=alert(1)>"
HOSTILE = f"@KestrelFootwear {SCRIPT} {IMG} {{{{ 7*7 }}}}"
RAW = re.compile(r"<script>alert\('pwned'\)|<img src=x onerror")
ROLES = ("employee", "manager", "compliance", "admin")


def _post_rules(app: Any) -> list[Any]:
    return sorted(
        (r for r in app.url_map.iter_rules() if "POST" in r.methods and r.endpoint != "static"),
        key=lambda r: r.rule,
    )


def _fill(rule: Any, ids: dict[str, int]) -> str:
    """The rule's URL with each id argument taken from ``ids`` (1 when the test has none)."""
    return rule.build({name: ids.get(name, 1) for name in rule.arguments}, append_unknown=False)[1]


@pytest.fixture
def csrf_client(app, make_staff):  # type: ignore[no-untyped-def]
    """An admin signed in through the real login form, with CSRF on as in production."""
    app.config["WTF_CSRF_ENABLED"] = True
    admin = make_staff("admin")
    client = app.test_client()
    page = client.get("/login").text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token is not None
    resp = client.post(
        "/login",
        data={"email": admin.email, "password": "password123", "csrf_token": token.group(1)},
    )
    assert resp.status_code == 302
    return client


def test_every_post_route_refuses_a_form_without_its_csrf_token(app, csrf_client):
    rules = _post_rules(app)
    assert len(rules) > 20  # the crawl sees the app's routes
    refused = {}
    for rule in rules:
        with app.test_request_context():
            url = _fill(rule, {})
        resp = csrf_client.post(url, data={"text": "hello", "reason": "x" * 30})
        got = (resp.status_code, "form expired" in resp.text)
        # the JSON API needs no CSRF token because the signed-in cookie does not count there
        refused[rule.rule] = (got, (401, False) if rule.rule.startswith("/api/") else (400, True))
    assert {r: got for r, (got, want) in refused.items() if got != want} == {}


def test_an_anonymous_post_without_token_is_refused_too(app):
    app.config["WTF_CSRF_ENABLED"] = True
    client = app.test_client()
    for url in ("/login", "/sandbox/post", "/logout"):
        assert client.post(url, data={"handle": "x", "text": "y"}).status_code == 400


@pytest.fixture
def hostile_world(app, make_staff, make_mention):  # type: ignore[no-untyped-def]
    """Customer and staff text with live markup in every place a page can show it."""
    people = {role: make_staff(role, name=f"{role} {IMG}") for role in ROLES}
    author = make_staff("employee", name=f"Mallory {SCRIPT}")
    mention = make_mention(HOSTILE, handle="evil<b>")
    sandbox_post = SandboxStore(app.config["SANDBOX_URL"]).create_post("mallory", HOSTILE)
    with job_session(app) as s:
        decision = PolicyDecision(
            author_id=author.id,
            text=HOSTILE,
            verdict="review",
            pack_version="test",
            findings=[
                {
                    "rule_id": "probe",
                    "guideline": "G1",
                    "severity": "review",
                    "message": f"probe {SCRIPT}",
                    "span": [0, 5],
                    "suggestion": IMG,
                }
            ],
            platform="sandbox",
            kind="post",
        )
        s.add(decision)
        s.flush()
        held = OutboundItem(
            kind="post",
            account_id=mention.account_id,
            author_id=author.id,
            text=HOSTILE,
            state=OutboundState.IN_REVIEW.value,
            idempotency_key="hostile-held",
            decision_id=decision.id,
            review_reason=f"Waiting: {SCRIPT}",
        )
        reply = OutboundItem(
            kind="reply",
            account_id=mention.account_id,
            author_id=author.id,
            mention_id=mention.id,
            text=HOSTILE,
            state=OutboundState.REJECTED.value,
            idempotency_key="hostile-reply",
            review_reason=f"Rejected: {IMG}",
        )
        version = PolicyPackVersion(
            version="hostile", yaml="name: test\nrules: []\n", note=f"note {SCRIPT}"
        )
        hold = LegalHold(staff_id=author.id, reason=f"hold {IMG}")
        s.add_all([held, reply, version, hold])
        s.flush()
        s.add(
            ReviewAction(
                outbound_id=reply.id,
                reviewer_id=people["compliance"].id,
                action="reject",
                reason=f"reason {SCRIPT}",
            )
        )
        ids = {
            "mention_id": mention.id,
            "item_id": held.id,
            "post_id": sandbox_post["id"],
            "account_id": mention.account_id,
            "version_id": version.id,
            "hold_id": hold.id,
        }
    people["author"] = author
    return people, ids, reply


def _pages(app: Any, ids: dict[str, int]) -> list[str]:
    urls = []
    with app.test_request_context():
        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if "GET" in rule.methods and rule.endpoint != "static":
                urls.append(_fill(rule, ids))
    return urls


def test_every_page_renders_customer_and_staff_text_inert(app, hostile_world, login):
    people, ids, reply = hostile_world
    pages = _pages(app, ids) + [
        f"/posts/{reply.id}",
        f"/audit/items/outbound/{reply.id}",
        f"/audit/lookup?kind=mention&id={ids['mention_id']}",
    ]
    shown: dict[str, set[str]] = {}
    for who in ("author", "manager", "compliance", "admin"):
        client = app.test_client()
        login(client, people[who])
        for url in pages:
            resp = client.get(url)
            assert resp.status_code < 500, f"{who} {url}: {resp.status_code}"
            if "html" not in resp.content_type:
                continue
            assert not RAW.search(resp.text), f"{who} {url} prints markup unescaped"
            if "&lt;script&gt;" in resp.text or "&lt;img src=x" in resp.text:
                shown.setdefault(url.split("?")[0], set()).add(who)
    # the crawl reached the pages that show this text (so "inert" above means something)
    for url in (
        f"/mentions/{ids['mention_id']}",
        "/queue",
        f"/review/{ids['item_id']}",
        "/review/",
        f"/posts/{reply.id}",
        f"/policy/versions/{ids['version_id']}",
        "/audit/holds",
        f"/sandbox/p/{ids['post_id']}",
    ):
        assert url in shown, f"{url} never showed the hostile text"
