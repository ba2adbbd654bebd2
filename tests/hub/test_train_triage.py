"""The triage model's training labels (bench/train_triage.py): which rows teach which class."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture
def train_triage(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    import train_triage

    yield train_triage
    sys.modules.pop("train_triage", None)


def _row(triggers, absent=frozenset()):
    return {
        "intent": "complaint",
        "sentiment": "negative",
        "stage": "order",
        "severity": "normal",
        "triggers": triggers,
        "absent": absent,
    }


def test_a_development_mention_below_p1_is_a_negative_for_the_p1_triggers(train_triage):
    """Public mentions carry no trigger labels, but one labelled p2 or p3 has no trigger that
    would have made it p1: it teaches those heads what they are not, and no others."""
    rows = [
        _row({"urgent"}),
        _row(set()),
        _row(None, train_triage.P1_TRIGGERS),  # development, p2
        _row(None),  # development, p1: says nothing about triggers
    ]
    heads = {cls: (mask, y) for cls, _head, mask, y in train_triage.targets(rows)}
    mask, y = heads["trigger:urgent"]
    assert mask.tolist() == [True, True, True, False]
    assert y.tolist() == [1, 0, 0, 0]
    mask, _y = heads["trigger:repeated"]  # escalations p2 can be a repeat: not p1-only
    assert mask.tolist() == [True, True, False, False]
    assert "repeated" not in train_triage.P1_TRIGGERS


@pytest.mark.parametrize(
    "name",
    [
        "mentions-blind.jsonl",
        "mentions-blind2.jsonl",
        "mentions-blind3.jsonl",
        "mentions-blind4.jsonl",
    ],
)
def test_no_blind_mention_is_learned_from(train_triage, name):
    """Measure blind: the blind mention sets (each written by someone who saw neither the
    router nor any other labelled mention) are read by no training file or run."""
    blind = Path(__file__).resolve().parents[1] / "data" / name
    seen = {" ".join(r["text"].casefold().split()) for r in train_triage.dataset(public=True)}
    texts = [json.loads(x)["text"] for x in blind.read_text(encoding="utf-8").splitlines() if x]
    assert len(texts) >= 399
    leaked = [t for t in texts if " ".join(t.casefold().split()) in seen]
    assert leaked == []
    assert all(blind != p for p in train_triage.WRITTEN)
