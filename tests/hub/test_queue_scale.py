"""The queue at scale: header counts capped for the statuses nobody acts on, exact for the
rest; blocked customers' mentions left out without a per-row lookup; and the planner's
statistics that make the first page an index walk (bench/bench_scale.py has the figures)."""

from __future__ import annotations

import os
from typing import Any

import pytest
from sqlalchemy import event, insert, select, text, update

from hub.db import job_session, refresh_statistics
from hub.engagement import queue as queue_mod
from hub.engagement.queue import QueueFilter, list_queue
from hub.models import Customer, Mention, Staff

BACKEND = os.environ.get("HUB_TEST_DB", "sqlite")


def _status(app: Any, ids: list[int], status: str) -> None:
    with job_session(app) as s:
        s.execute(update(Mention).where(Mention.id.in_(ids)).values(status=status))


def test_counts_stop_at_the_cap_for_closed_but_never_for_active(
    app, make_staff, make_mention, monkeypatch, client, login
):
    monkeypatch.setattr(queue_mod, "COUNT_CAP", 3)
    me = make_staff("manager")
    closed = [make_mention(f"@KestrelFootwear thanks {i}").id for i in range(5)]
    active = [make_mention(f"@KestrelFootwear help {i}").id for i in range(5)]
    _status(app, closed, "closed")
    _status(app, active[:2], "open")
    with job_session(app) as s:
        page = list_queue(s, QueueFilter(status="all"), s.get(Staff, me.id))
        assert page.counts == {"closed": 3, "new": 3, "open": 2}
        assert page.capped == {"closed", "total"}
        active_page = list_queue(s, QueueFilter(), s.get(Staff, me.id))
        assert active_page.total == 5 and active_page.capped == {"closed"}  # total exact
        closed_page = list_queue(s, QueueFilter(status="closed"), s.get(Staff, me.id))
        assert closed_page.total == 3 and "total" in closed_page.capped
    login(client, me)
    header = client.get("/queue?status=closed").text
    assert "3+ mentions match" in header
    assert 'data-status="closed" class="on">closed 3+<' in header
    assert 'data-status="new" class="">new 3<' in header


def test_a_blocked_customers_mentions_are_left_out_and_customerless_ones_kept(
    app, make_staff, make_mention
):
    me = make_staff("manager")
    kept = make_mention("@KestrelFootwear hello", handle="kind")
    hidden = make_mention("@KestrelFootwear spam spam", handle="troll")
    loose = make_mention("@KestrelFootwear no customer", handle="ghost")
    with job_session(app) as s:
        s.execute(update(Customer).where(Customer.id == hidden.customer_id).values(blocked=True))
        s.execute(update(Mention).where(Mention.id == loose.id).values(customer_id=None))
    with job_session(app) as s:
        page = list_queue(s, QueueFilter(), s.get(Staff, me.id))
        assert {m.id for m in page.mentions} == {kept.id, loose.id}
        assert page.counts == {"new": 2}


def test_statistics_make_the_first_page_a_walk_of_the_active_index(app, make_staff, make_mention):
    if BACKEND != "sqlite":
        pytest.skip("the plan asserted is SQLite's (PostgreSQL's: bench/bench_scale.py)")
    me = make_staff("manager")
    seed = make_mention("@KestrelFootwear hi")
    with job_session(app) as s:
        row = {
            c: getattr(s.get(Mention, seed.id), c)
            for c in [col.key for col in Mention.__table__.c]
            if c != "id"
        }
        s.execute(
            insert(Mention),
            [
                {**row, "external_id": f"bulk{i}", "status": "closed" if i % 20 else "open"}
                for i in range(3000)
            ],
        )
    engine = app.extensions["hub.engine"]
    assert "mentions" in refresh_statistics(engine)
    assert "mentions" not in refresh_statistics(engine)  # nothing changed since
    seen: list[tuple[str, Any]] = []

    def capture(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        if "ORDER BY mentions.priority" in statement:
            seen.append((statement, params))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        with job_session(app) as s:
            list_queue(s, QueueFilter(), s.get(Staff, me.id))
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    ((statement, params),) = seen
    with engine.connect() as conn:
        plan = " | ".join(
            row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params)
        )
    assert "ix_mentions_active" in plan and "TEMP B-TREE" not in plan, plan


def test_statistics_follow_a_table_that_grew(app, make_mention):
    engine = app.extensions["hub.engine"]
    refresh_statistics(engine, force=True)
    assert refresh_statistics(engine) == []
    seed = make_mention("@KestrelFootwear hi")
    with job_session(app) as s:
        seeded = s.get(Mention, seed.id)
        row = {col.key: getattr(seeded, col.key) for col in Mention.__table__.c}
        del row["id"]
        s.execute(insert(Mention), [{**row, "external_id": f"g{i}"} for i in range(1500)])
    if BACKEND == "postgresql":
        # the statistics collector reports changes asynchronously
        with job_session(app) as s:
            s.execute(select(text("pg_stat_force_next_flush()")))
    assert "mentions" in refresh_statistics(engine)
