"""Products beside the conversation (hub.engagement.product_help): what a mention names, price
and stock, for a sold-out product our in-stock alternatives and other shops' from the catalogue,
reply lines in the customer's language, and the sidebar that offers them for one-click insert.

The reply lines must pass the culture check as a reply to the customer's question: G8 asks the
team to point customers to another shop when we can't help."""

from __future__ import annotations

import json
import re
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo

from hub.engagement import product_help, products
from hub.engagement.product_help import (
    help_with,
    named_products,
    our_alternatives,
    product_panel,
    safe_url,
)
from hub.engagement.products import Catalogue
from hub.models import Mention

ROOT = Path(__file__).resolve().parents[2]
#: this feature's translations until they are merged into hub/translations
PENDING_TRANSLATIONS = ROOT / "translations-soldout.json"


@pytest.fixture
def reply_app(app: Any, tmp_path: Path) -> Any:
    """The app with the reply lines translated: strings not yet merged into the shipped
    catalogues (translations-soldout.json) are compiled into one more catalogue directory; once
    merged the file is gone and the shipped catalogues carry them."""
    if PENDING_TRANSLATIONS.exists():
        root = tmp_path / "pending-translations"
        for locale, entries in json.loads(PENDING_TRANSLATIONS.read_text("utf-8")).items():
            catalog = Catalog(locale=locale)
            for msgid, msgstr in entries.items():
                catalog.add(msgid, msgstr)
            folder = root / locale / "LC_MESSAGES"
            folder.mkdir(parents=True)
            with (folder / "messages.mo").open("wb") as f:
                write_mo(f, catalog)
        app.extensions["babel"].translation_directories.append(str(root))
    return app


def _mention(text: str, **attributes: Any) -> Mention:
    """A mention as the sidebar reads it (no database: the service only reads its fields)."""
    language = attributes.pop("language", None)
    return Mention(text=text, language=language, attributes=attributes)


def _catalogue(*extra: dict[str, Any]) -> Catalogue:
    """A small catalogue: a sold-out running shoe, two in-stock ones, one sold-out one, and
    whatever the test adds."""
    base = [
        {
            "sku": "T-1",
            "name": "Test Gale Runner",
            "category": "running",
            "price_usd": 100.0,
            "in_stock": False,
            "url": "https://kestrelfootwear.com/p/gale",
            "aliases": ["gale"],
            "alternatives": [
                {
                    "shop": "PeakPair",
                    "name": "PeakPair Breeze",
                    "url": "https://peakpair.com/p/breeze",
                }
            ],
        },
        {
            "sku": "T-2",
            "name": "Test Near Runner",
            "category": "running",
            "price_usd": 105.0,
            "in_stock": True,
            "url": "https://kestrelfootwear.com/p/near",
            "aliases": ["near runner"],
        },
        {
            "sku": "T-3",
            "name": "Test Far Runner",
            "category": "running",
            "price_usd": 180.0,
            "in_stock": True,
            "url": "https://kestrelfootwear.com/p/far",
            "aliases": ["far runner"],
        },
        {
            "sku": "T-4",
            "name": "Test Twin Runner",
            "category": "running",
            "price_usd": 101.0,
            "in_stock": False,
            "url": "https://kestrelfootwear.com/p/twin",
            "aliases": ["twin runner"],
        },
        {
            "sku": "T-5",
            "name": "Test Boot",
            "category": "hiking",
            "price_usd": 99.0,
            "in_stock": True,
            "url": "https://kestrelfootwear.com/p/boot",
            "aliases": ["test boot"],
        },
    ]
    return Catalogue({"products": [*base, *extra]})


# ------------------------------------------------------------------------------------------
# the shipped catalogue: what a mention names and what the sidebar offers

CASES = [
    # (mention text, product, sold out, our alternatives, other shops)
    (
        "@KestrelFootwear do you have the Cirrus Runner in wide? size 10",
        "Kestrel Cirrus Runner Wide",
        True,
        ["Kestrel Cirrus Runner", "Northloft Pace 2"],
        ["Stride & Co", "PeakPair"],
    ),
    (
        "@KestrelFootwear ¿tienen las botas Chelsea en 40?",
        "Harlow & Finch Chelsea Boot",
        True,
        ["Harlow & Finch Oxford", "Kestrel Shift Loafer"],
        ["Stride & Co", "Calzados Miramar"],
    ),
    (
        "@KestrelFootwear 切尔西靴还有42码吗？",
        "Harlow & Finch Chelsea Boot",
        True,
        ["Harlow & Finch Oxford", "Kestrel Shift Loafer"],
        ["Stride & Co", "Calzados Miramar"],
    ),
    (
        "@KestrelFootwear Tailwind 竞速鞋什么时候补货？",
        "Kestrel Tailwind Racer",
        True,
        ["Kestrel Cirrus Runner", "Northloft Pace 2"],
        ["PeakPair", "Zapatería Luna", "云步鞋城 Yunbu Shoes"],
    ),
    (
        "@KestrelFootwear is the Ridgeback Trail ok in mud?",
        "Kestrel Ridgeback Trail",
        False,
        [],
        [],
    ),
    (
        "@KestrelFootwear ¿las Updraft sirven para maratón?",
        "Kestrel Updraft Trainer",
        False,
        [],
        [],
    ),
]


