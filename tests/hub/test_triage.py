"""Triage: the attributes computed at ingest, and the routing policy's own examples through the
demo rules (../shared/data/mentions/README.md, "Routing policy")."""

from __future__ import annotations

import json
import math
import re
import sys

import pytest
from click.testing import CliRunner

from hub.cli import main
from hub.customers import facts
from hub.demo import demo_data
from hub.engagement import attributes
from hub.engagement.attributes import (
    History,
    compute,
    lookalike_domain,
    pii_kinds,
    stated_contacts,
    triage,
)
from hub.engagement.language import detect_language
from hub.engagement.products import catalogue
from hub.engagement.route_eval import demo_rules
from hub.engagement.routing import route


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


def test_warm_builds_the_language_detector():
    """Ingest warms up once per process; lingua's models (a quarter of a second) must be part
    of it, not of the first mention whose function words leave the language open."""
    from hub.engagement import language

    language._detector.cache_clear()
    attributes.warm()
    assert language._detector.cache_info().currsize == 1


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
        ("the light-up pair got really hot while charging", "safety"),
        ("el cargador se puso caliente y huele a olor a quemado", "safety"),
        ("童鞋充电时烫手", "safety"),
        ("后天要拍婚纱照，鞋还没到", "urgent"),
        ("訂單還顯示待發貨，可以改地址嗎", "urgent"),
        ("mi hermano se casa el domingo y faltan los zapatos", "urgent"),
        ("收到异地登录提醒，地址被改了", "urgent"),
        ("queremos 20 pares, ¿hay precio por volumen?", "bulk"),
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


@pytest.mark.parametrize(
    ("text", "earlier"),
    [
        ("contact #4: emailed on the 3rd, chat on the 12th", 3),
        ("fourth time I'm asking about my refund", 3),
        ("this is my third email about it", 2),
        ("ya van tres correos y nada", 3),
        ("cuarta vez que les escribo por lo mismo", 3),
        ("第三次联系你们了，还是没人处理", 2),
        ("为同一个问题联系了四次", 4),
        # an ordinal that counts no contact
        ("third time ordering from you, love these", 0),
        ("bought two pairs and three socks", 0),
    ],
)
def test_contacts_the_customer_says_they_made(text, earlier):
    assert stated_contacts(text.casefold()) == earlier


@pytest.mark.parametrize(
    ("text", "deadline"),
    [
        ("can you get the right size here by Saturday?", True),
        ("graduation is Sunday and the box has the wrong size", True),
        ("mi papá tiene una entrevista el lunes y llegaron chicos", True),
        ("¿pueden cambiarlos antes del viernes?", True),
        ("周五前能到吗？", True),
        ("週五就要飛北海道了，鞋還卡在海關", True),
        # a day with nothing ahead of it
        ("it arrived on Tuesday with a scuff", False),
        ("tracking hasn't moved since Saturday", False),
    ],
)
def test_a_day_ahead_is_a_deadline(text, deadline):
    assert bool(attributes._DEADLINE.search(text.casefold())) is deadline


def test_case_folded_text_is_searched_case_sensitively_but_for_the_dotless_i():
    """The premise of ``_Folded``'s word check: in ``str.casefold()`` output the only character
    IGNORECASE takes for one of the words' characters is ı (for i), which the check admits."""
    folded = "".join(
        {
            c
            for x in range(sys.maxunicode + 1)
            if not 0xD800 <= x <= 0xDFFF
            for c in chr(x).casefold()
        }
    )
    for guarded in (attributes._DEADLINE, attributes._CONTACTS):
        for ch in set("".join(guarded.words)):
            assert set(re.findall(re.escape(ch), folded, re.IGNORECASE)) <= {ch, "ı"}, ch


@pytest.mark.parametrize(
    ("pattern", "guard", "folded_only"),
    [
        (attributes._DEADLINE.pattern, attributes._DEADLINE, True),
        (attributes._CONTACTS.pattern, attributes._CONTACTS, True),
        (attributes._EMAIL, attributes._EMAIL_DOMAIN, False),
        (attributes._DOMAIN, attributes._DOT_LETTERS, False),
        (facts.EMAIL, facts._EMAIL_DOMAIN, False),
    ],
)
def test_the_quick_checks_before_a_pattern_lose_no_match(shared_data, pattern, guard, folded_only):
    """Every pattern searched only after a quicker check finds nothing the check skipped, in
    every mention of the shared data and in texts whose only day or ordinal has a dotless ı."""
    texts = [
        json.loads(line)["text"]
        for name in ("stream.jsonl", "public.jsonl")
        for line in (shared_data / "mentions" / name).read_text(encoding="utf-8").splitlines()
    ]
    texts += ["¿los cambian antes del VIERNES?", "antes del vıernes", "thırd time I'm asking"]
    for text in texts:
        for subject in (text.casefold(),) if folded_only else (text, text.casefold()):
            if pattern.search(subject):
                assert guard.search(subject), subject
    assert attributes._DEADLINE.search("antes del vıernes")
    assert attributes._CONTACTS.search("thırd time i'm asking")


