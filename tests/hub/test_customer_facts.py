"""Facts ("don't ask twice"): what a customer told us, and replies asking for it again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hub.customers.facts import Fact, asks_for_known_fact, facts_from_mentions, facts_in_text
from hub.models import Mention

NOW = datetime(2026, 12, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("order KF-20481736 never came", [("order", "KF-20481736")]),
        ("write me at Dana.K@Example.com", [("email", "dana.k@example.com")]),
        ("call +1 (415) 555-0134 please", [("phone", "+1 (415) 555-0134")]),
        ("I wear a size 10.5 in the Cirrus", [("size", "10.5")]),
        ("necesito talla 40 por favor", [("size", "40")]),
        ("我穿40码，太小了", [("size", "40")]),
        ("尺码：42 有货吗", [("size", "42")]),
        ("KF-20481736 only, no phone here", [("order", "KF-20481736")]),
        ("ran 10 miles in 2 days", []),
        ("it came on 2026-12-05, not 12/05/2026", []),
    ],
)
def test_facts_are_read_from_text(text: str, found: list[tuple[str, str]]) -> None:
    assert facts_in_text(text) == found


def _m(i: int, text: str, days: int, **attrs: Any) -> Mention:
    return Mention(id=i, text=text, created_at=NOW - timedelta(days=days), attributes=attrs)


def test_facts_keep_their_mention_and_the_latest_product_and_problem() -> None:
    mentions = [  # newest first, as customer_facts reads them
        _m(3, "size 9 please", 1, intent="question", product="Kestrel Perch Low"),
        _m(2, "KF-20481736 is late!", 3, intent="complaint", stage="shipping", triggers=["churn"]),
        _m(1, "KF-20481736 again", 9, intent="complaint", stage="product", product="Old One"),
    ]
    facts = facts_from_mentions(mentions)
    assert [(f.kind, f.value, f.mention_id) for f in facts] == [
        ("order", "KF-20481736", 2),
        ("size", "9", 3),
        ("product", "Kestrel Perch Low", 3),
        ("problem", "shipping · churn", 2),
    ]
    assert facts[0].at == NOW - timedelta(days=3)


def test_customer_facts_reads_every_platform(app: Any, session: Any) -> None:
    from hub.customers.facts import customer_facts
    from hub.models import Customer

    c = Customer(display_name="Dana")
    session.add(c)
    session.flush()
    for i, (platform, text) in enumerate([("x", "KF-20481736"), ("bluesky", "dana@example.com")]):
        session.add(
            Mention(
                platform=platform,
                external_id=f"e{i}",
                customer_id=c.id,
                author_handle="d",
                text=text,
                created_at=NOW - timedelta(days=i),
            )
        )
    session.commit()
    assert {(f.kind, f.value) for f in customer_facts(session, c.id)} == {
        ("order", "KF-20481736"),
        ("email", "dana@example.com"),
    }


KNOWN = [
    Fact("order", "KF-20481736", 1, NOW),
    Fact("email", "dana@example.com", 1, NOW),
    Fact("phone", "+1 415 555 0134", 1, NOW),
    Fact("size", "10", 2, NOW),
    Fact("product", "Kestrel Perch Low", 2, NOW),
    Fact("problem", "shipping", 2, NOW),
]


@pytest.mark.parametrize(
    ("draft", "language", "asked"),
    [
        ("Sorry! Can you DM us your order number?", "en", ["order"]),
        ("Please send your email address and phone number.", "en", ["email", "phone"]),
        ("What size do you wear?", "en", ["size"]),
        ("Which shoe did you buy?", "en", ["product"]),
        ("What was the problem with the delivery?", "en", ["problem"]),
        ("¿Nos compartes tu número de pedido?", "es", ["order"]),
        ("Por favor envíanos tu correo electrónico", "es", ["email"]),
        ("¿Qué talla usas?", "es", ["size"]),
        ("请提供订单号", "zh", ["order"]),
        ("请告诉我们您的鞋码", "zh", ["size"]),
        ("麻烦私信您的手机号", "zh", ["phone"]),
        ("请提供订单号", None, ["order"]),  # no language: every language is tried
        # not asking: thanks, statements, the fact given back
        ("Thanks, we found order KF-20481736 and it ships today.", "en", []),
        ("Your order number is on its way to the warehouse team.", "en", []),
        ("We have size 10 back in stock.", "en", []),
        ("Gracias, tu pedido ya salió.", "es", []),
        ("您的订单已发货。", "zh", []),
        ("", "en", []),
    ],
)
def test_a_reply_that_asks_for_a_known_fact_is_caught(
    draft: str, language: str | None, asked: list[str]
) -> None:
    assert [f.kind for f in asks_for_known_fact(draft, KNOWN, language)] == asked


def test_only_facts_we_know_count() -> None:
    only_email = [Fact("email", "dana@example.com", 1, NOW)]
    assert asks_for_known_fact("Can you DM us your order number?", only_email, "en") == []
    assert asks_for_known_fact("What's your email?", only_email, "en") == only_email


@pytest.mark.parametrize(
    ("draft", "warned"),
    [
        ("So sorry! Can you DM us your order number so we can look?", True),
        ("¿Nos compartes tu número de pedido por DM?", True),
        ("Thanks for the order number, we're on it and will DM you.", False),
    ],
)
def test_the_live_check_warns_when_a_reply_asks_again(
    app, client, make_staff, make_mention, login, draft, warned
):
    """They gave their order number in an earlier mention; the reply composer's live check says
    so when the draft asks for it again, and names the number."""
    make_mention("@KestrelFootwear order KF-20481736 is late", handle="dana_k")
    later = make_mention("@KestrelFootwear any news??", handle="dana_k")
    login(client, make_staff("manager"))
    resp = client.post("/compose/check", data={"text": draft, "mention_id": later.id})
    assert resp.status_code == 200
    assert ('class="findings asked-again"' in resp.text) is warned
    assert ("KF-20481736" in resp.text) is warned
