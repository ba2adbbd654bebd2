"""``lexicon``: flag any term of a word list (optionally unless another list matches)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from policies.rules import Rule, register
from policies.types import Finding

if TYPE_CHECKING:
    from policies.doc import Doc
    from policies.engine import PackBuilder


@register("lexicon")
class LexiconRule(Rule):
    """Each match of ``terms`` is a finding, unless a term of ``unless`` is in the draft."""

    def __init__(self, spec: Mapping[str, Any], builder: PackBuilder) -> None:
        super().__init__(spec, builder)
        self.terms = builder.lexicon.add(spec.get("terms") or [], self.view)
        self.unless = builder.lexicon.add(spec.get("unless") or [], self.view)

    def evaluate(self, doc: Doc) -> list[Finding]:
        """Return one finding per matched term (up to max_findings)."""
        spans = doc.find(self.terms)
        if not spans or doc.find(self.unless):
            return []
        spans = sorted(set(spans))[: self.max_findings]
        return [self.finding(doc, s, view=self.view) for s in spans]
