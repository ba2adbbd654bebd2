"""Role-matrix rows for the customers pages (collected by test_roles.py): the people who reply
(employees, managers) work with customers; compliance does not.

The world has no customer pages' ids, so PREPARE (for the allowed roles) overrides world keys:
{s} is a customer (dana_kruger, with an order in the sandbox shop), {h} another customer to
link, {x} her Bluesky identity, {m} her mention naming the order. Refused roles are refused
before any lookup, whatever the ids."""

from typing import Any

ANON, EMP, MGR, COMP, ADMIN = "anon", "employee", "manager", "compliance", "admin"
AGENTS = {EMP, MGR, ADMIN}


def _customers(app: Any, _comp_id: int) -> dict[str, int]:
    """A demo-like customer (dana_kruger, with an order in the sandbox shop) with two
    identities, a mention naming her order, and a second customer to link."""
    from datetime import UTC, datetime

    from hub.db import job_session
    from hub.models import Customer, CustomerIdentity, Mention

    with job_session(app) as s:
        dana = Customer(display_name="Dana Krüger", tags=["demo"])
        other = Customer(display_name="Someone Else")
        s.add_all([dana, other])
        x = CustomerIdentity(
            customer=dana, platform="x", platform_user_id="1", handle="dana_kruger"
        )
        bsky = CustomerIdentity(
            customer=dana,
            platform="bluesky",
            platform_user_id="did:plc:d",
            handle="danakruger.bsky.social",
        )
        s.add_all(
            [
                x,
                bsky,
                CustomerIdentity(customer=other, platform="x", platform_user_id="2", handle="else"),
            ]
        )
        now = datetime.now(UTC)
        m = Mention(
            platform="x",
            external_id="dana-1",
            customer=dana,
            author_handle="dana_kruger",
            text="@KestrelFootwear order KF-20481736 is too small",
            created_at=now,
        )
        s.add(m)
        s.flush()
        return {"s": dana.id, "h": other.id, "x": bsky.id, "m": m.id}


ROWS = [
    ("GET", "/customers/", AGENTS, 200),
    ("GET", "/customers/blocked", AGENTS, 200),
    ("GET", "/customers/{s}", AGENTS, 200),
    ("POST", "/customers/{s}/tags", AGENTS, 302),
    ("POST", "/customers/{s}/notes", AGENTS, 302),
    ("POST", "/customers/{s}/vip", AGENTS, 302),
    ("POST", "/customers/{s}/block", AGENTS, 302),
    ("POST", "/customers/{s}/merge", AGENTS, 302),
    ("POST", "/customers/identities/{x}/unlink", AGENTS, 302),
    ("POST", "/customers/mentions/{m}/return", AGENTS, 302),
]
FORM = {"tag": "loyal", "note": "prefers DMs", "other": "{h}", "order": "KF-20481736"}
PREPARE = {(m, p): _customers for m, p, _, _ in ROWS}
