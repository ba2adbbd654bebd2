"""One answer per customer: claim is a compare-and-set, take-over is explicit and told, writing
presence is shown, a reply sent by someone else meanwhile is shown before a second one goes out,
a draft sent twice is one item (the unique key guards it, also under concurrency on PostgreSQL),
and a reply its platform can't take is refused with its count, never cut."""

from __future__ import annotations

import os
import threading
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from hub.db import job_session
from hub.engagement.moderation import AlreadyTaken, MoveError, claim_mention, take_over_mention
from hub.engagement.presence import FRESH, mentions_being_written, touch_presence, writers
from hub.models import (
    AuditEvent,
    Mention,
    MentionPresence,
    Notification,
    OutboundItem,
    PolicyDecision,
    Staff,
    utcnow,
)
from hub.publishing import submission
from hub.publishing.posts import NewPost, submit_post
from hub.publishing.replies import SubmitReply, submit_reply
from hub.publishing.submission import Outcome

REPLY = "Hi! Your parcel is moving again and should reach you on Thursday."
ON_POSTGRES = pytest.mark.skipif(
    os.environ.get("HUB_TEST_DB") != "postgresql", reason="needs PostgreSQL (HUB_TEST_DB)"
)


def _count(app: Any, model: Any, *where: Any) -> int:
    with job_session(app) as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _claim(app: Any, staff_id: int, mention_id: int, seen: int | None) -> None:
    with job_session(app) as s:
        claim_mention(s, s.get(Mention, mention_id), s.get(Staff, staff_id), seen)


def _reply(app: Any, staff_id: int, mention_id: int, text: str = REPLY, **kw: Any) -> Any:
    with job_session(app) as s:
        result = submit_reply(s, SubmitReply(mention_id, text, **kw), s.get(Staff, staff_id))
        return result.outcome, result.item.id if result.item else None


# --- claim: compare-and-set ------------------------------------------------------------------


def test_second_claim_on_what_both_saw_unassigned_loses_and_is_told_who(
    app, make_staff, make_mention
):
    ana, ben = make_staff("manager", name="Ana Ruiz"), make_staff("manager", name="Ben Ito")
    mention = make_mention()
    _claim(app, ana.id, mention.id, None)
    with pytest.raises(AlreadyTaken, match="Ana Ruiz has this mention since"):
        _claim(app, ben.id, mention.id, None)  # a manager too: claiming never takes over
    with job_session(app) as s:
        assert s.get(Mention, mention.id).assignee_id == ana.id
    assert _count(app, AuditEvent, AuditEvent.action == "mention.claimed") == 1


def test_claim_never_takes_a_mention_from_the_person_shown(app, make_staff, make_mention):
    ana, ben = make_staff("manager", name="Ana Ruiz"), make_staff("manager")
    mention = make_mention()
    _claim(app, ana.id, mention.id, None)
    with pytest.raises(AlreadyTaken, match="Ana Ruiz has this mention"):
        _claim(app, ben.id, mention.id, ana.id)  # that is Take over's job
    with job_session(app) as s:
        assert s.get(Mention, mention.id).assignee_id == ana.id
    assert _count(app, Notification) == 0


def test_claim_through_the_page_carries_what_the_person_saw(
    app, client, make_staff, make_mention, login
):
    ana, ben = make_staff("manager", name="Ana Ruiz"), make_staff("manager", name="Ben Ito")
    mention = make_mention()
    login(client, ben)
    page = client.get(f"/mentions/{mention.id}").text
    assert 'name="seen_assignee" value=""' in page
    _claim(app, ana.id, mention.id, None)  # Ana is quicker
    resp = client.post(
        f"/mentions/{mention.id}/claim", data={"seen_assignee": ""}, follow_redirects=True
    )
    assert "Ana Ruiz has this mention since" in resp.text
    assert 'id="take-over-form"' in resp.text and "Take over" in resp.text
    with job_session(app) as s:
        assert s.get(Mention, mention.id).assignee_id == ana.id
    assert _count(app, Notification) == 0


