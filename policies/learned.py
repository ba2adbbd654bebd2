"""The learned tier of the culture check: one linear model per guideline family, over words and
character n-grams, that reads what a draft means rather than which listed word it holds.

Trained by ``bench/train_culture.py`` (scikit-learn logistic regression, thresholds from
cross-validated predictions) on the labelled drafts this repository holds; ``policies/models/
README.md`` has the data and the scores. Features, per run of word characters in the plain view
(case-folded, invisible characters and look-alikes undone): the word itself, its character
2-4-grams with word edges (``<ki``, ``ind>``: CJK runs, which have no spaces, are read through
these), and each pair of neighbouring words. TF-IDF with the additive norm of
``policies/offensive.py`` (every occurrence counts separately), so a word's contribution to every
class is computed once and cached, and a draft costs a lookup per word plus one per word pair.

Hand-written inference for the reasons given in ``policies/offensive.py``: scikit-learn's
``transform`` + ``predict_proba`` alone cost about a millisecond per text, and nothing executable
is loaded (the model is numbers in a gzip'd JSON file).
"""

from __future__ import annotations

import gzip
import json
import math
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from policies.normalize import HAN

__all__ = [
    "DEFAULT_MODEL_PATH",
    "FORMAT",
    "CultureModel",
    "Explanation",
    "features",
    "sigmoid",
    "tokens",
]

DEFAULT_MODEL_PATH = Path(__file__).resolve().parent / "models" / "culture.json.gz"
FORMAT = "culture-linear/1"
_TOKEN = re.compile(r"\w+")
_MAX_TOKEN = 40  # longer runs (hostile text, a URL's path) give only their edges' n-grams
_CACHE_LIMIT = 50_000


