"""``boilerplate``: canned corporate lines and close paraphrases of them (G9).

Each sentence of the draft is compared with the pack's canned lines using rapidfuzz; a sentence
that is mostly one of them, or that contains one almost verbatim, is flagged with a hint to say
it in the author's own words.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping
from itertools import chain
from typing import TYPE_CHECKING, Any

from rapidfuzz import fuzz

from policies.normalize import HAN
from policies.rules import Rule, register
from policies.types import Finding

if TYPE_CHECKING:
    from policies.doc import Doc
    from policies.engine import PackBuilder

# punctuation, symbols and emoji carry no wording; compare letters, digits and spaces only
_NOISE = re.compile(r"[^\w\s]|_")
_SPACES = re.compile(r"\s+")
_SENTENCE = re.compile(r"[^.!?。！？\n]+[.!?。！？]*")
_TOKEN = re.compile(r"[\u3400-\u9fff]|[^\W\d_]+")


def _clean(text: str) -> str:
    return _SPACES.sub(" ", _NOISE.sub(" ", text)).strip()


def _tokens(text: str) -> set[str]:
    """Words, or single characters for Chinese (which has no spaces)."""
    return set(_TOKEN.findall(text))


@register("boilerplate")
class BoilerplateRule(Rule):
    """Fuzzy-match each sentence against the canned lines."""

    def __init__(self, spec: Mapping[str, Any], builder: PackBuilder) -> None:
        super().__init__(spec, builder)
        norm = builder.normalizer
        self.phrases: list[str] = []
        self.originals: list[str] = []
        for p in spec.get("phrases") or []:
            cleaned = _clean(norm.term(str(p)))
            if cleaned:
                self.phrases.append(cleaned)
                self.originals.append(str(p))
        # inverted index token -> phrases: only phrases sharing enough words are scored, so the
        # fuzzy matcher runs on a handful of candidates instead of the whole list
        self._index: dict[str, list[int]] = {}
        self._sizes: list[int] = []
        for i, phrase in enumerate(self.phrases):
            toks = _tokens(phrase)
            self._sizes.append(max(1, len(toks)))
            for t in toks:
                self._index.setdefault(t, []).append(i)
        self.min_overlap = float(spec.get("min_token_overlap", 0.5))
        # phrase index -> shared-token count it needs (the same float product as in evaluate)
        self._need = [self.min_overlap * size for size in self._sizes]
        # Whole-draft pre-check without counting in Python: each phrase gets a lane of `lane`
        # bits in one integer, a token's vector has a 1 in the lane of every phrase holding it,
        # so the sum of the draft's token vectors holds every phrase's shared-token count. A
        # count fits below its lane's top bit; adding 2**(lane-1) - k (k: the count the phrase
        # needs) sets that bit exactly when count >= k, and no lane carries into the next.
        # Same answer as counting (evaluate's per-sentence path still counts), ~5x cheaper.
        lane = max(self._sizes, default=1).bit_length() + 1
        top = 1 << (lane - 1)
        self._vectors: dict[str, int] = {}
        self._bias = 0
        self._top_bits = 0
        for i, phrase in enumerate(self.phrases):
            for t in _tokens(phrase):
                self._vectors[t] = self._vectors.get(t, 0) | (1 << (lane * i))
            k = max(1, math.ceil(self._need[i]))
            self._bias += max(0, top - k) << (lane * i)
            self._top_bits |= top << (lane * i)
        self.cjk_overlap = float(spec.get("min_cjk_char_overlap", 0.9))
        self._cjk = [bool(HAN.search(p)) for p in self.phrases]
        self.ratio = float(spec.get("min_ratio", 85))
        self.partial = float(spec.get("min_partial_ratio", 92))
        self.min_chars = int(spec.get("min_sentence_chars", 6))
        self.max_chars = int(spec.get("max_sentence_chars", 600))

    def _shared(self, tokens: set[str]) -> Counter[int]:
        """Phrase index -> how many of these tokens it holds, in first-seen order."""
        index = self._index
        return Counter(
            chain.from_iterable(map(index.__getitem__, filter(index.__contains__, tokens)))
        )

    def any_candidate(self, tokens: set[str]) -> bool:
        """Whether some canned line shares enough of these tokens (by counting: the reference
        for the lane arithmetic in evaluate)."""
        hits = self._shared(tokens)
        return any(h >= self._need[i] for i, h in hits.items())

    def _any_candidate_fast(self, tokens: set[str]) -> bool:
        vectors = self._vectors
        counts = sum(map(vectors.__getitem__, filter(vectors.__contains__, tokens)))
        return bool((counts + self._bias) & self._top_bits)

    def evaluate(self, doc: Doc) -> list[Finding]:
        """Return a finding per canned sentence."""
        if not self.phrases:
            return []
        plain = doc.plain
        # a sentence's words are words of the whole draft (sentences split at punctuation,
        # never inside a word), so when the draft as a whole shares too few words with every
        # canned line, no sentence can: one pass instead of one per sentence
        if not self._any_candidate_fast(_tokens(plain.text)):
            return []
        out: list[Finding] = []
        for m in _SENTENCE.finditer(plain.text):
            sentence = _clean(m.group())
            if not self.min_chars <= len(sentence) <= self.max_chars:
                continue
            hits = self._shared(_tokens(sentence))
            need = self._need
            candidates = [i for i, h in hits.items() if h >= need[i]]
            if not candidates:
                continue
            best_i, best_score = -1, 0.0
            for i in candidates:
                phrase = self.phrases[i]
                score = fuzz.ratio(sentence, phrase, score_cutoff=self.ratio)
                if not score and len(phrase) <= len(sentence):
                    score = fuzz.partial_ratio(sentence, phrase, score_cutoff=self.partial)
                if not score and self._cjk[i]:
                    # Chinese reorders freely ("理解与支持" / "支持与理解"): same characters,
                    # same length is the same canned line
                    same = hits[i] / self._sizes[i]
                    if same >= self.cjk_overlap and 0.8 <= len(sentence) / len(phrase) <= 1.25:
                        score = 100.0 * same
                if score > best_score:
                    best_i, best_score = i, score
            if best_i < 0:
                continue
            line = self.originals[best_i]
            span = plain.to_original(*m.span())
            out.append(self.finding(doc, span, line=line, score=round(best_score)))
        return out[: self.max_findings]