@pytest.mark.parametrize(("text", "name", "sold_out", "ours", "shops"), CASES)
def test_what_the_sidebar_offers(
    app: Any,
    make_mention: Any,
    text: str,
    name: str,
    sold_out: bool,
    ours: list[str],
    shops: list[str],
) -> None:
    mention = make_mention(text)
    with app.test_request_context():
        panel = product_panel(mention)
    first = panel.products[0]
    assert first.product.name == name
    assert first.product.in_stock is not sold_out
    assert [o.name for o in first.ours] == ours
    assert all(products.catalogue().products[_sku(o.name)].in_stock for o in first.ours)
    assert [o.shop for o in first.elsewhere] == shops
    assert all(o.url.startswith("https://") for o in first.elsewhere)
    if sold_out:
        # one line saying so, one per alternative, each alternative's link in its own line
        assert len(first.suggestions) == 1 + len(ours) + len(shops)
        for offer in (*first.ours, *first.elsewhere):
            assert sum(offer.url in line for line in first.suggestions) == 1
    else:
        assert first.suggestions == (next(s for s in first.suggestions if first.url in s),)


def _sku(name: str) -> str:
    return next(p.sku for p in products.catalogue().products.values() if p.name == name)


def test_the_stored_product_comes_first_then_the_text_is_read() -> None:
    # triage stored the customer's earlier product; the text names two more
    mention = _mention(
        "and the Tailwind Racer? or the Ridgeback?", product="Kestrel Aerie Mid Hiker Women's"
    )
    assert [p.name for p in named_products(mention)] == [
        "Kestrel Aerie Mid Hiker Women's",
        "Kestrel Tailwind Racer",
        "Kestrel Ridgeback Trail",
    ]


def test_without_stored_attributes_the_matcher_reads_the_text() -> None:
    # a mention stored before triage knew products: nothing in its attributes
    assert [p.name for p in named_products(_mention("my Ridgback trails are toast"))] == [
        "Kestrel Ridgeback Trail"
    ]
    assert named_products(_mention("where is my order?")) == []


def test_at_most_three_products() -> None:
    text = "Cirrus, Updraft, Tailwind Racer, Ridgeback, Scree Runner"
    assert len(named_products(_mention(text))) == product_help.MAX_PRODUCTS


# ------------------------------------------------------------------------------------------
# guards


def test_only_in_stock_products_are_our_alternatives() -> None:
    # T-4 is the nearest in price but sold out itself; T-5 is close but another category
    cat = _catalogue()
    assert [p.sku for p in our_alternatives(cat.products["T-1"], cat)] == ["T-2", "T-3"]


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://peakpair.com/p/breeze", True),
        ("http://zapaterialuna.mx/x", True),
        ("javascript:alert(1)", False),
        ("javascript://peakpair.com/%0Aalert(1)", False),  # a host, but not http(s)
        ("JavaScript:alert(1)", False),
        ("data:text/html,<script>alert(1)</script>", False),
        ("//peakpair.com/p/breeze", False),
        ("peakpair.com/p/breeze", False),
        ("https://", False),
        ("http://[::1", False),
        (None, False),
        (42, False),
    ],
)
def test_only_http_links_leave_the_catalogue(url: Any, safe: bool) -> None:
    assert (safe_url(url) != "") is safe


def test_an_unsafe_catalogue_link_is_neither_linked_nor_inserted(app: Any) -> None:
    cat = _catalogue(
        {
            "sku": "T-9",
            "name": "Test Trap",
            "category": "trail",
            "price_usd": 10.0,
            "in_stock": False,
            "url": "javascript:alert('ours')",
            "aliases": ["trap"],
            "alternatives": [
                {"shop": "Evil", "name": "Evil Shoe", "url": "javascript:alert('theirs')"}
            ],
        }
    )
    with app.test_request_context():
        h = help_with(cat.products["T-9"], "en", cat)
    assert h.url == "" and h.elsewhere[0].url == ""
    assert not any("javascript" in s for s in h.suggestions)
    assert h.suggestions == ("Sorry, the Test Trap is sold out right now.",)


