"""``pattern``: flag every match of the pack's regular expressions.

``requires`` (words, one automaton pass) gates the regexes so they only run when they could match;
``unless`` suppresses the rule when one of its terms is present.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from policies.rules import Rule, register
from policies.types import Finding

if TYPE_CHECKING:
    from policies.doc import Doc
    from policies.engine import PackBuilder


@register("pattern")
class PatternRule(Rule):
    """Regexes run on the chosen view (case-folded unless the view is ``original``)."""

    def __init__(self, spec: Mapping[str, Any], builder: PackBuilder) -> None:
        super().__init__(spec, builder)
        patterns = [f"re:{p}" for p in spec.get("patterns") or []]
        self.patterns = builder.lexicon.add(patterns, self.view)
        self.unless = builder.lexicon.add(spec.get("unless") or [], self.view)
        # optional cheap gate: the regexes only run when one of these words is present
        requires = spec.get("requires")
        self.requires = builder.lexicon.add(requires, self.view) if requires else None

    def evaluate(self, doc: Doc) -> list[Finding]:
        """Return one finding per match (up to max_findings)."""
        if self.requires is not None and not doc.find(self.requires):
            return []
        spans = doc.find(self.patterns)
        if not spans or doc.find(self.unless):
            return []
        return [
            self.finding(doc, s, view=self.view) for s in sorted(set(spans))[: self.max_findings]
        ]
