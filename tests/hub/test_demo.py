"""`hub demo` loads a usable company: staff, rules, sandbox mentions and employee posts."""

from __future__ import annotations

from sqlalchemy import select

from hub.db import job_session
from hub.demo import load_demo
from hub.models import OutboundItem, PolicyDecision, RoutingRule, Staff


def test_demo_loads_once_with_posts_through_the_policy_check(app, tmp_path):  # type: ignore[no-untyped-def]
    passwords = tmp_path / "demo-accounts.txt"
    with job_session(app) as s:
        accounts = load_demo(s, app, passwords)
    assert {role for role, _, _ in accounts} == {"admin", "manager", "employee", "compliance"}
    with job_session(app) as s:
        load_demo(s, app, passwords)  # a second run adds nothing
    with job_session(app) as s:
        assert s.query(Staff).count() == 4
        assert s.query(RoutingRule).count() > 0
        items = s.scalars(select(OutboundItem).order_by(OutboundItem.id)).all()
        states = [i.state for i in items]
        assert states.count("in_review") == 1 and states.count("scheduled") == 5
        held = next(i for i in items if i.state == "in_review")
        assert "G7" in (held.review_reason or "")
        decisions = s.scalars(select(PolicyDecision)).all()
        assert len(decisions) == len(items)
        assert sum(1 for d in decisions if d.is_product) == 2
