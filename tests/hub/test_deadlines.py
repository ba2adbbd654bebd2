"""The deadline job with a frozen clock: each breach acted on once, by the team's breach action."""

from __future__ import annotations

import os
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from hub.db import job_session
from hub.engagement.deadlines import act_on, act_on_breaches, overdue_ids
from hub.engagement.present import due_view
from hub.models import AuditEvent, Mention, Notification, Staff, Team

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
DUE = NOW - timedelta(minutes=65)


@pytest.fixture
def late(app: Any, make_staff: Any, make_mention: Any) -> Any:
    """late(action="notify", lead=True, **mention columns) -> (mention id, team id, lead id):
    an unanswered mention of a team, its deadline 65 minutes gone at NOW."""

    def make(action: str = "notify", lead: bool = True, **cols: Any) -> tuple[int, int, Any]:
        lead_id = make_staff("manager").id if lead else None
        m = make_mention("@KestrelFootwear where is my order?")
        with job_session(app) as s:
            team = Team(slug=f"t{m.id}", name=f"Team {m.id}", breach_action=action, lead_id=lead_id)
            s.add(team)
            s.flush()
            row = s.get(Mention, m.id)
            row.team_id = team.id
            row.first_response_due_at = DUE
            for k, v in cols.items():
                setattr(row, k, v)
            return m.id, team.id, lead_id

    return make


def _run(app: Any, now: datetime = NOW) -> list[Any]:
    with job_session(app) as s:
        return act_on_breaches(s, now)


def _count(app: Any, model: Any, *where: Any) -> int:
    with job_session(app) as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_a_breach_is_acted_on_once_when_run_twice(app, late):
    mid, team_id, lead = late()
    first = _run(app)
    assert [(b.mention_id, b.action, b.minutes_late) for b in first] == [(mid, "notified", 65)]
    assert _run(app, NOW + timedelta(minutes=1)) == []
    with job_session(app) as s:
        assert s.get(Mention, mid).sla_breached_at == NOW
        note = s.scalars(select(Notification)).one()
    assert (note.staff_id, note.kind, note.mention_id) == (lead, "sla_breach", mid)
    assert note.data["mention_id"] == mid and note.data["team_id"] == team_id
    assert note.data["minutes_late"] == 65
    assert _count(app, AuditEvent, AuditEvent.action == "mention.sla_breached") == 1


def test_a_stale_worklist_acts_on_nothing_twice(app, late):
    """Two workers read the same worklist: only the compare-and-set lets one of them act.
    Without ``sla_breached_at IS NULL`` in the UPDATE, the second call acts again."""
    mid, _, _ = late()
    with job_session(app) as s:
        ids = overdue_ids(s, NOW)
    assert ids == [mid]
    with job_session(app) as s:
        assert len(act_on(s, ids, NOW)) == 1
    with job_session(app) as s:
        assert act_on(s, ids, NOW) == []
    assert _count(app, Notification) == 1


def test_not_yet_due_answered_or_closed_never_breach(app, late):
    late(first_response_due_at=NOW + timedelta(minutes=1))
    late(first_response_at=NOW - timedelta(minutes=70))
    late(status="closed")
    late(first_response_due_at=None)
    assert _run(app) == []
    assert _count(app, Mention, Mention.sla_breached_at.is_not(None)) == 0
    assert _count(app, Notification) == 0


def test_answered_after_the_worklist_was_read_is_not_acted_on(app, late):
    mid, _, _ = late()
    with job_session(app) as s:
        ids = overdue_ids(s, NOW)
    with job_session(app) as s:
        s.get(Mention, mid).first_response_at = NOW - timedelta(seconds=5)
    with job_session(app) as s:
        assert act_on(s, ids, NOW) == []


def test_no_lead_no_notification_but_still_audited(app, late):
    mid, _, _ = late(lead=False)
    assert [b.action for b in _run(app)] == ["notified"]
    assert _count(app, Notification) == 0
    with job_session(app) as s:
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "mention.sla_breached")).one()
    assert ev.subject_id == mid
    assert ev.data["taken"] == "notified" and ev.data["minutes_late"] == 65
    assert ev.data["lead_notified"] is None


@pytest.mark.parametrize(("before", "after"), [("p3", "p2"), ("p2", "p1"), ("p1", "p1")])
def test_raise_moves_priority_up_one_step(app, late, before, after):
    mid, _, _ = late("raise", priority=before)
    assert [b.action for b in _run(app)] == ["raised"]
    with job_session(app) as s:
        assert s.get(Mention, mid).priority == after
    _run(app, NOW + timedelta(hours=1))
    with job_session(app) as s:
        assert s.get(Mention, mid).priority == after  # raised once, not every run
    assert _count(app, Notification) == 1


def _in_team(app: Any, make_staff: Any, team_id: int, **cols: Any) -> int:
    person = make_staff("employee")
    with job_session(app) as s:
        row = s.get(Staff, person.id)
        row.team_id = team_id
        for k, v in cols.items():
            setattr(row, k, v)
    return int(person.id)


