"""Table-driven cases per rule, beyond the pack's own examples: (text, kind, reply_to, fires)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies import Pack

R = "reply"
P = "post"

CASES: dict[str, list[tuple[str, str, str | None, bool]]] = {
    "g5-customer-data": [
        ("Order KF-20593317 is out for delivery", R, "where's my stuff", True),
        ("order KF20593317 shipped", R, "?", True),
        ("Sent it to maria.g at yahoo dot com", R, "label?", True),
        ("Sent it to maria [at] yahoo [dot] com", R, "label?", True),
        ("Charged to the Mastercard ending 5521", R, "which card?", True),
        ("Lo mandamos a Calle Reforma 221, Col. Centro", R, "¿A dónde?", True),
        ("Sure, call her at 415-555-0172", R, "number?", True),
        ("Call us at 400-820-5378, 9:00-21:00", R, "phone?", False),
        ("Email care@kestrelfootwear.com anytime", R, "email?", False),
        ("En la calle hace 35 grados y yo con sudadera", P, None, False),
        ("Ordered a size 10.5 for $129.95 on 2025-03-01", P, None, False),
    ],
    "g3-offensive": [
        ("wh@t the f*ck is going on today", P, None, True),
        ("s.h.i.t, forgot my badge again", P, None, True),
        ("what a bunch of r3tards", P, None, True),
        ("If that troll shows up again he's going to regret it", P, None, True),
        ("Fire retardant gel on the trails today", P, None, False),
        ("Dick's Sporting Goods had great soccer balls", P, None, False),
        ("我妈的生日快到了", P, None, False),
        ("Tu pedido está retrasado un día por la lluvia", R, "¿y mi pedido?", False),
    ],
    "g2-disparagement": [
        ("ugh my manager is such a moron", P, None, True),
        ("Some customers are honestly too stupid to read a size chart", P, None, True),
        ("Rumor is they're cutting 30 jobs in customer care next quarter", P, None, True),
        ("Cool story, bro. Maybe read the size chart next time", R, "wrong size!!", True),
        ("这些客户脑子有病吧，烦死了", P, None, True),
        ("Customers are the best part of my job, honestly", P, None, False),
        ("Our team crushed it this quarter, so proud", P, None, False),
    ],
    "g4-codenames": [
        ("Can't wait for everyone to see Project Wren, our kids line", P, None, True),
        ("#ProjectSandpiper samples are so comfy", P, None, True),
        ("Osprey is gonna blow your mind, carbon plate, coming this fall", R, "new racers?", True),
        ("神鹰计划的工作靴样品今天到了", P, None, True),
        ("Congrats to my friend Wren on her graduation!", P, None, False),
        ("Spotted an osprey diving for fish at the lake", P, None, False),
    ],
    "g4-sale-dates": [
        (
            "Memorial Day sale is May 23-26, 35% off sitewide, you heard it here first",
            P,
            None,
            True,
        ),
        ("Black Friday shopping with my mom lol, 50% off at the mall", P, None, False),
        ("Happy 4th of July! Stay safe out there", P, None, False),
    ],
    "g4-financials": [
        ("We hit $12M in revenue last month, record! shh", P, None, True),
        ("Hit 100k steps this week", P, None, False),
    ],
    "g12-promises": [
        ("Sure, I'll refund the full amount even though it's been 3 years", R, "2021 pair", True),
        ("So sorry! I'll send you a $50 gift card to make up for it", R, "late", True),
        ("Te regalamos unas Perch Low nuevas por las molestias", R, "llegó tarde", True),
        ("我们送你一张100元代金券作为补偿", R, "快递太慢了", True),
        ("Free returns for 365 days as long as they're unworn", R, "bought 3 weeks ago", False),
    ],
    "g13-medical-claims": [
        ("The Updraft basically cured my knee pain, no joke", P, None, True),
        ("Yes! The Arch Insole relieves plantar fasciitis pain within days.", R, "PF?", True),
        ("Sí, las plantillas alivian el dolor de espalda", R, "¿espalda?", True),
        (
            "Lots of folks like the cushioning, but your podiatrist is the best person to ask",
            R,
            "knee pain?",
            False,
        ),
    ],
    "g6-disclosure": [
        ("The Glide Knit is the comfiest shoe I own, go get a pair! #ad", P, None, True),
        (
            "Mis Cirrus Runner nuevas son lo máximo kestrelfootwear.com/p/cirrus-runner",
            P,
            None,
            True,
        ),
        ("#KestrelTeam the Glide Knit is the comfiest shoe I own", P, None, False),
    ],
    "g11-political": [
        ("Everyone at Kestrel supports the new climate bill, call your senator!", P, None, True),
        (
            "Honestly we think the new tax law is a disaster, vote them out",
            R,
            "what does Kestrel think of the tax law?",
            True,
        ),
        ("I voted! Whatever your views, make your voice heard", P, None, False),
        ("As a company we really do believe in free returns", P, None, False),
    ],
    "g14-links": [
        ("Check out my vacation pics https://www.flickr.com/photos/abc123", P, None, True),
        ("Found it on Amazon: https://www.amazon.com/dp/B0ABC123", P, None, True),
        ("Look-alike: https://kestrеlfootwear.com/p/x", P, None, True),  # Cyrillic е
        ("Tracking: https://www.fedex.com/tracking", R, "where?", False),
        ("See help.kestrelfootwear.com/returns", R, "returns?", False),
        ("Listen here: spoti.fi/xyz", P, None, True),
        ("Follow us at kestrelfootwear.bsky.social!", P, None, False),
    ],
    "g15-press-legal": [
        (
            "About the recall everyone's asking about: only a few hundred pairs, relax",
            P,
            None,
            True,
        ),
        (
            "I can give you the inside scoop, DM me",
            R,
            "I'm a journalist, comment on the lawsuit?",
            True,
        ),
        ("My sister just passed the bar, she's a real lawyer now!!", P, None, False),
        ("Watching the news about the storm, stay safe", P, None, False),
    ],
    "g16-asking-for-data": [
        ("Drop your email below and I'll send the label", R, "need a label", True),
        ("Please reply with your phone number and zip code", R, "missing", True),
        ("Send me your password and I'll reset it", R, "can't log in", True),
        ("Mándame tu número de tarjeta y el código de seguridad por DM", R, "pago", True),
        ("DM me your order number and I'll check", R, "where is it", False),
        ("What's your order number? I'll look it up", R, "where is it", True),
        ("你的订单号是多少？我帮你查", R, "还没到", True),
        ("What's your order number? DM me and I'll check", R, "where", False),
        ("I'll send you a password reset link by email", R, "can't log in", False),
    ],
    "g8-competitor-trash-talk": [
        ("PeakPair shoes fall apart after a month, don't waste your money", P, None, True),
        ("Taipei Sole 的鞋质量很差，别买", R, "Taipei Sole 怎么样？", True),
        ("PeakPair has the Tempo Wide in stock, really close fit", R, "Cirrus Wide?", False),
    ],
    "g9-boilerplate": [
        ("We apologise for any inconvenience caused. It ships tomorrow.", R, "not shipped", True),
        ("Lamentamos las molestias. Ya enviamos su pedido.", R, "¿pedido?", True),
        ("非常抱歉给您带来不便，已为您补发。", R, "少发了", True),
        ("Thank you so much, this made my day!", R, "you're awesome", False),
    ],
    "g10-stiff-tone": [
        (
            "Dear valued customer, please be advised that your parcel has been dispatched.",
            R,
            "shipped?",
            True,
        ),
        ("Estimado cliente, le informamos que su pedido ha sido enviado.", R, "¿ya?", True),
        ("尊敬的客户，您的订单已发货，敬请留意。", R, "发货了吗", True),
        ("Yep, shipped this morning! Should be there Thursday", R, "shipped?", False),
    ],
    "g10-language": [
        ("Yes, we ship to Canada! Usually 7-10 days.", R, "¿Envían a Canadá?", True),
        ("是的，我们发货到墨西哥，5到8个工作日。", R, "Do you ship to Mexico?", True),
        ("Sí, enviamos a Canadá, unos 7 a 10 días.", R, "¿Envían a Canadá?", False),
        ("可以的，到货365天内没穿过都能免费退～", R, "没穿过的鞋可以退吗", False),
        ("lol same", R, "😂😂", False),
        # Chinese written right against a link or a handle is still Chinese
        ("现在有货：https://kestrelfootwear.com/p/cirrus-runner", R, "有货吗？", False),
        ("@dana_k你好，已经帮你查了", R, "我的订单呢", False),
        (
            "Peak Pair Trail Runner X在这里有卖：https://peakpair.com/p/trail-runner-x",
            R,
            "有货吗",
            False,
        ),
        # Latin product names in a Chinese sentence do not make it English
        (
            "抱歉，Kestrel Cirrus Runner 卖完了。Kestrel Glide Knit Trainer 现在有货",
            R,
            "Cirrus Runner 还有货吗？",
            False,
        ),
    ],
}

TABLE = [(rule, *case) for rule, cases in CASES.items() for case in cases]


@pytest.mark.parametrize(("rule_id", "text", "kind", "reply_to", "fires"), TABLE)
def test_rule(run, rule_id: str, text: str, kind: str, reply_to: str | None, fires: bool) -> None:  # type: ignore[no-untyped-def]
    decision = run(text, kind=kind, in_reply_to=reply_to)
    fired = {f.rule_id for f in decision.findings}
    assert (rule_id in fired) is fires, decision.findings


def test_platform_length(run) -> None:  # type: ignore[no-untyped-def]
    long_zh = "这是一个很长的帖子。" * 15  # 150 CJK chars = 300 weighted on X
    assert "platform-length" in {f.rule_id for f in run(long_zh, platform="x").findings}
    assert "platform-length" not in {f.rule_id for f in run(long_zh, platform="bluesky").findings}
    url_heavy = "see " + " ".join(
        f"https://kestrelfootwear.com/p/item-number-{i}" for i in range(9)
    )
    # each URL counts 23 on X, so this fits even though it is long
    assert "platform-length" not in {f.rule_id for f in run(url_heavy, platform="x").findings}
    emoji = "👍🏽" * 301  # one grapheme each on Bluesky
    assert "platform-length" in {f.rule_id for f in run(emoji, platform="bluesky").findings}


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_boilerplate_lane_arithmetic_equals_counting(pack: Pack, data: st.DataObject) -> None:
    """The packed-integer pre-check answers exactly what counting shared tokens answers."""
    from policies.rules.boilerplate import BoilerplateRule, _tokens

    rule = pack.rule("g9-boilerplate")
    assert isinstance(rule, BoilerplateRule)
    vocabulary = sorted({t for p in rule.phrases for t in _tokens(p)})
    phrase = data.draw(st.sampled_from(rule.phrases))
    mine = sorted(_tokens(phrase))
    tokens = set(data.draw(st.lists(st.sampled_from(mine), max_size=len(mine))))
    others = st.sampled_from(vocabulary) | st.text(max_size=3)
    tokens |= set(data.draw(st.lists(others, max_size=6)))
    assert rule._any_candidate_fast(tokens) == rule.any_candidate(tokens)


LINK_PIECES = ["kestrelfootwear.com", "www.", "x.co", ".com", ".co/", "https://", "a.b.mx", "-",
               ".", "@", "/", " ", "tienda.es/p?q=1", "ok", "中文", "_", "9", "\u200b"]  # fmt: skip


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(LINK_PIECES) | st.text(max_size=3), max_size=14))
def test_bare_links_scan_from_the_first_tld(pack: Pack, parts: list[str]) -> None:
    """Starting the bare-link scan at the run holding the first TLD finds the same links as
    scanning the whole text."""
    from policies.rules.links import _host, _trim

    text = "".join(parts)
    links = pack.links
    expected: list[tuple[str, tuple[int, int]]] = []
    if "." in text:
        if "://" in text:
            expected = [
                (_host(m.group(1)), _trim(text, m.span())) for m in links._scheme.finditer(text)
            ]
        for m in links._bare.finditer(text):
            span = _trim(text, m.span())
            if not any(span[0] < s[1] and s[0] < span[1] for _, s in expected):
                expected.append((_host(m.group(1)), span))
    assert links.extract(text) == expected[: links.max_links]
