"""Employee posts: composer → policy check → outbox → sandbox, edits, withdrawals, who sees what."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from connectors.sandbox import SandboxStore, posts
from hub.audit import history, verify_chain
from hub.compliance.review import approvers
from hub.db import job_session
from hub.models import OutboundItem, PolicyDecision, ReviewAction, Staff
from hub.platforms.accounts import create_account
from hub.publishing.outbox import _claim, move_item, send_due
from hub.publishing.posts import (
    PostEdit,
    PostError,
    count_length,
    edit_post,
    parse_schedule,
)
from hub.publishing.present import describe_state
from hub.publishing.submission import new_idempotency_key

PERSONAL = "Went to my first pottery class. Made a bowl. It is a plate now."
STIFF = "Kindly be informed that the aforementioned pottery class was fun."
PRODUCT_UNDISCLOSED = "Loving my Shoreline Sandals this weekend #KestrelFan"
PRODUCT_DISCLOSED = "Loving my Shoreline Sandals this weekend #KestrelEmployee"
PROFANE = "this shit happens, deal with it"


@pytest.fixture
def author(make_staff):  # type: ignore[no-untyped-def]
    return make_staff("employee", name="Erin Employee")


@pytest.fixture
def signed_in(client, author, login, sandbox_account):  # type: ignore[no-untyped-def]
    login(client, author)
    return client


def _post(client, text, account_id, **extra):  # type: ignore[no-untyped-def]
    data = {"text": text, "account_id": str(account_id), "key": new_idempotency_key(), **extra}
    return client.post("/posts/new", data=data)


def _items(app, **where):  # type: ignore[no-untyped-def]
    with job_session(app) as s:
        rows = s.scalars(
            select(OutboundItem).filter_by(kind="post", **where).order_by(OutboundItem.id)
        ).all()
        s.expunge_all()
        return rows


def _item(app, item_id):  # type: ignore[no-untyped-def]
    with job_session(app) as s:
        item = s.get(OutboundItem, item_id)
        s.expunge(item)
        return item


def _item_id(resp) -> int:  # type: ignore[no-untyped-def]
    assert resp.status_code == 302, resp.text[:500]
    match = re.search(r"/posts/(\d+)$", resp.headers["Location"])
    assert match, resp.headers["Location"]
    return int(match.group(1))


def _brand_posts(app):  # type: ignore[no-untyped-def]
    store = SandboxStore(app.config["SANDBOX_URL"])
    with store.engine.connect() as conn:
        return list(
            conn.execute(select(posts).where(posts.c.author == "KestrelFootwear")).mappings()
        )


def test_composer_offers_brand_and_own_accounts_only(app, signed_in, author, make_staff):
    other = make_staff("employee")
    with job_session(app) as s:
        mine = create_account(s, app, "sandbox", "erin_own", {"handle": "erin_own"})
        mine.owner_id = author.id
        theirs = create_account(s, app, "sandbox", "other_own", {"handle": "other_own"})
        theirs.owner_id = other.id
        mine_id, theirs_id = mine.id, theirs.id
    html = signed_in.get("/posts/new").text
    assert 'id="post-text"' in html and 'name="account_id"' in html
    assert "@KestrelFootwear" in html and "@erin_own" in html and "@other_own" not in html
    assert "Post now" in html and "Schedule" in html and 'name="schedule_at"' in html
    # form tampering: someone else's own account is refused, nothing is queued
    resp = _post(signed_in, PERSONAL, theirs_id)
    assert resp.status_code == 403 and "You can&#39;t post to that account" in resp.text
    assert _items(app) == []
    assert _item_id(_post(signed_in, PERSONAL, mine_id))


def test_allowed_post_is_published_on_the_sandbox(app, signed_in, author, sandbox_account):
    item_id = _item_id(_post(signed_in, PERSONAL, sandbox_account.id, when="now"))
    item = _item(app, item_id)
    assert item.state == "scheduled" and item.not_before is not None
    assert send_due(app) == {"sent": 1}
    [published] = _brand_posts(app)
    assert published["text"] == PERSONAL and published["reply_to"] is None
    item = _item(app, item_id)
    assert item.state == "sent" and item.external_id == str(published["id"])
    page = signed_in.get("/posts/").text
    assert "Sent" in page and f'href="/sandbox/p/{published["id"]}"' in page
    detail = signed_in.get(f"/posts/{item_id}").text
    assert "outbound.sent" in detail and "decision.recorded" in detail
    with job_session(app) as s:
        d = s.get(PolicyDecision, item.decision_id)
        assert (d.kind, d.verdict, d.is_product, d.outbound_id) == ("post", "allow", False, item_id)
        assert verify_chain(s)[1] is None


def test_warning_needs_confirmation(app, signed_in, sandbox_account):
    key = new_idempotency_key()
    data = {"text": STIFF, "account_id": str(sandbox_account.id), "key": key}
    resp = signed_in.post("/posts/new", data=data)
    assert resp.status_code == 422 and 'name="confirm_warnings"' in resp.text
    assert "G10" in resp.text and 'class="findings"' in resp.text
    assert _items(app) == []
    item_id = _item_id(signed_in.post("/posts/new", data={**data, "confirm_warnings": "yes"}))
    assert _item(app, item_id).state == "scheduled"
    with job_session(app) as s:  # both submissions left a decision; one item
        assert s.scalar(select(func.count()).select_from(PolicyDecision)) == 2
        events = [e.action for e in history(s, "outbound", item_id)]
        assert events[:2] == ["outbound.draft", "decision.recorded"]
        assert events[-1] == "outbound.scheduled"
        assert history(s, "outbound", item_id)[-1].data["confirmed_warnings"] is True


def test_product_post_without_disclosure_is_held_with_the_ftc_finding(
    app, sent_posts, signed_in, author, sandbox_account
):
    sent_posts(
        author.id, sandbox_account.id, personal=6, product=1
    )  # room in the mix: only G6 holds it
    item_id = _item_id(_post(signed_in, PRODUCT_UNDISCLOSED, sandbox_account.id))
    item = _item(app, item_id)
    assert item.state == "in_review" and item.review_started_at is not None
    assert item.review_reason.startswith("Waiting for compliance review: G6")
    assert "doesn't say you work here" in item.review_reason
    with job_session(app) as s:
        d = s.get(PolicyDecision, item.decision_id)
        assert d.is_product is True
        assert [f["rule_id"] for f in d.findings] == ["g6-disclosure"]
    page = signed_in.get("/posts/").text
    assert "Waiting for review (0 of 1 approval)" in page
    # a scheduled post keeps its time while it waits, so an approval sends it then
    at = (datetime.now(UTC) + timedelta(days=3)).replace(second=0, microsecond=0)
    later = _item_id(
        _post(
            signed_in,
            PRODUCT_UNDISCLOSED + " again",
            sandbox_account.id,
            schedule_at=at.strftime("%Y-%m-%dT%H:%M"),
            when="schedule",
        )
    )
    held = _item(app, later)
    assert held.state == "in_review" and held.not_before == at


def test_over_the_mix_limit_goes_to_review_with_the_numbers(
    app, sent_posts, signed_in, author, sandbox_account
):
    sent_posts(author.id, sandbox_account.id, personal=3, product=1)
    check = signed_in.post(
        "/posts/check", data={"text": PRODUCT_DISCLOSED, "account_id": sandbox_account.id}
    ).text
    assert 'id="mix-meter"' in check
    assert "after it 2 of 5 of your posts in 30 days are product (40%), limit 25%" in check
    item_id = _item_id(_post(signed_in, PRODUCT_DISCLOSED, sandbox_account.id))
    item = _item(app, item_id)
    assert item.state == "in_review"
    assert "G7" in item.review_reason
    assert "2 of your last 5 posts (40%)" in item.review_reason and "25%" in item.review_reason
    # a personal post keeps the share down: allowed, and the meter says personal
    check = signed_in.post(
        "/posts/check", data={"text": PERSONAL, "account_id": sandbox_account.id}
    ).text
    assert "This post: <strong>personal</strong>" in check
    assert "after it 2 of 6 of your posts in 30 days are product (33%)" in check


def test_old_history_does_not_count(app, sent_posts, signed_in, author, sandbox_account):
    sent_posts(author.id, sandbox_account.id, personal=0, product=4)
    with job_session(app) as s:
        for item in s.scalars(select(OutboundItem)):
            item.created_at = datetime.now(UTC) - timedelta(days=31)
    check = signed_in.post(
        "/posts/check", data={"text": PERSONAL, "account_id": sandbox_account.id}
    ).text
    assert "after it 0 of 1 of your posts" in check


def test_blocked_post_is_not_queued_and_can_ask_for_an_override(app, signed_in, sandbox_account):
    key = new_idempotency_key()
    data = {"text": PROFANE, "account_id": str(sandbox_account.id), "key": key}
    resp = signed_in.post("/posts/new", data=data)
    assert resp.status_code == 422
    assert "can&#39;t go out as written" in resp.text and "G3" in resp.text
    assert 'name="override_reason"' in resp.text and "Ask compliance to override" in resp.text
    assert _items(app) == [] and send_due(app) == {}
    with job_session(app) as s:
        d = s.scalars(select(PolicyDecision)).one()
        assert (d.verdict, d.outbound_id, d.kind) == ("block", None, "post")
    short = signed_in.post("/posts/new", data={**data, "override_reason": "pls"})
    assert short.status_code == 422 and "at least 20 characters" in short.text
    assert _items(app) == []
    reason = "It quotes a customer's own words back at them, with their permission."
    item_id = _item_id(signed_in.post("/posts/new", data={**data, "override_reason": reason}))
    item = _item(app, item_id)
    assert item.state == "in_review" and item.override_reason == reason
    assert "override" in item.review_reason and "G3" in item.review_reason
    assert reason in item.review_reason
    assert send_due(app) == {}


def test_two_person_rule_needs_two_approvals(app, sent_posts, signed_in, author, sandbox_account):
    from hub.settings import set_setting

    with job_session(app) as s:
        set_setting(s, "review.two_person_rules", ["g6-disclosure"], None)
    sent_posts(author.id, sandbox_account.id, personal=6, product=1)
    item_id = _item_id(_post(signed_in, PRODUCT_UNDISCLOSED, sandbox_account.id))
    assert _item(app, item_id).required_approvals == 2
    assert "Waiting for review (0 of 2 approvals)" in signed_in.get("/posts/").text
    # a rule outside the setting needs one
    other = _item_id(
        _post(
            signed_in,
            "Kindly be advised I made a bowl.",
            sandbox_account.id,
            confirm_warnings="yes",
        )
    )
    assert _item(app, other).required_approvals == 1


def test_edit_rechecks_keeps_versions_and_resets_approvals(
    app, sent_posts, signed_in, author, sandbox_account, make_staff
):
    sent_posts(author.id, sandbox_account.id, personal=6, product=1)
    item_id = _item_id(_post(signed_in, PRODUCT_UNDISCLOSED, sandbox_account.id))
    reviewer = make_staff("compliance")
    with job_session(app) as s:
        s.add(ReviewAction(outbound_id=item_id, reviewer_id=reviewer.id, action="approve"))
    with job_session(app) as s:
        item = s.get(OutboundItem, item_id)
        assert len(approvers(s, item)) == 1
    form = signed_in.get(f"/posts/{item_id}/edit").text
    assert PRODUCT_UNDISCLOSED in form
    resp = signed_in.post(f"/posts/{item_id}/edit", data={"text": PRODUCT_DISCLOSED})
    assert _item_id(resp) == item_id
    item = _item(app, item_id)
    assert item.text == PRODUCT_DISCLOSED and item.state == "scheduled"
    with job_session(app) as s:
        versions = s.scalars(
            select(PolicyDecision).where(PolicyDecision.outbound_id == item_id)
        ).all()
        assert [v.text for v in versions] == [PRODUCT_UNDISCLOSED, PRODUCT_DISCLOSED]
        assert item.decision_id == versions[-1].id and versions[-1].verdict == "allow"
        edited = [e for e in history(s, "outbound", item_id) if e.action == "outbound.edited"]
        assert edited[0].data["approvals_no_longer_counted"] == 1
        assert edited[0].data["text_changed"] is True
        assert s.scalar(select(func.count()).select_from(ReviewAction)) == 1  # kept
        # back in review, the earlier approval no longer counts for the new version
        edit_post(s, s.get(OutboundItem, item_id), PostEdit(PRODUCT_UNDISCLOSED + "!"), author)
        held = s.get(OutboundItem, item_id)
        assert held.state == "in_review" and approvers(s, held) == []
        assert describe_state(s, held) == "Waiting for review (0 of 1 approval)"
    page = signed_in.get(f"/posts/{item_id}").text
    assert page.count('class="version') == 3 and "outbound.edited" in page


def test_editing_a_counted_post_does_not_count_it_twice(
    app, sent_posts, signed_in, author, sandbox_account
):
    sent_posts(author.id, sandbox_account.id, personal=6, product=1)
    item_id = _item_id(_post(signed_in, PRODUCT_DISCLOSED, sandbox_account.id))
    assert _item(app, item_id).state == "scheduled"  # 2 of 8 = 25%: exactly the limit
    check = signed_in.post(
        "/posts/check", data={"text": PRODUCT_DISCLOSED + " 🌊", "item_id": item_id}
    ).text
    assert "after it 2 of 8 of your posts" in check
    resp = signed_in.post(f"/posts/{item_id}/edit", data={"text": PRODUCT_DISCLOSED + " 🌊"})
    _item_id(resp)
    assert _item(app, item_id).state == "scheduled"


def test_blocked_edit_changes_nothing(app, signed_in, sandbox_account):
    item_id = _item_id(_post(signed_in, PERSONAL, sandbox_account.id))
    resp = signed_in.post(f"/posts/{item_id}/edit", data={"text": PROFANE})
    assert resp.status_code == 422 and "G3" in resp.text
    item = _item(app, item_id)
    assert item.text == PERSONAL and item.state == "scheduled"


def test_withdraw(app, signed_in, sandbox_account):
    item_id = _item_id(_post(signed_in, PERSONAL, sandbox_account.id))
    resp = signed_in.post(f"/posts/{item_id}/withdraw")
    assert resp.status_code == 302
    assert _item(app, item_id).state == "withdrawn"
    assert send_due(app) == {} and _brand_posts(app) == []
    assert "Withdrawn" in signed_in.get("/posts/").text
    again = signed_in.post(f"/posts/{item_id}/withdraw", follow_redirects=True)
    assert "was withdrawn and can no longer be changed" in again.text
    assert signed_in.post(f"/posts/{item_id}/edit", data={"text": "x"}).status_code == 303


def test_cannot_edit_or_withdraw_while_sending(app, signed_in, sandbox_account):
    item_id = _item_id(_post(signed_in, PERSONAL, sandbox_account.id))
    assert _claim(app, item_id)  # the sender took it
    resp = signed_in.post(
        f"/posts/{item_id}/edit", data={"text": PERSONAL + " Edited."}, follow_redirects=True
    )
    assert "It is being sent right now and can no longer be changed." in resp.text
    resp = signed_in.post(f"/posts/{item_id}/withdraw", follow_redirects=True)
    assert "It is being sent right now" in resp.text
    item = _item(app, item_id)
    assert item.state == "sending" and item.text == PERSONAL


def test_edit_that_loses_the_race_with_the_sender_changes_nothing(
    app, signed_in, author, sandbox_account
):
    """The author's page was read while scheduled; the sender claims it before the edit lands."""
    item_id = _item_id(_post(signed_in, PERSONAL, sandbox_account.id))
    factory = app.extensions["hub.sessionmaker"]
    with factory() as s:
        item = s.get(OutboundItem, item_id)
        staff = s.get(Staff, author.id)
        _ = item.account, item.author, item.decision
        s.commit()  # the read is over; `item` still says scheduled
        assert _claim(app, item_id)
        with pytest.raises(PostError, match="being sent right now"):
            edit_post(s, item, PostEdit(PERSONAL + " Edited."), staff)
        s.rollback()
    item = _item(app, item_id)
    assert item.state == "sending" and item.text == PERSONAL
    with job_session(app) as s:
        assert not [e for e in history(s, "outbound", item_id) if e.action == "outbound.edited"]


