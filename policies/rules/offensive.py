"""``offensive``: profanity, slurs, insults and threats (G3), masked or not.

Two signals: a multilingual lexicon from the pack (run on the folded view, so leetspeak, spaced
letters, look-alike letters and invisible characters are already undone), masked spellings as
regexes ("f*ck"), threat phrasings; and the trained classifier in ``policies/offensive.py``
(``OffensiveClassifier.load().score(text)``), whose threshold the pack sets. The classifier only
runs when the lexicon found nothing and the draft has enough Latin text for an English model.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from policies.rules import Rule, register
from policies.types import Finding

if TYPE_CHECKING:
    from policies.doc import Doc
    from policies.engine import PackBuilder

_LATIN_WORD = re.compile(r"[a-zA-Z]{2,}")


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


@register("offensive")
class OffensiveRule(Rule):
    """Lexicon + masked regexes + threats, backed by the trained classifier."""

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
        self.min_words = int(clf.get("min_latin_words", 3))
        self.classifier_message = str(clf.get("message", self.message))
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
            for s in sorted(set(spans)):
                if any(i[0] <= s[0] and s[1] <= i[1] for i in innocent):
                    continue  # the word is part of an innocent phrase ("干干净净")
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

    def evaluate(self, doc: Doc) -> list[Finding]:
        """Return lexicon findings, or a classifier finding when the model is confident."""
        out = self.lexicon_findings(doc)
        if out or not self.use_classifier:
            return out
        if len(_LATIN_WORD.findall(doc.folded.text)) < self.min_words:
            return out
        # the model has its own preprocessing (shared with its training), so it gets the raw text
        score = self.score(doc.text)
        if score is not None and score >= self.threshold:
            out.append(self.finding(doc, None, message=self.classifier_message, score=score))
        return out
