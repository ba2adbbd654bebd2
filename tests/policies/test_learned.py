"""The learned tier: scoring as trained, findings that explain themselves, deference to the word
lists, and no evaluation draft anywhere in what it learned from."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest

from policies import Draft, Pack, check, iter_examples, load_pack
from policies.learned import CultureModel, features
from policies.rules.learned import load_model

ROOT = Path(__file__).parents[2]
PUBLIC = ROOT.parent / "shared" / "data" / "policy-eval" / "public.jsonl"
BLIND = sorted((ROOT / "tests" / "data").glob("culture-blind*.jsonl"))
TRAIN = sorted((ROOT / "bench" / "data").glob("culture-train*.jsonl"))


@pytest.fixture(scope="module")
def model() -> CultureModel:
    found = load_model()
    assert found is not None, "policies/models/culture.json.gz is missing: make train-culture"
    return found


def _texts(path: Path) -> list[str]:
    return [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines()]


def test_fast_scores_equal_the_sum_over_every_feature(model: CultureModel, pack: Pack) -> None:
    """scores() adds cached per-word sums; recompute from scratch over features() instead."""
    for raw in _texts(PUBLIC)[:120]:
        text = pack.normalizer.plain(raw).text
        got = model.scores(text)
        square = 0.0
        totals = [0.0] * len(model.classes)
        for f in features(text):
            entry = model.weights.get(f)
            if entry is None:
                continue
            idf, ws = entry
            square += idf * idf
            totals = [t + idf * w for t, w in zip(totals, ws, strict=True)]
        norm = square**0.5 or 1.0
        for i, c in enumerate(model.classes):
            z = model.bias[i] + totals[i] / norm
            assert got[c] == pytest.approx(1 / (1 + pow(2.718281828459045, -z)), abs=1e-9)


def test_every_family_has_a_threshold_from_cross_validation(model: CultureModel) -> None:
    cv = model.meta["cross_validation"]
    for c in model.classes:
        assert set(model.thresholds[c]) == {"review", "block"}
        assert cv[c]["positives"] >= 12
        if model.thresholds[c]["review"] is not None:
            assert cv[c]["review_precision"] >= 0.8


def test_a_paraphrase_no_list_holds_gets_an_explained_finding(pack: Pack) -> None:
    case = next(
        c for c in iter_examples(pack) if c.rule_id == "g2-learned" and c.expect == "trigger"
    )
    decision = check(case.draft, case.context, pack)
    [finding] = [f for f in decision.findings if f.rule_id == "g2-learned"]
    assert finding.guideline == "G2" and finding.severity in ("review", "block")
    assert "by the learned check" in finding.message and "Drafts like it: “" in finding.message
    assert finding.span is not None
    start, end = finding.span
    assert 0 <= start < end <= len(case.draft.text)
    assert finding.suggestion


def test_the_learned_tier_defers_to_a_word_list_of_the_same_guideline(
    pack: Pack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A draft the G10 word list flags gets the list's finding, not a second learned one."""
    from policies.rules.learned import LearnedRule

    text = "Dear valued customer, kindly be advised that exchanges are processed per policy."
    draft = Draft(text=text, platform="x", kind="reply")
    assert {f.rule_id for f in check(draft, None, pack).findings} == {"g10-stiff-tone"}
    monkeypatch.setattr(LearnedRule, "defers", False)  # it would have spoken
    assert {f.rule_id for f in check(draft, None, pack).findings} == {
        "g10-stiff-tone",
        "g10-learned",
    }


def test_ordinary_friendly_drafts_stay_allowed(pack: Pack) -> None:
    for text in (
        "Happy Friday! Who's running the river trail this weekend?",
        "¡Qué bonito! Gracias por compartir la foto de tus Cirrus 💙",
        "周末愉快！记得多喝水，跑步注意安全～",
        "Sorry about the wait! Your replacement ships today with free expedited shipping.",
    ):
        assert check(Draft(text=text, platform="x", kind="post"), None, pack).verdict == "allow"


def test_without_its_model_the_tier_is_quiet(monkeypatch: pytest.MonkeyPatch, pack: Pack) -> None:
    from policies.rules import learned

    monkeypatch.setattr(learned, "load_model", lambda path=None: None)
    spec_text = (ROOT / "policies" / "packs" / "culture.yaml").read_text(encoding="utf-8")
    quiet = load_pack(spec_text + "\n# without a model\n")
    case = next(
        c for c in iter_examples(pack) if c.rule_id == "g2-learned" and c.expect == "trigger"
    )
    assert "g2-learned" not in {f.rule_id for f in check(case.draft, case.context, quiet).findings}


def _key(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def test_no_evaluation_draft_was_learned_from(model: CultureModel, pack: Pack) -> None:
    """Measure blind: nothing of public.jsonl or the blind set is in the training files, the
    pack's examples or the model's example bank."""
    assert len(BLIND) == 17 and len(TRAIN) == 5
    held_out = {_key(t) for path in [PUBLIC, *BLIND] for t in _texts(path)}
    learned_from = [t for path in TRAIN for t in _texts(path)]
    learned_from += [c.draft.text for c in iter_examples(pack)]
    learned_from += [t for bank in model.examples.values() for t in bank]
    copied = [t for t in learned_from if _key(t) in held_out]
    assert copied == []


def test_requires_as_a_list_of_lists_asks_for_one_term_of_each() -> None:
    """g4-learned's scope: the company's voice AND a figure, date or confidence; either alone
    leaves the rule quiet (a threshold of 0 makes the score irrelevant here)."""
    pack = load_pack(
        "rules:\n  - id: t\n    kind: learned\n    guideline: G4\n    severity: review\n"
        "    review_at: 0.0\n    requires: [[we, our], ['re:\\d']]\n"
    )
    fired = {
        text: bool(check(Draft(text=text, kind="post", platform="x"), pack=pack).findings)
        for text in ("we sold 500 pairs", "we sold lots of pairs", "500 pairs, wow")
    }
    assert fired == {
        "we sold 500 pairs": True,
        "we sold lots of pairs": False,
        "500 pairs, wow": False,
    }


def test_a_draft_too_short_to_read_is_left_to_the_word_lists() -> None:
    """One word carries the whole score under the occurrence norm; "hi" once read as 93 % stiff."""
    pack = load_pack(
        "rules:\n  - id: t\n    kind: learned\n    guideline: G10\n    severity: warn\n"
        "    review_at: 0.0\n"
    )

    def fired(text: str) -> bool:
        return bool(check(Draft(text=text, kind="reply", platform="x"), pack=pack).findings)

    assert not fired("hi")
    assert not fired("ok thx")
    assert fired("thanks so much")
    assert fired("非常感谢你的耐心")


def test_drafts_like_it_are_in_the_drafts_own_script(model: CultureModel) -> None:
    """The bank's shortest drafts are mostly Chinese; an English draft once got Chinese insults as
    "drafts like it"."""
    from policies.normalize import HAN

    english = model.nearest("the warehouse guys couldn't pack a lunch, honestly", "G2")
    chinese = model.nearest("新来的同事真是个废物，什么都不会", "G2")
    assert english and not any(HAN.search(e) for e in english)
    assert chinese and all(HAN.search(e) for e in chinese)
    assert model.nearest("zzzz qqqq", "G2") == ()