class _Model:
    """A stand-in for the triage model with fixed readings, so that what ``compute`` does with
    them is tested apart from what the shipped model happens to read."""

    def __init__(self, **readings: str) -> None:
        self.classes = (
            "intent:question",
            "intent:complaint",
            "intent:abuse",
            "intent:praise",
            "sentiment:neutral",
            "sentiment:positive",
            "sentiment:negative",
            "stage:pre_purchase",
            "stage:order",
            "stage:social",
            "severity:low",
            "severity:normal",
            "trigger:safety",
            "trigger:urgent",
        )
        self.thresholds = {
            "trigger:safety": {"review": 0.5, "block": None},
            "trigger:urgent": {"review": 0.5, "block": None},
        }
        self._on = {f"{head}:{value}" for head, value in readings.items()}

    def logits(self, text: str) -> list[float]:
        """Log-odds of 0.9 for the fixed readings and of 0.1 for every other class."""
        return [math.log(9) if c in self._on else -math.log(9) for c in self.classes]


@pytest.mark.parametrize(
    ("severity", "fires"),
    [("low", False), ("normal", True)],
)
def test_the_models_safety_trigger_needs_more_than_low_severity(monkeypatch, severity, fires):
    """The safety head reads product talk as a hazard; a post read as p3-grade is no incident."""
    fake = _Model(intent="question", sentiment="neutral", stage="pre_purchase", severity=severity)
    fake._on.add("trigger:safety")
    monkeypatch.setattr(attributes, "model", lambda: fake)
    attrs = compute("@KestrelFootwear can the insole of the work boot come out for orthotics?")
    assert ("safety" in attrs["triggers"]) is fires, attrs


@pytest.mark.parametrize(
    ("severity", "kept"),
    [("low", False), ("normal", True)],
)
def test_a_trigger_word_in_a_calm_post_counts_when_it_reads_serious(monkeypatch, severity, kept):
    """A named hazard ("nail poking") in a calm post is still one when the model reads the post
    as serious; in a calm question it reads as low, it is not the incident itself."""
    fake = _Model(intent="question", sentiment="neutral", stage="order", severity=severity)
    monkeypatch.setattr(attributes, "model", lambda: fake)
    attrs = compute("@KestrelFootwear a nail poking out of the heel of my new clogs, lucky me?")
    assert attrs["said"].get("safety") == "nail poking"
    assert ("safety" in attrs["triggers"]) is kept, attrs


@pytest.mark.parametrize(
    ("text", "urgent"),
    [
        ("my order was due Tuesday and tracking hasn't moved since Saturday", False),
        ("debía llegar el lunes y sigue sin moverse", False),
        ("上周就该到了，物流一直没更新", False),
        ("need it by Friday, the order still says processing", True),
        # a deadline word of its own keeps it, whatever else is past
        ("ordered two weeks ago and the wedding is tomorrow", True),
    ],
)
def test_a_date_that_has_passed_is_no_deadline(monkeypatch, text, urgent):
    """The model's urgent head reads any named day as a deadline; a missed date is a late order."""
    fake = _Model(intent="complaint", sentiment="negative", stage="order", severity="normal")
    fake._on.add("trigger:urgent")
    monkeypatch.setattr(attributes, "model", lambda: fake)
    attrs = compute("@KestrelFootwear " + text)
    assert ("urgent" in attrs["triggers"]) is urgent, attrs


