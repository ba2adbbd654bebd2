"""The compliance review queue: approve, reject, edit-and-approve, separation of duties,
two-person approval, overrides of a block, and the pages."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from connectors.sandbox import SandboxStore, posts
from hub.audit import history, verify_chain
from hub.compliance.present import format_wait
from hub.compliance.review import (
    Approve,
    EditApprove,
    EditBlocked,
    QueueFilters,
    Reject,
    ReviewConflict,
    ReviewError,
    ReviewForbidden,
    approve_item,
    edit_and_approve,
    enter_review,
    list_in_review,
    reject_item,
    review_detail,
    save_two_person_rules,
    two_person_rules,
)
from hub.db import job_session
from hub.engagement.moderation import claim_mention
from hub.models import (
    AuditEvent,
    Mention,
    OutboundItem,
    PolicyDecision,
    ReviewAction,
    Staff,
    utcnow,
)
from hub.publishing.compose import check_text, record_decision
from hub.publishing.outbox import send_due
from hub.publishing.replies import SubmitReply, submit_reply
from hub.settings import get_setting

LINK_POST = "Weekend hike was lovely, trail notes at https://example.com/hike"
CLEAN_POST = "Weekend hike was lovely, the ridge was covered in fog all morning"
BLOCKED_POST = "Project Heron samples just landed at HQ, coming soon"
PRODUCT_POST = (
    "The Cirrus Runner is back in stock, loving mine on the morning loop #KestrelEmployee"
)
REASON = "Checked with the product team; fine to publish as written."


# --- arranging ------------------------------------------------------------------------------


def _held(app: Any, author: Any, account_id: int, text: str, **kw: Any) -> int:
    """An item held for review, with a real decision of the active pack; returns its id."""
    kind = kw.pop("kind", "post")
    with job_session(app) as s:
        staff = s.get(Staff, author.id)
        item = OutboundItem(
            kind=kind,
            account_id=account_id,
            author_id=author.id,
            text=text,
            state="checked",
            idempotency_key=uuid.uuid4().hex,
            required_approvals=kw.pop("required", 1),
            review_started_at=kw.pop("started", utcnow()),
            **kw,
        )
        s.add(item)
        s.flush()
        decision = check_text(s, staff, text, "sandbox", kind)
        row = record_decision(s, staff, text, "sandbox", decision, item)
        item.decision_id = row.id
        item.state = "in_review"
        return item.id


def _act(app: Any, fn: Any, form: Any, reviewer: Any) -> Any:
    """Run one review service in its own transaction, as a request would."""
    with job_session(app) as s:
        outcome = fn(s, form, s.get(Staff, reviewer.id))
        return outcome.action, outcome.approvals, outcome.required, outcome.released


def _item(app: Any, item_id: int) -> OutboundItem:
    with job_session(app) as s:
        item = s.get(OutboundItem, item_id)
        assert item is not None
        s.expunge(item)
        return item


def _actions(app: Any, item_id: int) -> list[tuple[str, int, str | None]]:
    with job_session(app) as s:
        rows = s.scalars(
            select(ReviewAction)
            .where(ReviewAction.outbound_id == item_id)
            .order_by(ReviewAction.id)
        )
        return [(a.action, a.reviewer_id, a.reason) for a in rows]


def _events(app: Any, item_id: int) -> list[AuditEvent]:
    with job_session(app) as s:
        rows = history(s, "outbound", item_id)
        for r in rows:
            s.expunge(r)
        return rows


def _brand_posts(app: Any) -> list[Any]:
    store = SandboxStore(app.config["SANDBOX_URL"])
    with store.engine.connect() as conn:
        return list(
            conn.execute(select(posts).where(posts.c.author == "KestrelFootwear")).mappings()
        )


@pytest.fixture
def people(make_staff: Any) -> dict[str, Any]:
    return {
        "author": make_staff("employee"),
        "r1": make_staff("compliance"),
        "r2": make_staff("compliance"),
        "admin": make_staff("admin"),
        "manager": make_staff("manager"),
    }


# --- approve --------------------------------------------------------------------------------


def test_approve_schedules_and_the_outbox_publishes(app, people, sandbox_account):
    item_id = _held(app, people["author"], sandbox_account.id, LINK_POST)
    assert _item(app, item_id).decision_id is not None
    assert _act(app, approve_item, Approve(item_id), people["r1"]) == ("approve", 1, 1, True)
    item = _item(app, item_id)
    assert item.state == "scheduled" and item.not_before is not None
    assert _actions(app, item_id) == [("approve", people["r1"].id, None)]
    moves = {e.action: e for e in _events(app, item_id)}
    assert moves["outbound.approved"].actor_id == people["r1"].id
    assert moves["outbound.scheduled"].actor_id == people["r1"].id
    assert moves["review.approve"].data["waited_seconds"] >= 0
    assert moves["outbound.approved"].data["waited_seconds"] >= 0

    assert send_due(app) == {"sent": 1}
    [published] = _brand_posts(app)
    assert published["text"] == LINK_POST and published["reply_to"] is None
    assert _item(app, item_id).state == "sent"
    with job_session(app) as s:
        assert verify_chain(s)[1] is None


def test_approval_keeps_a_future_not_before(app, people, sandbox_account):
    later = utcnow() + timedelta(days=1)
    item_id = _held(app, people["author"], sandbox_account.id, LINK_POST, not_before=later)
    _act(app, approve_item, Approve(item_id), people["r1"])
    item = _item(app, item_id)
    assert item.state == "scheduled" and item.not_before == later
    assert send_due(app) == {}
    assert send_due(app, now=later + timedelta(seconds=1)) == {"sent": 1}


def test_a_held_reply_is_approved_and_published_under_the_customers_post(
    app, people, sandbox_account, client, login
):
    from hub.platforms.polling import poll_all

    post = SandboxStore(app.config["SANDBOX_URL"]).create_post(
        "dana", "@KestrelFootwear my order hasn't arrived, tracking stuck since Saturday"
    )
    poll_all(app, force=True)
    agent = people["manager"]
    with job_session(app) as s:
        mention = s.scalars(select(Mention)).one()
        staff = s.get(Staff, agent.id)
        claim_mention(s, mention, staff)
        text = "So sorry Dana! Details are at https://example.com/track-help, I'll keep watching."
        result = submit_reply(s, SubmitReply(mention.id, text), staff)
        assert result.outcome == "in_review"
        assert result.item is not None
        item_id = result.item.id

    login(client, people["r1"])
    page = client.get(f"/review/{item_id}")
    assert page.status_code == 200
    assert "tracking stuck since Saturday" in page.text  # the customer's mention
    assert '<mark class="review"' in page.text  # the link finding, highlighted
    resp = client.post(f"/review/{item_id}/approve")
    assert resp.status_code == 302
    assert send_due(app) == {"sent": 1}
    [reply] = _brand_posts(app)
    assert reply["reply_to"] == post["id"]


# --- reject ---------------------------------------------------------------------------------


def test_reject_needs_a_reason_that_the_author_then_sees(app, people, sandbox_account):
    item_id = _held(app, people["author"], sandbox_account.id, LINK_POST)
    with pytest.raises(ReviewError, match="at least 10 characters"):
        _act(app, reject_item, Reject(item_id, "   no   "), people["r1"])
    assert _item(app, item_id).state == "in_review"
    reason = "Please link to our own blog instead of an outside site."
    assert _act(app, reject_item, Reject(item_id, reason), people["r1"])[0] == "reject"
    item = _item(app, item_id)
    assert item.state == "rejected" and item.review_reason == reason
    assert _actions(app, item_id) == [("reject", people["r1"].id, reason)]
    rejected = [e for e in _events(app, item_id) if e.action == "outbound.rejected"]
    assert rejected[0].actor_id == people["r1"].id
    assert rejected[0].data["reason"] == reason and rejected[0].data["waited_seconds"] >= 0


def test_reject_over_http_keeps_the_typed_reason_when_too_short(
    app, people, sandbox_account, client, login
):
    item_id = _held(app, people["author"], sandbox_account.id, LINK_POST)
    login(client, people["r1"])
    resp = client.post(f"/review/{item_id}/reject", data={"reason": "tiny"})
    assert resp.status_code == 422
    assert "at least 10 characters" in resp.text and ">tiny</textarea>" in resp.text
    resp = client.post(f"/review/{item_id}/reject", data={"reason": "Off-site link, see G14."})
    assert resp.status_code == 302
    assert _item(app, item_id).review_reason == "Off-site link, see G14."


# --- edit and approve -----------------------------------------------------------------------


def test_edit_and_approve_keeps_both_versions(app, people, sandbox_account):
    item_id = _held(app, people["author"], sandbox_account.id, LINK_POST)
    old = _item(app, item_id)
    outcome = _act(app, edit_and_approve, EditApprove(item_id, CLEAN_POST), people["r1"])
    assert outcome == ("edit_approve", 0, 1, False)  # the editor's approval does not count
    item = _item(app, item_id)
    assert item.text == CLEAN_POST and item.state == "in_review"
    assert item.decision_id != old.decision_id
    with job_session(app) as s:
        versions = s.scalars(
            select(PolicyDecision)
            .where(PolicyDecision.outbound_id == item_id)
            .order_by(PolicyDecision.id)
        ).all()
        assert [v.text for v in versions] == [LINK_POST, CLEAN_POST]
        assert [v.verdict for v in versions] == ["review", "allow"]
        # the new version is the author's decision, not the reviewer's
        assert {v.author_id for v in versions} == {people["author"].id}
        action = s.scalars(select(ReviewAction).where(ReviewAction.outbound_id == item_id)).one()
        assert action.action == "edit_approve" and action.decision_id == item.decision_id
    edited = [e for e in _events(app, item_id) if e.action == "outbound.edited"]
    assert edited[0].actor_id == people["r1"].id
    assert edited[0].data["previous_text"] == LINK_POST


def test_an_edit_that_adds_a_blocked_phrase_needs_an_override_reason(app, people, sandbox_account):
    item_id = _held(app, people["author"], sandbox_account.id, LINK_POST)
    with pytest.raises(EditBlocked) as err:
        _act(app, edit_and_approve, EditApprove(item_id, BLOCKED_POST), people["r1"])
    assert err.value.decision.verdict == "block"
    item = _item(app, item_id)
    assert item.text == LINK_POST and item.state == "in_review"
    assert _actions(app, item_id) == []

    outcome = _act(app, edit_and_approve, EditApprove(item_id, BLOCKED_POST, REASON), people["r1"])
    assert outcome[0] == "override" and outcome[3] is False
    assert _actions(app, item_id) == [("override", people["r1"].id, REASON)]
    with job_session(app) as s:
        item = s.get(OutboundItem, item_id)
        assert item.decision.verdict == "block" and item.text == BLOCKED_POST
    # the second reviewer releases the blocked edit only with their own override reason
    with pytest.raises(ReviewError, match="at least 20 characters"):
        _act(app, approve_item, Approve(item_id), people["r2"])
    assert _act(app, approve_item, Approve(item_id, REASON + " (2)"), people["r2"]) == (
        "override",
        1,
        1,
        True,
    )


def test_blocked_edit_over_http_comes_back_with_findings_and_the_text(
    app, people, sandbox_account, client, login
):
    item_id = _held(app, people["author"], sandbox_account.id, LINK_POST)
    login(client, people["r1"])
    resp = client.post(f"/review/{item_id}/edit", data={"text": BLOCKED_POST, "reason": ""})
    assert resp.status_code == 422
    assert "override reason" in resp.text
    assert "confidential codename" in resp.text  # the edit's finding
    assert '<mark class="block"' in resp.text
    assert _item(app, item_id).text == LINK_POST


# --- an edit made in review is the editor's text -------------------------------------------


def test_an_edit_in_review_needs_a_second_reviewer(app, people, sandbox_account):
    """An admin or officer who rewrites a held post cannot approve their own rewrite: it is
    published under the employee's name, so another reviewer has to approve the new text."""
    item_id = _held(app, people["author"], sandbox_account.id, LINK_POST)
    assert _act(app, edit_and_approve, EditApprove(item_id, CLEAN_POST), people["admin"]) == (
        "edit_approve",
        0,
        1,
        False,
    )
    assert _item(app, item_id).state == "in_review"
    assert send_due(app) == {} and _brand_posts(app) == []
    with job_session(app) as s:
        [row] = list_in_review(s, QueueFilters())
        assert (row.approvals, row.required) == (0, 1)
        detail = review_detail(s, s.get(OutboundItem, item_id))
        assert detail.edited_by == [people["admin"].id] and detail.approved_by == []
    # the editor cannot approve it now, by any path
    for fn, form in [
        (approve_item, Approve(item_id)),
        (approve_item, Approve(item_id, REASON)),
    ]:
        with pytest.raises(ReviewForbidden, match="You edited this text"):
            _act(app, fn, form, people["admin"])
    assert _item(app, item_id).state == "in_review"
    # a second, different reviewer releases the edited version
    assert _act(app, approve_item, Approve(item_id), people["r1"]) == ("approve", 1, 1, True)
    assert _item(app, item_id).state == "scheduled"
    assert send_due(app) == {"sent": 1}
    [published] = _brand_posts(app)
    assert published["text"] == CLEAN_POST
    approved = next(e for e in _events(app, item_id) if e.action == "outbound.approved")
    assert approved.data["approvers"] == [people["r1"].id]


