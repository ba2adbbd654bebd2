"""``offensive``: profanity, slurs, insults and threats (G3), masked or not.

Two signals, in two tiers:

* **block**: the pack's multilingual lexicon (run on the folded view, so leetspeak, spaced
  letters, look-alike letters and invisible characters are already undone), masked spellings as
  regexes ("f*ck"), threat phrasings; and the trained classifier in ``policies/offensive.py`` when
  it is near-certain (``classifier.threshold``);
* **review**: the classifier's middle band: from ``classifier.review_without_insult`` on its
  own, and from ``classifier.review_threshold`` when the draft also holds a word of the insult
  vocabulary learned with the model (plus the pack's ``insult_words``, minus its
  ``not_insults``). Ordinary cheerful drafts
  can score in that band -- the model was trained on political Twitter, not on sneaker posts --
  but they carry no insult, so they stay allowed; a human looks at the rest.

The classifier is English (TweetEval): it runs only when the lexicon found nothing, the draft
has ``min_latin_words`` Latin words and is not detected as another language. Its findings name
the words that drove the score and point at the strongest one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from itertools import islice
from typing import TYPE_CHECKING, Any

from policies.matching import Span
from policies.rules import Rule, register
from policies.types import Finding

if TYPE_CHECKING:
    from policies.doc import Doc
    from policies.engine import PackBuilder

_LATIN_WORD = re.compile(r"[a-zA-Z]{2,}")
#: an @handle on X or Bluesky (letters, digits, _ and the dots of a domain handle)
_HANDLE = re.compile(r"(?<![\w@])@[\w.-]+")


def load_classifier() -> Any | None:
    """The trained offensive-language classifier, or None if it isn't installed/built."""
    try:
        from policies.offensive import OffensiveClassifier
    except ImportError:
        return None
    try:
        return OffensiveClassifier.load()
    except (OSError, ValueError, RuntimeError):
        return None


def _word_span(text: str, word: str) -> Span | None:
    m = re.search(rf"(?<!\w){re.escape(word)}(?!\w)", text)
    return m.span() if m else None


