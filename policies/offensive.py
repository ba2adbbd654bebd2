"""Offensive-language classifier (profanity, insults, harassment, threats) for English drafts.

A linear model over TF-IDF-weighted n-grams -- word uni- and bigrams plus character 3-5-grams of
each word (like sklearn's ``char_wb``) -- with naive-Bayes feature scaling and logistic
regression, trained on TweetEval "offensive" (SemEval-2019 OffensEval / OLID) by
``bench/train_offensive.py``. ``policies/models/README.md`` has the data, hyperparameters and
scores.

Why inference is hand-written instead of calling scikit-learn: the model *is* the sklearn
``LogisticRegression`` fitted by the training script, exported as plain numbers (each n-gram's
document frequency and folded weight) in a gzip'd JSON file. Re-implementing its forward pass --
a few lines -- gives

* speed: ``vectorizer.transform`` + ``predict_proba`` on one string costs ~1 ms of sklearn/scipy
  overhead, which alone would blow the 1 ms budget of a whole rule pack; here a tweet takes
  tens of microseconds, mostly inside CPython's C loops;
* no pickles (nothing executable is loaded) and no scikit-learn, scipy or numpy at runtime;
* one tokeniser: the training script builds its features with :func:`analyze` below, so training
  and serving cannot drift apart (and it checks the exported model against sklearn's output).

The feature map was chosen to be *additive*, so that it can be computed that fast. With ``c_g``
the count of n-gram ``g`` in the text, ``idf_g = ln((1+n)/(1+df_g)) + 1`` and ``w_g`` its weight,

    x_g = c_g * idf_g / sqrt(sum_h c_h * idf_h**2)        logit = b + sum_g w_g * x_g

i.e. raw-count TF-IDF divided by a norm in which every n-gram occurrence counts separately (the
usual L2 norm when no n-gram repeats; the two scored the same in cross-validation). Both sums
run over occurrences, so a token's unigram and character n-grams reduce to one pair
(sum w*idf, sum idf**2) that is computed once and cached per token; a text then costs a cache
lookup per token plus a bigram lookup per token pair. The pair is held as a complex number so that
``sum()`` adds both halves in C.

Public API: ``OffensiveClassifier.load()`` (cached), ``.score(text)`` (probability of offensive),
``.threshold`` (the macro-F1-optimal cut from cross-validation), ``.predict(text)``,
``.top_terms(text, k)`` (what pushed the score up, so a finding can explain itself),
``.insults_in(text)`` (the text's words from the learned insult vocabulary, which gates the rule's
review band) and ``.tier(text, block, review)``.
"""

from __future__ import annotations

import gzip
import html
import itertools
import json
import math
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from operator import itemgetter
from pathlib import Path
from typing import Any

__all__ = ["DEFAULT_MODEL_PATH", "OffensiveClassifier", "analyze", "normalize", "tokenize"]

DEFAULT_MODEL_PATH = Path(__file__).resolve().parent / "models" / "offensive.json.gz"
FORMAT = "offensive-linear/2"
PREPROCESS_VERSION = 1

# Long inputs are scored in overlapping windows and the maximum is taken: the features are
# length-normalised, so one insult buried in a long text would otherwise be diluted away. Work
# is bounded: at most MAX_WINDOWS windows (~64k characters, Facebook's post limit) are read.
WINDOW = 1000
OVERLAP = 200
MAX_WINDOWS = 80
# Per-token cache of the token's summed features: a pure speed-up (results never depend on
# it), warmed at load with the PREWARM most frequent vocabulary tokens.
TOKEN_CACHE_SIZE = 50_000
PREWARM = 20_000

# --------------------------------------------------------------------------------------------
# Preprocessing, shared with training: changing it means bumping PREPROCESS_VERSION and
# retraining (a model records the version it was trained with and refuses other code).

