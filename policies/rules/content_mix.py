"""``content_mix``: a product post that would push the author's feed over the limit (G7)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from policies.mix import over_limit, share_after
from policies.rules import Rule, register
from policies.types import Finding

if TYPE_CHECKING:
    from policies.doc import Doc


@register("content_mix")
class ContentMixRule(Rule):
    """Review a product post when (product+1)/(posts+1) exceeds the pack's limit."""

    def evaluate(self, doc: Doc) -> list[Finding]:
        """Return a finding with the numbers when the limit would be exceeded."""
        history = doc.context.history
        if doc.draft.kind != "post" or history is None or not doc.is_product:
            return []
        limit = doc.pack.mix.limit
        if not over_limit(history, True, limit):
            return []
        share = share_after(history, True)
        return [
            self.finding(
                doc,
                None,
                product=history.product_posts_30d + 1,
                total=history.posts_30d + 1,
                share=float(share),
                limit=limit,
                one_in=round(1 / limit) if limit else 0,
            )
        ]
