"""Inputs and outputs of the policy engine: plain frozen dataclasses, no behaviour beyond JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

Severity = Literal["block", "review", "warn"]
Verdict = Literal["allow", "warn", "review", "block"]

#: Order of verdicts from least to most severe; the engine's verdict is the max over findings.
SEVERITY_RANK: dict[str, int] = {"allow": 0, "warn": 1, "review": 2, "block": 3}


#: how a platform counts length: X's weighted length (twitter-text), graphemes, code points
Counter = Literal["x_weighted", "graphemes", "characters"]


@dataclass(frozen=True)
class LengthLimit:
    """How long a draft may be on its platform and how that platform counts it."""

    max: int
    counter: Counter
    name: str  # the platform as people know it ("X"), for messages


@dataclass(frozen=True)
class LengthCount:
    """A text's length as its platform counts it, for the composer's counter and the length rule."""

    length: int
    limit: int
    platform_name: str
    counter: Counter
    #: the text was too long to count exactly; ``length`` is a lower bound of "too long"
    approximate: bool = False

    @property
    def over(self) -> int:
        """How many characters too many (0 when it fits)."""
        return max(0, self.length - self.limit)


@dataclass(frozen=True)
class Draft:
    """A post or reply an employee wants to publish."""

    text: str
    platform: str  # "x" | "bluesky" | "sandbox"
    kind: str  # "post" | "reply"
    lang: str | None = None
    in_reply_to: str | None = None  # the customer's message, for replies
    #: the platform's length limit as its connector declares it; None: the pack's ``limits`` table
    limit: LengthLimit | None = None


@dataclass(frozen=True)
class AuthorHistory:
    """The author's published posts in the last 30 days, excluding the draft."""

    posts_30d: int
    product_posts_30d: int


@dataclass(frozen=True)
class Context:
    """What the engine may know besides the text; everything optional."""

    history: AuthorHistory | None = None
    now: datetime | None = None


@dataclass(frozen=True)
class Finding:
    """One reason a rule gives about a draft."""

    rule_id: str
    guideline: str
    severity: Severity
    message: str
    span: tuple[int, int] | None = None  # offsets in the original draft text
    suggestion: str | None = None


@dataclass(frozen=True)
class Mix:
    """The author's content mix, for the composer's mix meter."""

    posts_30d: int
    product_posts_30d: int
    limit: float
    is_product: bool
    share_after: float | None  # product share if this draft is published; None for replies


@dataclass(frozen=True)
class Decision:
    """The engine's answer for one draft."""

    verdict: Verdict
    findings: tuple[Finding, ...]
    pack_version: str
    elapsed_ms: float
    is_product: bool | None = None
    mix: Mix | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (spans become lists)."""
        data = asdict(self)
        for f in data["findings"]:
            if f["span"] is not None:
                f["span"] = list(f["span"])
        return data
