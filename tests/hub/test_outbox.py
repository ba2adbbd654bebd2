"""Reply → policy check → outbox → sandbox: never lost, never twice."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from connectors.base import Transient
from connectors.sandbox import SandboxStore, posts
from hub.audit import verify_chain
from hub.db import job_session
from hub.engagement.moderation import MoveError, allowed_moves, claim_mention, move_mention
from hub.models import Mention, OutboundItem, PolicyDecision, Staff
from hub.publishing.outbox import MAX_ATTEMPTS, move_item, reconcile_sending, send_due, send_one
from hub.publishing.replies import SubmitReply, submit_reply


@pytest.fixture
def customer_post(app, sandbox_account):  # type: ignore[no-untyped-def]
    """A real customer post on the sandbox, polled into the hub; returns (post, mention)."""
    from hub.platforms.polling import poll_all

    post = SandboxStore(app.config["SANDBOX_URL"]).create_post(
        "dana", "@KestrelFootwear my order hasn't arrived, tracking stuck since Saturday"
    )
    poll_all(app, force=True)
    with job_session(app) as s:
        mention = s.scalars(select(Mention)).one()
        s.expunge(mention)
    return post, mention


def _submit(app, staff_id, mention_id, text, key="k1", confirm=False):  # type: ignore[no-untyped-def]
    with job_session(app) as s:
        staff = s.get(Staff, staff_id)
        mention = s.get(Mention, mention_id)
        if mention.assignee_id is None:
            claim_mention(s, mention, staff)
        result = submit_reply(s, SubmitReply(mention_id, text, confirm), staff)
        return result.outcome, result.item.id if result.item else None


def _brand_posts(app):  # type: ignore[no-untyped-def]
    store = SandboxStore(app.config["SANDBOX_URL"])
    with store.engine.connect() as conn:
        return list(
            conn.execute(select(posts).where(posts.c.author == "KestrelFootwear")).mappings()
        )


def test_allowed_reply_is_published_under_the_customers_post(app, make_staff, customer_post):
    post, mention = customer_post
    agent = make_staff("manager")
    outcome, item_id = _submit(
        app,
        agent.id,
        mention.id,
        "So sorry Dana! I just checked: it's moving again and should "
        "reach you Thursday. I'll keep an eye on it.",
    )
    assert outcome == "scheduled"
    assert send_due(app) == {"sent": 1}
    [reply] = _brand_posts(app)
    assert reply["reply_to"] == post["id"]
    with job_session(app) as s:
        item = s.get(OutboundItem, item_id)
        assert item.state == "sent" and item.external_id == str(reply["id"])
        m = s.get(Mention, mention.id)
        assert m.status == "pending" and m.first_response_at is not None
        assert s.get(PolicyDecision, item.decision_id).verdict == "allow"
        assert verify_chain(s)[1] is None


def test_resubmitted_form_sends_once(app, make_staff, customer_post):
    _, mention = customer_post
    agent = make_staff("manager")
    text = "Hi Dana, it's moving again and should be with you by Thursday."
    assert _submit(app, agent.id, mention.id, text, key="same")[0] == "scheduled"
    assert _submit(app, agent.id, mention.id, text, key="same")[0] == "duplicate"
    send_due(app)
    send_due(app)
    assert len(_brand_posts(app)) == 1


def test_blocked_reply_goes_back_to_the_author(app, make_staff, customer_post):
    _, mention = customer_post
    agent = make_staff("manager")
    outcome, item_id = _submit(app, agent.id, mention.id, "this shit happens, deal with it")
    assert (outcome, item_id) == ("blocked", None)
    with job_session(app) as s:
        assert s.scalar(select(func.count()).select_from(OutboundItem)) == 0
        d = s.scalars(select(PolicyDecision)).one()
        assert d.verdict == "block" and d.findings
    assert send_due(app) == {}


def test_crash_between_publish_and_record_is_reconciled_to_one_post(
    app, make_staff, customer_post, monkeypatch
):
    import hub.publishing.outbox

    _, mention = customer_post
    agent = make_staff("manager")
    _, item_id = _submit(app, agent.id, mention.id, "Hi Dana, it's moving again today!")

    def die(*a, **k):  # type: ignore[no-untyped-def]
        raise SystemExit("process killed after publish, before record")

    monkeypatch.setattr(hub.publishing.outbox, "_record_sent", die)
    with pytest.raises(SystemExit):
        send_one(app, item_id)
    monkeypatch.undo()
    with job_session(app) as s:
        assert s.get(OutboundItem, item_id).state == "sending"
    assert len(_brand_posts(app)) == 1
    assert send_due(app) == {}  # not stale yet: no retry, no second post
    assert reconcile_sending(app, stale_after=timedelta(0)) == 1
    with job_session(app) as s:
        item = s.get(OutboundItem, item_id)
        assert item.state == "sent" and item.external_id
    assert len(_brand_posts(app)) == 1


def test_reply_to_a_missing_post_fails_with_the_reason(app, make_staff, customer_post):
    _, mention = customer_post
    agent = make_staff("manager")
    _, item_id = _submit(app, agent.id, mention.id, "Hi Dana, on its way!")
    with job_session(app) as s:
        s.get(Mention, mention.id).external_id = "999999"
    send_due(app)
    with job_session(app) as s:
        item = s.get(OutboundItem, item_id)
        assert item.state == "failed" and "does not exist" in item.last_error


def test_an_item_withdrawn_after_it_was_picked_is_not_published(app, make_staff, customer_post):
    """send_due lists the due ids, then sends them one by one: an item withdrawn in between
    (or moved back to draft) must be skipped, never published."""
    _, mention = customer_post
    agent = make_staff("manager")
    _, item_id = _submit(app, agent.id, mention.id, "Hi Dana, on its way!")
    with job_session(app) as s:
        item = s.get(OutboundItem, item_id)
        assert item.state == "scheduled"
        move_item(s, item, "withdrawn", agent.id, why="the author took it back")
    assert send_one(app, item_id) == "skipped"
    assert _brand_posts(app) == []
    with job_session(app) as s:
        item = s.get(OutboundItem, item_id)
        assert item.state == "withdrawn" and item.attempts == 0


class _Down:
    """A connector whose platform is down: every publish is a transient error."""

    def __init__(self) -> None:
        self.calls = 0

    def publish(self, request: Any) -> Any:
        self.calls += 1
        raise Transient("the platform answered 503")


def test_the_sender_gives_up_after_exactly_max_attempts(
    app, make_staff, customer_post, monkeypatch
):
    import hub.publishing.outbox

    _, mention = customer_post
    agent = make_staff("manager")
    _, item_id = _submit(app, agent.id, mention.id, "Hi Dana, on its way!")
    down = _Down()
    monkeypatch.setattr(hub.publishing.outbox, "connector_for", lambda app, account: down)
    for attempt in range(1, MAX_ATTEMPTS):
        assert send_one(app, item_id) == "scheduled", attempt  # backed off, will retry
    with job_session(app) as s:
        item = s.get(OutboundItem, item_id)
        assert item.attempts == MAX_ATTEMPTS - 1 and item.last_error.startswith("Will retry")
    assert send_one(app, item_id) == "failed"
    assert down.calls == MAX_ATTEMPTS
    with job_session(app) as s:
        item = s.get(OutboundItem, item_id)
        assert item.attempts == MAX_ATTEMPTS
        assert (
            item.last_error == f"Gave up after {MAX_ATTEMPTS} attempts: the platform answered 503"
        )
    assert send_one(app, item_id) == "skipped" and down.calls == MAX_ATTEMPTS


@pytest.mark.parametrize(
    ("start", "to", "ok"),
    [
        ("new", "open", True),
        ("new", "pending", False),
        ("open", "pending", True),
        ("pending", "closed", True),
        ("closed", "open", True),
        ("closed", "pending", False),
        ("open", "escalated", True),
        ("escalated", "new", False),
    ],
)
def test_moderation_moves(start, to, ok):
    assert (to in allowed_moves(start)) is ok


def test_illegal_move_is_refused_and_recorded_moves_are_events(app, make_staff, make_mention):
    from hub.audit import history

    mgr = make_staff("manager")
    m = make_mention()
    with job_session(app) as s:
        mention, staff = s.get(Mention, m.id), s.get(Staff, mgr.id)
        with pytest.raises(MoveError):
            move_mention(s, mention, "pending", staff)
        claim_mention(s, mention, staff)
        move_mention(s, mention, "closed", staff, "spam")
    with job_session(app) as s:
        actions = [e.action for e in history(s, "mention", m.id)]
        assert actions == ["mention.received", "mention.claimed", "mention.moved"]