def test_other_employee_cannot_see_or_touch_a_post(
    app, client, signed_in, sandbox_account, make_staff, login
):
    item_id = _item_id(_post(signed_in, PERSONAL, sandbox_account.id))
    signed_in.post("/logout")
    login(client, make_staff("employee"))
    assert client.get(f"/posts/{item_id}").status_code == 404
    assert client.get(f"/posts/{item_id}/edit").status_code == 404
    assert client.post(f"/posts/{item_id}/edit", data={"text": "mine now"}).status_code == 404
    assert client.post(f"/posts/{item_id}/withdraw").status_code == 404
    assert client.post("/posts/check", data={"text": "x", "item_id": item_id}).status_code == 404
    assert PERSONAL not in client.get("/posts/").text
    item = _item(app, item_id)
    assert item.state == "scheduled" and item.text == PERSONAL
    client.post("/logout")
    login(client, make_staff("admin"))
    assert PERSONAL in client.get(f"/posts/{item_id}").text


def test_resubmitted_form_creates_one_item(app, signed_in, sandbox_account):
    data = {"text": PERSONAL, "account_id": str(sandbox_account.id), "key": "same-key-1"}
    first = _item_id(signed_in.post("/posts/new", data=data))
    second = _item_id(signed_in.post("/posts/new", data=data))
    assert first == second and len(_items(app)) == 1
    send_due(app)
    send_due(app)
    assert len(_brand_posts(app)) == 1


