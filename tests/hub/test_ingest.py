"""Ingest: one row per mention whatever the repeats, and all-or-nothing per batch."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from connectors.base import Author, Batch, IncomingMention
from hub.db import job_session
from hub.engagement.ingest import ingest_batch
from hub.models import AuditEvent, Customer, Mention, PlatformAccount


def _mention(
    ext: str, text: str = "@KestrelFootwear where is my order?", handle: str = "dana", **kw
):  # type: ignore[no-untyped-def]
    return IncomingMention(
        platform="sandbox",
        external_id=ext,
        author=Author(platform_id=handle, handle=handle),
        text=text,
        created_at=datetime(2025, 6, 2, tzinfo=UTC),
        **kw,
    )


def _ingest(app, account_id, batch):  # type: ignore[no-untyped-def]
    with job_session(app) as s:
        return ingest_batch(s, s.get(PlatformAccount, account_id), batch)


def _query_plans(engine, keep, run):  # type: ignore[no-untyped-def]
    """SQLite's EXPLAIN QUERY PLAN, one line per query, of every SELECT that ``run()`` sends
    and ``keep(statement)`` accepts."""
    from sqlalchemy import event

    statements: list[tuple[str, object]] = []

    def capture(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT") and keep(statement):
            statements.append((statement, params))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        run()
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    with engine.connect() as conn:
        return [
            " | ".join(str(r[-1]) for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + st, p))
            for st, p in statements
        ]


def _count(app, model=Mention) -> int:  # type: ignore[no-untyped-def]
    with job_session(app) as s:
        return s.scalar(select(func.count()).select_from(model))


def test_same_batch_twice_gives_one_row_per_mention(app, sandbox_account):
    batch = Batch([_mention("1"), _mention("2", handle="lee"), _mention("3")], cursor="3")
    first = _ingest(app, sandbox_account.id, batch)
    second = _ingest(app, sandbox_account.id, batch)
    assert (first.inserted, first.duplicates) == (3, 0)
    assert (second.inserted, second.duplicates) == (0, 3)
    assert _count(app) == 3
    assert _count(app, Customer) == 2  # dana wrote twice: one customer


def test_exception_after_insert_leaves_no_row_and_cursor_unchanged(
    app, sandbox_account, monkeypatch
):
    import hub.engagement.ingest

    _ingest(app, sandbox_account.id, Batch([_mention("1")], cursor="1"))
    events_before = _count(app, AuditEvent)

    def boom(*a, **k):  # type: ignore[no-untyped-def]
        raise RuntimeError("crash after the inserts, before the cursor")

    monkeypatch.setattr(hub.engagement.ingest, "_advance_cursor", boom)
    with pytest.raises(RuntimeError):
        _ingest(app, sandbox_account.id, Batch([_mention("2"), _mention("3")], cursor="3"))
    assert _count(app) == 1
    assert _count(app, AuditEvent) == events_before
    with job_session(app) as s:
        assert s.get(PlatformAccount, sandbox_account.id).cursor == "1"


def test_stream_with_redeliveries_stores_each_mention_once(app, sandbox_account, shared_data):
    rows = [
        json.loads(line)
        for line in (shared_data / "mentions" / "stream.jsonl").read_text().splitlines()
    ]
    unique = {r["external_id"] for r in rows}
    repeats = len(rows) - len(unique)
    assert repeats > 0.02 * len(rows)  # the file really has its ~3% re-deliveries

    def to_mention(r):  # type: ignore[no-untyped-def]
        return IncomingMention(
            platform="sandbox",
            external_id=r["external_id"],
            author=Author(
                platform_id=r["author"]["handle"],
                handle=r["author"]["handle"],
                display_name=r["author"]["display_name"],
            ),
            text=r["text"],
            created_at=datetime.fromisoformat(r["created_at"]),
            in_reply_to_external_id=r["in_reply_to_external_id"],
            url=r["url"],
            raw=r,
        )

    # overlapping pages, as a poller sees them on retries: every page repeats the last 20
    size = 250
    for start in range(0, len(rows), size):
        page = rows[max(0, start - 20) : start + size]
        _ingest(
            app, sandbox_account.id, Batch([to_mention(r) for r in page], cursor=str(start + size))
        )
    assert _count(app) == len(unique)
    with job_session(app) as s:
        per_id = s.execute(
            select(Mention.external_id, func.count())
            .group_by(Mention.external_id)
            .having(func.count() > 1)
        ).all()
    assert per_id == []


def test_odd_payload_is_stored_and_flagged(app, sandbox_account):
    huge = "@KestrelFootwear " + "a" * 30_000 + "\x00\ud800"
    _ingest(
        app,
        sandbox_account.id,
        Batch([_mention("odd", text=huge, problems=("missing created_at",))], cursor="9"),
    )
    with job_session(app) as s:
        m = s.scalars(select(Mention)).one()
        assert "missing created_at" in m.problems
        assert any("cut to" in p for p in m.problems)
        assert any("invalid characters" in p for p in m.problems)
        assert "\x00" not in m.text


def test_follow_up_in_a_thread_stays_with_its_owner(app, sandbox_account, make_staff):
    from hub.engagement.moderation import claim_mention

    agent = make_staff("employee")
    _ingest(app, sandbox_account.id, Batch([_mention("10")], cursor="10"))
    with job_session(app) as s:
        m = s.scalars(select(Mention)).one()
        claim_mention(s, m, s.get(type(agent), agent.id))
    _ingest(
        app,
        sandbox_account.id,
        Batch(
            [
                _mention(
                    "11",
                    text="still nothing, any news?",
                    in_reply_to_external_id="10",
                    thread_root_external_id="10",
                )
            ],
            cursor="11",
        ),
    )
    with job_session(app) as s:
        follow = s.scalars(select(Mention).where(Mention.external_id == "11")).one()
        assert follow.assignee_id == agent.id and follow.status == "open"


def test_the_thread_lookups_search_indexes_not_the_table(app, sandbox_account):
    """Ingest's follow-up lookup and the conversation page's thread read every mention of the
    platform when written as one OR; each of their queries must be an index search."""
    from hub.engagement.conversation import load_conversation
    from hub.engagement.ingest import thread_mention

    engine = app.extensions["hub.engine"]
    if engine.dialect.name != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    follow_up = _mention("t2", in_reply_to_external_id="t1", thread_root_external_id="t1")
    _ingest(app, sandbox_account.id, Batch(mentions=[_mention("t1"), follow_up], cursor="c1"))

    def read_thread() -> None:
        with job_session(app) as s:
            found = thread_mention(s, "sandbox", ["t1"], open_only=True)
            assert found is not None and found.external_id == "t2"
            load_conversation(s, found)

    plans = _query_plans(
        engine,
        lambda st: "FROM mentions" in st and "external_id" in st.split("WHERE", 1)[-1],
        read_thread,
    )
    assert len(plans) >= 4
    # an equality search on one of the two columns, not a range over status or a scan
    assert all("external_id=?" in p and "SCAN" not in p for p in plans), plans


def test_a_batch_of_follow_ups_finds_its_threads_by_index(app, sandbox_account):
    """Ingest looks up all of a batch's reply references at once; with a few dozen of them, and
    no planner statistics yet, each lookup must still search an index on the reference rather
    than read every mention of the platform."""
    engine = app.extensions["hub.engine"]
    if engine.dialect.name != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    _ingest(app, sandbox_account.id, Batch([_mention(f"t{i}") for i in range(30)], "c1"))
    replies = [
        _mention(f"r{i}", in_reply_to_external_id=f"t{i}", thread_root_external_id=f"t{i}")
        for i in range(30)
    ]
    plans = _query_plans(
        engine,
        lambda st: "external_id IN" in st.split("WHERE", 1)[-1],
        lambda: _ingest(app, sandbox_account.id, Batch(replies, cursor="c2")),
    )
    assert len(plans) >= 3  # the repeat check, and the two thread lookups
    assert all("external_id=?" in p and "SCAN" not in p for p in plans), plans
    with job_session(app) as s:
        assert s.scalar(select(func.count()).where(Mention.status == "new")) == 60


@pytest.mark.parametrize(
    ("second_text", "linked"),
    [
        ("@KestrelFootwear it's me again from my other account, KF-20481736 still lost", True),
        ("@KestrelFootwear kf-20481736 any news?", True),  # case does not matter
        ("@KestrelFootwear my order KF-20481799 is late", False),  # another order
        ("@KestrelFootwear where is my order?", False),  # nothing to go by
    ],
)
def test_the_same_order_number_from_a_new_account_is_the_same_customer(
    app, sandbox_account, second_text, linked
):
    first = "@KestrelFootwear order KF-20481736 never arrived"
    _ingest(app, sandbox_account.id, Batch([_mention("1", first, handle="dana")], cursor="1"))
    _ingest(app, sandbox_account.id, Batch([_mention("2", second_text, handle="dk2")], "2"))
    with job_session(app) as s:
        a, b = (s.scalar(select(Mention).where(Mention.external_id == x)) for x in ("1", "2"))
        assert (a.customer_id == b.customer_id) is linked
        merged = s.scalars(select(AuditEvent).where(AuditEvent.action == "customer.merged")).all()
        assert len(merged) == int(linked)
        if linked:
            assert merged[0].subject_id == a.customer_id  # the customer known first is kept
            assert sorted(i.handle for i in a.customer.identities) == ["dana", "dk2"]


def test_a_spammer_quoting_an_order_number_is_not_linked_to_its_owner(app, sandbox_account):
    first = "@KestrelFootwear order KF-20481736 never arrived"
    spam = "@dana KF-20481736 refund ready, claim at kestre1-footwear.co, follow for free crypto"
    _ingest(app, sandbox_account.id, Batch([_mention("1", first, handle="dana")], cursor="1"))
    _ingest(app, sandbox_account.id, Batch([_mention("2", spam, handle="bot7")], cursor="2"))
    with job_session(app) as s:
        a, b = (s.scalar(select(Mention).where(Mention.external_id == x)) for x in ("1", "2"))
        assert b.attributes["intent"] == "spam"
        assert a.customer_id != b.customer_id


def test_one_key_per_order_number(app, sandbox_account):
    from sqlalchemy.exc import IntegrityError

    from hub.customers.linking import key_digest
    from hub.models import CustomerKey

    first = "@KestrelFootwear order KF-20481736 never arrived"
    _ingest(app, sandbox_account.id, Batch([_mention("1", first, handle="dana")], cursor="1"))
    with job_session(app) as s, pytest.raises(IntegrityError):
        c = s.scalar(select(Customer))
        s.add(
            CustomerKey(kind="order", digest=key_digest("order", "KF-20481736"), customer_id=c.id)
        )
        s.flush()


@pytest.mark.parametrize(("window", "abuse_seen"), [(200, 1), (2, 0)])
def test_history_reads_the_newest_mentions_and_counts_them_all(
    app, sandbox_account, monkeypatch, window, abuse_seen
):
    import hub.engagement.ingest as ingest

    monkeypatch.setattr(ingest, "HISTORY_WINDOW", window)
    texts = [
        "@KestrelFootwear you people are worthless clowns, garbage company with garbage shoes",
        "@KestrelFootwear do the Cirrus Runners come in wide?",
        "@KestrelFootwear and in a size 11?",
        "@KestrelFootwear thanks, ordering now",
    ]
    for i, text in enumerate(texts):
        _ingest(app, sandbox_account.id, Batch([_mention(str(i), text, handle="kai")], str(i)))
    with job_session(app) as s:
        last = s.scalar(select(Mention).where(Mention.external_id == "3"))
        assert last.attributes["history"]["earlier"] == 3  # the count is exact either way
        assert last.attributes["history"]["abuse"] == abuse_seen  # the old insult is outside 2


def test_a_merged_customer_keeps_every_key_of_the_mention(app, sandbox_account):
    """The second key of a mention whose customer was just merged is stored on the kept one."""
    from hub.models import CustomerKey

    first = "@KestrelFootwear order KF-20481736 never arrived"
    both = "@KestrelFootwear KF-20481736 again, mail me at kai@example.com"
    _ingest(app, sandbox_account.id, Batch([_mention("1", first, handle="dana")], cursor="1"))
    _ingest(app, sandbox_account.id, Batch([_mention("2", both, handle="kai2")], cursor="2"))
    with job_session(app) as s:
        a, b = (s.scalar(select(Mention).where(Mention.external_id == x)) for x in ("1", "2"))
        assert a.customer_id == b.customer_id
        keys = s.scalars(select(CustomerKey.customer_id)).all()
        assert sorted(keys) == [a.customer_id, a.customer_id]


def test_an_authors_new_handle_and_followers_are_stored(app, sandbox_account):
    """The platform id finds the customer; the handle and follower count are brought up to date,
    and a follower count the platform did not send leaves the stored one."""
    from hub.models import CustomerIdentity

    def by(handle: str, followers: int | None, ext: str) -> IncomingMention:
        return IncomingMention(
            platform="sandbox",
            external_id=ext,
            author=Author("u1", handle, followers=followers),
            text="@KestrelFootwear where is my order?",
            created_at=datetime(2025, 6, 2, tzinfo=UTC),
        )

    def stored() -> tuple[int, str, int | None]:
        with job_session(app) as s:
            (ident,) = s.scalars(select(CustomerIdentity)).all()
            return ident.customer_id, ident.handle, ident.followers

    _ingest(app, sandbox_account.id, Batch([by("dana", 10, "1")], cursor="1"))
    customer, _, _ = stored()
    _ingest(app, sandbox_account.id, Batch([by("dana_k", 12, "2"), by("dana_k", None, "3")], "3"))
    assert stored() == (customer, "dana_k", 12)
    _ingest(app, sandbox_account.id, Batch([by("dana_k", None, "4")], cursor="4"))
    assert stored() == (customer, "dana_k", 12)
    _ingest(app, sandbox_account.id, Batch([by("dana", 15, "5")], cursor="5"))
    assert stored() == (customer, "dana", 15)


def test_a_payload_json_keeps_whole(app, sandbox_account) -> None:
    """The JSON columns' encoder (orjson, hub.db) stores what ``json.dumps`` stored: keys that
    are numbers come back as strings, an integer wider than 64 bits (which orjson refuses)
    whole, text in any script as written; an object neither can encode is refused."""
    from hub.db import _json_dumps

    raw = {"ids": {1: "a"}, "big": 2**70, "name": "Zoë 你好 \u200b", "n": [1.5, None, True]}
    m = IncomingMention(
        platform="sandbox",
        external_id="json-1",
        author=Author("json-author", "json-author"),
        text="@KestrelFootwear hola",
        created_at=datetime(2026, 12, 1, tzinfo=UTC),
        raw=raw,
    )
    with job_session(app) as s:
        ingest_batch(s, s.get(PlatformAccount, sandbox_account.id), Batch([m], None))
    with job_session(app) as s:
        stored = s.scalars(select(Mention.raw).where(Mention.external_id == "json-1")).one()
    assert stored == {
        "ids": {"1": "a"},
        "big": 2**70,
        "name": "Zoë 你好 \u200b",
        "n": [1.5, None, True],
    }
    with pytest.raises(TypeError):
        _json_dumps({"when": object()})


def test_the_ingesting_process_keeps_its_models_out_of_the_collectors_way(app, sandbox_account):
    """prepare_process loads triage's model and freezes it: a full collection no longer reads
    the objects loaded at start (hub worker calls it before polling)."""
    import gc

    from hub.engagement import attributes
    from hub.engagement.ingest import prepare_process

    attributes.model.cache_clear()
    gc.unfreeze()
    try:
        prepare_process()
        model = attributes.model()
        assert model is not None
        assert gc.get_freeze_count() > 0
        # the model's tables are frozen: not in any generation a collection reads
        assert not any(gc.is_tracked(o) and o is model.weights for o in gc.get_objects())
        assert _ingest(app, sandbox_account.id, Batch([_mention("frozen-1")], None)).inserted == 1
    finally:
        gc.unfreeze()