def test_employee_sees_who_has_it_but_no_take_over(app, client, make_staff, make_mention, login):
    ana, eve = make_staff("manager", name="Ana Ruiz"), make_staff("employee")
    mention = make_mention()
    _claim(app, ana.id, mention.id, None)
    login(client, eve)
    page = client.get(f"/mentions/{mention.id}").text
    assert "Ana Ruiz has this mention since" in page and "take-over-form" not in page
    assert client.post(f"/mentions/{mention.id}/take-over").status_code == 403


def test_take_over_is_audited_and_the_previous_assignee_is_notified(
    app, client, make_staff, make_mention, login
):
    ana, ben = make_staff("manager", name="Ana Ruiz"), make_staff("manager", name="Ben Ito")
    mention = make_mention()
    _claim(app, ana.id, mention.id, None)
    login(client, ben)
    resp = client.post(f"/mentions/{mention.id}/take-over", data={"seen_assignee": str(ana.id)})
    assert resp.status_code == 302
    with job_session(app) as s:
        assert s.get(Mention, mention.id).assignee_id == ben.id
        [event] = s.scalars(select(AuditEvent).where(AuditEvent.action == "mention.taken_over"))
        assert event.actor_id == ben.id and event.data["previous_assignee"] == ana.id
        [note] = s.scalars(select(Notification))
        assert (note.staff_id, note.kind, note.mention_id) == (ana.id, "taken_over", mention.id)
        assert note.data == {"mention_id": mention.id, "by": ben.id}


def test_take_over_from_someone_other_than_shown_fails(app, make_staff, make_mention):
    ana, ben, cy = (make_staff("manager") for _ in range(3))
    mention = make_mention()
    _claim(app, ana.id, mention.id, None)
    with job_session(app) as s:
        take_over_mention(s, s.get(Mention, mention.id), s.get(Staff, cy.id), ana.id)
    with pytest.raises(AlreadyTaken), job_session(app) as s:
        take_over_mention(s, s.get(Mention, mention.id), s.get(Staff, ben.id), ana.id)
    with job_session(app) as s:
        assert s.get(Mention, mention.id).assignee_id == cy.id
    assert _count(app, Notification) == 1


