"""The queue's filters (language, priority, overdue, free text, tag), header counts computed
from the same filter as the rows, and the live poll that refreshes both together."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hub.db import job_session
from hub.engagement.presence import touch_presence
from hub.engagement.queue import QueueFilter, change_key, list_queue
from hub.models import Customer, Mention, Staff

NOW = datetime.now(UTC)


def _set(app: Any, mention_id: int, **values: Any) -> None:
    with job_session(app) as s:
        m = s.get(Mention, mention_id)
        for k, v in values.items():
            setattr(m, k, v)


@pytest.fixture
def world(app, make_staff, make_mention):  # type: ignore[no-untyped-def]
    """Five mentions that differ in one attribute each from a plain one."""
    me = make_staff("manager")
    plain = make_mention("@KestrelFootwear where is my order?", handle="ana")
    spanish = make_mention("@KestrelFootwear ¿dónde está mi pedido?", handle="bea")
    urgent = make_mention("@KestrelFootwear URGENT: Wrong SIZE sent", handle="carl")
    late = make_mention("@KestrelFootwear still waiting", handle="DanaK")
    tagged = make_mention("@KestrelFootwear 50% off_code not working", handle="eli")
    _set(app, plain.id, language="en", priority="p3", tags=[])
    _set(app, spanish.id, language="es", priority="p3", tags=[])
    _set(app, urgent.id, language="en", priority="p1", tags=[])
    _set(
        app,
        late.id,
        language="en",
        priority="p3",
        tags=[],
        first_response_due_at=NOW - timedelta(minutes=5),
    )
    _set(app, tagged.id, language=None, priority="p2", tags=["Promo", "web"])
    return me, {"plain": plain, "es": spanish, "p1": urgent, "late": late, "tag": tagged}


def _ids(app: Any, me: Any, **kw: Any) -> set[int]:
    with job_session(app) as s:
        return {m.id for m in list_queue(s, QueueFilter(**kw), s.get(Staff, me.id)).mentions}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, {"plain", "es", "p1", "late", "tag"}),
        ({"language": "es"}, {"es"}),
        ({"language": "en"}, {"plain", "p1", "late"}),
        ({"language": "none"}, {"tag"}),
        ({"priority": "p1"}, {"p1"}),
        ({"priority": "p2"}, {"tag"}),
        ({"overdue": True}, {"late"}),
        ({"q": "wrong size"}, {"p1"}),  # case-insensitive
        ({"q": "dana"}, {"late"}),  # the author's handle
        ({"q": "@danak"}, {"late"}),  # typed as a handle
        ({"q": "50%"}, {"tag"}),  # % is a character, not a wildcard
        ({"q": "f_c"}, {"tag"}),  # so is _
        ({"q": "%"}, {"tag"}),
        ({"q": "_"}, {"tag"}),
        ({"q": "dónde"}, {"es"}),
        ({"q": "nowhere at all"}, set()),
        ({"tag": "promo"}, {"tag"}),  # case-insensitive, whole tag
        ({"tag": "prom"}, set()),
        ({"tag": "WEB"}, {"tag"}),
        ({"language": "en", "priority": "p3"}, {"plain", "late"}),  # filters combine
        ({"language": "en", "overdue": True, "q": "waiting"}, {"late"}),
        ({"status": "closed", "language": "es"}, set()),
    ],
)
def test_each_filter_selects_what_it_says(app, world, filters, expected):
    me, ms = world
    assert _ids(app, me, **filters) == {ms[k].id for k in expected}


def test_overdue_leaves_out_answered_and_closed_mentions(app, world):
    me, ms = world
    _set(app, ms["p1"].id, first_response_due_at=NOW - timedelta(minutes=1))
    _set(app, ms["plain"].id, first_response_due_at=NOW - timedelta(minutes=1), status="closed")
    _set(
        app,
        ms["es"].id,
        first_response_due_at=NOW - timedelta(minutes=1),
        first_response_at=NOW - timedelta(minutes=2),
    )
    assert _ids(app, me, overdue=True, status="all") == {ms["late"].id, ms["p1"].id}


def test_keyset_paging_walks_a_filtered_queue_once(app, make_staff, make_mention):
    me = make_staff("manager")
    wanted = set()
    for i in range(23):
        m = make_mention(f"@KestrelFootwear {'refund' if i % 2 else 'hello'} {i}")
        _set(app, m.id, priority=("p1", "p2", "p3")[i % 3], language="en")
        if i % 2:
            wanted.add(m.id)
    seen: list[Mention] = []
    token = ""
    with job_session(app) as s:
        staff = s.get(Staff, me.id)
        while True:
            page = list_queue(s, QueueFilter(q="REFUND", after=token), staff, page_size=4)
            seen += page.mentions
            assert page.total == len(wanted)
            if not page.next_token:
                break
            token = page.next_token
    assert [m.id for m in seen if m.id in wanted] == [m.id for m in seen]
    assert len(seen) == len(wanted) == len({m.id for m in seen})
    keys = [(m.priority, m.first_response_due_at, m.id) for m in seen]
    assert keys == sorted(keys)


def test_counts_come_from_the_same_filter_as_the_rows(app, world, make_mention):
    """Per status under every filter but the status one; blocked customers' mentions nowhere."""
    me, ms = world
    _set(app, ms["late"].id, status="closed")
    _set(app, ms["p1"].id, status="open")
    blocked = make_mention("@KestrelFootwear spam spam", handle="spammer")
    with job_session(app) as s:
        c = Customer(display_name="spammer", tags=[], blocked=True)
        s.add(c)
        s.flush()
        s.get(Mention, blocked.id).customer_id = c.id
        s.get(Mention, blocked.id).language = "en"
        staff = s.get(Staff, me.id)
        page = list_queue(s, QueueFilter(language="en"), staff)
        assert page.counts == {"new": 1, "open": 1, "closed": 1}
        assert page.total == len(page.mentions) == 2  # "needs action": new and open
        closed = list_queue(s, QueueFilter(language="en", status="closed"), staff)
        assert closed.counts == page.counts and closed.total == len(closed.mentions) == 1
        everything = list_queue(s, QueueFilter(status="all"), staff)
        assert everything.counts == {"new": 3, "open": 1, "closed": 1}
        assert everything.total == 5