def test_an_in_stock_product_offers_no_alternatives(app: Any) -> None:
    cat = _catalogue()
    with app.test_request_context():
        h = help_with(cat.products["T-2"], "en", cat)
    assert h.ours == () and h.elsewhere == ()
    assert h.suggestions == (
        "Good news: the Test Near Runner is in stock ($105.00): https://kestrelfootwear.com/p/near",
    )


@pytest.mark.parametrize(("stage", "offered"), [("pre_purchase", True), ("order", False)])
def test_in_stock_is_news_only_before_buying(
    app: Any, monkeypatch: pytest.MonkeyPatch, stage: str, offered: bool
) -> None:
    """A customer whose sole is peeling off is not told the shoe is in stock; its link stays."""
    cat = _catalogue()
    monkeypatch.setattr(products, "catalogue", lambda: cat)
    mention = _mention("the near runner", stage=stage, language="en")
    with app.test_request_context():
        panel = product_panel(mention, cat)
    (near,) = panel.products
    assert near.url == "https://kestrelfootwear.com/p/near"
    assert bool(near.suggestions) is offered


def test_the_lines_for_a_sold_out_product(app: Any) -> None:
    cat = _catalogue()
    with app.test_request_context():
        h = help_with(cat.products["T-1"], "en", cat)
    assert h.suggestions == (
        "Sorry, the Test Gale Runner is sold out right now.",
        "The Test Near Runner is close and we have it ($105.00): https://kestrelfootwear.com/p/near",
        "The Test Far Runner is close and we have it ($180.00): https://kestrelfootwear.com/p/far",
        # the shop's name is not said twice ("PeakPair has the PeakPair Breeze")
        "If you'd rather not wait, PeakPair has the Breeze: https://peakpair.com/p/breeze",
    )


# ------------------------------------------------------------------------------------------
# the customer's language, whatever the agent's


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("es", "Lo siento, ahora mismo no nos quedan Kestrel Cirrus Runner Wide."),
        ("zh", "抱歉，Kestrel Cirrus Runner Wide 现在卖完了，暂时没有货。"),
        ("en", "Sorry, the Kestrel Cirrus Runner Wide is sold out right now."),
        ("pt", "Sorry, the Kestrel Cirrus Runner Wide is sold out right now."),  # not served: en
    ],
)
def test_lines_are_in_the_mentions_language(reply_app: Any, language: str, expected: str) -> None:
    mention = _mention("cirrus wide?", language=language)
    with reply_app.test_request_context(headers={"Accept-Language": "en"}):
        panel = product_panel(mention)
    assert panel.products[0].suggestions[0] == expected


# ------------------------------------------------------------------------------------------
# the culture check allows the lines as a reply to the customer's question

QUESTIONS = {
    "en": "@KestrelFootwear is the {name} coming back? I really need a pair before my trip",
    "es": "@KestrelFootwear ¿cuándo vuelven a tener las {name}? Las necesito para mi viaje",
    "zh": "@KestrelFootwear 请问 {name} 什么时候会补货？我等了好久了",
}


@pytest.mark.parametrize("language", ["en", "es", "zh"])
def test_the_lines_pass_the_culture_check_as_a_reply(
    reply_app: Any, session: Any, make_staff: Any, language: str
) -> None:
    """Every product of the catalogue, each line alone and the three a sold-out answer is
    made of (sorry + ours + another shop's), as a reply on X: verdict allow."""
    from hub.publishing.compose import check_text

    # the verdicts are under test, not the latency: the first Spanish-or-English call builds
    # the language detector, which can pass the 500 ms budget on a busy machine
    reply_app.config["POLICY_CHECK_BUDGET_MS"] = 60_000
    agent = make_staff("employee")
    cat = products.catalogue()
    problems = []
    checked = 0
    with reply_app.test_request_context():
        for product in cat.products.values():
            h = help_with(product, language, cat)
            question = QUESTIONS[language].format(name=product.name)
            drafts = list(h.suggestions)
            if not product.in_stock:
                assert h.elsewhere, product.name  # every sold-out product has somewhere else
                drafts.append(
                    " ".join(h.suggestions[: 1 + min(1, len(h.ours))] + h.suggestions[-1:])
                )
            for text in drafts:
                decision = check_text(session, agent, text, "x", "reply", in_reply_to=question)
                checked += 1
                if decision.verdict != "allow":
                    problems.append((text, [(f.rule_id, f.message) for f in decision.findings]))
    assert checked > 60
    assert problems == [], "\n".join(map(str, problems))


