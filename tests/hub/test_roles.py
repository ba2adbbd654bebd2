"""The role matrix: every route × every role, allowed or refused (datasette-style table)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

ANON, EMP, MGR, COMP, ADMIN = "anon", "employee", "manager", "compliance", "admin"
ALL_STAFF = {EMP, MGR, COMP, ADMIN}

# (method, path, roles allowed). {m} is a mention id, {p} a sandbox post id, {a} an account id,
# {o} an outbound post held for review (written by another employee), {v} a draft policy pack
# version, {h} a legal hold. Each feature keeps its rows in tests/hub/roles_<feature>.py (ROWS,
# and optionally FORM for the fields its forms need); they are added to MATRIX below.
MATRIX = [
    ("GET", "/", ALL_STAFF),
    ("GET", "/queue", {EMP, MGR, ADMIN}),
    ("GET", "/decisions", {COMP, ADMIN}),
    ("GET", "/mentions/{m}", ALL_STAFF),
    ("POST", "/mentions/{m}/claim", {EMP, MGR, ADMIN}),
    ("POST", "/mentions/{m}/assign", {MGR, ADMIN}),
    ("POST", "/mentions/{m}/status", {EMP, MGR, ADMIN}),
    ("POST", "/mentions/{m}/reply", {EMP, MGR, ADMIN}),
    ("POST", "/compose/check", ALL_STAFF),
    ("GET", "/outbox", {EMP, MGR, ADMIN}),
    ("POST", "/logout", ALL_STAFF),
    ("GET", "/admin/accounts/", {MGR, ADMIN}),
    ("POST", "/admin/accounts/", {MGR, ADMIN}),
    ("POST", "/admin/accounts/{a}/test", {MGR, ADMIN}),
    ("POST", "/admin/accounts/{a}/active", {MGR, ADMIN}),
    ("POST", "/admin/accounts/{a}/credentials", {MGR, ADMIN}),
    # public: the login page and the sandbox platform (it stands in for x.com)
    ("GET", "/login", ALL_STAFF | {ANON}),
    ("POST", "/login", ALL_STAFF | {ANON}),
    ("GET", "/sandbox/", ALL_STAFF | {ANON}),
    ("GET", "/sandbox/p/{p}", ALL_STAFF | {ANON}),
    ("POST", "/sandbox/post", ALL_STAFF | {ANON}),
]
ROLES = [ANON, EMP, MGR, COMP, ADMIN]
FORM = {
    "text": "hello",
    "to": "closed",
    "assignee": "",
    "key": "k" * 32,
    "handle": "someone",
    "mention_id": "",
}
for _path in sorted(Path(__file__).parent.glob("roles_*.py")):
    _spec = importlib.util.spec_from_file_location(f"hub_roles_{_path.stem}", _path)
    assert _spec is not None and _spec.loader is not None
    _mod = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_mod)
    MATRIX.extend(_mod.ROWS)
    FORM.update(getattr(_mod, "FORM", {}))


@pytest.fixture
def world(app, make_staff, make_mention):  # type: ignore[no-untyped-def]
    from connectors.sandbox import SandboxStore
    from hub.db import job_session
    from hub.models import LegalHold, OutboundItem, PolicyDecision, PolicyPackVersion

    staff = {r: make_staff(r) for r in ROLES if r != ANON}
    mention = make_mention("@KestrelFootwear hi there")
    post = SandboxStore(app.config["SANDBOX_URL"]).create_post("someone", "hello world")
    writer = make_staff("employee")
    with job_session(app) as s:
        decision = PolicyDecision(
            author_id=writer.id,
            text="Our new trail shoe",
            verdict="review",
            pack_version="test",
            findings=[],
            platform="sandbox",
            kind="post",
        )
        s.add(decision)
        s.flush()
        item = OutboundItem(
            kind="post",
            account_id=mention.account_id,
            author_id=writer.id,
            text="Our new trail shoe",
            state="in_review",
            idempotency_key="roles-item",
            decision_id=decision.id,
        )
        version = PolicyPackVersion(version="test", yaml="name: test\nrules: []\n", note="")
        hold = LegalHold(staff_id=writer.id, reason="roles test")
        s.add_all([item, version, hold])
        s.flush()
        ids = {"o": item.id, "v": version.id, "h": hold.id}
    return staff, mention, post, ids


@pytest.mark.parametrize(
    ("method", "path", "allowed"), MATRIX, ids=[f"{m} {p}" for m, p, _ in MATRIX]
)
@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(client, world, login, method, path, allowed, role):
    staff, mention, post, ids = world
    if role != ANON:
        login(client, staff[role])
    url = path.format(m=mention.id, p=post["id"], a=mention.account_id, **ids)
    resp = client.open(url, method=method, data=FORM if method == "POST" else None)
    if role in allowed:
        assert resp.status_code not in (401, 403, 500), resp.text[:300]
        if resp.status_code == 302:
            assert "/login" not in resp.headers["Location"] or path == "/logout"
    elif role == ANON:
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    else:
        assert resp.status_code == 403


def test_every_route_is_in_the_matrix(app):
    """Adding a route without deciding who may use it fails here."""
    listed = {(m, re.sub(r"\{[mpaovh]\}", "<>", p)) for m, p, _ in MATRIX}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        shape = re.sub(r"<[^>]+>", "<>", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (method, shape) in listed, f"{method} {rule.rule} has no row in MATRIX"


def test_employee_cannot_reply_to_someone_elses_mention(client, world, login, make_staff):
    staff, mention, _, _ = world
    other = make_staff("employee")
    login(client, other)
    client.post(f"/mentions/{mention.id}/claim")
    client.post("/logout")
    login(client, staff[EMP])
    resp = client.post(f"/mentions/{mention.id}/reply", data={"text": "hi!", "key": "a" * 32})
    assert resp.status_code == 422
    assert b"Claim this mention" in resp.data