def test_schedule_validation(app, signed_in, sandbox_account):
    now = datetime.now(UTC)
    past = (now - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    far = (now + timedelta(days=400)).strftime("%Y-%m-%dT%H:%M")
    for raw, message in [
        (past, "is in the past"),
        (far, "at most a year ahead"),
        ("next tuesday", "must be a date and time"),
    ]:
        resp = _post(signed_in, PERSONAL, sandbox_account.id, schedule_at=raw, when="schedule")
        assert resp.status_code == 422 and message in resp.text, raw
    resp = _post(signed_in, PERSONAL, sandbox_account.id, when="schedule")
    assert resp.status_code == 422 and "Pick a time" in resp.text
    assert _items(app) == []
    assert parse_schedule("") is None
    soon = (now + timedelta(days=30)).replace(second=0, microsecond=0)
    assert parse_schedule(soon.strftime("%Y-%m-%dT%H:%M"), now=now) == soon
    assert parse_schedule(soon.isoformat(), now=now) == soon  # an explicit offset is honoured


def test_scheduled_post_survives_a_restart_and_fires_once(
    app, signed_in, sandbox_account, database_url
):
    from hub import create_app

    at = (datetime.now(UTC) + timedelta(days=2)).replace(second=0, microsecond=0)
    resp = _post(
        signed_in,
        PERSONAL,
        sandbox_account.id,
        schedule_at=at.strftime("%Y-%m-%dT%H:%M"),
        when="schedule",
    )
    item_id = _item_id(resp)
    assert _item(app, item_id).not_before == at
    assert "Scheduled for" in signed_in.get("/posts/").text
    config = dict(app.config)
    app.extensions["hub.engine"].dispose()  # the process goes away
    restarted = create_app(
        {
            k: config[k]
            for k in ("TESTING", "DATABASE_URL", "SANDBOX_URL", "SECRET_KEY", "ENCRYPTION_KEY")
        }
    )
    try:
        assert send_due(restarted, now=at - timedelta(minutes=1)) == {}
        assert _brand_posts(restarted) == []
        assert send_due(restarted, now=at + timedelta(seconds=1)) == {"sent": 1}
        assert send_due(restarted, now=at + timedelta(minutes=5)) == {}
        [published] = _brand_posts(restarted)
        assert published["text"] == PERSONAL
        assert _item(restarted, item_id).state == "sent"
    finally:
        restarted.extensions["hub.engine"].dispose()


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert('x')</script> my weekend",
        "{{ 7*7 }} and {% raw %} my weekend",
        "pot\u200bte\u200dry class was fun\ufeff",
        "nul \x00 byte in my weekend",
    ],
)
def test_hostile_text_is_inert(app, signed_in, sandbox_account, text):
    check = signed_in.post("/posts/check", data={"text": text, "account_id": sandbox_account.id})
    assert check.status_code == 200
    assert "<script>alert" not in check.text
    resp = _post(signed_in, text, sandbox_account.id, confirm_warnings="yes")
    assert resp.status_code in (302, 422), resp.text[:300]
    for url in ("/posts/", *(f"/posts/{i.id}" for i in _items(app))):
        html = signed_in.get(url).text
        assert "<script>alert" not in html
        assert "49 and" not in html