@ON_POSTGRES
def test_concurrent_claims_on_postgresql_one_wins(app, make_staff, make_mention):
    people = [make_staff("manager") for _ in range(6)]
    mention = make_mention()
    barrier = threading.Barrier(len(people))
    outcomes: list[str] = []

    def go(staff_id: int) -> None:
        with app.app_context(), job_session(app) as s:
            m = s.get(Mention, mention.id)  # everyone reads "unassigned" first
            barrier.wait()
            try:
                claim_mention(s, m, s.get(Staff, staff_id), None)
                outcomes.append("won")
            except AlreadyTaken:
                outcomes.append("lost")

    threads = [threading.Thread(target=go, args=(p.id,)) for p in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["lost"] * 5 + ["won"]
    assert _count(app, AuditEvent, AuditEvent.action == "mention.claimed") == 1


# --- writing presence ------------------------------------------------------------------------


def test_presence_shows_on_the_mention_and_in_the_queue(
    app, client, make_staff, make_mention, login
):
    ana, ben = make_staff("manager", name="Ana Ruiz"), make_staff("manager", name="Ben Ito")
    mention, other = make_mention(), make_mention()
    login(client, ana)
    assert client.post(f"/mentions/{mention.id}/presence", data={"text": "Hi"}).status_code == 204
    client.post("/logout")
    login(client, ben)
    assert "Ana Ruiz is writing a reply" in client.get(f"/mentions/{mention.id}").text
    fragment = client.get(f"/mentions/{mention.id}/writers", headers={"HX-Request": "true"})
    assert "Ana Ruiz is writing a reply" in fragment.text
    assert "is writing" not in client.get(f"/mentions/{other.id}").text
    queue = client.get("/queue").text
    row = queue.split(f'data-mention="{mention.id}"')[1].split("</tr>")[0]
    other_row = queue.split(f'data-mention="{other.id}"')[1].split("</tr>")[0]
    assert "writing…" in row and "writing…" not in other_row


def test_presence_expires_and_an_empty_box_clears_it(app, client, make_staff, make_mention, login):
    ana = make_staff("manager")
    mention = make_mention()
    with job_session(app) as s:
        touch_presence(s, mention.id, s.get(Staff, ana.id), now=utcnow() - FRESH - timedelta(1))
    with job_session(app) as s:
        assert writers(s, mention.id) == [] and mentions_being_written(s, [mention.id]) == set()
        touch_presence(s, mention.id, s.get(Staff, ana.id))
    with job_session(app) as s:
        assert [w.id for w in writers(s, mention.id)] == [ana.id]
        assert writers(s, mention.id, exclude=ana.id) == []
        assert mentions_being_written(s, [mention.id]) == {mention.id}
    login(client, ana)
    client.post(f"/mentions/{mention.id}/presence", data={"text": "  "})
    assert _count(app, MentionPresence) == 0


def test_sending_the_reply_ends_presence(app, client, make_staff, make_mention, login):
    ana = make_staff("manager")
    mention = make_mention()
    login(client, ana)
    client.post(f"/mentions/{mention.id}/presence", data={"text": REPLY})
    client.post(f"/mentions/{mention.id}/claim")
    resp = client.post(f"/mentions/{mention.id}/reply", data={"text": REPLY, "seen_outbound": 0})
    assert resp.status_code == 302
    assert _count(app, MentionPresence) == 0


# --- someone else already replied ------------------------------------------------------------


def test_reply_sent_by_someone_else_since_the_page_opened_is_shown_first(
    app, client, make_staff, make_mention, login
):
    ana, ben = make_staff("manager", name="Ana Ruiz"), make_staff("manager", name="Ben Ito")
    mention = make_mention()
    login(client, ben)
    page = client.get(f"/mentions/{mention.id}").text
    assert 'name="seen_outbound" value="0"' in page
    _claim(app, ana.id, mention.id, None)
    assert _reply(app, ana.id, mention.id)[0] == Outcome.SCHEDULED
    mine = "Hello, we are looking into it and will write back within the hour."
    data = {"text": mine, "seen_outbound": "0"}
    resp = client.post(f"/mentions/{mention.id}/reply", data=data)
    assert resp.status_code == 409
    assert "Ana Ruiz already replied 0 min ago" in resp.text and "Send yours anyway?" in resp.text
    assert 'name="confirm_answered"' in resp.text and mine in resp.text
    assert _count(app, OutboundItem) == 1
    resp = client.post(f"/mentions/{mention.id}/reply", data=data | {"confirm_answered": "yes"})
    assert resp.status_code == 302 and _count(app, OutboundItem) == 2


def test_a_reply_seen_before_opening_does_not_ask(app, make_staff, make_mention):
    ana, ben = make_staff("manager"), make_staff("manager")
    mention = make_mention()
    _claim(app, ana.id, mention.id, None)
    _, first = _reply(app, ana.id, mention.id)
    outcome, _id = _reply(
        app, ben.id, mention.id, "Following up: it left the depot.", seen_outbound_id=first
    )
    assert outcome == Outcome.SCHEDULED


# --- send once -------------------------------------------------------------------------------


def test_back_and_send_again_publishes_once(app, client, make_staff, make_mention, login):
    ana = make_staff("manager")
    mention = make_mention()
    login(client, ana)
    client.post(f"/mentions/{mention.id}/claim")
    data = {"text": REPLY, "seen_outbound": "0"}
    assert client.post(f"/mentions/{mention.id}/reply", data=data).status_code == 302
    # Back, then Send: the same form; or the same text with different spacing in a second tab
    again = client.post(f"/mentions/{mention.id}/reply", data=data, follow_redirects=True)
    assert "You already sent this reply" in again.text and "24 hours" in again.text
    other_tab = {"text": REPLY.replace(" ", "  ") + "\n", "seen_outbound": "0"}
    client.post(f"/mentions/{mention.id}/reply", data=other_tab)
    assert _count(app, OutboundItem) == 1
    assert _count(app, PolicyDecision) == 1  # a repeat is recognised before it is checked again


def test_same_text_after_24_hours_is_a_new_reply(app, make_staff, make_mention):
    ana = make_staff("manager")
    mention = make_mention()
    _claim(app, ana.id, mention.id, None)
    _, first = _reply(app, ana.id, mention.id)
    with job_session(app) as s:
        s.get(OutboundItem, first).created_at = utcnow() - timedelta(hours=25)
    outcome, second = _reply(app, ana.id, mention.id)
    assert outcome == Outcome.SCHEDULED and second != first
    assert _reply(app, ana.id, mention.id) == (Outcome.DUPLICATE, second)


def test_the_unique_key_guards_when_the_lookup_misses(app, make_staff, make_mention, monkeypatch):
    """Two requests that both looked before either inserted: the database's unique key lets
    one row in and the other submit lands on it."""
    ana = make_staff("manager")
    mention = make_mention()
    _claim(app, ana.id, mention.id, None)
    assert _reply(app, ana.id, mention.id)[0] == Outcome.SCHEDULED
    real = submission.same_draft

    def blind(session: Any, author: Any, *parts: Any, now: Any = None) -> Any:
        return real(session, author, *parts, now=now)[0], None

    monkeypatch.setattr("hub.publishing.replies.same_draft", blind)
    assert _reply(app, ana.id, mention.id)[0] == Outcome.DUPLICATE
    assert _count(app, OutboundItem) == 1


@ON_POSTGRES
@pytest.mark.parametrize("kind", ["reply", "post"])
def test_concurrent_identical_submits_on_postgresql_make_one_item(
    app, make_staff, make_mention, sandbox_account, kind
):
    ana = make_staff("manager")
    mention = make_mention()
    _claim(app, ana.id, mention.id, None)
    barrier = threading.Barrier(4)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def go() -> None:
        try:
            with app.app_context(), job_session(app) as s:
                author = s.get(Staff, ana.id)
                s.scalar(select(func.count()).select_from(OutboundItem))  # start the transaction
                barrier.wait()
                if kind == "reply":
                    result = submit_reply(s, SubmitReply(mention.id, REPLY), author)
                else:
                    form = NewPost(sandbox_account.id, "Made a bowl. It is a plate now.")
                    result = submit_post(s, form, author)
                outcomes.append(result.outcome)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=go) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(outcomes) == [Outcome.DUPLICATE] * 3 + [Outcome.SCHEDULED]
    assert _count(app, OutboundItem) == 1


