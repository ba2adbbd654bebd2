"""Offensive-language classifier (profanity, insults, harassment, threats) for English drafts.

A linear model over TF-IDF features -- word 1-2-grams plus character n-grams inside word
boundaries (sklearn's ``char_wb``) -- trained on TweetEval "offensive" (SemEval-2019 OffensEval /
OLID) by ``policies/train_offensive.py``. See ``policies/models/README.md`` for the data,
hyperparameters and scores.

Why inference is hand-written here instead of calling scikit-learn: the model *is* sklearn's
(a ``TfidfVectorizer``-equivalent feature map, NB log-count-ratio scaling and a
``LogisticRegression``), exported by the training script as plain numbers (document frequencies
and folded per-feature weights) in a gzip'd JSON file. Re-implementing the few lines of the
forward pass (count n-grams, sublinear tf * idf, L2 norm, dot product, sigmoid) gives:

* speed -- ``vectorizer.transform`` + ``predict_proba`` on one string costs ~0.5-1 ms of sklearn
  and scipy overhead; this path runs almost entirely inside CPython's C loops (``map``, ``Counter``,
  dict lookups) and takes tens of microseconds per tweet;
* no pickles -- nothing executable is loaded, and no scikit-learn/scipy at runtime (stdlib only);
* one source of truth -- the training script builds its features with :func:`analyze` from this
  module, so training and serving tokenise identically by construction.

Public API: ``OffensiveClassifier.load()`` (cached), ``.score(text)`` (probability of offensive),
``.threshold`` (the macro-F1-optimal cut from cross-validation), ``.predict(text)`` and
``.top_terms(text, k)`` (what pushed the score up, so a finding can explain itself).
"""

from __future__ import annotations

import gzip
import html
import json
import math
import re
import threading
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator
from itertools import chain
from pathlib import Path
from typing import Any

__all__ = ["OffensiveClassifier", "analyze", "normalize", "DEFAULT_MODEL_PATH"]

DEFAULT_MODEL_PATH = Path(__file__).resolve().parent / "models" / "offensive.json.gz"
FORMAT = "offensive-linear/1"
PREPROCESS_VERSION = 1

# Long inputs are scored in overlapping windows and the maximum is taken: a TF-IDF vector is
# L2-normalised, so one insult buried in a long text would otherwise be diluted away. Work is
# bounded: at most MAX_WINDOWS windows (~64k characters, Facebook's post limit) are read.
WINDOW = 1000
OVERLAP = 200
MAX_WINDOWS = 64

# --------------------------------------------------------------------------------------------
# Preprocessing (shared with training: do not change without bumping PREPROCESS_VERSION and
# retraining).

_SURROGATES = re.compile("[\ud800-\udfff]")
# Invisible/format characters used to split words ("f\u200buck") and emoji variation selectors.
_DROP = dict.fromkeys(
    map(
        ord,
        "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d\u200e\u200f"
        "\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068\u2069"
        "\u3164\ufe0e\ufe0f\ufeff\uffa0",
    ),
    None,
)
_PUNCT_FOLD = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u02bc": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
    }
)
_URL = re.compile(r"https?://\S+|www\.\S+|\bURL\b")
_HASHTAG = re.compile(r"#(\w+)")
_CAMEL = re.compile(r"[A-Z]{2,}(?=[A-Z][a-z]|\b|\d)|[A-Z]?[a-z]+|[A-Z]+|\d+")
_ELONGATED = re.compile(r"(.)\1{2,}")
_MENTIONS = re.compile(r"(?:@user\s*){2,}")
_MENTION = re.compile(r"@\w+")
# Word tokens (keeping a leading #/@ and inner apostrophes), else single non-space symbols
# (punctuation, each emoji code point).
_TOKEN = re.compile(r"[#@]?\w+(?:'\w+)*|[^\w\s]")
_STRIP = "\"'.,;:!?()[]{}<>*_~`|/\\-"


def _split_hashtag(m: re.Match[str]) -> str:
    parts = _CAMEL.findall(m.group(1))
    return " ".join(parts) if parts else m.group(1)


