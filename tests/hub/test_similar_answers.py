"""Similar past answers: ranking by the database's full-text search (SQLite FTS5 BM25 or
PostgreSQL ts_rank_cd; run with HUB_TEST_DB=postgresql for the latter), which mentions count,
the index kept in sync, and the composer showing them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, update

from hub.answers.similar import search_terms, similar_answers
from hub.db import job_session
from hub.models import Mention, OutboundItem

T0 = datetime(2025, 6, 1, tzinfo=UTC)


@pytest.fixture
def answered(app: Any, make_staff: Any, sandbox_account: Any) -> Any:
    """answered(text, reply, language="en", state="sent") -> mention id: a mention and our reply."""
    author = make_staff("employee")
    counter = iter(range(1, 10_000))

    def make(text: str, reply: str | None = None, language: str = "en", state: str = "sent") -> int:
        n = next(counter)
        with job_session(app) as s:
            m = Mention(
                platform="sandbox",
                external_id=f"sim-{n}",
                author_handle=f"cust{n}",
                text=text,
                created_at=T0 + timedelta(minutes=n),
                language=language,
                account_id=sandbox_account.id,
            )
            s.add(m)
            s.flush()
            if reply is not None:
                s.add(
                    OutboundItem(
                        kind="reply",
                        account_id=sandbox_account.id,
                        author_id=author.id,
                        mention_id=m.id,
                        text=reply,
                        state=state,
                        idempotency_key=f"sim-{n}",
                        sent_at=T0 + timedelta(minutes=n) if state == "sent" else None,
                    )
                )
            return m.id

    return make


def _similar(app: Any, mention_id: int) -> list[str]:
    with job_session(app) as s:
        return [a.reply.text for a in similar_answers(s, s.get(Mention, mention_id))]


def test_the_closest_answered_mentions_come_first(app: Any, answered: Any) -> None:
    answered("@KestrelFootwear love my new Glide Knit, so comfy!", "So glad you love them!")
    answered(
        "@KestrelFootwear tracking for my order hasn't moved in a week, where is it?",
        "Sorry! DM us the order number and we'll chase the carrier.",
    )
    answered("@KestrelFootwear do the Shoreline sandals come in half sizes?", "Whole sizes only.")
    answered(
        "@KestrelFootwear my order is late and the tracking page is stuck",
        "That's a long wait: DM us and we'll look.",
    )
    query = answered("@KestrelFootwear my order tracking has been stuck for days, is it lost?")
    found = _similar(app, query)
    assert found[:2] == [
        "That's a long wait: DM us and we'll look.",
        "Sorry! DM us the order number and we'll chase the carrier.",
    ] or found[:2] == [
        "Sorry! DM us the order number and we'll chase the carrier.",
        "That's a long wait: DM us and we'll look.",
    ]
    assert "So glad you love them!" not in found[:2]


def test_only_sent_replies_other_mentions_and_the_same_language_count(
    app: Any, answered: Any
) -> None:
    answered("my order is late", "draft reply", state="draft")
    answered("my order is late", "failed reply", state="failed")
    answered("my order is late", None)
    answered("mi pedido llega tarde order late", "respuesta", language="es")
    answered("my order is late again", "the sent one")
    query = answered("my order is late", "our own reply to this very mention")
    assert _similar(app, query) == ["the sent one"]


def test_the_same_reply_text_is_shown_once(app: Any, answered: Any) -> None:
    for _ in range(3):
        answered("refund still not on my card", "Refunds take 5 days.")
    answered("refund still missing from my card", "Checking your refund now.")
    query = answered("where is my refund, not on my card")
    assert sorted(_similar(app, query)) == ["Checking your refund now.", "Refunds take 5 days."]


def test_chinese_is_matched_by_character_pairs(app: Any, answered: Any) -> None:
    answered(
        "@KestrelFootwear 物流一直没更新，订单还没到", "抱歉！请私信订单号，我们帮您查物流。", "zh"
    )
    answered("@KestrelFootwear 鞋子很舒服，谢谢", "谢谢喜欢！", "zh")
    query = answered("@KestrelFootwear 我的物流三天没更新了", None, "zh")
    assert _similar(app, query)[0] == "抱歉！请私信订单号，我们帮您查物流。"


def test_the_index_follows_edits_and_deletes(app: Any, answered: Any) -> None:
    old = answered("the insole squeaks", "Try the Arch Insole.")
    query = answered("my laces snapped", None)
    assert _similar(app, query) == []
    with job_session(app) as s:
        s.execute(update(Mention).where(Mention.id == old).values(text="my laces broke"))
    assert _similar(app, query) == ["Try the Arch Insole."]
    with job_session(app) as s:
        s.execute(delete(OutboundItem).where(OutboundItem.mention_id == old))
        s.execute(delete(Mention).where(Mention.id == old))
    assert _similar(app, query) == []


def test_handles_links_and_function_words_are_not_searched() -> None:
    terms = search_terms("@KestrelFootwear the order https://x.co/a and 订单没到 #kestrel")
    assert terms.words == ("order",)
    assert terms.cjk == ("订单没到",)
    assert search_terms("@KestrelFootwear !!!").fts5() == ""


def test_query_text_cannot_inject_search_syntax(app: Any, answered: Any) -> None:
    answered('order "late" OR NEAR(x) * AND', "ok")
    query = answered('"order" OR * NEAR( )" late -- ;\'')
    assert _similar(app, query) == ["ok"]


def test_the_composer_shows_similar_past_answers(
    app: Any, client: Any, login: Any, make_staff: Any, answered: Any
) -> None:
    answered("my Cirrus Runner squeaks on every step", "A squeak usually means the insole: DM us!")
    query = answered("my Cirrus Runners squeak, help")
    login(client, make_staff("employee"))
    page = client.get(f"/answers/composer/{query}", headers={"HX-Request": "true"}).text
    assert "A squeak usually means the insole: DM us!" in page
    assert 'data-answers-text="A squeak usually means the insole: DM us!"' in page
    assert "my Cirrus Runner squeaks on every step" in page
