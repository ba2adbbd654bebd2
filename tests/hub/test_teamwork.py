"""Internal notes with @handles and follow-up tasks on a mention: who is told (once), who may
change what, the overdue job (once, with a frozen clock), CSRF and escaping."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from hub.db import job_session
from hub.engagement.notifications import describe
from hub.engagement.teamwork import (
    MAX_NOTE,
    NewNote,
    NewTask,
    add_note,
    add_task,
    find_handles,
    handle_of,
    match_handles,
    notify_overdue,
    notify_overdue_tasks,
    overdue_task_ids,
    parse_due,
    run_task_deadlines,
)
from hub.errors import Forbidden, UserError
from hub.models import (
    AuditEvent,
    FollowUpTask,
    MentionNote,
    Notification,
    OutboundItem,
    Staff,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
FUTURE = (datetime.now(UTC) + timedelta(days=3)).strftime("%Y-%m-%dT%H:%M")


# --- @handles: a pure function, table-driven -----------------------------------------------


@dataclass(frozen=True)
class P:
    id: int
    email: str
    name: str


ANA_K = P(1, "ana@kestrel.test", "Ana Ruiz")
ANA_O = P(2, "Ana@other.test", "Ana Li")
BOB = P(3, "bob.smith@kestrel.test", "Bob Smith")
CAROL = P(4, "carol@kestrel.test", "Carol")
PEOPLE = [ANA_K, ANA_O, BOB, CAROL]


@pytest.mark.parametrize(
    ("text", "named", "unknown", "ambiguous"),
    [
        ("@bob.smith can you check the order?", [3], [], []),
        ("@BOB.SMITH case does not matter", [3], [], []),
        ("thanks @bob.smith.", [3], [], []),  # the full stop ends the sentence
        ("@bob.smith @Bob.Smith and again @bob.smith", [3], [], []),  # once per note
        ("(@carol) and @bob.smith, please", [4, 3], [], []),  # in the order first named
        ("@carol你好", [4], [], []),  # Chinese text runs on without a space
        ("@ana could you", [], [], ["ana"]),  # two people have the handle ana
        ("@ana@other.test could you", [2], [], []),  # the whole e-mail says which
        ("@ANA@KESTREL.TEST", [1], [], []),
        ("@dave is not here", [], ["dave"], []),
        ("@Dave and @dave", [], ["Dave"], []),  # reported once
        ("@nobody@kestrel.test", [], ["nobody@kestrel.test"], []),
        ("write to bob.smith@kestrel.test", [], [], []),  # an e-mail address names nobody
        ("x@carol", [], [], []),  # inside a word
        ("@ alone, @@carol, @.", [], [], []),
        ("no handles at all", [], [], []),
    ],
)
def test_handles_in_a_note(text: str, named: list[int], unknown: list[str], ambiguous: list[str]):
    report = match_handles(text, PEOPLE)
    assert [p.id for p in report.named] == named
    assert list(report.unknown) == unknown
    assert [w for w, _people in report.ambiguous] == ambiguous


def test_an_ambiguous_handle_lists_who_it_could_be_and_how_to_say_which(app):
    report = match_handles("@ana", PEOPLE)
    assert [p.id for p in report.ambiguous[0][1]] == [2, 1]  # by e-mail
    with app.test_request_context():
        (problem,) = report.problems()
    assert "Ana Ruiz (ana@kestrel.test)" in problem and "Ana Li (Ana@other.test)" in problem
    assert "@Ana@other.test" in problem


def test_a_handle_is_the_email_local_part_in_lower_case():
    assert handle_of(P(1, "Bob.Smith@Kestrel.test", "Bob")) == "bob.smith"
    assert find_handles("hi @a.b. and @c") == ["a.b", "c"]


# --- notes through the pages -----------------------------------------------------------------


def _count(app: Any, model: Any, *where: Any) -> int:
    with job_session(app) as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _handle(staff: Any) -> str:
    return "@" + staff.email.split("@")[0]


def test_a_note_names_a_teammate_who_is_told_once(app, client, make_staff, make_mention, login):
    me, mate = make_staff("employee"), make_staff("manager")
    m = make_mention()
    login(client, me)
    text = f"{_handle(mate)} can you look? {_handle(mate).upper()} again, and {_handle(me)}"
    resp = client.post(f"/mentions/{m.id}/notes", data={"text": text})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/mentions/{m.id}#notes")
    with job_session(app) as s:
        note = s.scalars(select(MentionNote)).one()
        told = s.scalars(select(Notification)).all()
        assert (note.mention_id, note.author_id, note.text) == (m.id, me.id, text)
        assert note.notified == [mate.id]  # the writer is not told about their own note
        assert [(n.staff_id, n.kind, n.mention_id) for n in told] == [
            (mate.id, "note_mention", m.id)
        ]
        # data, not English: worded when read
        assert told[0].data == {"note_id": note.id, "by": me.id, "by_name": me.name}
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "note.added")).one()
        assert (event.subject_type, event.subject_id, event.actor_id) == ("note", note.id, me.id)
        assert event.data["notified"] == [mate.id] and event.data["mention_id"] == m.id
    # a second note tells them again: once per note
    client.post(f"/mentions/{m.id}/notes", data={"text": f"{_handle(mate)} ping"})
    assert _count(app, Notification, Notification.staff_id == mate.id) == 2
    # the teammate reads it in the header and on their page
    other = app.test_client()
    login(other, mate)
    page = html.unescape(other.get("/notifications").text)
    assert f"{me.name} mentioned you in an internal note." in page
    assert "Notifications (2)" in page


def test_unknown_and_ambiguous_handles_are_reported_to_the_writer(
    app, client, make_staff, make_mention, login
):
    me = make_staff("employee")
    make_staff("employee", email="sam@a.test", name="Sam A")
    make_staff("employee", email="sam@b.test", name="Sam B")
    m = make_mention()
    login(client, me)
    resp = client.post(
        f"/mentions/{m.id}/notes", data={"text": "@sam @ghost see above"}, follow_redirects=True
    )
    page = html.unescape(resp.text)
    assert "Nobody was told about @ghost: no one here has that handle." in page
    assert "Nobody was told about @sam: it could be Sam A (sam@a.test), Sam B (sam@b.test)" in page
    assert _count(app, Notification) == 0
    assert _count(app, MentionNote) == 1  # the note itself is kept


def test_an_inactive_person_is_no_one_to_tell(app, client, make_staff, make_mention, login):
    me, gone = make_staff("employee"), make_staff("employee")
    with job_session(app) as s:
        s.get(Staff, gone.id).active = False
    m = make_mention()
    login(client, me)
    client.post(f"/mentions/{m.id}/notes", data={"text": f"{_handle(gone)} hi"})
    assert _count(app, Notification) == 0


def test_notes_list_oldest_first_styled_as_internal_and_never_published(
    app, client, make_staff, make_mention, login
):
    me = make_staff("employee")
    m = make_mention()
    login(client, me)
    client.post(f"/mentions/{m.id}/notes", data={"text": "first note"})
    client.post(f"/mentions/{m.id}/notes", data={"text": "second note"})
    page = client.get(f"/mentions/{m.id}").text
    assert page.index("first note") < page.index("second note")
    assert page.count('class="internal-note"') == 2 and "Internal" in page
    assert _count(app, OutboundItem) == 0  # nothing went towards any platform


def test_a_note_is_bounded_and_an_overlong_one_comes_back_with_its_text(
    app, client, make_staff, make_mention, login
):
    me = make_staff("employee")
    m = make_mention()
    login(client, me)
    resp = client.post(f"/mentions/{m.id}/notes", data={"text": "x" * (MAX_NOTE + 1)})
    assert resp.status_code == 422
    assert f"A note has at most {MAX_NOTE} characters; this one has {MAX_NOTE + 1}." in resp.text
    assert "x" * (MAX_NOTE + 1) in resp.text  # what was typed is not lost
    resp = client.post(f"/mentions/{m.id}/notes", data={"text": "  \n "})
    assert resp.status_code == 422 and "The note is empty." in resp.text
    assert _count(app, MentionNote) == 0
    assert client.post(f"/mentions/{m.id}/notes", data={"text": "x" * MAX_NOTE}).status_code == 302


def test_a_note_on_no_mention_is_a_404(client, make_staff, login):
    login(client, make_staff("employee"))
    assert client.post("/mentions/999999/notes", data={"text": "hi"}).status_code == 404


def test_note_text_is_shown_inert(app, client, make_staff, make_mention, login):
    me = make_staff("employee", name="Eve <b>bold</b>")
    mate = make_staff("manager")
    m = make_mention()
    login(client, me)
    hostile = "<script>alert('x')</script><img src=x onerror=alert(1)>"
    client.post(f"/mentions/{m.id}/notes", data={"text": f"{_handle(mate)} {hostile}"})
    page = client.get(f"/mentions/{m.id}").text
    assert "<script>alert('x')" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(" in page
    other = app.test_client()
    login(other, mate)
    notes = other.get("/notifications").text
    assert "Eve &lt;b&gt;bold&lt;/b&gt; mentioned you" in notes and "<b>bold" not in notes


def test_compliance_reads_notes_but_writes_none(app, client, make_staff, make_mention, login):
    writer, officer = make_staff("employee"), make_staff("compliance")
    m = make_mention()
    login(client, writer)
    client.post(f"/mentions/{m.id}/notes", data={"text": "only for us"})
    reader = app.test_client()
    login(reader, officer)
    page = reader.get(f"/mentions/{m.id}").text
    assert "only for us" in page
    assert f'action="/mentions/{m.id}/notes"' not in page  # no form offered
    assert reader.post(f"/mentions/{m.id}/notes", data={"text": "mine"}).status_code == 403
    assert reader.post(f"/mentions/{m.id}/tasks", data={"title": "x"}).status_code == 403
    assert _count(app, MentionNote) == 1


def test_the_services_refuse_a_role_that_does_not_work_mentions(app, make_staff, make_mention):
    """The service's own check, behind the route's: a caller other than the page is refused."""
    officer = make_staff("compliance")
    m = make_mention()
    with job_session(app) as s:
        actor = s.get(Staff, officer.id)
        with pytest.raises(Forbidden):
            add_note(s, NewNote(m.id, "hi"), actor, NOW)
        with pytest.raises(Forbidden):
            add_task(s, NewTask(m.id, "t", str(officer.id), "2099-01-01T00:00"), actor, NOW)


def test_a_note_without_its_csrf_token_is_refused(app, make_staff, make_mention, login):
    app.config["WTF_CSRF_ENABLED"] = True
    me = make_staff("employee")
    m = make_mention()
    client = app.test_client()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").text)
    assert token is not None
    client.post(
        "/login",
        data={"email": me.email, "password": "password123", "csrf_token": token.group(1)},
    )
    resp = client.post(f"/mentions/{m.id}/notes", data={"text": "no token"})
    assert resp.status_code == 400 and _count(app, MentionNote) == 0
    page = client.get(f"/mentions/{m.id}").text
    form = page[page.index(f'action="/mentions/{m.id}/notes"') :]
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form)
    assert token is not None
    resp = client.post(
        f"/mentions/{m.id}/notes", data={"text": "with token", "csrf_token": token.group(1)}
    )
    assert resp.status_code == 302 and _count(app, MentionNote) == 1


# --- tasks -----------------------------------------------------------------------------------


def test_a_task_is_given_to_its_owner_who_is_told(app, client, make_staff, make_mention, login):
    me, owner = make_staff("manager"), make_staff("employee")
    m = make_mention()
    login(client, me)
    resp = client.post(
        f"/mentions/{m.id}/tasks",
        data={"title": "  Call   back ", "owner": str(owner.id), "due": FUTURE},
    )
    assert resp.status_code == 302 and resp.headers["Location"].endswith("#tasks")
    with job_session(app) as s:
        task = s.scalars(select(FollowUpTask)).one()
        assert (task.title, task.owner_id, task.created_by, task.done_at) == (
            "Call back",
            owner.id,
            me.id,
            None,
        )
        assert task.due_at == datetime.strptime(FUTURE, "%Y-%m-%dT%H:%M").replace(tzinfo=UTC)
        note = s.scalars(select(Notification)).one()
        assert (note.staff_id, note.kind, note.mention_id) == (owner.id, "task_assigned", m.id)
        assert set(note.data) == {"task_id", "title", "due_at", "by", "by_name"}
    assert _count(app, AuditEvent, AuditEvent.action == "task.created") == 1
    owner_client = app.test_client()
    login(owner_client, owner)
    page = html.unescape(owner_client.get("/notifications").text)
    assert f"{me.name} gave you a task: Call back (due " in page
    mine = owner_client.get("/tasks").text
    assert "Call back" in mine and f'href="/mentions/{m.id}#tasks"' in mine


def test_giving_myself_a_task_tells_nobody(app, client, make_staff, make_mention, login):
    me = make_staff("employee")
    m = make_mention()
    login(client, me)
    data = {"title": "Check stock", "owner": str(me.id), "due": FUTURE}
    assert client.post(f"/mentions/{m.id}/tasks", data=data).status_code == 302
    assert _count(app, FollowUpTask) == 1 and _count(app, Notification) == 0


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"due": ""}, "due", "Say when the task is due (UTC)."),
        ({"due": "tomorrow"}, "due", "The due time is not a date and time like 2026-03-02 17:30."),
        ({"due": "2026-02-30T10:00"}, "due", "The due time is not a date and time"),
        ({"due": "2020-01-01T10:00"}, "due", "The due time has passed"),
        ({"title": " "}, "title", "Give the task a title."),
        ({"title": "t" * 201}, "title", "A task title has at most 200 characters."),
        ({"owner": ""}, "owner", "Choose who owns the task."),
        ({"owner": "999999"}, "owner", "Choose who owns the task."),
        ({"owner": "{compliance}"}, "owner", "does not work mentions and cannot own a task."),
        ({"owner": "{inactive}"}, "owner", "does not work mentions and cannot own a task."),
    ],
)
def test_a_task_with_a_problem_comes_back_with_what_was_typed(
    app, client, make_staff, make_mention, login, form, field, message
):
    me = make_staff("employee")
    officer, gone = make_staff("compliance"), make_staff("employee")
    with job_session(app) as s:
        s.get(Staff, gone.id).active = False
    m = make_mention()
    login(client, me)
    data = {"title": "Call back", "owner": str(me.id), "due": FUTURE} | {
        k: v.format(compliance=officer.id, inactive=gone.id) for k, v in form.items()
    }
    resp = client.post(f"/mentions/{m.id}/tasks", data=data)
    assert resp.status_code == 422
    assert message in html.unescape(resp.text)
    if field != "title":
        assert 'value="Call back"' in resp.text  # the rest of the form is kept
    assert _count(app, FollowUpTask) == 0 and _count(app, Notification) == 0


def test_every_problem_of_a_task_is_reported_at_once(app, make_staff, make_mention):
    me, m = make_staff("manager"), make_mention()
    with app.test_request_context(), job_session(app) as s, pytest.raises(UserError) as err:
        add_task(s, NewTask(m.id, "", "", "later"), s.get(Staff, me.id), NOW)
    assert set(err.value.errors) == {"title", "owner", "due"}


def test_the_due_time_is_read_as_utc_and_must_be_ahead(app):
    with app.test_request_context():
        assert parse_due("2026-03-02T12:01", NOW) == NOW + timedelta(minutes=1)
        with pytest.raises(UserError):
            parse_due("2026-03-02T12:00", NOW)  # now is not the future


def _task(app: Any, owner_id: int, mention_id: int, due: datetime, **cols: Any) -> int:
    with job_session(app) as s:
        task = FollowUpTask(
            mention_id=mention_id,
            title=cols.pop("title", "Follow up"),
            owner_id=owner_id,
            created_by=owner_id,
            due_at=due,
            **cols,
        )
        s.add(task)
        s.flush()
        return int(task.id)


def test_only_the_owner_or_a_manager_completes_a_task(app, client, make_staff, make_mention, login):
    owner, other, manager = make_staff("employee"), make_staff("employee"), make_staff("manager")
    m = make_mention()
    tid = _task(app, owner.id, m.id, datetime.now(UTC) + timedelta(days=1))
    login(client, other)
    assert client.post(f"/tasks/{tid}/done").status_code == 403
    login(client, owner)
    assert client.post(f"/tasks/{tid}/done").status_code == 302
    with job_session(app) as s:
        task = s.get(FollowUpTask, tid)
        assert task.done_at is not None and task.done_by == owner.id
    login(client, other)
    assert client.post(f"/tasks/{tid}/reopen").status_code == 403
    login(client, manager)
    assert client.post(f"/tasks/{tid}/reopen").status_code == 302
    assert client.post(f"/tasks/{tid}/done").status_code == 302  # someone else's: a manager may
    actions = [
        e.action
        for e in _events(app)
        if e.subject_type == "task" and e.subject_id == tid and e.action.startswith("task.")
    ]
    assert actions == ["task.done", "task.reopened", "task.done"]


def _events(app: Any) -> list[AuditEvent]:
    with job_session(app) as s:
        rows = list(s.scalars(select(AuditEvent).order_by(AuditEvent.id)))
        for r in rows:
            s.expunge(r)
        return rows


def test_a_task_is_done_once_however_often_it_is_clicked(
    app, client, make_staff, make_mention, login
):
    owner = make_staff("employee")
    m = make_mention()
    tid = _task(app, owner.id, m.id, datetime.now(UTC) + timedelta(days=1))
    login(client, owner)
    client.post(f"/tasks/{tid}/done")
    resp = client.post(f"/tasks/{tid}/done", follow_redirects=True)
    assert "The task was already done." in resp.text
    assert _count(app, AuditEvent, AuditEvent.action == "task.done") == 1
    client.post(f"/tasks/{tid}/reopen")
    resp = client.post(f"/tasks/{tid}/reopen", follow_redirects=True)
    assert "The task was already open." in resp.text
    assert _count(app, AuditEvent, AuditEvent.action == "task.reopened") == 1


def test_my_tasks_lists_my_open_ones_overdue_first_and_in_red(
    app, client, make_staff, make_mention, login
):
    me, other = make_staff("employee"), make_staff("employee")
    m = make_mention()
    now = datetime.now(UTC)
    later = _task(app, me.id, m.id, now + timedelta(days=2), title="Later one")
    late = _task(app, me.id, m.id, now - timedelta(hours=3), title="Late one")
    _task(app, me.id, m.id, now - timedelta(days=1), title="Done one", done_at=now)
    _task(app, other.id, m.id, now + timedelta(days=1), title="Not mine")
    login(client, me)
    page = client.get("/tasks").text
    assert re.findall(r'data-task="(\d+)"', page) == [str(late), str(later)]
    rows = {tid: cls for cls, tid in re.findall(r'<li class="([^"]*)" data-task="(\d+)"', page)}
    assert rows == {str(late): "task overdue", str(later): "task"}
    late_row = page[page.index(f'data-task="{late}"') : page.index(f'data-task="{later}"')]
    assert '<span class="due overdue">' in late_row
    # the form on this page brings the person back here
    resp = client.post(f"/tasks/{late}/done", data={"next": "mine"})
    assert resp.headers["Location"].endswith("/tasks")
    assert re.findall(r'data-task="(\d+)"', client.get("/tasks").text) == [str(later)]


def test_the_mention_page_shows_its_tasks_and_offers_the_form(
    app, client, make_staff, make_mention, login
):
    me, owner = make_staff("employee"), make_staff("employee", name="Olga Owner")
    m = make_mention()
    _task(app, owner.id, m.id, datetime.now(UTC) + timedelta(days=1), title="Ring the shop")
    login(client, me)
    page = client.get(f"/mentions/{m.id}").text
    assert "Ring the shop" in page and "Olga Owner" in page
    assert f'action="/mentions/{m.id}/tasks"' in page
    # not my task: no button to change it
    assert "/done" not in page.split('id="tasks"')[1].split("</ul>")[0]


# --- the overdue job -------------------------------------------------------------------------


def test_an_overdue_task_is_told_to_its_owner_once(app, make_staff, make_mention):
    owner = make_staff("employee")
    m = make_mention()
    late = _task(app, owner.id, m.id, NOW - timedelta(minutes=5), title="Send the label")
    _task(app, owner.id, m.id, NOW + timedelta(minutes=5))  # not yet due
    _task(app, owner.id, m.id, NOW - timedelta(days=1), done_at=NOW)  # done: nothing to say
    with job_session(app) as s:
        assert notify_overdue_tasks(s, NOW) == [late]
    with job_session(app) as s:
        assert notify_overdue_tasks(s, NOW + timedelta(minutes=1)) == []
    with job_session(app) as s:
        assert s.get(FollowUpTask, late).overdue_notified_at == NOW
        (n,) = s.scalars(select(Notification)).all()
        assert (n.staff_id, n.kind, n.mention_id) == (owner.id, "task_overdue", m.id)
        with app.test_request_context():
            assert describe(n) == "Your task is overdue: Send the label (was due Mar 2 11:55 UTC)."
    assert _count(app, AuditEvent, AuditEvent.action == "task.overdue") == 1


def test_a_stale_worklist_tells_nobody_twice(app, make_staff, make_mention):
    """Two workers read the same worklist: only the compare-and-set lets one of them act.
    Without ``overdue_notified_at IS NULL`` in the UPDATE, the second call notifies again."""
    owner = make_staff("employee")
    tid = _task(app, owner.id, make_mention().id, NOW - timedelta(minutes=5))
    with job_session(app) as s:
        ids = overdue_task_ids(s, NOW)
    assert ids == [tid]
    with job_session(app) as s:
        assert notify_overdue(s, ids, NOW) == [tid]
    with job_session(app) as s:
        assert notify_overdue(s, ids, NOW) == []
    assert _count(app, Notification) == 1


def test_a_task_done_after_the_worklist_was_read_is_not_told(app, make_staff, make_mention):
    owner = make_staff("employee")
    tid = _task(app, owner.id, make_mention().id, NOW - timedelta(minutes=5))
    with job_session(app) as s:
        ids = overdue_task_ids(s, NOW)
    with job_session(app) as s:
        s.get(FollowUpTask, tid).done_at = NOW
    with job_session(app) as s:
        assert notify_overdue(s, ids, NOW) == []


def test_the_scheduled_job_runs_in_its_own_transaction(app, make_staff, make_mention):
    owner = make_staff("employee")
    _task(app, owner.id, make_mention().id, datetime.now(UTC) - timedelta(minutes=1))
    assert run_task_deadlines(app) == 1
    assert run_task_deadlines(app) == 0
    assert _count(app, Notification, Notification.kind == "task_overdue") == 1