_SURROGATES = re.compile("[\ud800-\udfff]")
# Invisible/format characters used to split words ("f\u200buck"), and emoji variation selectors.
_INVISIBLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u2064\u2066-\u2069\u3164\ufe00-\ufe0f\ufeff\uffa0]"
)
_PUNCT_FOLD = (
    ("\u2019", "'"),
    ("\u2018", "'"),
    ("\u02bc", "'"),
    ("\u201c", '"'),
    ("\u201d", '"'),
    ("\u2013", "-"),
    ("\u2014", "-"),
)
_URL = re.compile(r"https?://\S+|www\.\S+|\bURL\b")
_MENTION = re.compile(r"@\w+")
_MENTIONS = re.compile(r"(?:@user\s*){2,}")
_HASHTAG = re.compile(r"#(\w+)")
_CAMEL = re.compile(r"[A-Z]{2,}(?=[A-Z][a-z]|\b|\d)|[A-Z]?[a-z]+|[A-Z]+|\d+")
_ELONGATED = re.compile(r"(.)\1\1+")
# Word tokens (a leading #/@ and inner apostrophes kept), runs of ! ? . (later cut to two), else
# single non-space symbols (other punctuation, each emoji code point). Tokens never span
# whitespace and cover every non-space character.
_TOKEN = re.compile(r"[#@]?\w+(?:'\w+)*|!+|\?+|\.+|[^\w\s]")
_STRIP = "\"'.,;:!?()[]{}<>*_~`|/\\-"


def _split_hashtag(m: re.Match[str]) -> str:
    parts = _CAMEL.findall(m.group(1))
    return " ".join(parts) if parts else m.group(1)


def normalize(text: str) -> str:
    """The canonical lower-cased text that features are computed from.

    Unescapes HTML entities, replaces lone surrogates, drops invisible characters, folds
    compatibility forms (NFKC: full-width and "math bold" letters) and curly quotes, maps URLs to
    ``http`` and mentions to ``@user`` (TweetEval's convention), splits camel-case hashtags
    (``#BuildTheWall`` -> ``build the wall``). Elongations are shortened per token, by
    :func:`fold_token`.
    """
    if "&" in text:
        text = html.unescape(text)  # never yields lone surrogates (they become U+FFFD)
    if not text.isascii():
        text = _SURROGATES.sub("\ufffd", text)
        text = _INVISIBLE.sub("", text)
        for a, b in _PUNCT_FOLD:
            if a in text:
                text = text.replace(a, b)
        text = unicodedata.normalize("NFKC", text)
    if "http" in text or "www." in text or "URL" in text:
        text = _URL.sub(" http ", text)
    if "@" in text:
        text = _MENTION.sub("@user", text)
    if "#" in text:
        text = _HASHTAG.sub(_split_hashtag, text)
    text = text.lower()
    if text.count("@user") > 1:
        text = _MENTIONS.sub("@user ", text)
    return text


_SLICE_CACHE: dict[tuple[int, int, int], tuple[slice, ...]] = {}


def _slices(length: int, lo: int, hi: int) -> tuple[slice, ...]:
    """All [i:i+n] slices of a string of this length, n in lo..hi."""
    key = (length, lo, hi)
    s = _SLICE_CACHE.get(key)
    if s is None:
        s = tuple(
            slice(i, i + n) for n in range(lo, min(hi, length) + 1) for i in range(length - n + 1)
        )
        if length <= 128:
            _SLICE_CACHE[key] = s
    return s


def _two(m: re.Match[str]) -> str:
    return m.group(1) * 2


def fold_token(token: str) -> str:
    """Shorten elongations: ``sooooo`` -> ``soo``, ``!!!!`` -> ``!!``."""
    # search-then-sub with a function: ~5x faster than sub(r"\1\1") when nothing matches
    return _ELONGATED.sub(_two, token) if _ELONGATED.search(token) else token


def is_word(token: str) -> bool:
    """Word tokens get character n-grams; punctuation and emoji tokens don't."""
    c = token[-1]
    return c.isalnum() or c == "_"


