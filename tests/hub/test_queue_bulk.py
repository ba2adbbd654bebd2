"""Bulk actions on the queue: the single action repeated, one savepoint per mention, failures
reported per mention, and each guard (role, CSRF, savepoint, batch bound) tested by breaking it."""

from __future__ import annotations

import re
import threading
import time
from typing import Any

import pytest
from sqlalchemy import select

from hub.db import job_session
from hub.engagement import bulk
from hub.engagement.bulk import MAX_BATCH, BulkAction, apply_bulk
from hub.engagement.moderation import claim_mention, move_mention
from hub.models import AuditEvent, Mention, Staff


def _set(app: Any, mention_id: int, **values: Any) -> None:
    with job_session(app) as s:
        m = s.get(Mention, mention_id)
        for k, v in values.items():
            setattr(m, k, v)


def _get(app: Any, mention_id: int) -> Mention:
    with job_session(app) as s:
        m = s.get(Mention, mention_id)
        s.expunge(m)
        return m


def _events(app: Any, action: str) -> list[AuditEvent]:
    with job_session(app) as s:
        rows = list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))
        s.expunge_all()
        return rows


def _flashes(client: Any) -> list[tuple[str, str]]:
    with client.session_transaction() as session:
        return list(session.get("_flashes", []))


def test_bulk_close_closes_the_open_and_reports_the_closed_one_skipped(
    app, client, make_staff, make_mention, login
):
    manager = make_staff("manager")
    ms = [make_mention(f"@KestrelFootwear close me {i}") for i in range(4)]
    _set(app, ms[3].id, status="closed")
    login(client, manager)
    resp = client.post(
        "/queue/bulk",
        data={"bulk": "close", "ids": [str(m.id) for m in ms], "back": "/queue?status=all"},
    )
    assert resp.status_code == 302 and resp.headers["Location"] == "/queue?status=all"
    assert [_get(app, m.id).status for m in ms] == ["closed"] * 4
    assert _flashes(client) == [("warn", "3 mentions closed, 1 skipped: already closed (1)")]
    # the same audit event as the single "close" on the mention page, one per mention closed
    moved = _events(app, "mention.moved")
    assert sorted(e.subject_id for e in moved) == sorted(m.id for m in ms[:3])
    assert {(e.actor_id, e.data["status_to"]) for e in moved} == {(manager.id, "closed")}


def test_bulk_close_is_the_same_event_as_the_single_close(
    app, client, make_staff, make_mention, login
):
    manager = make_staff("manager")
    one, two = make_mention("@KestrelFootwear one"), make_mention("@KestrelFootwear two")
    login(client, manager)
    client.post(f"/mentions/{one.id}/status", data={"to": "closed"})
    client.post("/queue/bulk", data={"bulk": "close", "ids": [str(two.id)]})
    single, many = sorted(_events(app, "mention.moved"), key=lambda e: e.subject_id)
    assert single.data == many.data and single.actor_id == many.actor_id


def test_an_employee_closes_only_the_mentions_assigned_to_them(
    app, client, make_staff, make_mention, login
):
    eve = make_staff("employee")
    mine, theirs = make_mention("@KestrelFootwear mine"), make_mention("@KestrelFootwear theirs")
    with job_session(app) as s:
        claim_mention(s, s.get(Mention, mine.id), s.get(Staff, eve.id))
    login(client, eve)
    client.post("/queue/bulk", data={"bulk": "close", "ids": [str(mine.id), str(theirs.id)]})
    assert _get(app, mine.id).status == "closed"
    assert _get(app, theirs.id).status == "new"
    assert _flashes(client) == [
        ("warn", "1 mention closed, 1 skipped: Claim this mention before changing it. (1)")
    ]


def test_bulk_assign_assigns_each_and_audits_each(app, client, make_staff, make_mention, login):
    manager, eve = make_staff("manager"), make_staff("employee", name="Eve Ortiz")
    ms = [make_mention(f"@KestrelFootwear give {i}") for i in range(3)]
    _set(app, ms[2].id, assignee_id=eve.id, status="open")
    login(client, manager)
    client.post(
        "/queue/bulk",
        data={"bulk": "assign", "assignee": str(eve.id), "ids": [str(m.id) for m in ms]},
    )
    assert [(_get(app, m.id).assignee_id, _get(app, m.id).status) for m in ms] == [
        (eve.id, "open")
    ] * 3
    assert _flashes(client) == [
        ("warn", "2 mentions assigned, 1 skipped: already with Eve Ortiz (1)")
    ]
    assigned = _events(app, "mention.assigned")
    assert sorted(e.subject_id for e in assigned) == [ms[0].id, ms[1].id]
    assert {e.data["assignee"] for e in assigned} == {eve.id}