def test_an_editor_of_any_version_stays_an_author(app, people, sandbox_account):
    item_id = _held(app, people["author"], sandbox_account.id, LINK_POST)
    _act(app, edit_and_approve, EditApprove(item_id, CLEAN_POST), people["r1"])
    _act(app, edit_and_approve, EditApprove(item_id, CLEAN_POST + " (again)"), people["r2"])
    for editor in (people["r1"], people["r2"]):
        with pytest.raises(ReviewForbidden, match="You edited this text"):
            _act(app, approve_item, Approve(item_id), editor)
    assert _act(app, approve_item, Approve(item_id), people["admin"])[3] is True


def test_an_edit_under_the_two_person_rule_needs_two_other_reviewers(app, people, sandbox_account):
    item_id = _held(app, people["author"], sandbox_account.id, LINK_POST, required=2)
    _act(app, edit_and_approve, EditApprove(item_id, CLEAN_POST), people["r1"])
    assert _act(app, approve_item, Approve(item_id), people["r2"]) == ("approve", 1, 2, False)
    assert _item(app, item_id).state == "in_review"
    assert _act(app, approve_item, Approve(item_id), people["admin"]) == ("approve", 2, 2, True)


def test_the_review_page_and_my_posts_show_who_edited(app, people, sandbox_account, client, login):
    item_id = _held(app, people["author"], sandbox_account.id, LINK_POST)
    login(client, people["r1"])
    resp = client.post(f"/review/{item_id}/edit", data={"text": CLEAN_POST, "reason": ""})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/review/{item_id}")
    page = client.get(f"/review/{item_id}").text
    assert "another reviewer has to approve it" in page and 'id="you-edited"' in page
    assert f"/review/{item_id}/approve" not in page  # no approve form for the editor
    assert f"/review/{item_id}/reject" in page  # rejecting their own edit is fine
    resp = client.post(f"/review/{item_id}/approve", data={"reason": REASON})
    assert resp.status_code == 403 and "separation of duties" in resp.text
    assert _item(app, item_id).state == "in_review"

    author = app.test_client()
    login(author, people["author"])
    mine = author.get(f"/posts/{item_id}").text
    assert f"{people['r1'].name} edited your text in review" in mine
    assert f"edited in review by {people['r1'].name}" in mine

    login(client, people["r2"])
    page = client.get(f"/review/{item_id}").text
    assert 'id="you-edited"' not in page and f"/review/{item_id}/approve" in page
    assert client.post(f"/review/{item_id}/approve").status_code == 302
    assert _item(app, item_id).state == "scheduled"