def test_reassign_gives_it_to_the_least_loaded_other_person(app, late, make_staff, make_mention):
    mid, team_id, _ = late("reassign")
    holder = _in_team(app, make_staff, team_id)
    busy = _in_team(app, make_staff, team_id)
    free = _in_team(app, make_staff, team_id)
    _in_team(app, make_staff, team_id, on_duty=False)
    other = make_mention("@KestrelFootwear where is my parcel?")
    with job_session(app) as s:
        s.get(Mention, mid).assignee_id = holder
        s.get(Mention, mid).status = "open"
        s.get(Mention, other.id).assignee_id = busy
    assert [b.action for b in _run(app)] == ["reassigned"]
    with job_session(app) as s:
        assert s.get(Mention, mid).assignee_id == free
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "mention.sla_breached")).one()
    assert (ev.data["assignee_from"], ev.data["assignee_to"]) == (holder, free)
    assert _count(app, Notification) == 1


def test_reassign_with_nobody_else_leaves_it(app, late, make_staff):
    mid, team_id, _ = late("reassign")
    holder = _in_team(app, make_staff, team_id)
    with job_session(app) as s:
        s.get(Mention, mid).assignee_id = holder
    assert [b.action for b in _run(app)] == ["nobody_free"]
    with job_session(app) as s:
        assert s.get(Mention, mid).assignee_id == holder
    assert _count(app, Notification) == 1


def test_reassign_of_a_pool_mention_opens_it(app, late, make_staff):
    mid, team_id, _ = late("reassign")
    person = _in_team(app, make_staff, team_id)
    assert [b.action for b in _run(app)] == ["reassigned"]
    with job_session(app) as s:
        m = s.get(Mention, mid)
        assert (m.assignee_id, m.status) == (person, "open")


@pytest.mark.skipif(
    os.environ.get("HUB_TEST_DB") != "postgresql", reason="row locks: PostgreSQL only"
)
def test_two_concurrent_runs_act_once_on_postgresql(app, late):
    """The second run reads the worklist before the first commits; its UPDATE waits for the
    first one's row lock, then finds sla_breached_at set and changes nothing."""
    late()
    acted: dict[str, Any] = {}
    marked = threading.Event()
    read = threading.Event()

    def first() -> None:
        with job_session(app) as s:
            acted["first"] = len(act_on_breaches(s, NOW))
            marked.set()
            read.wait(10)
            time.sleep(0.5)  # the second run is now blocked on the row lock

    def second() -> None:
        marked.wait(10)
        with job_session(app) as s:
            ids = overdue_ids(s, NOW)
            read.set()
            acted["second"] = len(act_on(s, ids, NOW))
            acted["second_saw"] = len(ids)

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert acted == {"first": 1, "second": 0, "second_saw": 1}
    assert _count(app, Notification) == 1
    assert _count(app, AuditEvent, AuditEvent.action == "mention.sla_breached") == 1


# -- time left, as the queue shows it --------------------------------------------------------


def _mention(**cols: Any) -> Mention:
    base = {"received_at": NOW - timedelta(minutes=60), "status": "new"}
    return Mention(**(base | cols))


@pytest.mark.parametrize(
    ("due_in", "state", "text"),
    [
        (timedelta(hours=3), "ok", "3 h 0 min left"),
        (timedelta(minutes=59), "ok", "59 min left"),  # SLA 119 min: 49% left
        (timedelta(minutes=29), "soon", "29 min left"),  # under 30 min
        (timedelta(days=2, hours=3), "ok", "2 d 3 h left"),
        (timedelta(minutes=-65), "overdue", "overdue by 1 h 5 min"),
        (timedelta(seconds=-30), "overdue", "overdue by 0 min"),
    ],
)
def test_time_left_in_words(app, due_in, state, text):
    with app.test_request_context():
        view = due_view(_mention(first_response_due_at=NOW + due_in), NOW)
    assert view is not None and (view.state, view.text) == (state, text)


def test_under_a_quarter_of_a_long_sla_left_is_soon(app):
    # a 24-hour deadline with 5 hours left: more than 30 min, but under 25 %
    m = _mention(
        received_at=NOW - timedelta(hours=19), first_response_due_at=NOW + timedelta(hours=5)
    )
    with app.test_request_context():
        view = due_view(m, NOW)
    assert view is not None and view.state == "soon"


def test_answered_closed_or_undated_mentions_show_no_deadline(app):
    due = NOW + timedelta(minutes=10)
    with app.test_request_context():
        assert due_view(_mention(first_response_due_at=due, first_response_at=NOW), NOW) is None
        assert due_view(_mention(first_response_due_at=due, status="closed"), NOW) is None
        assert due_view(_mention(first_response_due_at=None), NOW) is None


def test_the_queue_shows_time_left_and_overdue_with_words(app, client, late, make_staff, login):
    late()
    login(client, make_staff("manager"))
    page = client.get("/queue").text
    assert re.search(r'<span class="due overdue">overdue by [^<]+</span>', page)
    page = client.get("/queue", headers={"Accept-Language": "es"}).text
    assert 'class="due overdue"' in page
