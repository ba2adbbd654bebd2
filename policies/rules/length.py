"""``length``: the draft must fit the platform, counted the way the platform counts.

X counts weighted length (twitter-text: CJK and emoji count 2, every URL 23), and in a reply
the @names at its start are not counted (X shows them above the text since 2017: "@names that
auto-populate at the start of a reply Tweet will not count towards the character limit");
Bluesky counts graphemes, mentions included. Both counters are slow next to ``len``, so they
only run when a cheap upper bound says the text might not fit.

The limit is the draft's own (``Draft.limit``: the hub passes the platform connector's). The
pack's ``limits`` table, per platform, is only for callers that pass none: the ``policy`` CLI,
the evaluation sets and the pack's own examples. :func:`measure_length` is the one counter: the
rule and the composer's counter both use it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import grapheme
from twitter_text import parse_tweet

from policies.rules import Rule, register
from policies.types import Counter, Finding, LengthCount, LengthLimit

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


#: the pack's spelling of the counters ("twitter" is X's); "chars" or anything else: characters
_PACK_COUNTERS: dict[str, Counter] = {"twitter": "x_weighted", "graphemes": "graphemes"}


# X handles are 1-15 of [A-Za-z0-9_]; the run of them opening a reply, each followed by space
_REPLY_MENTIONS = re.compile(r"(?:@[A-Za-z0-9_]{1,15}\s+)+")


def counted_text(text: str, limit: LengthLimit, kind: str = "post") -> str:
    """The part of ``text`` its platform counts: on X, a reply without its opening @names."""
    if kind == "reply" and limit.counter == "x_weighted":
        opening = _REPLY_MENTIONS.match(text)
        if opening:
            return text[opening.end() :]
    return text


def measure_length(text: str, limit: LengthLimit, kind: str = "post") -> LengthCount:
    """Count ``text`` the way its platform does, for the composer's counter and the length rule.

    Very long texts are not counted to the end: twitter-text's parser slows down badly past a
    few pages (beyond 8 x the limit the answer is "too long" anyway: ``len`` stands in), and
    graphemes are counted only up to 200 over the limit; both are marked ``approximate``.
    """
    maximum = limit.max
    text = counted_text(text, limit, kind)
    if limit.counter == "x_weighted":
        if len(text) > 8 * maximum:
            return LengthCount(len(text), maximum, limit.name, limit.counter, approximate=True)
        return LengthCount(weighted_length(text), maximum, limit.name, limit.counter)
    if limit.counter == "graphemes":
        until = maximum + 200
        length = grapheme.length(text, until=until)
        return LengthCount(length, maximum, limit.name, limit.counter, approximate=length >= until)
    return LengthCount(len(text), maximum, limit.name, limit.counter)


def surely_fits(text: str, limit: LengthLimit) -> bool:
    """A cheap check before :func:`measure_length`: True only when the text certainly fits."""
    if limit.counter == "x_weighted":
        return weight_upper_bound(text) <= limit.max
    return len(text) <= limit.max  # a grapheme is at least one code point


def _pack_limit(platform: str, entry: Mapping[str, Any]) -> LengthLimit:
    counter = _PACK_COUNTERS.get(str(entry.get("counter", "chars")), "characters")
    return LengthLimit(int(entry["max"]), counter, str(entry.get("name", platform)))


@register("length")
class LengthRule(Rule):
    """Flag drafts longer than the platform's limit (the draft's own, else the pack's table)."""

    def __init__(self, spec: Mapping[str, Any], builder: PackBuilder) -> None:
        super().__init__(spec, builder)
        #: per platform, for drafts that carry no limit of their own
        self.limits: dict[str, LengthLimit] = {
            str(k): _pack_limit(str(k), v) for k, v in (spec.get("limits") or {}).items() if v
        }

    def evaluate(self, doc: Doc) -> list[Finding]:
        """Return a finding when the draft doesn't fit its platform."""
        limit = doc.draft.limit or self.limits.get(doc.draft.platform)
        if limit is None:
            return []
        text = counted_text(doc.draft.text or "", limit, doc.draft.kind)
        if surely_fits(text, limit):
            return []
        count = measure_length(text, limit)
        if not count.over:
            return []
        return [
            self.finding(
                doc,
                None,
                length=count.length,
                max=limit.max,
                over=count.over,
                platform=limit.name,
            )
        ]
