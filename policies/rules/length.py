"""``length``: the draft must fit the platform, counted the way the platform counts.

X counts weighted length (twitter-text: CJK and emoji count 2, every URL 23); Bluesky counts
graphemes. Both counters are slow next to ``len``, so they only run when a cheap upper bound says
the text might not fit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import grapheme
from twitter_text import parse_tweet

from policies.rules import Rule, register
from policies.types import Finding

if TYPE_CHECKING:
    from policies.doc import Doc
    from policies.engine import PackBuilder

# twitter-text v3 weighs these ranges 1 and everything else 2; URLs weigh 23 whatever their length
_HEAVY = re.compile(r"[^\u0000-\u10ff\u2000-\u200d\u2010-\u201f\u2032-\u2037]")
_DOT_LETTER = re.compile(r"\.[^\W\d_]")  # every URL has one; counting them over-counts, safely


def weight_upper_bound(text: str) -> int:
    """A cheap upper bound of X's weighted length (each ".x" may start a 23-weight URL)."""
    return len(text) + len(_HEAVY.findall(text)) + 23 * len(_DOT_LETTER.findall(text))


def weighted_length(text: str) -> int:
    """X's weighted length of text."""
    return int(parse_tweet(text).weightedLength)


@register("length")
class LengthRule(Rule):
    """Flag drafts longer than the platform's limit."""

    def __init__(self, spec: Mapping[str, Any], builder: PackBuilder) -> None:
        super().__init__(spec, builder)
        self.limits: dict[str, dict[str, Any]] = {
            str(k): dict(v) for k, v in (spec.get("limits") or {}).items()
        }

    def evaluate(self, doc: Doc) -> list[Finding]:
        """Return a finding when the draft doesn't fit its platform."""
        limit = self.limits.get(doc.draft.platform)
        if not limit:
            return []
        text = doc.draft.text or ""
        maximum = int(limit["max"])
        counter = limit.get("counter", "chars")
        if counter == "twitter":
            if weight_upper_bound(text) <= maximum:
                return []
            # parse_tweet is quadratic-ish on huge inputs; beyond a few pages the answer is "no"
            length = weighted_length(text) if len(text) <= 8 * maximum else len(text)
        elif counter == "graphemes":
            if len(text) <= maximum:
                return []
            # stop counting once over: the message only needs "over by at least"
            length = grapheme.length(text, until=maximum + 200)
        else:
            length = len(text)
        if length <= maximum:
            return []
        return [
            self.finding(
                doc,
                None,
                length=length,
                max=maximum,
                over=length - maximum,
                platform=limit.get("name", doc.draft.platform),
            )
        ]
