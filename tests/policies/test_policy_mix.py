"""Content mix: product classification and the 1-in-4 limit, including the exact boundary."""

from __future__ import annotations

import pytest

from policies import AuthorHistory
from policies.mix import compute_mix, over_limit, share_after

PRODUCT = "I work at Kestrel and the Perch Low is my go-to 👟 kestrelfootwear.com/p/perch-low"
PERSONAL = "Went to my first pottery class. Made a bowl. It is a plate now."


@pytest.mark.parametrize(
    ("posts", "product", "over"),
    [
        (7, 1, False),  # 2/8 = 25% exactly: allowed
        (10, 2, True),  # 3/11 = 27%
        (0, 0, True),  # first-ever post is product: 1/1
        (3, 0, False),  # 1/4 = 25%
        (4, 2, True),  # 3/5
        (29, 6, False),  # 7/30 = 23%
        (27, 6, False),  # 7/28 = 25% exactly
        (26, 6, True),  # 7/27 = 25.9%
    ],
)
def test_limit_boundary(posts: int, product: int, over: bool) -> None:
    assert over_limit(AuthorHistory(posts, product), True, 0.25) is over


def test_non_product_never_over() -> None:
    assert not over_limit(AuthorHistory(4, 4), False, 0.25)


def test_share_after_counts_the_draft() -> None:
    assert share_after(AuthorHistory(7, 1), True) == pytest.approx(0.25)
    assert share_after(AuthorHistory(7, 1), False) == pytest.approx(1 / 8)


def test_compute_mix() -> None:
    mix = compute_mix(AuthorHistory(10, 2), True, 0.25)
    assert mix is not None and mix.share_after == pytest.approx(3 / 11) and mix.is_product
    reply = compute_mix(AuthorHistory(10, 2), None, 0.25)
    assert reply is not None and reply.share_after is None and not reply.is_product
    assert compute_mix(None, True, 0.25) is None


@pytest.mark.parametrize(
    ("text", "is_product"),
    [
        (PRODUCT, True),
        ("Restocked!! The Fledgling Sneaker is back in all sizes #KestrelTeam", True),
        (
            "Spring Stride Sale starts Friday! 30% off #KestrelEmployee kestrelfootwear.com/sale",
            True,
        ),
        ("My Kestrel socks are the only socks I own now #KestrelEmployee", True),
        ("Cirrus Runner 新配色太好看了🔥 赶紧冲", True),
        ("Mis Aerie Mid son lo mejor que me ha pasado este año", True),
        (PERSONAL, False),
        ("Hiring! Our care team is hiring. careers.kestrelfootwear.com", False),
        ("If you see someone in a Kestrel hoodie doing an awkward dance, no you didn't", False),
        ("We just crossed 10 million customers served #KestrelEmployee", False),
        ("Black Friday shopping with my mom lol, 50% off at the mall", False),
        ("I love this podcast, check out episode 4", False),
        # a restock of ours, not the office's; names next to Chinese characters or Spanish nouns
        ("The break room fridge gets restocked Fridays and it's gone by noon", False),
        ("Ridgeback抓地力真的强，雨天也不滑，闭眼入", True),
        ("Drift拖鞋太舒服了，下班就换上", True),
        ("La sudadera Trailhead es lo más suave del mundo, ¡a por ella!", True),
        ("Spring Stride Sale starts Friday, trail shoes up to 30% off", True),
    ],
)
def test_is_product(run, text: str, is_product: bool) -> None:  # type: ignore[no-untyped-def]
    assert run(text, history=(20, 0)).is_product is is_product


def test_reply_is_service_not_product(run) -> None:  # type: ignore[no-untyped-def]
    decision = run(PRODUCT, kind="reply", in_reply_to="which sneaker?", history=(0, 0))
    assert decision.is_product is None
    assert not [f for f in decision.findings if f.guideline == "G7"]


def test_mix_finding_has_numbers(run) -> None:  # type: ignore[no-untyped-def]
    decision = run(PRODUCT, history=(10, 2))
    g7 = [f for f in decision.findings if f.guideline == "G7"]
    assert decision.verdict == "review" and len(g7) == 1
    assert "3 of your last 11" in g7[0].message and "25%" in g7[0].message
    assert decision.mix is not None and decision.mix.share_after == pytest.approx(3 / 11)


def test_exactly_at_limit_is_allowed(run) -> None:  # type: ignore[no-untyped-def]
    decision = run(PRODUCT, history=(7, 1))
    assert decision.verdict == "allow", decision.findings
    assert decision.mix is not None and decision.mix.share_after == pytest.approx(0.25)


def test_no_history_no_mix_finding(run) -> None:  # type: ignore[no-untyped-def]
    decision = run(PRODUCT)
    assert decision.mix is None
    assert not [f for f in decision.findings if f.guideline == "G7"]