def test_a_blocked_customers_waiting_and_closed_mentions_are_not_counted(
    app, world, make_mention, monkeypatch
):
    """The capped statuses are counted whoever the customer is, then the blocked customers'
    mentions are taken off: a blocked customer's pending and closed mentions count nowhere,
    and a count that reached the cap stays "1,000+" (here 3+) even with some of them in it."""
    from hub.engagement import queue

    me, ms = world
    _set(app, ms["late"].id, status="closed")
    _set(app, ms["p1"].id, status="pending")
    troll = [make_mention(f"@KestrelFootwear spam {i}", handle="troll") for i in range(3)]
    with job_session(app) as s:
        blocked = s.get(Customer, troll[0].customer_id)
        blocked.blocked = True
    _set(app, troll[0].id, status="pending")
    _set(app, troll[1].id, status="closed")
    _set(app, troll[2].id, status="closed")
    with job_session(app) as s:
        page = list_queue(s, QueueFilter(status="all"), s.get(Staff, me.id))
        assert page.counts == {"new": 3, "pending": 1, "closed": 1}, page.counts
        assert {m.id for m in page.mentions}.isdisjoint({m.id for m in troll})
        monkeypatch.setattr(queue, "COUNT_CAP", 2)  # closed: 3 rows, two of them the troll's
        page = list_queue(s, QueueFilter(status="all"), s.get(Staff, me.id))
        assert page.counts["closed"] == 2 and "closed" in page.capped
        assert page.counts["pending"] == 1 and "pending" not in page.capped


def test_the_page_keeps_every_filter_in_its_links(app, client, world, login):
    me, ms = world
    app.config["QUEUE_PAGE_SIZE"] = 1
    for m in ms.values():
        _set(app, m.id, language="es", tags=["x"])
    login(client, me)
    html = client.get("/queue?language=es&priority=p3&overdue=&q=e&tag=X&scope=all").text
    nxt = re.search(r'href="(/queue\?[^"]*after=[^"]+)"', html)
    assert nxt, "no next-page link"
    link = nxt.group(1).replace("&amp;", "&")
    for part in ("language=es", "priority=p3", "q=e", "tag=X", "scope=all"):
        assert part in link
    live = re.search(r'id="live" hx-get="([^"]+)"', html)
    assert live and "language=es" in live.group(1) and "tag=X" in live.group(1)
    assert 'hx-trigger="every 1s"' in html


@pytest.mark.parametrize(
    "query",
    [
        "q=" + "x" * 201,
        "tag=" + "y" * 41,
        "q=%00abc%00",
        "language=%27;drop",
        "priority=p9",
        "overdue=yes",
        "after=%FF%FE",
        "team=-1",
        "status=nonsense",
    ],
)
def test_bad_filter_values_are_ignored_never_a_500(client, world, login, query):
    me, ms = world
    login(client, me)
    resp = client.get(f"/queue?{query}")
    assert resp.status_code == 200
    assert '<table class="grid queue">' in resp.text