def tokens(text: str) -> list[tuple[str, int, int]]:
    """The runs of word characters in ``text``: (token, start, end)."""
    return [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def _token_features(token: str) -> list[str]:
    """The features one token gives on its own: the word and its edged character n-grams."""
    if len(token) > _MAX_TOKEN:
        token = token[: _MAX_TOKEN // 2] + token[-_MAX_TOKEN // 2 :]
    out = ["w:" + token]
    edged = "<" + token + ">"
    n = len(edged)
    for size in (2, 3, 4):
        out.extend(edged[i : i + size] for i in range(n - size + 1))
    return out


def features(text: str) -> Iterator[str]:
    """Every feature occurrence of ``text`` (the plain view), in order: the training script and
    the model read drafts through this one function."""
    previous = None
    for token, _start, _end in tokens(text):
        yield from _token_features(token)
        if previous is not None:
            yield "b:" + previous + " " + token
        previous = token


@dataclass(frozen=True)
class Explanation:
    """Why a class scored as it did: its probability, the token that pushed it most and the
    training examples most like the draft."""

    score: float
    span: tuple[int, int] | None  # in the text scored
    terms: tuple[str, ...]
    nearest: tuple[str, ...]


class CultureModel:
    """A multi-class (one-vs-rest) linear model; ``scores(text)`` gives each class's probability."""

    _lock = threading.Lock()
    _loaded: dict[Path, CultureModel] = {}

    def __init__(self, data: dict[str, Any]) -> None:
        if data.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} model")
        self.classes: tuple[str, ...] = tuple(data["classes"])
        k = len(self.classes)
        self.bias: tuple[float, ...] = tuple(float(b) for b in data["bias"])
        #: feature -> (idf, weight per class)
        self.weights: dict[str, tuple[float, tuple[float, ...]]] = {
            f: (float(row[0]), tuple(float(w) for w in row[1 : k + 1]))
            for f, row in data["features"].items()
        }
        self.thresholds: dict[str, dict[str, float | None]] = data["thresholds"]
        self.examples: dict[str, list[str]] = data.get("examples", {})
        self.meta: dict[str, Any] = data.get("meta", {})
        self._zero = (0.0,) * k
        #: word pairs as (idf**2, idf*weight per class), ready to add
        self._pairs: dict[str, tuple[float, tuple[float, ...]]] = {
            f: (idf * idf, tuple(idf * w for w in ws))
            for f, (idf, ws) in self.weights.items()
            if f.startswith("b:")
        }
        self._token_cache: dict[str, tuple[tuple[float, ...], float]] = {}
        self._example_grams: dict[str, list[tuple[str, frozenset[str], bool]]] = {}

    @classmethod
    def load(cls, path: str | Path | None = None) -> CultureModel:
        """The model at ``path`` (default: the shipped one), loaded once per process."""
        where = Path(path) if path is not None else DEFAULT_MODEL_PATH
        with cls._lock:
            model = cls._loaded.get(where)
            if model is None:
                with gzip.open(where, "rt", encoding="utf-8") as fh:
                    model = cls(json.load(fh))
                cls._loaded[where] = model
        return model

    # -- scoring ---------------------------------------------------------------------------
    def _token(self, token: str) -> tuple[tuple[float, ...], float]:
        """A token's summed idf*weight per class and its summed idf**2 (cached)."""
        hit = self._token_cache.get(token)
        if hit is not None:
            return hit
        rows: list[tuple[float, ...]] = [self._zero]
        square = 0.0
        for feature in _token_features(token):
            entry = self.weights.get(feature)
            if entry is None:
                continue
            idf, ws = entry
            square += idf * idf
            rows.append(tuple([idf * w for w in ws]))
        # by columns, as in logits(): the same additions in the same order as a running sum
        # per class, a third of the time (a new token is a tenth of a millisecond otherwise)
        hit = (tuple(map(sum, zip(*rows, strict=True))), square)
        if len(self._token_cache) >= _CACHE_LIMIT:
            self._token_cache.clear()
        self._token_cache[token] = hit
        return hit

    def _contributions(self, text: str) -> tuple[list[tuple[int, int, tuple[float, ...]]], float]:
        """Each token's (and word pair's) unnormalised contribution per class, and the norm."""
        parts: list[tuple[int, int, tuple[float, ...]]] = []
        square = 0.0
        previous: tuple[str, int] | None = None
        for token, start, end in tokens(text):
            sums, sq = self._token(token)
            square += sq
            parts.append((start, end, sums))
            if previous is not None:
                entry = self.weights.get("b:" + previous[0] + " " + token)
                if entry is not None:
                    idf, ws = entry
                    square += idf * idf
                    parts.append((previous[1], end, tuple(idf * w for w in ws)))
            previous = (token, start)
        return parts, math.sqrt(square)

    def logits(self, text: str) -> list[float]:
        """Each class's log-odds for ``text`` (the plain view of a draft), in class order: for
        a caller that needs only which class is likeliest, or a few probabilities."""
        # per-class sums by columns (zip) rather than a running map(add) per token: the same
        # additions in the same order, a third of the time
        rows: list[tuple[float, ...]] = [self._zero]
        square = 0.0
        pairs = self._pairs
        previous = None
        for token in _TOKEN.findall(text):
            sums, sq = self._token_cache.get(token) or self._token(token)
            rows.append(sums)
            square += sq
            if previous is not None:
                pair = pairs.get("b:" + previous + " " + token)
                if pair is not None:
                    rows.append(pair[1])
                    square += pair[0]
            previous = token
        totals = map(sum, zip(*rows, strict=True))
        norm = math.sqrt(square) or 1.0
        return [b + t / norm for b, t in zip(self.bias, totals, strict=True)]

    def scores(self, text: str) -> dict[str, float]:
        """Each class's probability for ``text`` (the plain view of a draft)."""
        return {c: sigmoid(z) for c, z in zip(self.classes, self.logits(text), strict=True)}

    def explain(self, text: str, cls: str, nearest: int = 2) -> Explanation:
        """Why ``cls`` scored as it did on ``text``: for a finding to show a person."""
        i = self.classes.index(cls)
        parts, norm = self._contributions(text)
        z = self.bias[i] + (sum(p[2][i] for p in parts) / norm if norm > 0 else 0.0)
        ranked = sorted(parts, key=lambda p: -p[2][i])
        top = [p for p in ranked[:3] if p[2][i] > 0]
        span = (top[0][0], top[0][1]) if top else None
        terms = tuple(dict.fromkeys(text[s:e] for s, e, _ in top))
        return Explanation(sigmoid(z), span, terms, self.nearest(text, cls, nearest))

    def nearest(self, text: str, cls: str, k: int = 2) -> tuple[str, ...]:
        """The class's training examples in ``text``'s script sharing the most character n-grams
        with it (none when nothing is shared)."""
        bank = self._example_grams.get(cls)
        if bank is None:
            bank = [
                (ex, _grams(ex.lower()), bool(HAN.search(ex))) for ex in self.examples.get(cls, [])
            ]
            self._example_grams[cls] = bank
        mine = _grams(text)
        han = bool(HAN.search(text))
        # only examples in the draft's own script that share something with it: a Chinese insult
        # shown as "like" an English draft explains nothing
        scored = [
            (len(mine & grams) / (len(mine | grams) or 1), ex)
            for ex, grams, ex_han in bank
            if ex_han == han and mine & grams
        ]
        scored.sort(key=lambda e: -e[0])
        return tuple(ex for _, ex in scored[:k])


def _grams(text: str) -> frozenset[str]:
    """Character trigrams, or bigrams for Chinese (where a word is one or two characters)."""
    n = 2 if HAN.search(text) else 3
    return frozenset(text[i : i + n] for i in range(max(0, len(text) - n + 1)))


def sigmoid(z: float) -> float:
    """The logistic function, without overflow for a large negative ``z``."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)