def test_bulk_assign_to_someone_who_cannot_reply_skips_every_mention(
    app, client, make_staff, make_mention, login
):
    manager, auditor = make_staff("manager"), make_staff("compliance", name="Cy Audit")
    ms = [make_mention(f"@KestrelFootwear x {i}") for i in range(2)]
    login(client, manager)
    client.post(
        "/queue/bulk",
        data={"bulk": "assign", "assignee": str(auditor.id), "ids": [str(m.id) for m in ms]},
    )
    assert [_get(app, m.id).assignee_id for m in ms] == [None, None]
    assert _flashes(client) == [
        ("warn", "0 mentions assigned, 2 skipped: Cy Audit cannot reply to mentions. (2)")
    ]


def test_bulk_assign_is_refused_to_an_employee_before_anything_changes(
    app, client, make_staff, make_mention, login
):
    """Breaks when ACTION_ROLES["assign"] lets employees through: the batch would go on."""
    eve = make_staff("employee")
    m = make_mention()
    with job_session(app) as s:
        claim_mention(s, s.get(Mention, m.id), s.get(Staff, eve.id))
    login(client, eve)
    resp = client.post("/queue/bulk", data={"bulk": "assign", "assignee": "", "ids": [str(m.id)]})
    assert resp.status_code == 403
    assert _get(app, m.id).assignee_id == eve.id
    assert _events(app, "mention.assigned") == []


def test_the_assign_controls_are_shown_to_managers_only(client, make_staff, login):
    login(client, make_staff("employee"))
    html = client.get("/queue").text
    assert 'value="close"' in html and 'value="assign"' not in html
    client.post("/logout")
    login(client, make_staff("manager"))
    assert 'name="bulk" value="assign"' in client.get("/queue").text


@pytest.mark.parametrize("role", ["compliance"])
def test_roles_without_the_queue_cannot_post_bulk(
    app, client, make_staff, make_mention, login, role
):
    m = make_mention()
    login(client, make_staff(role))
    assert (
        client.post("/queue/bulk", data={"bulk": "tag", "tag": "x", "ids": [str(m.id)]}).status_code
        == 403
    )
    assert _get(app, m.id).tags == []


def test_bulk_tag_adds_once_case_insensitively_and_audits(
    app, client, make_staff, make_mention, login
):
    manager = make_staff("manager")
    ms = [make_mention(f"@KestrelFootwear tag {i}") for i in range(3)]
    _set(app, ms[1].id, tags=["Refund"])
    login(client, manager)
    client.post(
        "/queue/bulk",
        data={"bulk": "tag", "tag": "  refund\x00 ", "ids": [str(m.id) for m in ms]},
    )
    assert [_get(app, m.id).tags for m in ms] == [["refund"], ["Refund"], ["refund"]]
    assert _flashes(client) == [("warn", "2 mentions tagged, 1 skipped: already tagged (1)")]
    tagged = _events(app, "mention.tagged")
    assert sorted(e.subject_id for e in tagged) == [ms[0].id, ms[2].id]
    assert {e.data["tag"] for e in tagged} == {"refund"}


def test_an_employee_tags_only_their_own_mentions(app, client, make_staff, make_mention, login):
    eve = make_staff("employee")
    theirs = make_mention()
    login(client, eve)
    client.post("/queue/bulk", data={"bulk": "tag", "tag": "vip", "ids": [str(theirs.id)]})
    assert _get(app, theirs.id).tags == []


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"bulk": "delete"}, "Choose what to do with the selected mentions."),
        ({"bulk": "close", "ids": []}, "Select at least one mention."),
        ({"bulk": "tag", "tag": "   "}, "A tag has 1 to 40 characters."),
        ({"bulk": "tag", "tag": "x" * 41}, "A tag has 1 to 40 characters."),
        ({"bulk": "close", "ids": ["12abc"]}, "The form is out of date; reload the page."),
        ({"bulk": "close", "ids": ["99999999999999999999999"]}, "The form is out of date"),
        ({"bulk": "assign", "assignee": "nobody"}, "No such person."),
        ({"bulk": "assign", "assignee": "987654"}, "No such person."),
    ],
)
def test_bad_bulk_forms_are_explained_and_change_nothing(
    app, client, make_staff, make_mention, login, form, message
):
    m = make_mention()
    login(client, make_staff("manager"))
    resp = client.post("/queue/bulk", data={"ids": [str(m.id)]} | form)
    assert resp.status_code == 302
    (category, text), *_ = _flashes(client)
    assert category == "error" and text.startswith(message)
    assert _get(app, m.id).status == "new" and _get(app, m.id).tags == []


def test_a_batch_is_bounded(app, make_staff):
    """Breaks when the MAX_BATCH check goes: the audit lock would be held for any batch."""
    manager = make_staff("manager")
    with job_session(app) as s, pytest.raises(Exception, match="at most 100 mentions"):
        apply_bulk(
            s,
            BulkAction("close", tuple(range(1, MAX_BATCH + 2))),
            s.get(Staff, manager.id),
        )