def test_the_edit_is_checked_against_the_authors_content_mix(
    app, sent_posts, people, sandbox_account
):
    # the author: 2 personal posts → a product post makes 1 in 3 (over the 25% limit)
    sent_posts(people["author"].id, sandbox_account.id, personal=2, product=0)
    # the reviewer: 3 personal posts → the same post would make exactly 25%, allowed
    sent_posts(people["r1"].id, sandbox_account.id, personal=3, product=0)
    item_id = _held(app, people["author"], sandbox_account.id, LINK_POST)
    _act(app, edit_and_approve, EditApprove(item_id, PRODUCT_POST), people["r1"])
    with job_session(app) as s:
        item = s.get(OutboundItem, item_id)
        assert "g7-content-mix" in {f["rule_id"] for f in item.decision.findings}
        # checked as the reviewer's, it would not have been held for the mix
        mine = check_text(s, s.get(Staff, people["r1"].id), PRODUCT_POST, "sandbox", "post")
        assert "g7-content-mix" not in {f.rule_id for f in mine.findings}


def test_the_held_post_is_not_counted_twice_in_the_authors_mix(
    app, sent_posts, people, sandbox_account
):
    # 3 personal posts + this product post = exactly 25%: allowed, as the composer said
    sent_posts(people["author"].id, sandbox_account.id, personal=3, product=0)
    item_id = _held(app, people["author"], sandbox_account.id, PRODUCT_POST + " 🙂")
    with job_session(app) as s:
        assert s.get(OutboundItem, item_id).decision.is_product is True
    _act(app, edit_and_approve, EditApprove(item_id, PRODUCT_POST), people["r1"])
    with job_session(app) as s:
        item = s.get(OutboundItem, item_id)
        assert "g7-content-mix" not in {f["rule_id"] for f in item.decision.findings}
        detail = review_detail(s, item)
        assert detail.mix is not None
        assert (detail.mix.posts_30d, detail.mix.product_posts_30d) == (3, 0)
        assert detail.mix.share_after == 0.25


