"""Normalisation: invisible characters, look-alikes, leetspeak, spaced letters, Chinese, offsets."""

from __future__ import annotations

import pytest

from policies import Pack


def views(pack: Pack, text: str) -> tuple[str, str]:
    plain = pack.normalizer.plain(text)
    return plain.text, pack.normalizer.fold(plain).text


@pytest.mark.parametrize(
    ("text", "plain", "folded"),
    [
        ("Hello", "hello", "hello"),
        ("Pro\u200bject", "project", "project"),  # zero-width space
        ("He\u200dron\ufeff", "heron", "heron"),  # joiner, BOM
        ("Hеron", "heron", "heron"),  # Cyrillic е
        ("ΗΕRΟΝ", "heron", "heron"),  # Greek capitals
        ("ｓｈｉｔｔｙ", "shitty", "shitty"),  # full-width (NFKC)
        ("Cóndor", "condor", "condor"),  # accents folded
        ("coño", "coño", "coño"),  # but ñ is a letter of its own
        ("sh1t", "sh1t", "shit"),
        ("a$$clown", "a$$clown", "assclown"),
        ("@$$hole", "@$$hole", "asshole"),
        ("Her0n", "her0n", "heron"),
        ("c0ñ0", "c0ñ0", "coño"),
        ("f u c k mondays", "f u c k mondays", "fuck mondays"),
        ("p.r.o.j.e.c.t", "p.r.o.j.e.c.t", "project"),
        ("P r o j e c t  O s p r e y", "p r o j e c t  o s p r e y", "project osprey"),
        ("T M D 加班", "t m d 加班", "tmd 加班"),
        ("苍鹭计划", "苍鹭计划", "苍鹭计划"),
    ],
)
def test_views(pack: Pack, text: str, plain: str, folded: str) -> None:
    assert views(pack, text) == (plain, folded)


@pytest.mark.parametrize(
    "text",
    [
        "$64.95",  # prices stay prices
        "KF-20488172",  # order numbers keep their digits
        "wow!",  # trailing punctuation is not a letter
        "@KestrelCare",  # a mention is not leetspeak
        "Q4 and 10k",
        "2025-03-14",
    ],
)
def test_leet_leaves_numbers_alone(pack: Pack, text: str) -> None:
    plain, folded = views(pack, text)
    assert folded == plain


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("Pro\u200bject Hеron samples", "project heron"),
        ("so ｓｈｉｔｔｙ today", "shitty"),
        ("ok f u c k this", "fuck"),
        ("🙂🙂 P r o j e c t  O s p r e y!", "project osprey"),
        ("e\u0301 then Her\u200b0n", "heron"),
        ("ﬁne sh!t", "shit"),  # ligature expands to two characters
        ("剧透 Heron项目秋天", "heron项目"),
    ],
)
def test_spans_map_back_to_original(pack: Pack, text: str, needle: str) -> None:
    plain = pack.normalizer.plain(text)
    folded = pack.normalizer.fold(plain)
    start = folded.text.index(needle)
    o0, o1 = folded.to_original(start, start + len(needle))
    original = text[o0:o1]
    # the original slice, normalised again, is exactly the needle
    again = pack.normalizer.fold(pack.normalizer.plain(original)).text
    assert again == needle, (original, again)


def test_identity_index_for_plain_ascii(pack: Pack) -> None:
    plain = pack.normalizer.plain("Hello World")
    assert plain.index is None
    assert plain.to_original(0, 5) == (0, 5)


def test_finding_span_is_original_offsets(run) -> None:  # type: ignore[no-untyped-def]
    text = "🙂 Pro\u200bject Hеron samples just landed"
    decision = run(text)
    spans = [f.span for f in decision.findings if f.rule_id == "g4-codenames"]
    assert spans, decision.findings
    s, e = spans[0]
    assert text[s:e] == "Pro\u200bject Hеron"