def normalize(text: str) -> str:
    """Canonical lower-cased text: what the features are computed from.

    Replaces lone surrogates, drops invisible characters, folds compatibility forms (NFKC:
    full-width and "math bold" letters), unescapes HTML entities, maps URLs to ``http`` and
    mentions to ``@user`` (TweetEval's convention), splits camel-case hashtags
    (``#BuildTheWall`` -> ``build the wall``), and shortens elongations (``sooooo`` -> ``soo``).
    """
    if not isinstance(text, str):
        text = str(text)
    text = _SURROGATES.sub("\ufffd", text)
    text = text.translate(_DROP).translate(_PUNCT_FOLD)
    if "&" in text:
        text = html.unescape(text)
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    text = _URL.sub(" http ", text)
    if "@" in text:
        text = _MENTION.sub("@user", text)
    if "#" in text:
        text = _HASHTAG.sub(_split_hashtag, text)
    text = text.lower()
    text = _ELONGATED.sub(r"\1\1", text)
    if "@user" in text:
        text = _MENTIONS.sub("@user ", text)
    return text


_SLICE_CACHE: dict[tuple[int, int, int], tuple[slice, ...]] = {}


def _slices(length: int, lo: int, hi: int) -> tuple[slice, ...]:
    """All [i:i+n] slices of a string of this length, n in lo..hi, in sklearn's order."""
    key = (length, lo, hi)
    s = _SLICE_CACHE.get(key)
    if s is None:
        s = tuple(
            slice(i, i + n) for n in range(lo, min(hi, length) + 1) for i in range(length - n + 1)
        )
        if length <= 64:
            _SLICE_CACHE[key] = s
    return s


def word_grams(tokens: list[str], lo: int, hi: int) -> Iterator[str]:
    """Word n-grams (space-joined), n in lo..hi."""
    for n in range(lo, hi + 1):
        if n == 1:
            yield from tokens
        elif len(tokens) >= n:
            yield from map(" ".join, zip(*(tokens[i:] for i in range(n))))


def char_grams(words: Iterable[str], lo: int, hi: int) -> Iterator[str]:
    """Character n-grams of each space-padded word (sklearn's ``char_wb``), n in lo..hi."""
    for w in words:
        w = " " + w + " "
        yield from map(w.__getitem__, _slices(len(w), lo, hi))


def analyze(
    text: str, word_ngrams: tuple[int, int] = (1, 2), char_ngrams: tuple[int, int] = (2, 5)
) -> tuple[Iterator[str], Iterator[str]]:
    """Return (word n-grams, char n-grams) of a text, as lazy iterators of strings."""
    norm = normalize(text)
    words: Iterator[str] = (
        word_grams(_TOKEN.findall(norm), *word_ngrams) if word_ngrams[1] else iter(())
    )
    chars: Iterator[str] = char_grams(norm.split(), *char_ngrams) if char_ngrams[1] else iter(())
    return words, chars


# --------------------------------------------------------------------------------------------
# The model


def _windows(text: str) -> list[str]:
    if len(text) <= WINDOW:
        return [text]
    out = []
    step = WINDOW - OVERLAP
    start = 0
    while start < len(text) and len(out) < MAX_WINDOWS:
        out.append(text[start : start + WINDOW])
        if start + WINDOW >= len(text):
            break
        start += step
    return out


