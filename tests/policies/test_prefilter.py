"""Prefilters may only skip regexes that cannot match: never a false "cannot match"."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from policies import Pack
from policies.normalize import Normalizer
from policies.prefilter import any_prefilter, clauses, prefilter

PIECES = [
    "the worst", " regret ", "watch your back", "kestrelfootwear.com/", "Cirrus", "$", "€", "%",
    "12", "3", "nov 26", "q3", "sb", "我们", "样品", "f*ck", "sh!t", "is back in stock",
    "10 million pairs", "we'll price match", "your card number", "prop 5", "a ", " ", ".",
]  # fmt: skip


def _pack_regexes(pack: Pack) -> list[re.Pattern[str]]:
    return [rx for g in pack.lexicon.groups for rx in g.regexes]


def test_gates_literal_and_class_requirements() -> None:
    rx = re.compile(r"\b(?:you|he)(?:'ll| will) regret (?:it|this)\b")
    gate = prefilter(rx)
    assert gate is not None
    assert gate("you will regret this")
    assert not gate("you will be fine")
    money = prefilter(re.compile(r"[$€]\s?\d+"))
    assert money is not None and money("only $5") and not money("five dollars")


def test_case_insensitive_literals_are_not_used() -> None:
    assert clauses(re.compile(r"regret", re.IGNORECASE)) is None
    cased = prefilter(re.compile(r"(?i:x)(?-i:Cirrus)", re.IGNORECASE))
    assert cased is not None and cased("the Cirrus") and not cased("the cirrus")


def test_no_gate_when_a_pattern_has_no_requirement() -> None:
    assert any_prefilter([re.compile(r"abc\d"), re.compile(r"\w+")]) is None


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES) | st.text(max_size=4), max_size=12))
def test_a_failed_gate_means_no_match(pack: Pack, parts: list[str]) -> None:
    text = "".join(parts)
    variants = {text, Normalizer().plain(text).text}
    for rx in _pack_regexes(pack):
        gate = prefilter(rx)
        for t in variants:
            if gate is not None and not gate(t):
                assert rx.search(t) is None, (rx.pattern, t)
    for g in pack.lexicon.groups:
        if g.gate is not None and g.regex is not None:
            for t in variants:
                if not g.gate(t):
                    assert g.regex.search(t) is None, (g.regex.pattern, t)
