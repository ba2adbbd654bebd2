"""The shipped offensive-language model: loads offline, is accurate, robust and deterministic."""

from __future__ import annotations

import importlib.util
import json
import math
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

from policies.offensive import (
    DEFAULT_MODEL_PATH,
    OffensiveClassifier,
    analyze,
    normalize,
    tokenize,
)


def _training_script() -> ModuleType:
    """bench/train_offensive.py, which lives outside the runtime packages."""
    path = Path(__file__).resolve().parents[2] / "bench" / "train_offensive.py"
    spec = importlib.util.spec_from_file_location("train_offensive", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_train = _training_script()
DATA_DIR, macro_f1, read_split = _train.DATA_DIR, _train.macro_f1, _train.read_split

HOSTILE = [
    "",
    " ",
    "\n" * 10_000,
    "\t \r\n\x0b\x0c\x1c\x1d\x1e\x1f\x85\xa0\u2028\u3000",
    "\x00\x01\x02\x7f",
    "a" * 1_000_000,
    "fuck " * 200_000,
    "😂" * 5_000,
    "🤬🖕💩🔪",
    "👩🏽‍🚀👨‍👩‍👧‍👦🏳️‍🌈",
    "f\u200bu\u200bc\u200bk y\u200co\u200du",
    "\u200b\u200c\u200d\ufeff\u2060" * 100,
    "\ud800",
    "abc \udfff def \ud83d",
    "\ud83d\ude00 stray \udc00\ud800 surrogates",
    "Z̷̢͉a̵̛l̴̠g̶o̸͓ " * 50,
    "\u202eesrever\u202c \u200fשלום עולם مرحبا بالعالم",
    "𝐟𝐮𝐜𝐤 ｙｏｕ ⓘⓓⓘⓞⓣ",
    "&amp;&lt;&gt;&#0;&#x110000;&#xd800;&bogus; &amp;amp;",
    "#" * 5_000 + "@" * 5_000,
    "@user " * 10_000,
    "http://" + "x" * 50_000,
    "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!?????????.........",
    "İSTANBUL ǅ ß ﬁ Ω K Å",
    "\uffff\ufffe\U0010ffff\U000e0001",
    "x" * 100 + " " + "y" * 5_000,
]


@pytest.fixture(scope="module")
def clf() -> OffensiveClassifier:
    return OffensiveClassifier.load()


@pytest.fixture(scope="module")
def val() -> tuple[list[str], list[int]]:
    if not (DATA_DIR / "val_text.txt").exists():
        pytest.skip(f"TweetEval offensive validation data not found in {DATA_DIR}")
    return read_split("val")


def test_model_file_is_shipped_small_and_not_a_pickle() -> None:
    assert DEFAULT_MODEL_PATH.name == "offensive.json.gz"
    assert DEFAULT_MODEL_PATH.stat().st_size < 5_000_000
    assert DEFAULT_MODEL_PATH.read_bytes()[:2] == b"\x1f\x8b"  # gzip (of JSON)


def test_loads_offline_and_is_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the model must load without network access")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    copy = tmp_path / "offensive.json.gz"
    shutil.copy(DEFAULT_MODEL_PATH, copy)
    a = OffensiveClassifier.load(copy)
    assert OffensiveClassifier.load(copy) is a
    assert OffensiveClassifier.load(str(copy)) is a
    assert OffensiveClassifier.load() is OffensiveClassifier.load(DEFAULT_MODEL_PATH)
    assert 0.0 < a.threshold < 1.0
    assert a.meta["hyperparameters"]
    assert a.score("you are a fucking idiot") > a.threshold > a.score("have a lovely day")


def test_bad_model_files_raise_clean_errors(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        OffensiveClassifier.load(tmp_path / "missing.json.gz")
    not_gzip = tmp_path / "a.json.gz"
    not_gzip.write_bytes(b"not gzip")
    with pytest.raises(ValueError):
        OffensiveClassifier.load(not_gzip)
    import gzip

    wrong = tmp_path / "b.json.gz"
    wrong.write_bytes(gzip.compress(json.dumps({"format": "other"}).encode()))
    with pytest.raises(ValueError):
        OffensiveClassifier.load(wrong)
    truncated = tmp_path / "c.json.gz"
    truncated.write_bytes(DEFAULT_MODEL_PATH.read_bytes()[:1000])
    with pytest.raises(ValueError):
        OffensiveClassifier.load(truncated)


def test_validation_macro_f1(clf: OffensiveClassifier, val: tuple[list[str], list[int]]) -> None:
    texts, labels = val
    scores = [clf.score(t) for t in texts]
    assert all(0.0 <= s <= 1.0 for s in scores)
    f1 = macro_f1(labels, [s >= clf.threshold for s in scores])
    assert f1 >= 0.73, f"validation macro-F1 {f1:.4f}"
    assert [clf.predict(t) for t in texts[:200]] == [s >= clf.threshold for s in scores[:200]]


def _reference_logit(clf: OffensiveClassifier, text: str) -> float:
    """The model's definition, computed naively from analyze() (what training counted)."""
    words, chars = analyze(text, clf.word_ngrams, clf.char_ngrams)
    vals = [clf._word[g] for g in words if g in clf._word]
    vals += [clf._char[g] for g in chars if g in clf._char]
    dot = sum(v.real for v in vals)
    sq = sum(v.imag for v in vals)
    return clf.intercept + (dot / math.sqrt(sq) if sq > 0 else 0.0)


def test_fast_path_equals_the_feature_definition(
    clf: OffensiveClassifier, val: tuple[list[str], list[int]]
) -> None:
    texts = val[0][:300] + [t for t in HOSTILE if len(t) <= 1000]
    for t in texts:
        assert clf._logit(t) == pytest.approx(_reference_logit(clf, t), abs=1e-9), t


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_input_never_raises(clf: OffensiveClassifier, text: str) -> None:
    s = clf.score(text)
    assert isinstance(s, float) and 0.0 <= s <= 1.0
    assert isinstance(clf.predict(text), bool)
    terms = clf.top_terms(text, k=3)
    assert len(terms) <= 3
    assert all(isinstance(t, str) and isinstance(c, float) and c > 0 for t, c in terms)
    normalize(text).encode("utf-8")  # no lone surrogates survive normalisation
    assert all(" " not in t for t in tokenize(text[:2000]))


def test_non_string_input_is_tolerated(clf: OffensiveClassifier) -> None:
    for junk in (None, b"you idiot", bytearray(b"\xff\xfe"), 42):
        assert 0.0 <= clf.score(junk) <= 1.0  # type: ignore[arg-type]
        clf.top_terms(junk)  # type: ignore[arg-type]


@pytest.mark.timeout(120)  # a super-linear scorer would hang here; the timeout fails it
def test_huge_input_is_bounded_in_time(clf: OffensiveClassifier) -> None:
    assert 0.0 <= clf.score("lorem ipsum dolor sit amet " * 400_000) <= 1.0  # ~11 MB


def test_insult_buried_in_a_long_text_is_still_found(clf: OffensiveClassifier) -> None:
    text = "The weather was nice and we enjoyed the walk by the river. " * 60
    assert not clf.predict(text)
    assert clf.predict(text + " Honestly you are a stupid fucking idiot.")
    assert clf.predict("You are a stupid fucking idiot. " + text)


def test_deterministic_within_and_across_processes(clf: OffensiveClassifier) -> None:
    texts = ["@user you are a fucking idiot #MAGA", "Lovely to meet you all 😊", HOSTILE[10]]
    first = [clf.score(t) for t in texts]
    assert [clf.score(t) for t in texts] == first
    clf._tokens.clear()  # results never depend on the cache
    assert [clf.score(t) for t in texts] == first
    code = (
        "import json, sys; from policies.offensive import OffensiveClassifier as C; "
        "c = C.load(); print(json.dumps([c.score(t) for t in json.loads(sys.argv[1])]))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(texts)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(out.stdout) == first


def test_top_terms_explain_the_score(clf: OffensiveClassifier) -> None:
    text = "@user you are a disgusting fucking idiot"
    terms = clf.top_terms(text, k=3)
    assert len(terms) == 3
    assert [c for _, c in terms] == sorted((c for _, c in terms), reverse=True)
    assert {"fucking", "idiot"} & {t for t, _ in terms}
    assert clf.top_terms(text, k=0) == []
    assert clf.top_terms("", k=3) == []


def test_examples(clf: OffensiveClassifier) -> None:
    offensive = [
        "@user shut up you stupid bitch",
        "this is fucking bullshit",
        "@user you're a worthless piece of shit",
        "I will kill you and your family",
        "f\u200bu\u200bc\u200bk you",
        "𝐟𝐮𝐜𝐤 you idiot",
    ]
    benign = [
        "Thanks so much for the great service today!",
        "Our new store opens on Monday at 9am, see you there.",
        "@user Happy birthday, hope you have a wonderful day",
        "We're sorry about the delay, your order ships tomorrow.",
    ]
    assert all(clf.predict(t) for t in offensive), [(t, clf.score(t)) for t in offensive]
    assert not any(clf.predict(t) for t in benign), [(t, clf.score(t)) for t in benign]


def test_scoring_is_fast_enough(clf: OffensiveClassifier, val: tuple[list[str], list[int]]) -> None:
    texts = val[0]
    for t in texts:  # first pass fills the token cache
        clf.score(t)
    start = time.perf_counter()
    for t in texts:
        clf.score(t)
    per_text = (time.perf_counter() - start) / len(texts)
    # ~30-60 us on the shared 2-core build machine; the bound only catches gross regressions
    # (sklearn's own transform + predict_proba takes ~1 ms per text).
    assert per_text < 1e-3