def test_post_now_twice_is_one_post(app, client, make_staff, sandbox_account, login):
    ana = make_staff("employee")
    login(client, ana)
    data = {"text": "Made a bowl. It is a plate now.", "account_id": str(sandbox_account.id)}
    first = client.post("/posts/new", data=data | {"when": "now"})
    second = client.post("/posts/new", data=data | {"when": "now"}, follow_redirects=True)
    assert first.status_code == 302
    assert "You already sent this post" in second.text
    assert _count(app, OutboundItem) == 1
    assert _count(app, PolicyDecision) == 1
    later = (utcnow() + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
    client.post("/posts/new", data=data | {"when": "schedule", "schedule_at": later})
    assert _count(app, OutboundItem) == 2  # another slot: another post


def test_withdrawn_post_can_be_sent_again(app, make_staff, sandbox_account):
    ana = make_staff("employee")
    text = "Made a bowl. It is a plate now."
    with job_session(app) as s:
        first = submit_post(s, NewPost(sandbox_account.id, text), s.get(Staff, ana.id)).item
        first.state = "withdrawn"
    with job_session(app) as s:
        again = submit_post(s, NewPost(sandbox_account.id, text), s.get(Staff, ana.id))
        assert again.outcome == Outcome.SCHEDULED and again.item.id != first.id


# --- length ----------------------------------------------------------------------------------


def test_reply_composer_counts_as_the_platform_does(app, client, make_staff, make_mention, login):
    ana = make_staff("manager")
    mention = make_mention()
    login(client, ana)
    text = "@dana @sam " + "a" * 270  # the opening @names are free on X-like platforms
    resp = client.post("/compose/check", data={"text": text, "mention_id": mention.id})
    assert 'data-length="270"' in resp.text and 'data-limit="280"' in resp.text
    resp = client.post("/compose/check", data={"text": "é" * 281, "mention_id": mention.id})
    assert "1 too many" in resp.text


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("a" * 300, "This reply is 300 characters long for Sandbox; the limit is 280. Cut 20."),
        ("a" * 5001, "Replies are at most 5,000 characters; this one has 5,001."),
    ],
)
def test_too_long_reply_is_refused_with_count_and_kept(
    app, client, make_staff, make_mention, login, text, words
):
    ana = make_staff("manager")
    mention = make_mention()
    login(client, ana)
    client.post(f"/mentions/{mention.id}/claim")
    resp = client.post(f"/mentions/{mention.id}/reply", data={"text": text, "seen_outbound": "0"})
    assert resp.status_code == 422 and words in resp.text
    assert f">{text}</textarea>" in resp.text
    assert _count(app, OutboundItem) == 0


