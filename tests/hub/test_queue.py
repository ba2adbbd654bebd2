"""The queue: filters and keyset pagination."""

from __future__ import annotations

import re

from sqlalchemy import select

from hub.db import job_session
from hub.engagement.queue import QueueFilter, list_queue
from hub.models import Mention, Staff, Team


def test_keyset_pages_cover_every_mention_once_in_urgency_order(app, make_staff, make_mention):
    me = make_staff("manager")
    for i in range(57):
        make_mention(f"@KestrelFootwear question number {i}", handle=f"c{i % 9}")
    with job_session(app) as s:
        # vary priorities so the order is not just insertion order
        for m in s.scalars(select(Mention)):
            m.priority = ("p1", "p2", "p3")[m.id % 3]
    seen: list[Mention] = []
    token = ""
    with job_session(app) as s:
        staff = s.get(Staff, me.id)
        while True:
            page = list_queue(s, QueueFilter(after=token), staff, page_size=10)
            seen += page.mentions
            if not page.next_token:
                break
            token = page.next_token
    assert len(seen) == 57 and len({m.id for m in seen}) == 57
    keys = [(m.priority, m.first_response_due_at, m.id) for m in seen]
    assert keys == sorted(keys)


def test_filters(app, make_staff, make_mention):
    me = make_staff("manager")
    a, b, c = (make_mention(f"@KestrelFootwear hi {i}") for i in range(3))
    with job_session(app) as s:
        team = Team(slug="care", name="Care")
        s.add(team)
        s.flush()
        s.get(Mention, a.id).team_id = team.id
        s.get(Mention, b.id).assignee_id = me.id
        s.get(Mention, b.id).status = "open"
        s.get(Mention, c.id).status = "closed"
        team_id = team.id
    with job_session(app) as s:
        staff = s.get(Staff, me.id)

        def ids(**kw):  # type: ignore[no-untyped-def]
            return {m.id for m in list_queue(s, QueueFilter(**kw), staff).mentions}

        assert ids() == {a.id, b.id}  # "needs action" hides closed
        assert ids(status="closed") == {c.id}
        assert ids(status="all") == {a.id, b.id, c.id}
        assert ids(team_id=team_id) == {a.id}
        assert ids(assignee="me") == {b.id}
        assert ids(assignee="none") == {a.id}
        assert ids(platform="x") == set()
        assert ids(after="not-a-token") == {a.id, b.id}  # a bad token is ignored, not a 500


def test_queue_page_links_to_the_next_page(client, make_staff, make_mention, login, app):
    app.config["QUEUE_PAGE_SIZE"] = 2
    for i in range(5):
        make_mention(f"@KestrelFootwear hi {i}")
    login(client, make_staff("manager"))
    html = client.get("/queue").text
    assert len(re.findall(r'data-mention="', html)) == 2
    nxt = re.search(r'href="(/queue\?[^"]*after=[^"]+)"', html).group(1).replace("&amp;", "&")
    assert len(re.findall(r'data-mention="', client.get(nxt).text)) == 2


def test_a_queue_row_has_no_template_whitespace_in_its_text_cell(
    client, make_staff, make_mention, login, app
):
    """The mention cell keeps the customer's own line breaks (white-space: pre-wrap), so the
    template's line breaks between the text, its tags and markers must not reach it: each
    one was a blank line in every row."""
    from hub.db import job_session
    from hub.models import Mention

    mention = make_mention("@KestrelFootwear line one\nline two")
    with job_session(app) as s:
        s.get(Mention, mention.id).tags = ["vip", "escalation"]
    login(client, make_staff("manager"))
    html = client.get("/queue").text
    cell = re.search(r'<td class="text">(.*?)</td>', html, re.S).group(1)
    assert "line one\nline two</a>" in cell  # the customer's own break stays
    assert "\n" not in cell.split("</a>", 1)[1]
    assert '</a> <span class="tag">vip</span> <span class="tag">escalation</span>' in cell
