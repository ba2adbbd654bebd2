"""``disclosure``: a product post must say the author works at Kestrel (G6, FTC)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from policies.rules import Rule, register
from policies.types import Finding

if TYPE_CHECKING:
    from policies.doc import Doc
    from policies.engine import PackBuilder


@register("disclosure")
class DisclosureRule(Rule):
    """Flag product posts with none of the pack's disclosure tags or phrases."""

    def __init__(self, spec: Mapping[str, Any], builder: PackBuilder) -> None:
        super().__init__(spec, builder)
        self.disclosures = builder.lexicon.add(spec.get("disclosures") or [], self.view)

    def evaluate(self, doc: Doc) -> list[Finding]:
        """Return one finding when a product post lacks a disclosure."""
        if doc.draft.kind != "post" or not doc.is_product or doc.find(self.disclosures):
            return []
        return [self.finding(doc, None)]