def test_a_search_too_long_is_refused_with_a_message(client, world, login):
    me, _ms = world
    login(client, me)
    html = client.get("/queue?q=" + "x" * 201).text
    assert "at most 200 characters; ignored" in html
    assert html.count('data-mention="') == 5  # the search was not run, not run cut


def test_the_header_counts_follow_the_filter(client, world, login):
    me, ms = world
    login(client, me)
    html = client.get("/queue?language=es").text
    counts = re.search(r'<p id="counts".*?</p>', html, re.S)
    assert counts
    assert "1 mention matches" in counts.group(0)
    assert re.search(r'data-status="new"[^>]*>new 1<', counts.group(0))


# --- the live poll ---


def _live(client: Any, url: str, ids: str = "") -> Any:
    """The poll as htmx sends it (with the ticked rows' ids, if any)."""
    url = f"{url}&ids={ids}" if ids else url
    return client.get(url, headers={"HX-Request": "true"})


def _live_url(html: str) -> str:
    m = re.search(r'id="live" hx-get="([^"]+)"', html)
    assert m
    return m.group(1).replace("&amp;", "&")


def test_an_unchanged_queue_answers_204(client, world, login):
    me, _ms = world
    login(client, me)
    url = _live_url(client.get("/queue").text)
    resp = _live(client, url)
    assert resp.status_code == 204 and resp.data == b""


def test_a_new_mention_refreshes_rows_and_counts_in_one_answer(client, world, login, make_mention):
    me, _ms = world
    login(client, me)
    url = _live_url(client.get("/queue").text)
    fresh = make_mention("@KestrelFootwear brand new question", handle="zed")
    resp = _live(client, url)
    assert resp.status_code == 200
    html = resp.text
    assert f'data-mention="{fresh.id}"' in html
    assert '<div id="rows" hx-swap-oob="true">' in html
    counts = re.search(r'<p id="counts" class="counts" hx-swap-oob="true">.*?</p>', html, re.S)
    assert counts and "6 mentions match" in counts.group(0)
    # the new poller carries the new key: asked again, nothing changed
    assert _live(client, _live_url(html)).status_code == 204


def test_a_change_of_status_refreshes_too(app, client, world, login):
    me, ms = world
    login(client, me)
    url = _live_url(client.get("/queue").text)
    client.post(f"/mentions/{ms['plain'].id}/claim")  # audited, so the key moves
    resp = _live(client, url)
    assert resp.status_code == 200 and "Morgan" not in resp.text
    assert re.search(r'data-status="open"[^>]*>open 1<', resp.text)


def test_while_rows_are_ticked_only_the_new_bar_comes_back(client, world, login, make_mention):
    """Breaks when the poll ignores the ticked ids: the rows (and the ticks) would be replaced."""
    me, ms = world
    login(client, me)
    url = _live_url(client.get("/queue").text)
    make_mention("@KestrelFootwear one more", handle="yan")
    make_mention("@KestrelFootwear and another", handle="xia")
    resp = _live(client, url, ids=str(ms["plain"].id))
    assert resp.status_code == 200
    assert 'id="rows"' not in resp.text and 'id="counts"' not in resp.text
    assert "2 new mentions" in resp.text
    # the bar stays until the person asks; its count is still from the page they look at
    again = _live(client, _live_url(resp.text), ids=str(ms["plain"].id))
    assert again.status_code == 204


def test_new_mentions_outside_the_filter_are_not_counted_as_new(
    app, client, world, login, make_mention
):
    me, ms = world
    login(client, me)
    url = _live_url(client.get("/queue?language=es").text)
    other = make_mention("@KestrelFootwear english again", handle="wu")
    _set(app, other.id, language="en")
    resp = _live(client, url, ids=str(ms["es"].id))
    assert "new mention" not in resp.text


def test_the_poll_opened_outright_goes_to_the_queue(client, world, login):
    me, _ms = world
    login(client, me)
    resp = client.get("/queue/live?language=es&v=1")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/queue?")


def test_the_change_key_moves_on_ingest_audit_and_the_minute(app, world, make_mention):
    me, ms = world
    with job_session(app) as s:
        first = change_key(s, NOW)
        assert change_key(s, NOW) == first
        assert change_key(s, NOW + timedelta(minutes=1)) != first
    make_mention("@KestrelFootwear new")
    with job_session(app) as s:
        second = change_key(s, NOW)
        assert second != first
        from hub.engagement.moderation import claim_mention

        claim_mention(s, s.get(Mention, ms["plain"].id), s.get(Staff, me.id))
    with job_session(app) as s:
        third = change_key(s, NOW)
        assert third != second
        touch_presence(s, ms["es"].id, s.get(Staff, me.id))  # someone starts writing
    with job_session(app) as s:
        assert change_key(s, NOW) != third
