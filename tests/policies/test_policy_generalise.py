"""Gate metrics on our own labelled drafts (not the public set) must meet the issue's targets.

tests/data/policy-generalise.jsonl holds 155 new drafts in public.jsonl's format, written and
labelled from the guidelines and company facts alone. The first run of the pack on them found
real gaps (block recall 0.73); those were fixed in general terms (word lists, negations, new
triggers, each with its own new pack examples), and this keeps them fixed.
"""

from __future__ import annotations

from pathlib import Path

from policies import Pack
from policies.evaluate import evaluate, read_jsonl

GENERALISE = Path(__file__).parents[1] / "data" / "policy-generalise.jsonl"


def test_generalise_set_is_substantial() -> None:
    items = read_jsonl(GENERALISE)
    assert len(items) >= 120
    assert {it.expected for it in items} == {"allow", "warn", "review", "block"}


def test_generalise_gate_metrics(pack: Pack) -> None:
    m = evaluate(read_jsonl(GENERALISE), pack)
    assert m["block_precision"] >= 0.95, m["errors"]
    assert m["block_recall"] >= 0.90, m["errors"]
    assert m["flag_recall"] >= 0.90, m["errors"]
    assert m["allow_fpr"] <= 0.03, m["errors"]