class OffensiveClassifier:
    """A loaded offensive-language model. Use :meth:`load`; instances are immutable and
    thread-safe."""

    _cache: dict[Path, OffensiveClassifier] = {}
    _lock = threading.Lock()

    threshold: float

    def __init__(self, data: dict[str, Any]) -> None:
        if data.get("format") != FORMAT:
            raise ValueError(f"not an {FORMAT} model: format={data.get('format')!r}")
        if data.get("preprocess") != PREPROCESS_VERSION:
            raise ValueError(
                f"model preprocessing v{data.get('preprocess')} != code v{PREPROCESS_VERSION}"
            )
        self.word_ngrams = (int(data["word_ngrams"][0]), int(data["word_ngrams"][1]))
        self.char_ngrams = (int(data["char_ngrams"][0]), int(data["char_ngrams"][1]))
        self.intercept = float(data["intercept"])
        self.threshold = float(data["threshold"])
        self.meta: dict[str, Any] = dict(data.get("meta") or {})
        n_docs = int(data["n_docs"])
        # Index 0.. over all features; word and char n-grams get separate lookup dicts (the
        # same string can be both, e.g. "no" as a word and as a character bigram).
        self._idf: list[float] = []
        self._coef: list[float] = []
        self._names: list[str] = []
        self._word: dict[str, int] = {}
        self._char: dict[str, int] = {}
        for kind, table in (("word", self._word), ("char", self._char)):
            block = data[kind]
            names, dfs, coefs = block["features"], block["df"], block["coef"]
            if not len(names) == len(dfs) == len(coefs):
                raise ValueError(f"corrupt model: {kind} arrays differ in length")
            base = len(self._names)
            table.update(zip(names, range(base, base + len(names)), strict=True))
            # sklearn's smooth idf: ln((1 + n) / (1 + df)) + 1
            self._idf.extend(math.log((1 + n_docs) / (1 + int(d))) + 1.0 for d in dfs)
            self._coef.extend(map(float, coefs))
            self._names.extend(names)
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError("corrupt model: threshold outside [0, 1]")

    # -- loading ------------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path | None = None) -> OffensiveClassifier:
        """Load (once per path, then cached) the model shipped in ``policies/models/``."""
        p = Path(path) if path is not None else DEFAULT_MODEL_PATH
        p = p.resolve()
        clf = cls._cache.get(p)
        if clf is not None:
            return clf
        with cls._lock:
            clf = cls._cache.get(p)
            if clf is None:
                with gzip.open(p, "rt", encoding="utf-8") as fh:
                    data = json.load(fh)
                if not isinstance(data, dict):
                    raise ValueError(f"corrupt model file {p}")
                clf = cls(data)
                cls._cache[p] = clf
        return clf

    # -- scoring ------------------------------------------------------------------------------

    def _counts(self, text: str) -> Counter[int | None]:
        words, chars = analyze(text, self.word_ngrams, self.char_ngrams)
        counts = Counter(chain(map(self._word.get, words), map(self._char.get, chars)))
        counts.pop(None, None)
        return counts

    def _vector(self, text: str) -> tuple[list[tuple[int, float]], float]:
        """Feature values (index, tf*idf) and their L2 norm."""
        idf = self._idf
        vals = [
            (i, idf[i] * (1.0 + math.log(c)) if c > 1 else idf[i])
            for i, c in self._counts(text).items()
        ]
        norm = math.sqrt(sum([v * v for _, v in vals]))
        return vals, norm

    def _logit(self, text: str) -> float:
        vals, norm = self._vector(text)
        if not norm:
            return self.intercept
        coef = self._coef
        return self.intercept + sum([v * coef[i] for i, v in vals]) / norm

    @staticmethod
    def _sigmoid(z: float) -> float:
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)

    def score(self, text: str) -> float:
        """Probability in [0, 1] that the text is offensive (max over windows if long)."""
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        z = max(map(self._logit, _windows(text)))
        return self._sigmoid(z)

    def predict(self, text: str) -> bool:
        """True when :meth:`score` reaches :attr:`threshold`."""
        return self.score(text) >= self.threshold

    def top_terms(self, text: str, k: int = 3) -> list[tuple[str, float]]:
        """The k terms that pushed the score up most, as (term, contribution to the logit).

        Terms are the model's word n-grams plus whole words, a word being credited with the
        summed contribution of its character n-grams (more readable than " idi", "diot").
        Only positive contributions are returned, largest first; ties break alphabetically.
        """
        if k <= 0:
            return []
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        windows = _windows(text)
        text = max(windows, key=self._logit)  # explain the window that decided the score
        vals, norm = self._vector(text)
        if not norm:
            return []
        contrib = {i: v * self._coef[i] / norm for i, v in vals}
        out: dict[str, float] = {}
        n_words = len(self._word)
        for i, c in contrib.items():
            if i < n_words:
                out[self._names[i]] = out.get(self._names[i], 0.0) + c
        # Share each char n-gram's contribution evenly among its occurrences, credit the words.
        lo, hi = self.char_ngrams
        if hi:
            norm_words = normalize(text).split()
            occurrences: Counter[int] = Counter()
            per_word: list[list[int]] = []
            for w in norm_words:
                ids = [j for j in map(self._char.get, char_grams([w], lo, hi)) if j is not None]
                per_word.append(ids)
                occurrences.update(ids)
            for w, ids in zip(norm_words, per_word, strict=True):
                if not ids:
                    continue
                key = w.strip(_STRIP) or w
                share = sum(contrib[j] / occurrences[j] for j in ids)
                out[key] = out.get(key, 0.0) + share
        ranked = sorted(((t, c) for t, c in out.items() if c > 0), key=lambda tc: (-tc[1], tc[0]))
        return [(t, round(c, 6)) for t, c in ranked[:k]]
