"""The g3-offensive rule's model tiers: block when near-certain, review in the gated middle band."""

from __future__ import annotations

import pytest
import yaml

from policies import Context, Draft, check, load_pack
from policies.doc import Doc
from policies.evaluate import evaluate_offensive
from policies.rules.offensive import OffensiveRule

# scores (shipped model): ~0.50 with the insult word "disgrace"; ~0.87 ("hypocrite"); ~0.1
BAND = "This meeting schedule is a disgrace to calendars everywhere lol"
SURE = "That ref is a hypocrite and everyone knows it"
CLEAN = "Our team lunch was great, the new tacos place is awesome"


@pytest.fixture(scope="module")
def rule() -> OffensiveRule:
    r = next(r for r in load_pack().rules if isinstance(r, OffensiveRule))
    if r.classifier() is None:
        pytest.skip("offensive model not installed")
    return r


def _g3(text: str, pack: object = None) -> list:
    decision = check(Draft(text=text, platform="x", kind="post"), Context(), pack)  # type: ignore[arg-type]
    return [f for f in decision.findings if f.rule_id == "g3-offensive"]


def test_band_with_insult_word_goes_to_review_and_points_at_it(rule: OffensiveRule) -> None:
    score = rule.score(BAND)
    assert score is not None
    assert rule.review_threshold <= score < min(rule.threshold, rule.review_alone)
    (f,) = _g3(BAND)
    assert f.severity == "review"
    assert f.span is not None and BAND[f.span[0] : f.span[1]] == "disgrace"
    assert "'disgrace'" in f.message


def test_band_without_insult_word_is_allowed(rule: OffensiveRule) -> None:
    spec = dict(load_pack().spec)
    rules = []
    for r in spec["rules"]:
        r = dict(r)
        if r["id"] == "g3-offensive":
            r["classifier"] = dict(r["classifier"], not_insults=["disgrace"])
        rules.append(r)
    spec["rules"] = rules
    edited = load_pack(yaml.safe_dump(spec, allow_unicode=True))
    assert _g3(BAND, edited) == []
    assert _g3(BAND)  # the shipped pack still flags it


def test_near_certain_score_blocks_and_names_the_drivers(rule: OffensiveRule) -> None:
    score = rule.score(SURE)
    assert score is not None and score >= rule.threshold
    (f,) = _g3(SURE)
    assert f.severity == "block"
    assert f.span is not None and SURE[f.span[0] : f.span[1]] == "hypocrite"
    assert "'hypocrite'" in f.message


def test_clean_post_is_allowed(rule: OffensiveRule) -> None:
    assert _g3(CLEAN) == []


def test_the_english_model_does_not_judge_spanish(rule: OffensiveRule) -> None:
    text = "Hoy el gerente es un payaso total, qué vergüenza de reunión"
    pack = load_pack()
    doc = Doc(Draft(text=text, platform="x", kind="post"), Context(), pack)
    assert doc.language_hint == "es"
    score = rule.score(text)
    assert score is not None and score >= rule.review_threshold  # it would fire if it were read
    assert rule.model_findings(doc) == []


def test_eval_offensive_counts_review_as_flagged(rule: OffensiveRule) -> None:
    m = evaluate_offensive([BAND, SURE, CLEAN], [1, 1, 0], load_pack())
    assert m["macro_f1"] == 1.0
    assert m["fired_by"] == {"model_review": 1, "model_block": 1}
    # with the band switched off, the review text is missed
    off = evaluate_offensive([BAND, SURE, CLEAN], [1, 1, 0], load_pack(), review_threshold=2.0)
    assert off["macro_f1"] < 1.0