@register("offensive")
class OffensiveRule(Rule):
    """Lexicon + masked regexes + threats, backed by the trained classifier in two tiers."""

    def __init__(self, spec: Mapping[str, Any], builder: PackBuilder) -> None:
        super().__init__(spec, builder)
        lex = builder.lexicon
        self.terms = lex.add(spec.get("terms") or [], self.view)
        self.unless_near = lex.add(spec.get("unless_near") or [], self.view)
        self.threats = lex.add(spec.get("threats") or [], self.view)
        self.threat_message = str(spec.get("threat_message", self.message))
        clf = spec.get("classifier") or {}
        self.use_classifier = bool(clf.get("enabled", False))
        self.threshold = float(clf.get("threshold", 0.9))
        # above 1: no review band
        self.review_threshold = float(clf.get("review_threshold", 2.0))
        self.review_alone = float(clf.get("review_without_insult", 2.0))
        self.review_severity = str(clf.get("review_severity", "review"))
        self.min_words = int(clf.get("min_latin_words", 3))
        self.languages = frozenset(str(x) for x in clf.get("languages") or ())
        self.extra_insults = frozenset(str(w).lower() for w in clf.get("insult_words") or ())
        self.not_insults = frozenset(str(w).lower() for w in clf.get("not_insults") or ())
        # harmless idioms the model misreads ("kill it at the race", "kicked my butt"): the model
        # reads the draft with them blanked out; the word lists above still see every word
        self.idioms = lex.add(clf.get("idioms") or [], self.view)
        self.classifier_message = str(clf.get("message", self.message))
        self.review_message = str(clf.get("review_message", self.classifier_message))
        self._classifier: Any = None
        self._loaded = False

    def classifier(self) -> Any | None:
        """The classifier, loaded on first use (None when disabled or unavailable)."""
        if not self.use_classifier:
            return None
        if not self._loaded:
            self._classifier = load_classifier()
            self._loaded = True
        return self._classifier

    def lexicon_findings(self, doc: Doc) -> list[Finding]:
        """Findings from the word lists and threat phrases alone."""
        out: list[Finding] = []
        spans = doc.find(self.terms)
        if spans:
            innocent = doc.find(self.unless_near)
            # a word inside someone's @handle is their username, not the writer's word
            # ("@kike_sl"); a masked word that starts with the @ ("@ss") is still the writer's
            handles = [m.span() for m in _HANDLE.finditer(doc.view(self.view).text)]
            for s in sorted(set(spans)):
                if any(i[0] <= s[0] and s[1] <= i[1] for i in innocent):
                    continue  # the word is part of an innocent phrase ("干干净净")
                if any(h[0] < s[0] and s[1] <= h[1] for h in handles):
                    continue
                out.append(self.finding(doc, s, view=self.view))
        threats = doc.find(self.threats)
        if threats:
            out.append(self.finding(doc, min(threats), view=self.view, message=self.threat_message))
        return out[: self.max_findings]

    def score(self, text: str) -> float | None:
        """The classifier's probability that text is offensive (None without a classifier)."""
        clf = self.classifier()
        if clf is None:
            return None
        return float(clf.score(text))

    def insults(self, text: str) -> list[str]:
        """The text's words from the insult vocabulary (model's + pack's - pack's exclusions)."""
        clf = self.classifier()
        if clf is None:
            return []
        return [w for w in clf.insults_in(text, self.extra_insults) if w not in self.not_insults]

    def model_text(self, doc: Doc) -> str:
        """The draft as the model reads it: the pack's harmless idioms blanked out."""
        spans = doc.find(self.idioms)
        if not spans:
            return doc.text
        chars = list(doc.text)
        for span in spans:
            start, end = doc.original_span(self.view, span)
            chars[start:end] = " " * (end - start)
        return "".join(chars)

    def model_applies(self, doc: Doc) -> bool:
        """Whether the English model should read this draft at all (enough Latin words)."""
        if not self.use_classifier:
            return False
        # stop at the min_words-th word instead of listing every word of the draft
        found = sum(1 for _ in islice(_LATIN_WORD.finditer(doc.text), max(0, self.min_words)))
        return found >= self.min_words

    def language_ok(self, doc: Doc) -> bool:
        """False when the draft is recognisably in a language the model wasn't trained on."""
        if not self.languages:
            return True
        # script and common words only: the statistical detector costs more than the model
        lang = doc.language_hint
        return lang is None or lang in self.languages

    def model_findings(
        self, doc: Doc, threshold: float | None = None, review_threshold: float | None = None
    ) -> list[Finding]:
        """The classifier's finding: block when near-certain, review in the gated middle band."""
        block_at = self.threshold if threshold is None else threshold
        review_at = self.review_threshold if review_threshold is None else review_threshold
        clf = self.classifier()
        if clf is None or not self.model_applies(doc):
            return []
        # the model has its own preprocessing (shared with its training), so it gets the raw text
        text = self.model_text(doc)
        score = float(clf.score(text))
        if score < min(block_at, review_at, self.review_alone):
            return []
        # the language is checked only for the few drafts that would be flagged: in the middle
        # band after the (cheaper) insult test, which clears most of them
        if score >= block_at or score >= self.review_alone:
            if not self.language_ok(doc):
                return []
            drivers = [t for t, _ in clf.top_terms(text, 3)]
            severity, message = self.severity, self.classifier_message
            if score < block_at:
                severity = self.review_severity
        else:
            drivers = self.insults(text)
            if not drivers or not self.language_ok(doc):
                return []
            severity, message = self.review_severity, self.review_message
        span = self._locate(doc, drivers)
        terms = ", ".join(f"'{t}'" for t in drivers[:3]) or "the wording as a whole"
        return [
            self.finding(doc, span, message=message, severity=severity, score=score, terms=terms)
        ]

    def _locate(self, doc: Doc, words: list[str]) -> Span | None:
        """The original span of the first of these words found in the draft (folded view)."""
        for w in words:
            if " " in w:
                w = w.split(" ", 1)[0]
            if not any(c.isalnum() for c in w):
                continue
            for view in ("folded", "plain"):
                span = _word_span(doc.view(view).text, w)
                if span is not None:
                    return doc.original_span(view, span)
        return None

    def evaluate(self, doc: Doc) -> list[Finding]:
        """Return lexicon findings, or the classifier's tiered finding."""
        out = self.lexicon_findings(doc)
        if out:
            return out
        return self.model_findings(doc)
