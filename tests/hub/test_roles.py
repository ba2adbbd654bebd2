"""The role matrix: every route × every role, allowed or refused (datasette-style table)."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ANON, EMP, MGR, COMP, ADMIN = "anon", "employee", "manager", "compliance", "admin"
ALL_STAFF = {EMP, MGR, COMP, ADMIN}

# (method, path, roles allowed, what an allowed role gets: a status, or {role: status}). An
# allowed role must get the action's real success status, with no error flashed: a 302 that
# only carries "that did not work" back to the page is no success. {m} is a mention (assigned
# to the employee), {p} a sandbox post id, {a} the brand's sandbox account, {x} an X account,
# {o} an outbound post held for review (written by another employee), {v} a draft policy pack
# version, {h} a legal hold, {s} a member of staff (an employee nobody signs in as), {r} a
# routing rule, {g} a team. Each
# feature keeps its rows in tests/hub/roles_<feature>.py (ROWS,
# optionally FORM for the fields its forms need and PREPARE for rows that need more than the
# world); they are added to MATRIX below. Form values may name ids too ("{a}").
MATRIX: list[tuple[str, str, set[str], Any]] = [
    ("GET", "/", ALL_STAFF, 302),  # to the role's own start page
    ("GET", "/queue", {EMP, MGR, ADMIN}, 200),
    ("GET", "/decisions", {COMP, ADMIN}, 200),
    ("GET", "/mentions/{m}", ALL_STAFF, 200),
    ("POST", "/mentions/{m}/claim", {EMP, MGR, ADMIN}, 302),
    ("POST", "/mentions/{m}/assign", {MGR, ADMIN}, 302),
    ("POST", "/mentions/{m}/status", {EMP, MGR, ADMIN}, 302),
    ("POST", "/mentions/{m}/reply", {EMP, MGR, ADMIN}, 302),
    ("POST", "/compose/check", ALL_STAFF, 200),
    ("GET", "/outbox", {EMP, MGR, ADMIN}, 200),
    ("POST", "/logout", ALL_STAFF, 302),
    ("GET", "/admin/accounts/", {MGR, ADMIN}, 200),
    ("POST", "/admin/accounts/", {MGR, ADMIN}, 302),
    ("POST", "/admin/accounts/{a}/test", {MGR, ADMIN}, 302),
    ("POST", "/admin/accounts/{a}/active", {MGR, ADMIN}, 302),
    ("POST", "/admin/accounts/{x}/credentials", {MGR, ADMIN}, 302),
    # public: the login page and the sandbox platform (it stands in for x.com)
    ("GET", "/login", ALL_STAFF | {ANON}, 200),
    ("POST", "/login", ALL_STAFF | {ANON}, 302),
    ("GET", "/sandbox/", ALL_STAFF | {ANON}, 200),
    ("GET", "/sandbox/p/{p}", ALL_STAFF | {ANON}, 200),
    ("POST", "/sandbox/post", ALL_STAFF | {ANON}, 302),
]
ROLES = [ANON, EMP, MGR, COMP, ADMIN]
FORM = {
    "text": "hello",
    "to": "closed",
    "assignee": "",
    "key": "k" * 32,
    "handle": "someone",
    "mention_id": "",
    "platform": "sandbox",
    "bearer_token": "a-new-token",
    # POST /login signs in as the acting role (anonymous: as the employee)
    "email": "{email}",
    "password": "password123",
}
PREPARE: dict[tuple[str, str], Callable[[Any, int], dict[str, int]]] = {}
for _path in sorted(Path(__file__).parent.glob("roles_*.py")):
    _spec = importlib.util.spec_from_file_location(f"hub_roles_{_path.stem}", _path)
    assert _spec is not None and _spec.loader is not None
    _mod = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_mod)
    MATRIX.extend(_mod.ROWS)
    FORM.update(getattr(_mod, "FORM", {}))
    PREPARE.update(getattr(_mod, "PREPARE", {}))


@pytest.fixture
def world(app, make_staff, make_mention):  # type: ignore[no-untyped-def]
    from connectors.sandbox import SandboxStore
    from hub.compliance import packs
    from hub.db import job_session
    from hub.engagement.moderation import claim_mention
    from hub.models import (
        LegalHold,
        Mention,
        OutboundItem,
        PolicyDecision,
        PolicyPackVersion,
        RoutingRule,
        Team,
    )
    from hub.models import Staff as StaffRow
    from hub.platforms.accounts import create_account

    staff = {r: make_staff(r) for r in ROLES if r != ANON}
    mention = make_mention("@KestrelFootwear hi there")
    post = SandboxStore(app.config["SANDBOX_URL"]).create_post("someone", "hello world")
    writer = make_staff("employee")
    with job_session(app) as s:
        claim_mention(s, s.get(Mention, mention.id), s.get(StaffRow, staff[EMP].id))
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
        x = create_account(s, app, "x", "kestrel_x", {"handle": "kestrel_x"}, {"bearer_token": "t"})
        team = Team(slug="roles", name="Roles")
        rule = RoutingRule(position=10, name="roles", conditions={"languages": ["en"]}, team=team)
        s.add_all([item, version, hold, rule])
        s.flush()
        ids = {
            "m": mention.id,
            "p": post["id"],
            "a": mention.account_id,
            "x": x.id,
            "o": item.id,
            "v": version.id,
            "h": hold.id,
            "s": writer.id,
            "r": rule.id,
            "g": team.id,
            # current_base(s).version without parsing the 80 kB pack for every test: the
            # active version's, else the shipped pack's (compiled once per process)
            "base": (packs.active_version(s) or packs.shipped_pack()).version,
        }
    return staff, ids


def _expected(expect: Any, role: str) -> int:
    return int(expect[role] if isinstance(expect, dict) else expect)


@pytest.mark.parametrize(
    ("method", "path", "allowed", "expect"), MATRIX, ids=[f"{m} {p}" for m, p, _, _ in MATRIX]
)
@pytest.mark.parametrize("role", ROLES)
def test_role_matrix(app, client, world, login, method, path, allowed, expect, role):
    staff, ids = world
    if role != ANON:
        login(client, staff[role])
    if role in allowed and (method, path) in PREPARE:
        ids = ids | PREPARE[(method, path)](app, staff[COMP].id)
    values = ids | {"email": staff[EMP if role == ANON else role].email}
    url = path.format(**values)
    form = {k: v.format(**values) for k, v in FORM.items()}
    resp = client.open(url, method=method, data=form if method == "POST" else None)
    if role in allowed:
        assert resp.status_code == _expected(expect, role), resp.text[:300]
        with client.session_transaction() as session:
            errors = [m for category, m in session.get("_flashes", []) if category == "error"]
        assert errors == []
        if resp.status_code == 302:
            assert "/login" not in resp.headers["Location"] or path == "/logout"
    elif role == ANON:
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    else:
        assert resp.status_code == 403


def test_every_route_is_in_the_matrix(app):
    """Adding a route without deciding who may use it fails here."""
    listed = {(m, re.sub(r"\{[a-z]\}", "<>", p.split("?")[0])) for m, p, _, _ in MATRIX}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.rule.startswith("/api/"):
            continue  # the JSON API has its own matrix: tests/api/test_api_roles.py
        shape = re.sub(r"<[^>]+>", "<>", rule.rule)
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (method, shape) in listed, f"{method} {rule.rule} has no row in MATRIX"


def test_employee_cannot_reply_to_someone_elses_mention(client, world, login, make_staff):
    staff, ids = world  # the world's mention is assigned to staff[EMP]
    login(client, make_staff("employee"))
    resp = client.post(f"/mentions/{ids['m']}/reply", data={"text": "hi!", "key": "a" * 32})
    assert resp.status_code == 422
    assert b"Claim this mention" in resp.data
