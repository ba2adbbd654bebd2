"""Triage: the attributes computed at ingest, and the routing policy's own examples through the
demo rules (../shared/data/mentions/README.md, "Routing policy")."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from hub.cli import main
from hub.demo import demo_data
from hub.engagement.attributes import History, compute, lookalike_domain, pii_kinds, triage
from hub.engagement.language import detect_language
from hub.engagement.products import catalogue
from hub.engagement.route_eval import demo_rules


def _route(text: str, followers: int | None = 800, history: History | None = None):
    rules, slugs = demo_rules(demo_data())
    attrs, r = triage(
        rules,
        text,
        platform="x",
        account_id=None,
        followers=followers,
        history=history or History(),
    )
    return attrs, slugs.get(r.team_id), r.priority, r


# The routing policy's own examples, and the boundaries it draws, as the README words them.
@pytest.mark.parametrize(
    ("text", "team"),
    [
        (
            "@KestrelFootwear never. buying. from. you. again. lost package, no refund, 3 weeks",
            "escalations",
        ),
        ("@KestrelFootwear you're all pathetic, your shoes are trash", "trust-safety"),
        ("Hola @KestrelFootwear! do the Shoreline sandals come in half sizes?", "sales"),
        ("@KestrelFootwear oye my order never llegó… ayuda porfa", "spanish"),
        (
            "@KestrelFootwear 我的order KF-20394817 还没ship，已经一周了 what's going on??",
            "chinese",
        ),
        ("@KestrelFootwear If I buy the Cirrus Runner and hate it, can I return it?", "sales"),
        (
            "@KestrelFootwear my lawyer will be in touch about the burns from your sandals",
            "escalations",
        ),
        (
            "@KestrelFootwear is kestrel-rewards.net really yours? they want my card number",
            "trust-safety",
        ),
    ],
)
def test_routing_policy_examples(text, team):
    _attrs, got, _prio, r = _route(text)
    assert got == team, r.why()


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        (
            "@KestrelFootwear oye my order never llegó y el tracking dice delivered ayuda porfa",
            "es",
        ),
        ("hola, my order para el cumple de mi hijo still says processing, ¿qué onda?", "es"),
        ("Hola @KestrelFootwear! do the Shoreline sandals come in half sizes?", "en"),
        ("我的order KF-12345678 还没ship what's going on??", "zh"),
        ("🔥🔥🔥", "en"),
        ("mi hija ya no se quita sus tenis de luces ni para dormir", "es"),
        ("¿Tienen las botas Chelsea en talla 40?", "es"),
    ],
)
def test_language_is_the_one_carrying_the_request(text, lang):
    assert detect_language(text) == lang


@pytest.mark.parametrize(
    ("text", "product"),
    [
        ("loving my Cirrus Runners so far", "Kestrel Cirrus Runner"),
        ("does the Cirrus come in wide?", "Kestrel Cirrus Runner Wide"),
        ("my Aerie Mids leak at the toe", "Kestrel Aerie Mid Hiker"),
        ("team Ridgeback all the way", "Kestrel Ridgeback Trail"),
        ("¿cuándo vuelven las botas Chelsea?", "Harlow & Finch Chelsea Boot"),
        ("想入切尔西靴", "Harlow & Finch Chelsea Boot"),
        ("Shift 樂福鞋很好穿", "Kestrel Shift Loafer"),
        ("light-up Fledglings for my toddler?", "Kestrel Fledgling Light-Up"),
        ("my Ridgbacks are shredded", "Kestrel Ridgeback Trail"),  # a typo
        ("screenshot attached", None),  # "scree" is a product only as a word
        ("do you sell block heels at all?", None),
        ("my gift card balance is wrong", None),
    ],
)
def test_product_by_the_names_customers_use(text, product):
    found = catalogue().find(text)
    assert (found.name if found else None) == product


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("order KF-20481736 never came", ["order_number"]),
        ("email me at dana.k@example.org", ["email"]),
        ("write to help@kestrelfootwear.com", []),  # the company's own address
        ("call me at (212) 555-0199", ["phone"]),
        ("text me 555-0143", ["phone"]),
        ("my card 4111 1111 1111 1112 got charged twice", ["card"]),
        ("UPS 1Z999AA10123456784 says delivered", ["tracking"]),
        ("they left it at 1420 Birch St while I was out", ["address"]),
        ("we won 3-1 and ran 21 km", []),
        ("a receipt for 'Greg' in my box", []),
    ],
)
def test_personal_data_kinds(text, kinds):
    assert pii_kinds(text) == kinds


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("claim at kestre1-footwear.co now", "kestre1-footwear.co"),
        ("kestrel-rewards.net/claim", "kestrel-rewards.net"),
        ("support at kestreI-help.com", "kestreI-help.com"),
        ("@kestrelfootwear.bsky.social hi", None),
        ("https://kestrelfootwear.com/p/cirrus", None),
        ("kstrl.co/abc", None),
    ],
)
def test_look_alike_domains(text, found):
    assert lookalike_domain(text) == found


@pytest.mark.parametrize(
    ("text", "trigger"),
    [
        ("my lawyer says otherwise", "legal"),
        ("voy a poner una queja en PROFECO", "legal"),
        ("再不处理我就打12315", "legal"),
        ("I'm a journalist at the Tribune", "press"),
        ("my ankle is sprained from the sole", "safety"),
        ("穿了以后过敏了", "safety"),
        ("your agent hung up on me", "staff_conduct"),
        ("there's an issue with the insole", None),  # "sue" inside "issue" is no lawsuit
    ],
)
def test_words_that_name_a_trigger(text, trigger):
    attrs = compute("@KestrelFootwear " + text + " and the order is wrong")
    if trigger is None:
        assert "legal" not in attrs["triggers"]
    else:
        assert trigger in attrs["triggers"], attrs
        assert trigger in attrs["said"] or trigger in attrs["triggers"]


def test_influencer_complaint_is_an_escalation_and_sticks():
    history = History()
    first, team, prio, _ = _route(
        "@KestrelFootwear the sole of my Ridgeback peeled off halfway up the trail. unreal.",
        followers=180_000,
        history=history,
    )
    assert (team, prio) == ("escalations", "p1")
    assert "vip" in first["triggers"]
    history.add(first)
    later, team, prio, _ = _route(
        "@KestrelFootwear credit where due, the replacement pair arrived overnight. thank you!",
        followers=180_000,
        history=history,
    )
    assert later["history"]["open_escalation"] is True
    assert team == "escalations" and prio == "p2"


def test_repeat_unanswered_complaints_escalate():
    history = History()
    for text in (
        "@KestrelFootwear my order KF-11112222 is a week late",
        "@KestrelFootwear still waiting on KF-11112222, nobody has answered",
    ):
        attrs, *_ = _route(text, history=history)
        history.add(attrs)
    attrs, team, _prio, _ = _route(
        "@KestrelFootwear third time asking. where is KF-11112222??", history=history
    )
    assert "repeated" in attrs["triggers"]
    assert team == "escalations"


def test_a_closed_earlier_mention_is_no_open_escalation():
    history = History()
    history.add({"intent": "complaint", "triggers": ["legal"]}, closed=True)
    assert history.as_dict()["open_escalation"] is False
    history.add({"intent": "complaint", "triggers": ["legal"]})
    assert history.as_dict()["open_escalation"] is True


def test_route_eval_prints_one_json_object(shared_data):
    out = CliRunner().invoke(
        main, ["route", "eval", str(shared_data / "mentions" / "public.jsonl"), "--json"]
    )
    assert out.exit_code == 0, out.output
    result = json.loads(out.output)
    for key in (
        "team_accuracy",
        "priority_accuracy",
        "p1_recall",
        "language_accuracy",
        "intent_accuracy",
        "n",
        "p50_ms",
        "p99_ms",
        "confusion",
        "held_out",
    ):
        assert key in result
    assert result["n"] == 400
    assert result["held_out"]["n"] + result["development"]["n"] == 400
    assert sum(sum(row.values()) for row in result["confusion"].values()) == 400


def test_route_eval_names_a_malformed_line(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "hi", "author": {"handle": "a"}}\n{not json\n', encoding="utf-8")
    out = CliRunner().invoke(main, ["route", "eval", str(bad)])
    assert out.exit_code == 2
    assert "line 2" in out.output
