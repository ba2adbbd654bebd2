"""Patterns that backtrack catastrophically: every pack regex is known, exponential ones are
found without running them, the rest are timed on hostile text in a child process."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml

from policies import DEFAULT_PACK, load_pack, pattern_problems
from policies.backtracking import (
    PackPattern,
    compile_pattern,
    exponential_witness,
    hostile_texts,
    measure,
    owned_by,
    recording,
)
from policies.engine import _build


@pytest.mark.parametrize(
    ("pattern", "exponential"),
    [
        # a repeated part that matches the same text in more than one way
        (r"(a+)+b", True),
        (r"(a|a)*b", True),
        (r"(\w+\s?)*$", True),
        (r"^(a*)*$", True),
        (r"(a*b?)*c", True),
        (r"(\d+\s?)+#", True),
        (r"(?:a|ab|b)*c", True),
        (r"(?:[a-z]+\.?)+@", True),
        (r"(\s*\s*)*x", True),
        (r"(?=(a+)+b)c", True),  # inside a look-ahead too
        (r"(?i:(?:A|B|a)+)+x", True),
        # one way only, or only polynomially many (the measurement's job)
        (r"a+", False),
        (r"(?:ab)+", False),
        (r"(?:x|y)+z", False),
        (r"\s*\s*x", False),
        (r"(?:\d[ -]?){12,18}\d", False),
        (r"(?i)(?:A|a)+x", False),  # the parser makes it one class: one way
        (r"\b(?:zero|oh|one)(?:[\s,.-]+(?:zero|oh|one)){6,}\b", False),
        (r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", False),
    ],
)
def test_exponential_patterns_are_found_statically(pattern: str, exponential: bool) -> None:
    witness = exponential_witness(pattern, 0)
    assert (witness is not None) is exponential, witness
    if witness is not None:
        assert witness.pump and len(witness.text(200)) >= 190


def test_the_witness_is_text_the_repeated_part_reads() -> None:
    witness = exponential_witness(r"(\d+\s?)+#", 0)
    assert witness is not None
    assert re.fullmatch(r"[\d\s]+", witness.prefix + witness.pump)
    assert "#" not in witness.suffix


def test_the_shipped_pack_has_no_exponential_pattern() -> None:
    pack = load_pack()
    assert len(pack.patterns) > 100
    found = [(p.owner, p.source) for p in pack.patterns if exponential_witness(p.source, p.flags)]
    assert found == []


# ----------------------------------------------------------------------------- every route


def _strings(node: Any) -> set[str]:
    if isinstance(node, str):
        return {node, node.removeprefix("re:")}
    if isinstance(node, dict):
        return set().union(*(_strings(v) for v in node.values())) if node else set()
    if isinstance(node, list):
        return set().union(*(_strings(v) for v in node)) if node else set()
    return set()


def test_every_regex_compiled_from_pack_text_is_listed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A rule kind that compiles pack text with re.compile instead of compile_pattern would hide
    its patterns from the checks; compile the shipped pack and look at every call."""
    text = DEFAULT_PACK.read_text(encoding="utf-8")
    compiled: list[str] = []
    real = re.compile

    def spy(pattern: Any, flags: int = 0) -> Any:
        compiled.append(pattern)
        return real(pattern, flags)

    monkeypatch.setattr(re, "compile", spy)
    pack = _build(text)
    monkeypatch.undo()
    from_text = {p for p in compiled if isinstance(p, str)} & _strings(yaml.safe_load(text))
    assert from_text, "the spy sees the pack's regexes"
    listed = {p.source for p in pack.patterns}
    assert from_text - listed == set()


def test_patterns_name_their_owner() -> None:
    text = DEFAULT_PACK.read_text(encoding="utf-8")
    spec = yaml.safe_load(text)
    rule = next(r for r in spec["rules"] if r["kind"] == "pii")
    rule["phone"]["candidate"] = r"\d{9}"
    signal = spec["mix"]["signals"][0]
    signal["terms"] = [*signal["terms"], "re:zorblax\\d"]
    pack = load_pack(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False))
    owners = {p.source: p.owner for p in pack.patterns}
    assert owners[r"\d{9}"] == rule["id"]
    assert owners["zorblax\\d"] == "mix"
    assert "normalize" in owners.values() and "links" in owners.values()


def test_recording_is_only_inside_the_block() -> None:
    with recording() as found, owned_by("r1"):
        compile_pattern("a+b")
    compile_pattern("c+d")
    assert found == [PackPattern("r1", "a+b", 0)]


# ----------------------------------------------------------------------------- measurement


def test_hostile_texts_pump_the_loops() -> None:
    texts = hostile_texts(r"\d+(?:\.\d+)?\s?万", 0, 500)
    assert any(re.fullmatch(r"\d{400,}\D?", t) for t in texts)
    assert all(len(t) <= 502 for t in texts)


def test_an_exponential_pattern_is_stopped_at_the_budget() -> None:
    (result,) = measure([(r"(a+)+b", 0)], 3000, budget_ms=100)
    assert result is not None and result.over


def test_a_linear_pattern_is_within_a_generous_budget() -> None:
    (result,) = measure([(r"\bkestrel\b", 0)], 5000, budget_ms=2000)
    assert result is not None and not result.over


def test_problems_static_first() -> None:
    """With no time measured at all, the exponential pattern is refused by the static check."""
    bad = PackPattern("g5-spelled-digits", r"(\d+\s?)+#")
    fine = PackPattern("g5-spelled-digits", r"\d{7}#")
    (problem,) = pattern_problems([fine, bad], max_chars=5000, budget_ms=1, measure_time=False)
    assert problem.pattern == bad and problem.kind == "exponential"
    assert "more than one way" in problem.message and problem.example


def test_problems_measured_for_what_the_static_check_lets_through() -> None:
    """Polynomial: not exponential, but O(n^5) on a 5000-character draft."""
    slow = PackPattern("g5-spelled-digits", r"\d*\d*\d*\d*#")
    assert exponential_witness(slow.source, 0) is None
    (problem,) = pattern_problems([slow], max_chars=5000, budget_ms=100)
    assert problem.kind == "slow" and "took over 100 ms" in problem.message


def test_a_zero_budget_refuses_every_pattern() -> None:
    (problem,) = pattern_problems([PackPattern("x", r"kestrel")], max_chars=100, budget_ms=0)
    assert problem.kind == "slow"


def test_a_pattern_made_to_be_costly_to_analyse_is_left_to_the_timing() -> None:
    """300 overlapping two-letter alternatives: the automaton squared would have 90,000 pairs
    of 90,000 steps each; the static check gives up (None) and the measurement refuses it."""
    costly = (
        "(?:"
        + "|".join(f"[a-z{chr(0x100 + 2 * i)}][a-z{chr(0x101 + 2 * i)}]" for i in range(300))
        + ")+#"
    )
    assert exponential_witness(costly, 0) is None
    (problem,) = pattern_problems([PackPattern("r", costly)], max_chars=5000, budget_ms=100)
    assert problem.kind == "slow"