def test_huge_text_gets_a_clear_error(app, signed_in, sandbox_account):
    text = "a" * 100_000
    check = signed_in.post("/posts/check", data={"text": text, "account_id": sandbox_account.id})
    assert check.status_code == 200 and "at most 5,000 characters" in check.text
    assert 'id="length-counter"' in check.text
    resp = _post(signed_in, text, sandbox_account.id)
    assert resp.status_code == 422 and "this one has 100,000" in resp.text
    assert _items(app) == []


def test_length_counter_counts_like_the_platform(app, signed_in, sandbox_account):
    emoji = "👍🏽" * 10  # 10 graphemes, 20 code points
    assert count_length("bluesky", emoji).length == 10
    assert count_length("bluesky", emoji).limit == 300
    assert count_length("x", "猫" * 10).length == 20
    assert count_length("x", "see https://example.com/a/very/long/path/indeed").length == 27
    assert count_length("sandbox", "猫" * 150).over == 20
    check = signed_in.post(
        "/posts/check", data={"text": "猫" * 150, "account_id": sandbox_account.id}
    ).text
    assert 'id="length-counter"' in check and "300 / 280" in check and "20 too many" in check
    resp = _post(signed_in, "猫" * 150, sandbox_account.id)
    assert resp.status_code == 422 and "the limit is 280. Cut 20." in resp.text
    assert _items(app) == []