# --- separation of duties -------------------------------------------------------------------


@pytest.mark.parametrize("role", ["compliance", "admin"])
def test_nobody_reviews_their_own_draft(app, role, make_staff, sandbox_account, client, login):
    writer = make_staff(role)
    item_id = _held(app, writer, sandbox_account.id, LINK_POST)
    for fn, form in [
        (approve_item, Approve(item_id, REASON)),
        (reject_item, Reject(item_id, REASON)),
        (edit_and_approve, EditApprove(item_id, CLEAN_POST, REASON)),
    ]:
        with pytest.raises(ReviewForbidden, match="someone else"):
            _act(app, fn, form, writer)

    login(client, writer)
    page = client.get(f"/review/{item_id}")
    assert page.status_code == 200 and "another reviewer has to decide" in page.text
    assert f"/review/{item_id}/approve" not in page.text
    for action, data in [
        ("approve", {"reason": REASON}),
        ("reject", {"reason": REASON}),
        ("edit", {"text": CLEAN_POST, "reason": REASON}),
    ]:
        resp = client.post(f"/review/{item_id}/{action}", data=data)
        assert resp.status_code == 403
        assert "separation of duties" in resp.text
    assert _item(app, item_id).state == "in_review"
    assert _actions(app, item_id) == []


def test_non_reviewers_are_refused_by_the_service_too(app, people, sandbox_account):
    item_id = _held(app, people["author"], sandbox_account.id, LINK_POST)
    with pytest.raises(ReviewForbidden):
        _act(app, approve_item, Approve(item_id), people["manager"])


