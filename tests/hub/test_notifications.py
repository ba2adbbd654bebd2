"""Notifications: the unread count in the header, the page, marking them read."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from hub.db import job_session
from hub.models import AuditEvent, Notification

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _notify(app: Any, staff_id: int, mention_id: int | None, **data: Any) -> int:
    with job_session(app) as s:
        n = Notification(
            staff_id=staff_id,
            kind="sla_breach",
            mention_id=mention_id,
            data={"team": "Care", "minutes_late": 65, "action": "notified"} | data,
            created_at=T0 + timedelta(minutes=len(data)),
        )
        s.add(n)
        s.flush()
        return int(n.id)


def test_the_header_counts_my_unread_notifications(app, client, make_staff, make_mention, login):
    me, other = make_staff("manager"), make_staff("manager")
    m = make_mention()
    _notify(app, me.id, m.id)
    _notify(app, me.id, m.id, action="raised")
    _notify(app, other.id, m.id)
    login(client, me)
    assert "Notifications (2)" in client.get("/queue").text


def test_the_page_lists_newest_first_with_a_link_to_the_mention(
    app, client, make_staff, make_mention, login
):
    me = make_staff("employee")
    m = make_mention()
    older = _notify(app, me.id, m.id)
    newer = _notify(app, me.id, m.id, action="reassigned")
    login(client, me)
    page = client.get("/notifications").text
    assert re.findall(r'data-notification="(\d+)"', page) == [str(newer), str(older)]
    assert "Care: a first response is 1 h 5 min late; it was given to someone else." in page
    assert "Care: a first response is 1 h 5 min late." in page
    assert f'href="/mentions/{m.id}"' in page


def test_the_page_speaks_the_readers_language(app, client, make_staff, make_mention, login):
    me = make_staff("employee")
    _notify(app, me.id, make_mention().id)
    login(client, me)
    page = client.get("/notifications", headers={"Accept-Language": "zh"}).text
    assert '<html lang="zh-Hans">' in page


def test_mark_all_read_touches_only_my_own_and_is_audited(
    app, client, make_staff, make_mention, login
):
    me, other = make_staff("employee"), make_staff("employee")
    m = make_mention()
    _notify(app, me.id, m.id)
    theirs = _notify(app, other.id, m.id)
    login(client, me)
    assert client.post("/notifications/read").status_code == 302
    assert "Notifications (0)" in client.get("/notifications").text
    with job_session(app) as s:
        assert s.get(Notification, theirs).read_at is None
        unread_mine = s.scalar(
            select(func.count())
            .select_from(Notification)
            .where(Notification.staff_id == me.id, Notification.read_at.is_(None))
        )
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "notifications.read")).one()
    assert unread_mine == 0
    assert (ev.actor_id, ev.data["count"]) == (me.id, 1)
    client.post("/notifications/read")  # nothing left: nothing recorded
    with job_session(app) as s:
        assert s.scalar(select(func.count()).where(AuditEvent.action == "notifications.read")) == 1


def test_mark_all_read_needs_its_csrf_token(app, make_staff, make_mention, login, csrf_token):
    app.config["WTF_CSRF_ENABLED"] = True
    me = make_staff("employee")
    n = _notify(app, me.id, make_mention().id)
    client = app.test_client()
    token = csrf_token(client.get("/login").text)
    client.post("/login", data={"email": me.email, "password": "password123", "csrf_token": token})
    assert client.post("/notifications/read").status_code == 400
    with job_session(app) as s:
        assert s.get(Notification, n).read_at is None
    token = csrf_token(client.get("/notifications").text)
    assert client.post("/notifications/read", data={"csrf_token": token}).status_code == 302
    with job_session(app) as s:
        assert s.get(Notification, n).read_at is not None


def test_a_breach_reaches_the_leads_page(app, client, make_staff, make_mention, login):
    from hub.engagement.deadlines import act_on_breaches
    from hub.models import Mention, Team

    lead = make_staff("manager")
    m = make_mention()
    with job_session(app) as s:
        team = Team(slug="care", name="Care", lead_id=lead.id)
        s.add(team)
        s.flush()
        row = s.get(Mention, m.id)
        row.team_id = team.id
        row.first_response_due_at = T0
    with job_session(app) as s:
        act_on_breaches(s, T0 + timedelta(minutes=12))
    login(client, lead)
    page = client.get("/notifications").text
    assert "Care: a first response is 12 min late." in page
