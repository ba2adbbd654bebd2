"""Content mix: is a post product promotion, and would it push the author's feed over the limit.

A post is product promotion when its weighted signals (catalogue names, shop links, prices, promo
words, calls to buy; all listed in the pack) reach the pack's threshold. Replies are service and
never count. The limit check counts the draft as one more post, so exactly the limit is allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from policies.matching import TermGroup
from policies.types import AuthorHistory, Mix

if TYPE_CHECKING:
    from policies.doc import Doc
    from policies.engine import PackBuilder


@dataclass(frozen=True)
class _Signal:
    name: str
    weight: float
    anchor: bool  # about something we sell (a product, a sale, the shop), not just enthusiasm
    requires: frozenset[str]  # counts only next to one of these signals (a sale that is ours)
    group: TermGroup


class MixClassifier:
    """Scores a post's product signals; configured from the pack's ``mix`` section."""

    def __init__(self, config: Mapping[str, Any], builder: PackBuilder) -> None:
        self.limit = float(config.get("limit", 0.25))
        self.threshold = float(config.get("threshold", 2))
        self.signals = [
            _Signal(
                name=str(s["name"]),
                weight=float(s.get("weight", 1)),
                anchor=bool(s.get("anchor", False)),
                requires=frozenset(str(r) for r in s.get("requires") or ()),
                group=builder.lexicon.add(s.get("terms") or [], str(s.get("view", "folded"))),
            )
            for s in config.get("signals") or []
        ]

    def signals_in(self, doc: Doc) -> list[str]:
        """Names of the product signals that count in the draft."""
        present = {s.name for s in self.signals if doc.find(s.group)}
        return [
            s.name
            for s in self.signals
            if s.name in present and (not s.requires or s.requires & present)
        ]

    def is_product(self, doc: Doc) -> bool:
        """Whether a post promotes Kestrel products, a sale or the store."""
        counted = set(self.signals_in(doc))
        total = sum(s.weight for s in self.signals if s.name in counted)
        anchored = any(s.anchor for s in self.signals if s.name in counted)
        return anchored and total >= self.threshold


def share_after(history: AuthorHistory, is_product: bool) -> Fraction:
    """Product share of the author's posts if this post is published."""
    posts = max(0, history.posts_30d) + 1
    product = max(0, history.product_posts_30d) + (1 if is_product else 0)
    return Fraction(product, posts)


@lru_cache(maxsize=64)
def _limit_fraction(limit: float) -> Fraction:
    """The limit as the exact fraction its decimal spelling means (0.25 -> 1/4), parsed once."""
    return Fraction(str(limit))


def over_limit(history: AuthorHistory, is_product: bool, limit: float) -> bool:
    """True when a product post would push the share over the limit (exactly the limit is ok)."""
    if not is_product:
        return False
    posts = max(0, history.posts_30d) + 1
    product = max(0, history.product_posts_30d) + 1
    cap = _limit_fraction(limit)
    # product/posts > p/q, in integers (posts and q are positive)
    return product * cap.denominator > cap.numerator * posts


def compute_mix(history: AuthorHistory | None, is_product: bool | None, limit: float) -> Mix | None:
    """The author's mix for the composer's meter (None without history)."""
    if history is None:
        return None
    if is_product is None:  # a reply: service, not counted
        return Mix(history.posts_30d, history.product_posts_30d, limit, False, None)
    return Mix(
        posts_30d=history.posts_30d,
        product_posts_30d=history.product_posts_30d,
        limit=limit,
        is_product=is_product,
        # int / int is correctly rounded, exactly like float(Fraction(...))
        share_after=(max(0, history.product_posts_30d) + (1 if is_product else 0))
        / (max(0, history.posts_30d) + 1),
    )
