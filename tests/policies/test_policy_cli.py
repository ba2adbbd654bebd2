"""The `policy` click group: check, test, eval and eval-offensive."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from policies.cli import policy

SAMPLE = [
    {
        "id": "a",
        "kind": "post",
        "platform": "x",
        "lang": "en",
        "text": "Made a bowl today.",
        "in_reply_to": None,
        "author_history": {"posts_30d": 3, "product_posts_30d": 0},
        "expected": "allow",
        "violations": [],
        "is_product": False,
        "note": "",
    },
    {
        "id": "b",
        "kind": "reply",
        "platform": "x",
        "lang": "en",
        "text": "Order KF-20488172 shipped",
        "in_reply_to": "where?",
        "author_history": None,
        "expected": "block",
        "violations": ["G5"],
        "is_product": None,
        "note": "",
    },
]


def test_check_json() -> None:
    result = CliRunner().invoke(
        policy, ["check", "f u c k mondays", "--platform", "x", "--posts-30d", "3", "--json"]
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["verdict"] == "block" and data["findings"][0]["guideline"] == "G3"


def test_check_text() -> None:
    result = CliRunner().invoke(
        policy,
        [
            "check",
            "Loving my Perch Low kestrelfootwear.com/p/perch-low",
            "--posts-30d",
            "10",
            "--product-posts-30d",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "verdict: review" in result.output and "G6" in result.output


def test_test_command() -> None:
    result = CliRunner().invoke(policy, ["test"])
    assert result.exit_code == 0, result.output
    assert "examples pass" in result.output


def test_eval_json(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in SAMPLE), encoding="utf-8")
    result = CliRunner().invoke(policy, ["eval", str(path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    for key in (
        "accuracy",
        "block_precision",
        "block_recall",
        "flag_recall",
        "allow_fpr",
        "p50_ms",
        "p99_ms",
    ):
        assert key in data
    assert data["accuracy"] == 1.0
    text = CliRunner().invoke(policy, ["eval", str(path)])
    assert "confusion" in text.output and "per guideline" in text.output


def test_eval_offensive(tmp_path: Path) -> None:
    texts = tmp_path / "t.txt"
    labels = tmp_path / "l.txt"
    texts.write_text("what the f*ck\nlovely day at the lake\n", encoding="utf-8")
    labels.write_text("1\n0\n", encoding="utf-8")
    result = CliRunner().invoke(policy, ["eval-offensive", str(texts), str(labels), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["macro_f1"] == 1.0


def test_patterns_lists_the_slowest_and_refuses_a_catastrophic_one(tmp_path: Path) -> None:
    pack = tmp_path / "pack.yaml"
    pack.write_text(
        "name: tiny\nrules:\n"
        "- {id: r1, kind: pattern, patterns: ['\\bkestrel\\b', '(\\d+\\s?)+#']}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(policy, ["patterns", "--pack", str(pack)])
    assert result.exit_code == 1, result.output
    assert "ms  r1: \\bkestrel\\b" in result.output
    assert "REFUSED r1: the regular expression “(\\d+\\s?)+#”" in result.output
    pack.write_text(
        "name: tiny\nrules:\n- {id: r1, kind: pattern, patterns: ['\\bkestrel\\b']}\n",
        encoding="utf-8",
    )
    fine = CliRunner().invoke(policy, ["patterns", "--pack", str(pack), "--budget-ms", "60000"])
    assert fine.exit_code == 0, fine.output