def test_the_check_still_warns_on_trash_talk_next_to_a_link(
    session: Any, app: Any, make_staff: Any
) -> None:
    """The pack lets a competitor recommendation with its link through; a dig does not."""
    from hub.publishing.compose import check_text

    agent = make_staff("employee")
    with app.test_request_context():
        decision = check_text(
            session,
            agent,
            "PeakPair has the Tempo Wide but it's garbage that falls apart: "
            "https://peakpair.com/products/tempo-wide",
            "x",
            "reply",
            in_reply_to="any wide runners?",
        )
    assert decision.verdict != "allow"
    assert "g8-competitor-trash-talk" in {f.rule_id for f in decision.findings}


# ------------------------------------------------------------------------------------------
# the sidebar


def _page(client: Any, mention_id: int) -> str:
    resp = client.get(f"/mentions/{mention_id}")
    assert resp.status_code == 200, resp.text
    return resp.text


def test_the_sidebar_shows_a_sold_out_product_with_alternatives_and_insert_buttons(
    client: Any, login: Any, make_staff: Any, make_mention: Any
) -> None:
    login(client, make_staff("employee"))
    mention = make_mention("@KestrelFootwear is the Fledgling Light-Up coming back?")
    html = _page(client, mention.id)
    panel = html[
        html.index('id="products"') : html.index("</section>", html.index('id="products"'))
    ]
    assert "Kestrel Fledgling Light-Up" in panel and "sold out" in panel
    assert "Kestrel Fledgling Sneaker Kids" in panel  # ours, in stock
    assert 'href="https://stridecompany.com/products/kids-glow"' in panel
    inserts = [unescape(v) for v in re.findall(r'data-insert="([^"]*)"', panel)]
    assert "https://stridecompany.com/products/kids-glow" in inserts
    assert any(v.startswith("If you'd rather not wait, Stride & Co has the") for v in inserts)
    # the buttons start hidden: insert.js shows them only where there is a reply box
    assert all("hidden" in b for b in re.findall(r"<button[^>]*data-insert[^>]*>", panel))
    assert '<script src="/static/insert.js" defer></script>' in html


def test_no_products_no_sidebar(
    client: Any, login: Any, make_staff: Any, make_mention: Any
) -> None:
    login(client, make_staff("employee"))
    mention = make_mention("@KestrelFootwear where is my order?")
    html = _page(client, mention.id)
    assert 'id="products"' not in html and "insert.js" not in html


def test_the_sidebar_escapes_catalogue_text(
    client: Any, login: Any, make_staff: Any, make_mention: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    hostile = _catalogue(
        {
            "sku": "T-X",
            "name": "Zorblax <script>alert('name')</script>",
            "category": "running",
            "price_usd": 100.0,
            "in_stock": False,
            "url": 'https://kestrelfootwear.com/p/x"><script>alert(1)</script>',
            "aliases": ["zorblax"],
            "alternatives": [
                {
                    "shop": "<img src=x onerror=alert('shop')>",
                    "name": "Shoe\" onmouseover=\"alert('attr')",
                    "url": "https://peakpair.com/p/<b>bold</b>",
                }
            ],
        }
    )
    monkeypatch.setattr(products, "catalogue", lambda: hostile)
    login(client, make_staff("employee"))
    mention = make_mention("@KestrelFootwear is the zorblax back?")
    html = _page(client, mention.id)
    panel = html[
        html.index('id="products"') : html.index("</section>", html.index('id="products"'))
    ]
    assert "<script>" not in panel and "<img" not in panel and "<b>" not in panel
    assert 'onmouseover="' not in panel
    assert "Zorblax &lt;script&gt;alert(" in panel
    assert "&lt;img src=x onerror=alert(" in panel
    # the attribute carries the text, escaped, and gives it back whole to the insert button
    inserts = [unescape(v) for v in re.findall(r'data-insert="([^"]*)"', panel)]
    assert any("Shoe\" onmouseover=\"alert('attr')" in v for v in inserts)


def test_compliance_sees_the_products_too(
    client: Any, login: Any, make_staff: Any, make_mention: Any
) -> None:
    # the page is open to compliance (read-only); the panel is information, no reply box
    login(client, make_staff("compliance"))
    mention = make_mention("@KestrelFootwear is the Tailwind Racer back?")
    html = _page(client, mention.id)
    assert 'id="products"' in html and 'id="reply-text"' not in html