def test_editing_a_rejected_post_sends_it_back_to_review(
    app, sent_posts, signed_in, author, sandbox_account
):
    """A reviewer may reject for something no rule sees: an edit that passes every rule still
    goes back to a person."""
    sent_posts(author.id, sandbox_account.id, personal=6, product=1)
    item_id = _item_id(_post(signed_in, PRODUCT_UNDISCLOSED, sandbox_account.id))
    with job_session(app) as s:
        item = s.get(OutboundItem, item_id)
        item.review_reason = "Rejected: the launch date is not public yet."
        move_item(s, item, "rejected", None, reason="the launch date is not public yet")
    signed_in.post(f"/posts/{item_id}/edit", data={"text": PRODUCT_DISCLOSED})
    item = _item(app, item_id)
    assert item.state == "in_review"
    assert "had rejected" in (item.review_reason or "")


def test_a_check_stopped_by_its_time_budget_holds_the_post_for_review(
    app, sent_posts, signed_in, author, sandbox_account
):
    """HUB_POLICY_CHECK_BUDGET_MS reaches the check: with no time at all every check stops at
    its first pattern, and the post waits for a person instead of going out unchecked."""
    sent_posts(author.id, sandbox_account.id, personal=6, product=0)
    app.config["POLICY_CHECK_BUDGET_MS"] = 0
    item_id = _item_id(_post(signed_in, PERSONAL, sandbox_account.id, when="now"))
    item = _item(app, item_id)
    assert item.state == "in_review"
    with job_session(app) as s:
        d = s.get(PolicyDecision, item.decision_id)
        assert d.verdict == "review"
        assert [f["rule_id"] for f in d.findings] == ["check_budget"]
    assert send_due(app) == {}
    assert _brand_posts(app) == []


def test_why_a_post_waits_is_told_in_the_readers_language(
    app, sent_posts, signed_in, author, sandbox_account
):
    """The stored review_reason is the English record; the author's pages rebuild it from the
    decision in their language (the pack's message included)."""
    from hub.publishing.present import waiting_reason

    sent_posts(author.id, sandbox_account.id, personal=6, product=1)
    item_id = _item_id(_post(signed_in, PRODUCT_UNDISCLOSED, sandbox_account.id))
    item = _item(app, item_id)
    with app.test_request_context(headers={"Accept-Language": "en"}), job_session(app) as s:
        assert waiting_reason(s, s.get(OutboundItem, item_id)) == item.review_reason
    for url in (f"/posts/{item_id}", "/posts/"):
        english = signed_in.get(url).text
        assert html.escape(item.review_reason, quote=False) in english.replace("&#39;", "'")
        spanish = signed_in.get(url, headers={"Accept-Language": "es"}).text
        assert "Esperando la revisión de cumplimiento: G6" in spanish, url
        # the history quotes the record as it was written; the reason itself is in Spanish
        shown = spanish.split("Esperando la revisión de cumplimiento: G6", 1)[1].split("<", 1)[0]
        assert "FTC" in shown and "doesn" not in shown