@pytest.mark.parametrize("role", ["employee", "manager"])
def test_other_roles_get_403(app, role, make_staff, people, sandbox_account, client, login):
    item_id = _held(app, people["author"], sandbox_account.id, LINK_POST)
    login(client, make_staff(role))
    assert client.get("/review/").status_code == 403
    assert client.get(f"/review/{item_id}").status_code == 403
    assert client.post(f"/review/{item_id}/approve").status_code == 403
    assert client.post("/review/settings", data={"rules": ["g4-codenames"]}).status_code == 403
    assert _item(app, item_id).state == "in_review"


# --- two-person approval --------------------------------------------------------------------


def test_two_person_approval_needs_two_distinct_reviewers(app, people, sandbox_account):
    item_id = _held(app, people["author"], sandbox_account.id, LINK_POST, required=2)
    assert _act(app, approve_item, Approve(item_id), people["r1"]) == ("approve", 1, 2, False)
    assert _item(app, item_id).state == "in_review"
    with pytest.raises(ReviewError, match="already approved"):
        _act(app, approve_item, Approve(item_id), people["r1"])
    assert _item(app, item_id).state == "in_review"
    with job_session(app) as s:
        [row] = list_in_review(s, QueueFilters())
        assert (row.approvals, row.required) == (1, 2)
    assert _act(app, approve_item, Approve(item_id), people["admin"]) == ("approve", 2, 2, True)
    assert _item(app, item_id).state == "scheduled"
    assert [e.action for e in _events(app, item_id)].count("outbound.approved") == 1


