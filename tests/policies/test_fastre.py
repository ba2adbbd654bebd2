"""The faster regex forms must find exactly what the originals find, on every pack pattern."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from policies import Pack
from policies.fastre import Alternation, _rewrite, accelerate
from policies.normalize import Normalizer

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"

PIECES = [
    "the worst", " regret ", "watch your back", "i know where you live", "kestrel supports",
    "our company's stance", "Cirrus", "$", "€", "%", "12", "3", "nov 26", "26 de noviembre",
    "q3", "prop 5", "proposition 12", "sb", "我们", "12月3日", "f*ck", "f**king", "sh!t", "s##t",
    "a$$hole", "is back in stock", "10 million pairs", "we'll price match their price",
    "your card number", "ending in 4242", "1420 Birch St", "Calle Reforma 221", "TX", "kf-2048",
    "order #", "rumors are", "cutting 40 jobs", "one (1)", "x", "_", "é", "\u200b", "'", "-",
    "a ", " ", ".", ",", "\n",
]  # fmt: skip


def _texts() -> list[str]:
    """Real drafts and tweets, in the forms the views give (as typed and case-folded)."""
    out: list[str] = []
    with (DATA / "policy-eval" / "public.jsonl").open(encoding="utf-8") as fh:
        for line in fh:
            item = json.loads(line)
            out.append(str(item.get("text") or ""))
            if item.get("in_reply_to"):
                out.append(str(item["in_reply_to"]))
    tweets = (DATA / "tweeteval" / "offensive" / "val_text.txt").read_text(encoding="utf-8")
    out.extend(tweets.splitlines()[:400])
    plain = Normalizer()
    return out + [plain.plain(t).text for t in out]


def _pack_patterns(pack: Pack) -> list[re.Pattern[str]]:
    found = [rx for g in pack.lexicon.groups for rx in g.regexes]
    pii = pack.rule("g5-customer-data")
    for name in ("partial_card", "address_cased", "address", "order_number", "email"):
        found.extend(getattr(pii, name))
    return found


def _spans(rx: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    return [m.span() for m in rx.finditer(text)]


@pytest.fixture(scope="module")
def texts() -> list[str]:
    return _texts()


def test_rewrites_are_literal_first() -> None:
    assert _rewrite(r"\bprop(?:osition)?\s?\d+") == r"prop(?<!\wprop)(?:osition)?\s?\d+"
    assert _rewrite(r"\brumou?rs?") == r"rumo(?<!\wrumo)u?rs?"
    assert _rewrite(r"\b(?:are|is) the") == r"(?:are(?<!\ware)|is(?<!\wis)) the"


@pytest.mark.parametrize(
    "source",
    [
        r"\bf?x",  # the first letter is optional: no boundary before it to move
        r"\b\d+",  # a class, not a literal
        r"\b(?:a|\d)",  # one alternative doesn't start with a literal
        r"\b(?:a|b)+c",  # a quantified group
        r"\b(?:[|)]x|y",  # unbalanced once the class is skipped properly (not even a regex)
        r"prop\b",  # no leading boundary
    ],
)
def test_unsafe_or_pointless_forms_are_left_alone(source: str) -> None:
    assert _rewrite(source) is None
    try:
        rx = re.compile(source)
    except re.error:
        return
    assert accelerate(rx) is rx


def test_classes_and_escapes_do_not_confuse_the_splitter() -> None:
    rx = re.compile(r"\b(?:a[|)]b|c\|d|e\(f)g")
    fast = accelerate(rx)
    assert fast.pattern != rx.pattern
    for text in ("a|bg", "a)bg", "c|dg", "e(fg", "xa|bg", "ac|dg c|dg"):
        assert _spans(fast, text) == _spans(rx, text), text


def test_every_pack_pattern_matches_the_same(pack: Pack, texts: list[str]) -> None:
    patterns = _pack_patterns(pack)
    rewritten = [(rx, accelerate(rx)) for rx in patterns]
    assert sum(fast is not rx for rx, fast in rewritten) >= 30  # the rewrite does apply
    for rx, fast in rewritten:
        if fast is rx:
            continue
        for text in texts:
            assert _spans(fast, text) == _spans(rx, text), (rx.pattern, text)


def test_alternations_equal_the_union_regex(pack: Pack, texts: list[str]) -> None:
    groups = [g for g in pack.lexicon.groups if g.alternation is not None]
    assert sum(len(g.regexes) > 1 for g in groups) >= 10
    for g in groups:
        assert g.regex is not None and g.alternation is not None
        for text in texts:
            expected = [m.span() for m in g.regex.finditer(text) if m.end() > m.start()]
            assert g.alternation.spans(text) == expected, (g.gid, text)


def test_overlapping_alternatives_keep_union_semantics() -> None:
    # "ab" (first alternative) wins at 0; "bc" must not also report the overlapping (1, 3)
    alt = Alternation([re.compile("ab"), re.compile("bc"), re.compile("c")])
    assert alt.usable
    assert alt.spans("abc bc") == [(0, 2), (2, 3), (4, 6)]
    # at the same position, the earlier pattern wins even when a later one is longer
    alt = Alternation([re.compile("a"), re.compile("ab")])
    assert alt.spans("ab") == [(0, 1)]


def test_patterns_that_can_match_empty_fall_back_to_the_union() -> None:
    alt = Alternation([re.compile("a*"), re.compile("b")])
    assert not alt.usable
    assert alt.spans("aab b") == [(0, 2), (2, 3), (4, 5)]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES) | st.text(max_size=4), max_size=14))
def test_random_texts_match_the_same(pack: Pack, parts: list[str]) -> None:
    text = "".join(parts)
    variants = {text, Normalizer().plain(text).text}
    for rx in _pack_patterns(pack):
        fast = accelerate(rx)
        for t in variants:
            assert _spans(fast, t) == _spans(rx, t), (rx.pattern, t)
    for g in pack.lexicon.groups:
        if g.alternation is not None and g.regex is not None:
            for t in variants:
                expected = [m.span() for m in g.regex.finditer(t) if m.end() > m.start()]
                assert g.alternation.spans(t) == expected, (g.gid, t)


def test_ascii_patterns_keep_their_word_boundary() -> None:
    # under re.ASCII "ñ" is not a word character, so "\bñ" needs a word character before it
    rx = re.compile(r"\bñu", re.ASCII)
    assert accelerate(rx) is rx
    assert _spans(re.compile(r"\bab", re.ASCII), "xab ab") == _spans(
        accelerate(re.compile(r"\bab", re.ASCII)), "xab ab"
    )