@pytest.mark.parametrize(
    ("readings", "text", "trigger", "fires"),
    [
        # a shoe part that fell off is a defect, not a fall
        (
            {"intent": "complaint", "sentiment": "negative", "stage": "order"},
            "the heel cap fell off after one wear",
            "safety",
            False,
        ),
        (
            {"intent": "complaint", "sentiment": "negative", "stage": "order"},
            "the sole came loose and I fell down the stairs",
            "safety",
            True,
        ),
        # a platform's name is exposure only from someone unhappy
        (
            {"intent": "question", "sentiment": "neutral", "stage": "social"},
            "I review shoes on YouTube, who do I talk to about a collab?",
            "press",
            False,
        ),
        (
            {"intent": "complaint", "sentiment": "negative", "stage": "order"},
            "third refund denied, this is going on YouTube tonight",
            "press",
            True,
        ),
        # an occasion in a story about no order is no deadline
        (
            {"intent": "question", "sentiment": "neutral", "stage": "social"},
            "danced all night at a wedding in them, is this witchcraft",
            "urgent",
            False,
        ),
        (
            {"intent": "question", "sentiment": "neutral", "stage": "order"},
            "the wedding is this weekend and the order hasn't shipped",
            "urgent",
            True,
        ),
        # abuse at the people who work here, or coming back after a block
        (
            {"intent": "abuse", "sentiment": "negative", "stage": "social"},
            "your community manager has an ugly face lmao",
            "harassment",
            True,
        ),
        (
            {"intent": "abuse", "sentiment": "negative", "stage": "social"},
            "you blocked me so I made 5 new accounts",
            "harassment",
            True,
        ),
        (
            {"intent": "abuse", "sentiment": "negative", "stage": "social"},
            "your shoes are trash",
            "harassment",
            False,
        ),
        # a change before it ships says the order exists, whatever the model reads
        (
            {"intent": "question", "sentiment": "neutral", "stage": "pre_purchase"},
            "just ordered a 10, can you switch it to 10.5 before it goes out?",
            "urgent",
            True,
        ),
        (
            {"intent": "question", "sentiment": "neutral", "stage": "pre_purchase"},
            "need shoes for a wedding next month, which ones?",
            "urgent",
            False,
        ),
        # a handle borrowing the brand with a support word is the policy's fake support account
        (
            {"intent": "complaint", "sentiment": "negative", "stage": "social"},
            "una cuenta @KestrelSoporteMX me pidió los datos de mi tarjeta",
            "scam_report",
            True,
        ),
        (
            {"intent": "praise", "sentiment": "positive", "stage": "social"},
            "thanks to the @KestrelFootwear team!",
            "scam_report",
            False,
        ),
    ],
)
def test_what_a_trigger_word_means_in_its_post(monkeypatch, readings, text, trigger, fires):
    fake = _Model(severity="normal", **readings)
    monkeypatch.setattr(attributes, "model", lambda: fake)
    attrs = compute("@KestrelFootwear " + text)
    assert (trigger in attrs["triggers"]) is fires, attrs


# The demo rules' priorities for the attributes triage computes (no model involved): the
# routing policy's Priority table, where the boundary between p2 and p3 is drawn.
@pytest.mark.parametrize(
    ("attrs", "want"),
    [
        # a language team's complaint read as minor and not about an order is a gripe
        ({"language": "es", "intent": "complaint", "stage": "social"}, ("spanish", "p3")),
        ({"language": "zh", "intent": "complaint", "stage": "pre_purchase"}, ("chinese", "p3")),
        # ... about an order, it is a standard problem whatever the severity
        ({"language": "es", "intent": "complaint", "stage": "order"}, ("spanish", "p2")),
        ({"language": "zh", "intent": "complaint", "stage": "order"}, ("chinese", "p2")),
        (
            {"language": "es", "intent": "complaint", "stage": "social", "severity": "normal"},
            ("spanish", "p2"),
        ),
        # an English complaint with no stage: a problem for care, not social chatter
        (
            {"language": "en", "intent": "complaint", "stage": "social", "severity": "normal"},
            ("care", "p2"),
        ),
        ({"language": "en", "intent": "complaint", "stage": "social"}, ("social", "p3")),
        (
            {"language": "en", "intent": "complaint", "sentiment": "positive", "severity": "high"},
            ("social", "p3"),
        ),
        ({"language": "en", "intent": "praise", "stage": "social"}, ("social", "p3")),
        # a third failed contact is p1 whether the hub saw the earlier ones or the customer
        # says so; a second is p2
        (
            {
                "language": "en",
                "intent": "complaint",
                "triggers": ["repeated"],
                "contacts_stated": 3,
            },
            ("escalations", "p1"),
        ),
        (
            {
                "language": "en",
                "intent": "complaint",
                "triggers": ["repeated"],
                "history": {"earlier": 2},
            },
            ("escalations", "p1"),
        ),
        (
            {
                "language": "en",
                "intent": "complaint",
                "triggers": ["repeated"],
                "contacts_stated": 1,
            },
            ("escalations", "p2"),
        ),
        (
            {
                "language": "es",
                "intent": "complaint",
                "triggers": ["repeated"],
                "contacts_stated": 2,
            },
            ("spanish", "p1"),
        ),
    ],
)
def test_demo_rules_priority_boundaries(attrs, want):
    rules, slugs = demo_rules(demo_data())
    facts = {
        "sentiment": "negative",
        "severity": "low",
        "stage": "social",
        "triggers": [],
        "followers": 300,
        "history": {},
        "platform": "x",
        "account_id": None,
        **attrs,
    }
    r = route(rules, facts, "@KestrelFootwear")
    assert (slugs.get(r.team_id), r.priority) == want, r.why()


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