def test_approvals_before_the_text_changed_do_not_count(app, people, sandbox_account):
    item_id = _held(app, people["author"], sandbox_account.id, LINK_POST, required=2)
    _act(app, approve_item, Approve(item_id), people["r1"])
    # r2 edits: r1's approval was for the old text, and r2 wrote the new one: none counts
    assert _act(app, edit_and_approve, EditApprove(item_id, CLEAN_POST), people["r2"]) == (
        "edit_approve",
        0,
        2,
        False,
    )
    assert _item(app, item_id).state == "in_review"
    assert _act(app, approve_item, Approve(item_id), people["r1"]) == ("approve", 1, 2, False)
    assert _act(app, approve_item, Approve(item_id), people["admin"]) == ("approve", 2, 2, True)
    assert _item(app, item_id).state == "scheduled"


def test_concurrent_approvals_release_once(app, people, sandbox_account):
    """Two reviewers click at the same moment: both approvals count, one release."""
    item_id = _held(app, people["author"], sandbox_account.id, LINK_POST, required=2)
    barrier = threading.Barrier(2)
    results: list[Any] = []

    def click(reviewer: Any) -> None:
        barrier.wait()
        try:
            results.append(_act(app, approve_item, Approve(item_id), reviewer))
        except ReviewError as exc:  # pragma: no cover - would fail the assertion below
            results.append(exc)

    threads = [threading.Thread(target=click, args=(r,)) for r in (people["r1"], people["r2"])]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(r[1] for r in results) == [1, 2]
    assert [r[3] for r in results].count(True) == 1
    assert _item(app, item_id).state == "scheduled"
    assert [e.action for e in _events(app, item_id)].count("outbound.scheduled") == 1