def char_grams(token: str, lo: int, hi: int) -> Iterator[str]:
    """Character n-grams of the space-padded token, n in lo..hi (like sklearn's ``char_wb``)."""
    w = " " + token + " "
    return map(w.__getitem__, _slices(len(w), lo, hi))


def tokenize(text: str) -> list[str]:
    """The folded tokens of a text (after :func:`normalize`)."""
    return [fold_token(t) for t in _TOKEN.findall(normalize(text))]


def analyze(
    text: str, word_ngrams: int = 2, char_ngrams: tuple[int, int] = (3, 5)
) -> tuple[list[str], list[str]]:
    """(word n-grams, character n-grams) of a text: what the training script counts.

    Word n-grams: the tokens (``word_ngrams`` >= 1) and space-joined pairs of consecutive
    tokens (``word_ngrams`` == 2). Character n-grams (sizes ``char_ngrams``, inclusive; (0, 0)
    for none): those of every word token. The classifier computes exactly these, token by token.
    """
    toks = tokenize(text)
    grams: list[str] = []
    if word_ngrams >= 1:
        grams.extend(toks)
    if word_ngrams >= 2:
        grams.extend(map("{} {}".format, toks, toks[1:]))
    chars: list[str] = []
    if char_ngrams[1]:
        for t in toks:
            if is_word(t):
                chars.extend(char_grams(t, *char_ngrams))
    return grams, chars


_Entry = tuple[complex, str, dict[str, complex]]


class _TokenCache(dict[str, _Entry]):
    """raw token -> (value of its unigram + character n-grams, folded token, bigram table)."""

    def __init__(self, compute: Callable[[str], _Entry]) -> None:
        super().__init__()
        self._compute = compute

    def __missing__(self, token: str) -> _Entry:
        v = self._compute(token)
        if len(self) >= TOKEN_CACHE_SIZE:
            self.clear()
        self[token] = v
        return v


_NO_BIGRAMS: dict[str, complex] = {}


def _windows(text: str) -> list[str]:
    if len(text) <= WINDOW:
        return [text]
    out: list[str] = []
    start = 0
    while len(out) < MAX_WINDOWS:
        out.append(text[start : start + WINDOW])
        if start + WINDOW >= len(text):
            break
        start += WINDOW - OVERLAP
    return out


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _clean_input(text: object) -> str:
    if isinstance(text, str):
        return text
    if text is None:
        return ""
    if isinstance(text, bytes | bytearray):
        return bytes(text).decode("utf-8", "replace")
    return str(text)


# --------------------------------------------------------------------------------------------
# The model


