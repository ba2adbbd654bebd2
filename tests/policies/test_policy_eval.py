"""Gate metrics on the public evaluation set must meet the targets."""

from __future__ import annotations

from pathlib import Path

import pytest

from policies import Pack
from policies.evaluate import evaluate, read_jsonl

PUBLIC = Path(__file__).resolve().parents[3] / "shared" / "data" / "policy-eval" / "public.jsonl"


@pytest.mark.skipif(not PUBLIC.exists(), reason="evaluation data not available")
def test_gate_metrics(pack: Pack) -> None:
    m = evaluate(read_jsonl(PUBLIC), pack)
    assert m["block_precision"] >= 0.95, m["errors"]
    assert m["block_recall"] >= 0.90, m["errors"]
    assert m["flag_recall"] >= 0.90, m["errors"]
    assert m["allow_fpr"] <= 0.03, m["errors"]
