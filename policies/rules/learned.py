"""``learned``: the learned tier of one guideline family (see ``policies/learned.py``).

The pack names the family (``class``, default the rule's guideline) and the severity the family
gets (``severity``: review, or warn for the warn-only guidelines). ``block: true`` lets a score
past the model's cross-validated block threshold block: the training script sets that threshold
only where held-out precision justified it. The threshold for a finding is the model's
cross-validated one unless the pack sets ``review_at``.

Two word lists keep it to its guideline's scope (both matched on the folded view, like the
word-list rules): ``requires`` (fire only when the draft holds one, e.g. the company's own voice
for confidential figures; a list of lists asks for one of each) and ``unless`` (quiet when it
holds one, e.g. the policy's own offers for promises).

A finding names what it matched and the training examples most like the draft, so a person sees
why. It defers to the word-list rules: when another rule of the same guideline fired, the
learned finding is dropped (the engine does that for every rule with ``defers``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from policies.learned import CultureModel
from policies.rules import Rule, register
from policies.types import Finding

if TYPE_CHECKING:
    from policies.doc import Doc
    from policies.engine import PackBuilder


def load_model(path: str | None = None) -> CultureModel | None:
    """The trained model, or None when it isn't installed (the rule then finds nothing)."""
    try:
        return CultureModel.load(path)
    except (OSError, ValueError, KeyError):
        return None


@register("learned")
class LearnedRule(Rule):
    """One class of the culture model, as a finding with its explanation."""

    defers = True

    def __init__(self, spec: Mapping[str, Any], builder: PackBuilder) -> None:
        super().__init__(spec, builder)
        self.label = str(spec.get("class", self.guideline))
        self.model = load_model(spec.get("model"))
        self.can_block = bool(spec.get("block", False))
        lexicon = builder.lexicon
        required = spec.get("requires") or []
        if required and not isinstance(required[0], list):
            required = [required]
        self.requires = [lexicon.add(terms, "folded") for terms in required]
        self.unless = lexicon.add(spec["unless"], "folded") if spec.get("unless") else None
        self.review_at: float | None = None
        self.block_at: float | None = None
        if self.model is None or self.label not in self.model.classes:
            return  # no model, or too few training drafts for this family: the rule is quiet
        cut = self.model.thresholds.get(self.label) or {}
        review_at = spec.get("review_at", cut.get("review"))
        self.review_at = float(review_at) if review_at is not None else None
        block_at = cut.get("block")
        self.block_at = float(block_at) if block_at is not None and self.can_block else None

    def evaluate(self, doc: Doc) -> list[Finding]:
        """A finding when the family's score passes its threshold."""
        if self.model is None or self.review_at is None:
            return []
        if any(not doc.find(terms) for terms in self.requires):
            return []
        if self.unless is not None and doc.find(self.unless):
            return []
        scores = doc.memo.get("learned")
        if scores is None:
            # once per draft for every family's rule; a draft too short to read scores nothing
            text = doc.plain.text
            scores = doc.memo["learned"] = self.model.scores(text) if _enough_to_read(text) else {}
        score = scores.get(self.label)
        if score is None or score < self.review_at:
            return []
        severity = "block" if self.block_at is not None and score >= self.block_at else None
        why = self.model.explain(doc.plain.text, self.label)
        return [
            self.finding(
                doc,
                why.span,
                view="plain",
                severity=severity,
                score=f"{score:.0%}",
                terms=", ".join(f"“{t}”" for t in why.terms) or "the draft as a whole",
                nearest=" / ".join(f"“{e}”" for e in why.nearest) or "—",
            )
        ]


#: a draft shorter than this (words and non-space characters) gives the model too little to read:
#: with the occurrence norm one word carries the whole score ("hi" read as 93% stiff), so such a
#: draft is left to the word-list rules
MIN_WORDS = 3
MIN_CHARACTERS = 8


def _enough_to_read(text: str) -> bool:
    return len(text.split()) >= MIN_WORDS or sum(not c.isspace() for c in text) >= MIN_CHARACTERS