class OffensiveClassifier:
    """A loaded offensive-language model. Get one with :meth:`load`; thread-safe."""

    _instances: dict[Path, OffensiveClassifier] = {}
    _lock = threading.Lock()

    threshold: float
    """Decision threshold on :meth:`score` (the cross-validated macro-F1 optimum)."""

    def __init__(self, data: dict[str, Any]) -> None:
        if data.get("format") != FORMAT:
            raise ValueError(f"not an {FORMAT} model: format={data.get('format')!r}")
        if data.get("preprocess") != PREPROCESS_VERSION:
            raise ValueError(
                f"model preprocessing v{data.get('preprocess')} != code v{PREPROCESS_VERSION}"
            )
        self.word_ngrams = int(data["word_ngrams"])
        self.char_ngrams = (int(data["char_ngrams"][0]), int(data["char_ngrams"][1]))
        if self.word_ngrams not in (0, 1, 2) or not 0 <= self.char_ngrams[0] <= self.char_ngrams[1]:
            raise ValueError("unsupported n-gram ranges")
        self.intercept = float(data["intercept"])
        self.threshold = float(data["threshold"])
        if not 0.0 <= self.threshold <= 1.0:
            raise ValueError("corrupt model: threshold outside [0, 1]")
        self.meta: dict[str, Any] = dict(data.get("meta") or {})
        # word -> its offensive share in train (optional: older models have no review band)
        raw_insults = data.get("insult_words") or {}
        if not isinstance(raw_insults, dict):
            raise ValueError("corrupt model: insult_words is not a mapping")
        self.insult_words: dict[str, float] = {str(k): float(v) for k, v in raw_insults.items()}
        n_docs = int(data["n_docs"])
        # n-gram -> complex(weight * idf, idf ** 2); word and character n-grams are separate
        # vocabularies (the same string can be both, e.g. "you" and the 3-gram "you").
        self._word: dict[str, complex] = {}
        self._char: dict[str, complex] = {}
        # Bigrams again, by first token: "a b" -> _next["a"]["b"] (tokens contain no spaces).
        self._next: dict[str, dict[str, complex]] = {}
        for kind, table in (("word", self._word), ("char", self._char)):
            block = data[kind]
            names, dfs, coefs = block["features"], block["df"], block["coef"]
            if not len(names) == len(dfs) == len(coefs):
                raise ValueError(f"corrupt model: {kind} arrays differ in length")
            for name, df, coef in zip(names, dfs, coefs, strict=True):
                idf = math.log((1 + n_docs) / (1 + int(df))) + 1.0  # sklearn's smooth idf
                table[name] = complex(idf * float(coef), idf * idf)
        for g, v in self._word.items():
            first, sep, second = g.partition(" ")
            if sep:
                self._next.setdefault(first, {})[second] = v
        self._tokens = _TokenCache(self._token_entry)
        # the last text tokenised and its raw tokens: the rule asks for the score, then the
        # insults or top terms of the same draft. Replaced as one tuple, so threads can share it.
        self._last: tuple[str, list[str]] = ("", [])
        # Warm the cache with the vocabulary's tokens (the file lists them by falling df).
        for g in itertools.islice(self._word, PREWARM):
            if " " not in g:
                self._tokens[g]  # noqa: B018 -- fills the cache

    @classmethod
    def load(cls, path: str | Path | None = None) -> OffensiveClassifier:
        """The model at ``path`` (default: the one shipped in ``policies/models/``), loaded once
        per path and then cached. Raises OSError if missing, ValueError if malformed."""
        p = (Path(path) if path is not None else DEFAULT_MODEL_PATH).resolve()
        clf = cls._instances.get(p)
        if clf is not None:
            return clf
        with cls._lock:
            clf = cls._instances.get(p)
            if clf is None:
                try:
                    with gzip.open(p, "rt", encoding="utf-8") as fh:
                        data = json.load(fh)
                except (EOFError, gzip.BadGzipFile, UnicodeDecodeError) as e:
                    raise ValueError(f"corrupt model file {p}: {e}") from e
                if not isinstance(data, dict):
                    raise ValueError(f"corrupt model file {p}")
                try:
                    clf = cls(data)
                except (KeyError, TypeError, IndexError) as e:
                    raise ValueError(f"corrupt model file {p}: {e!r}") from e
                cls._instances[p] = clf
        return clf

    # -- scoring ------------------------------------------------------------------------------

    def _raw_tokens(self, window: str) -> list[str]:
        """The raw tokens of normalize(window) (callers must not modify the list)."""
        last = self._last
        if last[0] == window:
            return last[1]
        toks = _TOKEN.findall(normalize(window))
        self._last = (window, toks)
        return toks

    def _token_parts(self, token: str) -> tuple[str, complex, complex]:
        """(folded token, value of it as a word unigram, sum of its character n-grams)."""
        t = fold_token(token)
        uni = self._word.get(t, 0j) if self.word_ngrams else 0j
        chars = 0j
        if self.char_ngrams[1] and is_word(t):
            # filter(None, ...) drops misses (None) and exact zeros, which add nothing.
            chars = sum(filter(None, map(self._char.get, char_grams(t, *self.char_ngrams))), 0j)
        return t, uni, chars

    def _token_entry(self, token: str) -> _Entry:
        t, uni, chars = self._token_parts(token)
        return uni + chars, t, self._next.get(t, _NO_BIGRAMS)

    def _logit(self, text: str) -> float:
        """intercept + sum(w*idf*count) / sqrt(sum(idf**2*count)) over the text's n-grams.

        Each token's unigram and character n-grams come summed from the token cache, which
        also holds the token's table of bigram continuations. Everything except cache misses
        runs in C.
        """
        entries = list(map(self._tokens.__getitem__, self._raw_tokens(text)))
        total = sum(map(itemgetter(0), entries), 0j)
        if len(entries) > 1:
            # bigram (a, b) = entry(a).next.get(b); filter(None, ...) drops the misses
            nexts = map(itemgetter(2), entries)
            seconds = map(itemgetter(1), entries[1:])
            total = sum(filter(None, map(dict.get, nexts, seconds)), total)
        if total.imag <= 0.0:
            return self.intercept
        return self.intercept + total.real / math.sqrt(total.imag)

    def score(self, text: str) -> float:
        """Probability in [0, 1] that the text is offensive (max over windows if it is long)."""
        return _sigmoid(max(map(self._logit, _windows(_clean_input(text)))))

    def predict(self, text: str) -> bool:
        """True when :meth:`score` reaches :attr:`threshold`."""
        return self.score(text) >= self.threshold

    def insults_in(self, text: str, extra: frozenset[str] = frozenset()) -> list[str]:
        """Distinct words of the text in the insult vocabulary (or ``extra``), in text order."""
        seen: list[str] = []
        tokens = self._tokens  # folded token = entry[1]; score() has just cached these tokens
        for window in _windows(_clean_input(text)):
            for raw in self._raw_tokens(window):
                t = tokens[raw][1]
                if (t in self.insult_words or t in extra) and t not in seen:
                    seen.append(t)
        return seen

    def tier(
        self,
        text: str,
        flag: float,
        review: float,
        extra: Iterable[str] = (),
        dropped: Iterable[str] = (),
    ) -> str | None:
        """ "flag" (score >= flag), "review" (score >= review and an insult word, ``extra``
        added to the vocabulary and ``dropped`` removed) or None."""
        s = self.score(text)
        if s >= flag:
            return "flag"
        if s >= review:
            skip = frozenset(dropped)
            if any(w not in skip for w in self.insults_in(text, frozenset(extra))):
                return "review"
        return None

    def top_terms(self, text: str, k: int = 3) -> list[tuple[str, float]]:
        """The k terms that pushed the score up most, as (term, contribution to the logit).

        Terms are the model's word n-grams and the text's word tokens, a token being credited
        with its character n-grams too (so "idiot", not " idi", "diot"). The logit is exactly
        the intercept plus the sum of all contributions. Only positive contributions are
        returned, largest first.
        """
        if k <= 0:
            return []
        windows = _windows(_clean_input(text))
        window = windows[0] if len(windows) == 1 else max(windows, key=self._logit)
        units: list[tuple[str, complex]] = []
        toks: list[str] = []
        tokens = self._tokens  # its entries hold exactly _token_parts' (uni + chars, t)
        for raw in self._raw_tokens(window):
            value, t, _ = tokens[raw]
            units.append((t, value))
            toks.append(t)
        if self.word_ngrams >= 2:
            for g in map("{} {}".format, toks, toks[1:]):
                if (v := self._word.get(g)) is not None:
                    units.append((g, v))
        sq = sum(v.imag for _, v in units)
        if sq <= 0.0:
            return []
        scale = 1.0 / math.sqrt(sq)
        out: dict[str, float] = {}
        for term, v in units:
            out[term] = out.get(term, 0.0) + v.real * scale
        ranked = sorted(((t, c) for t, c in out.items() if c > 0), key=lambda tc: (-tc[1], tc[0]))
        return [(t, round(c, 6)) for t, c in ranked[:k]]
