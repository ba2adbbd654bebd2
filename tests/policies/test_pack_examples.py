"""Every rule's examples in the pack, run as tests (the same data `hub policy test` uses)."""

from __future__ import annotations

import pytest

from policies import Pack, load_pack
from policies.examples import ExampleCase, iter_examples, run_case, run_pack_examples

CASES = list(iter_examples(load_pack()))


def test_every_rule_has_examples_both_ways(pack: Pack) -> None:
    by_rule = {(c.rule_id, c.expect) for c in CASES}
    for rule in pack.rules:
        assert (rule.id, "trigger") in by_rule, f"{rule.id} has no trigger examples"
        assert (rule.id, "pass") in by_rule, f"{rule.id} has no pass examples"


@pytest.mark.parametrize(
    "case", CASES, ids=[f"{c.rule_id}-{c.expect}-{i}" for i, c in enumerate(CASES)]
)
def test_pack_example(case: ExampleCase, pack: Pack) -> None:
    failure = run_case(case, pack)
    assert failure is None, str(failure)


def test_run_pack_examples_reports_failures() -> None:
    text = """
rules:
  - id: demo
    kind: lexicon
    guideline: G3
    severity: block
    terms: [heck]
    examples:
      trigger: ["what the heck", "no match here"]
      pass: ["hello", "heck yes"]
"""
    failures = run_pack_examples(load_pack(text))
    assert sorted((f.expect, f.text) for f in failures) == [
        ("pass", "heck yes"),
        ("trigger", "no match here"),
    ]
    assert "should trigger" in str(failures[0]) or "should pass" in str(failures[0])


def test_default_pack_examples_all_pass(pack: Pack) -> None:
    assert run_pack_examples(pack) == []
