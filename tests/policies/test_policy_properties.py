"""Properties: check() never raises, spans lie inside the text, the verdict is the worst finding."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from policies import AuthorHistory, Context, Draft, Pack, load_pack
from policies import check as run_check
from policies.types import SEVERITY_RANK

PACK: Pack = load_pack()

TRICKY = st.sampled_from(
    [
        "\u200b",
        "\u200d",
        "\ufeff",
        "е",
        "о",
        "ｓ",
        "ﬁ",
        "́",
        "🙂",
        "👍🏽",
        "👨‍👩‍👧",
        "KF-",
        "@",
        "$",
        "0",
        "1",
        "3",
        " ",
        "  ",
        ".",
        "heron",
        "project",
        "f u c k",
        "sh1t",
        "苍鹭计划",
        "https://",
        "kestrelfootwear.com/p/",
        "bit.ly/",
        "{{ x }}",
        "<b>",
        "&amp;",
        "\n",
        "ñ",
        "208.555.0193",
        "4242 4242 4242 4242",
        " at gmail dot com",
        "ending in 4242",
    ]
)
TEXTS = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(TRICKY, st.text(max_size=5)), max_size=40).map("".join),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=TEXTS,
    reply_to=st.one_of(st.none(), TEXTS),
    kind=st.sampled_from(["post", "reply"]),
    platform=st.sampled_from(["x", "bluesky", "sandbox"]),
    posts=st.integers(min_value=0, max_value=50),
    product=st.integers(min_value=0, max_value=50),
)
def test_check_properties(
    text: str, reply_to: str | None, kind: str, platform: str, posts: int, product: int
) -> None:
    draft = Draft(text=text, platform=platform, kind=kind, in_reply_to=reply_to)
    decision = run_check(draft, Context(history=AuthorHistory(posts, product)), PACK)
    for f in decision.findings:
        if f.span is not None:
            start, end = f.span
            assert 0 <= start <= end <= len(text)
    worst = max((SEVERITY_RANK[f.severity] for f in decision.findings), default=0)
    assert SEVERITY_RANK[decision.verdict] == worst


@settings(max_examples=300, deadline=None)
@given(text=TEXTS, data=st.data())
def test_offset_map_is_monotonic_and_in_bounds(text: str, data: st.DataObject) -> None:
    plain = PACK.normalizer.plain(text)
    folded = PACK.normalizer.fold(plain)
    n = len(folded.text)
    if n == 0:
        return
    start = data.draw(st.integers(min_value=0, max_value=n - 1))
    end = data.draw(st.integers(min_value=start + 1, max_value=n))
    o0, o1 = folded.to_original(start, end)
    assert 0 <= o0 < o1 <= len(text)
    if folded.index is not None:
        assert list(folded.index) == sorted(folded.index)