def test_only_managers_take_over_even_past_the_route(app, make_staff, make_mention):
    ana, eve = make_staff("manager"), make_staff("employee")
    mention = make_mention()
    _claim(app, ana.id, mention.id, None)
    with pytest.raises(MoveError, match="Only community managers"), job_session(app) as s:
        take_over_mention(s, s.get(Mention, mention.id), s.get(Staff, eve.id), ana.id)


@pytest.mark.parametrize("action", ["take-over", "presence"])
def test_new_forms_need_their_csrf_token(app, make_staff, make_mention, csrf_token, action):
    app.config["WTF_CSRF_ENABLED"] = True
    ana = make_staff("manager")
    mention = make_mention()
    client = app.test_client()
    token = csrf_token(client.get("/login").text)
    data = {"email": ana.email, "password": "password123", "csrf_token": token}
    assert client.post("/login", data=data).status_code == 302
    form = {"text": "hi", "seen_assignee": ""}
    assert client.post(f"/mentions/{mention.id}/{action}", data=form).status_code == 400
    ok = client.post(f"/mentions/{mention.id}/{action}", data=form | {"csrf_token": token})
    assert ok.status_code in (204, 302)


def test_a_repeat_is_recognised_before_anything_else_is_asked(
    app, client, make_staff, make_mention, sandbox_account, login
):
    """The earlier item is found first: a repeat after a take-over is still "already sent" (not
    "claim it first"), and a confirmed post sent again unconfirmed is not stopped for a warning."""
    ana, ben = make_staff("employee"), make_staff("manager")
    mention = make_mention()
    login(client, ana)
    client.post(f"/mentions/{mention.id}/claim")
    data = {"text": REPLY, "seen_outbound": "0"}
    client.post(f"/mentions/{mention.id}/reply", data=data)
    with job_session(app) as s:
        take_over_mention(s, s.get(Mention, mention.id), s.get(Staff, ben.id), ana.id)
    again = client.post(f"/mentions/{mention.id}/reply", data=data, follow_redirects=True)
    assert "You already sent this reply" in again.text
    stiff = "Kindly be informed that the aforementioned pottery class was fun."
    post = {"text": stiff, "account_id": str(sandbox_account.id), "when": "now"}
    assert client.post("/posts/new", data=post | {"confirm_warnings": "yes"}).status_code == 302
    resp = client.post("/posts/new", data=post, follow_redirects=True)
    assert "You already sent this post" in resp.text
    assert _count(app, OutboundItem) == 2
