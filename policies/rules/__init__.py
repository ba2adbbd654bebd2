"""Rule kinds: a registry of name -> factory, and the base class every kind extends.

A rule is built once from its YAML spec at pack load (everything compiled then) and evaluated per
draft. Rules return findings and never act; the engine runs every rule and keeps every finding.
Each kind lives in its own module and registers itself with ``@register("kind")``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from policies.matching import Span
from policies.types import Finding

if TYPE_CHECKING:
    from policies.doc import Doc
    from policies.engine import PackBuilder

RuleFactory = Callable[[Mapping[str, Any], "PackBuilder"], "Rule"]
REGISTRY: dict[str, RuleFactory] = {}


def register(kind: str) -> Callable[[type[Rule]], type[Rule]]:
    """Class decorator: make a Rule subclass buildable from YAML as ``kind``."""

    def deco(cls: type[Rule]) -> type[Rule]:
        """Record the class under its kind name."""
        cls.kind = kind
        REGISTRY[kind] = cls
        return cls

    return deco


class SafeDict(dict[str, Any]):
    """Leaves unknown {placeholders} visible instead of failing on a pack typo."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


class Rule:
    """Base class: common YAML fields, applicability and finding construction."""

    kind = "base"
    #: True for a rule whose finding is dropped when another rule of its guideline fired
    defers = False

    def __init__(self, spec: Mapping[str, Any], builder: PackBuilder) -> None:
        self.spec = spec
        self.id: str = str(spec["id"])
        self.guideline: str = str(spec.get("guideline", ""))
        self.severity: str = str(spec.get("severity", "review"))
        self.message: str = str(spec.get("message", self.id))
        self.suggestion: str | None = spec.get("suggestion")
        self.kinds: frozenset[str] | None = _maybe_set(spec.get("kinds"))
        self.platforms: frozenset[str] | None = _maybe_set(spec.get("platforms"))
        self.view: str = str(spec.get("view", "folded"))
        self.max_findings: int = int(spec.get("max_findings", 5))

    def applies(self, doc: Doc) -> bool:
        """Whether this rule looks at this draft at all (kind and platform filters)."""
        if self.kinds is not None and doc.draft.kind not in self.kinds:
            return False
        return self.platforms is None or doc.draft.platform in self.platforms

    def evaluate(self, doc: Doc) -> list[Finding]:
        """Return the findings for one draft."""
        raise NotImplementedError

    def finding(
        self,
        doc: Doc,
        span: Span | None,
        *,
        view: str | None = None,
        message: str | None = None,
        severity: str | None = None,
        **fields: Any,
    ) -> Finding:
        """Build a Finding; a span given in a view is mapped back to the original text."""
        orig: Span | None = None
        if span is not None:
            orig = doc.original_span(view, span) if view else span
        excerpt = doc.text[orig[0] : orig[1]] if orig else ""
        values = SafeDict(fields)
        values.setdefault("match", excerpt)
        text = _fill(message or self.message, values)
        suggestion = _fill(self.suggestion, values) if self.suggestion else None
        return Finding(
            rule_id=self.id,
            guideline=self.guideline,
            severity=severity or self.severity,  # type: ignore[arg-type]
            message=text,
            span=orig,
            suggestion=suggestion,
        )


def _fill(template: str, values: SafeDict) -> str:
    """Fill a pack message; a typo in a placeholder shows the raw text instead of failing."""
    try:
        return template.format_map(values)
    except (ValueError, IndexError, AttributeError):
        return template


def _maybe_set(value: Any) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return frozenset([value])
    return frozenset(str(v) for v in value)


def load_builtin_kinds() -> None:
    """Import every built-in rule module so its @register runs."""
    from policies.rules import (  # noqa: F401
        boilerplate,
        codenames,
        content_mix,
        disclosure,
        language,
        learned,
        length,
        lexicon,
        links,
        offensive,
        pattern,
        phrases,
        pii,
    )