def test_a_mention_that_fails_midway_is_rolled_back_alone(
    app, make_staff, make_mention, monkeypatch
):
    """Breaks without the per-mention savepoint: the failed mention would keep its new tag."""
    manager = make_staff("manager")
    ms = [make_mention(f"@KestrelFootwear m {i}") for i in range(3)]
    real = bulk.record_event

    def flaky(session, action, subject_type, subject_id, *args, **kw):  # type: ignore[no-untyped-def]
        if subject_id == ms[1].id:
            raise bulk.UserError("the audit log refused")
        return real(session, action, subject_type, subject_id, *args, **kw)

    monkeypatch.setattr(bulk, "record_event", flaky)
    with job_session(app) as s:
        result = apply_bulk(
            s, BulkAction("tag", tuple(m.id for m in ms), tag="late"), s.get(Staff, manager.id)
        )
    assert result.done == [ms[0].id, ms[2].id]
    assert [(x.mention_id, x.reason) for x in result.skipped] == [
        (ms[1].id, "the audit log refused")
    ]
    assert [_get(app, m.id).tags for m in ms] == [["late"], [], ["late"]]


def test_an_unknown_mention_is_skipped_not_an_error(app, make_staff, make_mention):
    manager = make_staff("manager")
    m = make_mention()
    with job_session(app) as s:
        result = apply_bulk(s, BulkAction("close", (m.id, 987654)), s.get(Staff, manager.id))
    assert result.done == [m.id]
    assert [(x.mention_id, x.reason) for x in result.skipped] == [(987654, "no such mention")]


def test_back_never_leaves_the_queue(client, make_staff, make_mention, login):
    m = make_mention()
    login(client, make_staff("manager"))
    for back in ("https://evil.example/queue", "//evil.example/queue", "/admin/accounts/"):
        resp = client.post("/queue/bulk", data={"bulk": "close", "ids": [str(m.id)], "back": back})
        assert resp.headers["Location"] == "/queue"


def test_the_bulk_form_carries_its_csrf_token(app, make_staff, make_mention, login):
    """Breaks when the bulk form's hidden csrf_token goes (every POST needs it)."""
    app.config["WTF_CSRF_ENABLED"] = True
    manager = make_staff("manager")
    m = make_mention()
    client = app.test_client()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").text)
    assert token
    client.post(
        "/login",
        data={"email": manager.email, "password": "password123", "csrf_token": token.group(1)},
    )
    html = client.get("/queue").text
    form = re.search(r'<form id="bulk".*?</form>', html, re.S)
    assert form
    bulk_token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form.group(0))
    data = {"bulk": "close", "ids": [str(m.id)]}
    assert client.post("/queue/bulk", data=data).status_code == 400
    assert _get(app, m.id).status == "new"
    assert bulk_token, "the bulk form has no CSRF token"
    resp = client.post("/queue/bulk", data=data | {"csrf_token": bulk_token.group(1)})
    assert resp.status_code == 302
    assert _get(app, m.id).status == "closed"


def test_the_queue_page_has_a_checkbox_per_row_tied_to_the_bulk_form(
    client, make_staff, make_mention, login
):
    ms = [make_mention(f"@KestrelFootwear row {i}") for i in range(3)]
    login(client, make_staff("manager"))
    html = client.get("/queue").text
    boxes = re.findall(r'<input type="checkbox" name="ids" value="(\d+)" form="bulk"', html)
    assert sorted(int(b) for b in boxes) == sorted(m.id for m in ms)
    assert 'id="select-all"' in html


def test_a_close_made_meanwhile_is_seen_not_made_twice(app, make_staff, make_mention):
    """The batch locks its rows before checking them. Breaks on PostgreSQL without the
    ``FOR UPDATE``: the bulk close would read "new" past the uncommitted single close, then
    close it again, a second "mention.moved" event. (SQLite serialises writers anyway.)"""
    manager = make_staff("manager")
    m = make_mention()
    first = app.extensions["hub.sessionmaker"]()
    row = first.scalars(select(Mention).where(Mention.id == m.id).with_for_update()).one()
    move_mention(first, row, "closed", first.get(Staff, manager.id))
    first.flush()
    outcome: dict[str, Any] = {}

    def bulk_close() -> None:
        with job_session(app) as s:
            outcome["result"] = apply_bulk(
                s, BulkAction("close", (m.id,)), s.get(Staff, manager.id)
            )

    worker = threading.Thread(target=bulk_close)
    worker.start()
    time.sleep(0.5)
    assert worker.is_alive(), "the batch did not wait for the row"
    first.commit()
    first.close()
    worker.join(30)
    result = outcome["result"]
    assert result.done == [] and [s.reason for s in result.skipped] == ["already closed"]
    assert len(_events(app, "mention.moved")) == 1