def test_the_same_reviewer_clicking_twice_at_once_counts_once(app, people, sandbox_account):
    item_id = _held(app, people["author"], sandbox_account.id, LINK_POST, required=2)
    barrier = threading.Barrier(2)
    results: list[Any] = []

    def click() -> None:
        barrier.wait()
        try:
            results.append(_act(app, approve_item, Approve(item_id), people["r1"]))
        except ReviewError as exc:
            results.append(exc)

    threads = [threading.Thread(target=click) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len([r for r in results if isinstance(r, ReviewError)]) == 1
    assert _actions(app, item_id) == [("approve", people["r1"].id, None)]
    assert _item(app, item_id).state == "in_review"


def test_a_decided_item_cannot_be_decided_again(app, people, sandbox_account):
    item_id = _held(app, people["author"], sandbox_account.id, LINK_POST)
    _act(app, reject_item, Reject(item_id, "Off-site link, see G14."), people["r1"])
    with pytest.raises(ReviewConflict, match="no longer waiting"):
        _act(app, approve_item, Approve(item_id), people["r2"])
    assert _item(app, item_id).state == "rejected"


# --- overrides of a block -------------------------------------------------------------------


def test_a_block_override_needs_a_reason_and_is_recorded_as_override(app, people, sandbox_account):
    item_id = _held(
        app,
        people["author"],
        sandbox_account.id,
        BLOCKED_POST,
        override_reason="It's the heron at the lake, not the product!",
        required=2,
    )
    assert _item(app, item_id).override_reason
    for reason in ("", "too short here"):
        with pytest.raises(ReviewError, match="at least 20 characters"):
            _act(app, approve_item, Approve(item_id, reason), people["r1"])
    assert _actions(app, item_id) == []
    assert _act(app, approve_item, Approve(item_id, REASON), people["r1"]) == (
        "override",
        1,
        2,
        False,
    )
    assert _act(app, approve_item, Approve(item_id, REASON + " (2)"), people["r2"])[3] is True
    assert [a[0] for a in _actions(app, item_id)] == ["override", "override"]
    assert _item(app, item_id).state == "scheduled"
    overrides = [e for e in _events(app, item_id) if e.action == "review.override"]
    assert overrides[0].data["reason"] == REASON


def test_override_over_http_shows_the_override_form(app, people, sandbox_account, client, login):
    item_id = _held(
        app, people["author"], sandbox_account.id, BLOCKED_POST, override_reason="birds only"
    )
    login(client, people["r1"])
    page = client.get(f"/review/{item_id}")
    assert "Override and approve" in page.text and "birds only" in page.text
    resp = client.post(f"/review/{item_id}/approve", data={"reason": "ok"})
    assert resp.status_code == 422 and "at least 20 characters" in resp.text
    resp = client.post(f"/review/{item_id}/approve", data={"reason": REASON})
    assert resp.status_code == 302
    assert _actions(app, item_id) == [("override", people["r1"].id, REASON)]


# --- settings -------------------------------------------------------------------------------


def test_settings_save_rule_ids_and_refuse_unknown_ones(app, people, client, login):
    login(client, people["r1"])
    page = client.get("/review/settings")
    assert page.status_code == 200 and "g15-press-legal" in page.text
    resp = client.post("/review/settings", data={"rules": ["g15-press-legal", "g4-codenames"]})
    assert resp.status_code == 302
    with job_session(app) as s:
        assert get_setting(s, "review.two_person_rules") == ["g15-press-legal", "g4-codenames"]
        changed = s.scalars(select(AuditEvent).where(AuditEvent.action == "settings.changed")).one()
        assert changed.actor_id == people["r1"].id
    resp = client.post("/review/settings", data={"rules": ["g15-press-legal", "no-such-rule"]})
    assert resp.status_code == 422 and "no-such-rule" in resp.text
    with job_session(app) as s:
        assert two_person_rules(s) == ["g15-press-legal", "g4-codenames"]
    # nothing ticked → nobody needs two approvers
    assert client.post("/review/settings", data={}).status_code == 302
    with job_session(app) as s:
        assert two_person_rules(s) == []


def test_entering_review_sets_the_approvals_from_the_two_person_rules(app, people, sandbox_account):
    with job_session(app) as s:
        save_two_person_rules(s, ["g15-press-legal"], s.get(Staff, people["r1"].id))
    author = people["author"]
    ids = []
    for text in ("We're being sued over the recall, happy to chat", LINK_POST):
        with job_session(app) as s:
            staff = s.get(Staff, author.id)
            item = OutboundItem(
                kind="post",
                account_id=sandbox_account.id,
                author_id=author.id,
                text=text,
                state="checked",
                idempotency_key=uuid.uuid4().hex,
            )
            s.add(item)
            s.flush()
            row = record_decision(
                s, staff, text, "sandbox", check_text(s, staff, text, "sandbox", "post"), item
            )
            item.decision = row
            enter_review(s, item, author.id)
            ids.append(item.id)
    press, link = (_item(app, i) for i in ids)
    assert (press.state, press.required_approvals) == ("in_review", 2)
    assert (link.state, link.required_approvals) == ("in_review", 1)
    assert press.review_started_at is not None


# --- pages ----------------------------------------------------------------------------------


def test_queue_lists_oldest_first_with_filters(
    app, people, sandbox_account, make_mention, client, login
):
    now = utcnow()
    newer = _held(app, people["author"], sandbox_account.id, LINK_POST, started=now)
    older = _held(
        app,
        people["manager"],
        sandbox_account.id,
        "We're being sued over the recall, happy to chat",
        started=now - timedelta(hours=3),
        override_reason="please",
    )
    mention = make_mention()
    reply = _held(
        app,
        people["manager"],
        sandbox_account.id,
        "See https://example.com/help for the steps",
        kind="reply",
        mention_id=mention.id,
        started=now - timedelta(hours=1),
    )
    with job_session(app) as s:
        rows = list_in_review(s, QueueFilters(), now=now)
        assert [r.item.id for r in rows] == [older, reply, newer]
        assert rows[0].waited_seconds == 3 * 3600 and rows[0].override_requested
        assert rows[0].guidelines == ["G15"] and rows[0].verdict == "review"
        assert [r.item.id for r in list_in_review(s, QueueFilters(kind="reply"))] == [reply]
        assert [r.item.id for r in list_in_review(s, QueueFilters(guideline="G14"))] == [
            reply,
            newer,
        ]
        assert list_in_review(s, QueueFilters(platform="x")) == []
    assert format_wait(3 * 3600 + 120) == "3 h 2 min"

    login(client, people["r1"])
    page = client.get("/review/")
    assert page.status_code == 200
    assert page.text.index(f'data-item="{older}"') < page.text.index(f'data-item="{newer}"')
    assert "override requested" in page.text and "0 / 1" in page.text
    filtered = client.get("/review/?kind=reply&platform=sandbox")
    assert f'data-item="{reply}"' in filtered.text and f'data-item="{newer}"' not in filtered.text
    assert client.get("/review/?kind=nonsense").status_code == 400


def test_detail_page_shows_versions_mix_pack_and_history(
    app, sent_posts, people, sandbox_account, client, login
):
    sent_posts(people["author"].id, sandbox_account.id, personal=2, product=1)
    item_id = _held(app, people["author"], sandbox_account.id, LINK_POST, required=2)
    with job_session(app) as s:
        s.get(OutboundItem, item_id).review_reason = "Held: a link we don't know."
    _act(app, edit_and_approve, EditApprove(item_id, LINK_POST + " (edited)"), people["r2"])
    login(client, people["r1"])
    page = client.get(f"/review/{item_id}")
    assert page.status_code == 200
    text = page.text
    assert "Held: a link we don&#39;t know." in text
    versions = text[text.index("<h2>Versions</h2>") :]
    first, second = versions.split("</li>")[:2]
    assert "(edited)" in first and "current" in first  # newest first
    assert "(edited)" not in second and "lovely, trail notes at" in second
    assert "3 other posts in 30 days, 1 about products" in text and "Limit: 25% product" in text
    assert "that is the active pack" in text
    assert "edit_approve</strong> by" in text
    assert "(edited the text; their approval does not count)" in text
    assert f"edited in review by {people['r2'].name}" in first
    assert "outbound.edited" in text and "decision.recorded" in text  # audit history
    assert "0 / 2" in text


def test_hostile_text_is_rendered_escaped(app, make_staff, people, sandbox_account, client, login):
    evil = make_staff("employee", name="<img src=x onerror=alert(1)>")
    item_id = _held(
        app,
        evil,
        sandbox_account.id,
        "<script>alert('x')</script> see https://example.com/<b>",
        override_reason="<iframe src=javascript:alert(2)>",
    )
    login(client, people["r1"])
    for url in ("/review/", f"/review/{item_id}"):
        body = client.get(url).text
        assert "<script>alert" not in body and "<img src=x" not in body
        assert "&lt;script&gt;" in body and "&lt;img src=x" in body
    body = client.get(f"/review/{item_id}").text
    assert "<iframe" not in body and "&lt;iframe" in body
    resp = client.post(f"/review/{item_id}/reject", data={"reason": "<svg onload=alert(3)> nope"})
    assert resp.status_code == 302
    body = client.get(f"/review/{item_id}").text
    assert "<svg onload" not in body and "&lt;svg onload" in body


def test_unknown_item_is_404(app, people, client, login):
    login(client, people["r1"])
    assert client.get("/review/999999").status_code == 404
    assert client.post("/review/999999/approve").status_code == 404


def test_counts_in_the_database_match(app, people, sandbox_account):
    """Every action leaves exactly one ReviewAction row (reports count these)."""
    a = _held(app, people["author"], sandbox_account.id, LINK_POST)
    b = _held(app, people["author"], sandbox_account.id, BLOCKED_POST)
    _act(app, approve_item, Approve(a), people["r1"])
    _act(app, approve_item, Approve(b, REASON), people["r2"])
    with job_session(app) as s:
        counts = dict(
            s.execute(select(ReviewAction.action, func.count()).group_by(ReviewAction.action)).all()
        )
    assert counts == {"approve": 1, "override": 1}
