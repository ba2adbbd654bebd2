"""The API's role matrix: every endpoint × every role, with the page's own role check (a token
acts as its owner). Anonymous callers get 401; refused roles 403 with the pages' message."""

from __future__ import annotations

import re
from typing import Any

import pytest

from hub.db import job_session
from hub.engagement.moderation import claim_mention
from hub.models import Mention, PolicyDecision, Staff
from hub.publishing.posts import NewPost, submit_post
from hub.publishing.replies import SubmitReply, submit_reply

ANON, EMP, MGR, COMP, ADMIN = "anon", "employee", "manager", "compliance", "admin"
STAFF = {EMP, MGR, COMP, ADMIN}
QUEUE = {EMP, MGR, ADMIN}
READERS = {EMP, MGR, COMP, ADMIN}
AGENTS = {EMP, MGR, ADMIN}
FRIENDLY = (
    "Oh no, sorry! I just looked it up: your parcel left the depot this morning, should be there "
    "Friday."
)

# (method, path, body, roles allowed, status for an allowed role: an int or {role: status}).
# {m}: a mention the employee claimed; {n}: an unclaimed one; {r}: the employee's reply to {m};
# {p}: the employee's post; {a}: the brand account; {d}: a policy decision; {c}: a customer;
# {e}: the employee's staff id.
MATRIX: list[tuple[str, str, Any, set[str], Any]] = [
    ("GET", "/mentions", None, QUEUE, 200),
    ("GET", "/mentions/{m}", None, READERS, 200),
    ("POST", "/mentions/{n}/claim", {}, QUEUE, 200),
    ("POST", "/mentions/{n}/assign", {"staff_id": "{e}"}, {MGR, ADMIN}, 200),
    ("POST", "/mentions/{m}/status", {"status": "escalated"}, QUEUE, 200),
    (
        "POST",
        "/mentions/{m}/replies",
        {"text": FRIENDLY + "!", "confirm_answered": True},
        QUEUE,
        201,
    ),
    ("GET", "/replies/{r}", None, READERS, 200),
    ("GET", "/posts", None, AGENTS, 200),
    ("POST", "/posts", {"account_id": "{a}", "text": "A sunny walk today."}, AGENTS, 201),
    # a post is its author's (admins see every post)
    ("GET", "/posts/{p}", None, AGENTS, {EMP: 200, MGR: 404, ADMIN: 200}),
    ("GET", "/decisions", None, {COMP, ADMIN}, 200),
    ("GET", "/decisions/{d}", None, {COMP, ADMIN}, 200),
    ("GET", "/customers", None, AGENTS, 200),
    ("GET", "/customers/{c}", None, AGENTS, 200),
    ("GET", "/openapi.json", None, STAFF | {ANON}, 200),
]


@pytest.fixture
def world(app, make_staff, make_mention, make_token):  # type: ignore[no-untyped-def]
    staff = {r: make_staff(r) for r in STAFF}
    tokens = {r: make_token(staff[r]) for r in STAFF}
    m, n = make_mention(), make_mention("@KestrelFootwear do you ship to Spain?")
    with job_session(app) as s:
        emp = s.get(Staff, staff[EMP].id)
        claim_mention(s, s.get(Mention, m.id), emp)
        reply = submit_reply(s, SubmitReply(m.id, FRIENDLY, seen_outbound_id=0), emp).item
        post = submit_post(s, NewPost(m.account_id, "Lovely morning run."), emp).item
        assert reply is not None and post is not None
        decision = s.query(PolicyDecision).first()
        ids = {
            "m": m.id,
            "n": n.id,
            "r": reply.id,
            "p": post.id,
            "a": m.account_id,
            "d": decision.id,
            "c": m.customer_id,
            "e": emp.id,
        }
    return tokens, ids


def _fill(value: Any, ids: dict[str, int]) -> Any:
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, str) and re.fullmatch(r"\{[a-z]\}", value):
        return ids[value[1]]
    return value


@pytest.mark.parametrize(
    ("method", "path", "body", "allowed", "expect"),
    MATRIX,
    ids=[f"{m} {p}" for m, p, *_ in MATRIX],
)
@pytest.mark.parametrize("role", [ANON, EMP, MGR, COMP, ADMIN])
def test_api_role_matrix(app, world, method, path, body, allowed, expect, role):
    tokens, ids = world
    headers = {"Authorization": f"Bearer {tokens[role]}"} if role != ANON else {}
    resp = app.test_client().open(
        "/api/v1" + path.format(**ids),
        method=method,
        json=_fill(body, ids) if method == "POST" else None,
        headers=headers,
    )
    assert resp.is_json
    if role in allowed:
        want = expect[role] if isinstance(expect, dict) else expect
        assert resp.status_code == want, resp.json
    elif role == ANON:
        assert resp.status_code == 401
    else:
        assert resp.status_code == 403
        assert resp.json["error"] == {
            "code": "forbidden",
            "message": "Your role does not allow this page.",
        }


def test_every_api_route_is_in_the_matrix(app):
    listed = {(m, re.sub(r"\{[a-z]\}", "<>", "/api/v1" + p)) for m, p, *_ in MATRIX}
    routes = {
        (method, re.sub(r"<[^>]+>", "<>", rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert routes == listed
