"""The policy engine: load a rule pack, check a draft, return a decision.

``check`` is pure: no database, no network, no clock unless the context gives one. Everything slow
(automata, regexes, word lists) is compiled once in ``load_pack``; the default pack is cached.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Any

import yaml

from policies.backtracking import PackPattern, owned_by, recording
from policies.budget import BudgetExceeded, budget
from policies.doc import Doc
from policies.matching import Lexicon
from policies.mix import MixClassifier, compute_mix
from policies.normalize import Normalizer
from policies.rules import REGISTRY, Rule, load_builtin_kinds
from policies.rules.links import LinkExtractor
from policies.types import (
    SEVERITY_RANK,
    AuthorHistory,
    Context,
    Decision,
    Draft,
    Finding,
    Mix,
)

__all__ = [
    "AuthorHistory",
    "Context",
    "Decision",
    "Draft",
    "Finding",
    "Mix",
    "Pack",
    "check",
    "load_pack",
]

DEFAULT_PACK = Path(__file__).parent / "packs" / "culture.yaml"


@dataclass
class PackBuilder:
    """What rule factories get while a pack is being built: shared normaliser and lexicon."""

    spec: Mapping[str, Any]
    normalizer: Normalizer
    lexicon: Lexicon


@dataclass
class Pack:
    """A compiled rule pack."""

    name: str
    version: str
    rules: list[Rule]
    normalizer: Normalizer
    lexicon: Lexicon
    mix: MixClassifier
    links: LinkExtractor
    spec: Mapping[str, Any] = field(repr=False)
    max_chars: int = 5000
    #: every regular expression compiled from the pack's text, with the rule (or part) it is in
    patterns: tuple[PackPattern, ...] = field(default=(), repr=False, compare=False)
    _applicable: dict[tuple[str, str], tuple[Rule, ...]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def rules_for(self, draft: Draft) -> tuple[Rule, ...]:
        """The rules whose kind and platform filters admit this kind of draft (in pack order).

        Rules that override ``applies`` are always listed (check() still asks them)."""
        key = (draft.kind, draft.platform)
        found = self._applicable.get(key)
        if found is None:
            found = tuple(
                r
                for r in self.rules
                if type(r).applies is not Rule.applies
                or (
                    (r.kinds is None or draft.kind in r.kinds)
                    and (r.platforms is None or draft.platform in r.platforms)
                )
            )
            if len(self._applicable) < 256:  # hostile platform names must not grow it
                self._applicable[key] = found
        return found

    @cached_property
    def language_detector(self) -> Any | None:
        """The pack's first ``language`` rule (it has ``detect(text)``), shared by rules."""
        return next((r for r in self.rules if r.kind == "language"), None)

    def rule_ids(self, kind: str) -> frozenset[str]:
        """Ids of the pack's (enabled) rules of one kind, e.g. ``"length"``."""
        return frozenset(r.id for r in self.rules if r.kind == kind)

    def rule(self, rule_id: str) -> Rule:
        """The rule with this id."""
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)


def _build(text: str) -> Pack:
    spec = yaml.safe_load(text)
    if not isinstance(spec, Mapping) or "rules" not in spec:
        raise ValueError("a rule pack is a YAML mapping with a 'rules' list")
    load_builtin_kinds()
    with recording() as patterns:  # every regex the pack's text makes, whichever way
        with owned_by("normalize"):
            normalizer = Normalizer(spec.get("normalize") or {})
        builder = PackBuilder(spec=spec, normalizer=normalizer, lexicon=Lexicon(normalizer))
        rules: list[Rule] = []
        seen: set[str] = set()
        for rspec in spec["rules"]:
            kind = rspec.get("kind")
            if kind not in REGISTRY:
                raise ValueError(f"rule {rspec.get('id')!r}: unknown kind {kind!r}")
            if rspec.get("enabled", True) is False:
                continue
            with owned_by(str(rspec.get("id"))):
                rule = REGISTRY[kind](rspec, builder)
            if rule.id in seen:
                raise ValueError(f"duplicate rule id {rule.id!r}")
            seen.add(rule.id)
            rules.append(rule)
        with owned_by("mix"):
            mix = MixClassifier(spec.get("mix") or {}, builder)
        builder.lexicon.finalize()
        with owned_by("links"):
            links = LinkExtractor((spec.get("links") or {}).get("tlds") or [])
    return Pack(
        name=str(spec.get("name", "pack")),
        version=hashlib.sha256(text.encode("utf-8")).hexdigest()[:16],
        rules=rules,
        normalizer=normalizer,
        lexicon=builder.lexicon,
        mix=mix,
        links=links,
        spec=spec,
        max_chars=int(spec.get("max_chars", 5000)),
        patterns=tuple(dict.fromkeys(patterns)),
    )


@lru_cache(maxsize=8)
def _build_cached(text: str) -> Pack:
    return _build(text)


def load_pack(path_or_text: str | Path | None = None) -> Pack:
    """Load and compile a pack from a path or YAML text (default: packs/culture.yaml, cached)."""
    if path_or_text is None:
        text = DEFAULT_PACK.read_text(encoding="utf-8")
    elif isinstance(path_or_text, Path):
        text = path_or_text.read_text(encoding="utf-8")
    elif "\n" not in path_or_text and Path(path_or_text).is_file():
        text = Path(path_or_text).read_text(encoding="utf-8")
    else:
        text = path_or_text
    return _build_cached(text)


def verdict_of(findings: tuple[Finding, ...] | list[Finding]) -> str:
    """The most severe severity among findings, or "allow"."""
    best = "allow"
    for f in findings:
        if SEVERITY_RANK[f.severity] > SEVERITY_RANK[best]:
            best = f.severity
    return best


#: default time budget of one check (see policies/budget.py); the shipped pack's checks take
#: about 0.1-1 ms on ordinary drafts and stay well under it on hostile ones of max_chars
CHECK_BUDGET_MS = 500.0
#: the finding of a check stopped by its budget
BUDGET_RULE = "check_budget"


def check(
    draft: Draft,
    context: Context | None = None,
    pack: Pack | None = None,
    budget_ms: float | None = CHECK_BUDGET_MS,
) -> Decision:
    """Run every rule of the pack on a draft and return the decision.

    A check that runs past ``budget_ms`` (None: no limit) is stopped and held for review: the
    draft is neither passed unchecked nor allowed to hold the process."""
    start = time.perf_counter()
    pack = pack or load_pack()
    context = context or Context()
    try:
        with budget(None if budget_ms is None else budget_ms / 1000.0):
            ordered, is_product = _evaluate(Doc(draft, context, pack), pack, draft)
    except BudgetExceeded:
        stopped = Finding(
            rule_id=BUDGET_RULE,
            guideline="",
            severity="review",
            message=(
                f"The check was stopped after {budget_ms:g} ms, its time budget, before every "
                "rule had run; a person reviews this draft."
            ),
        )
        return Decision(
            verdict="review",
            findings=(stopped,),
            pack_version=pack.version,
            elapsed_ms=(time.perf_counter() - start) * 1000.0,
        )
    mix = compute_mix(context.history, is_product, pack.mix.limit)
    return Decision(
        verdict=verdict_of(ordered),  # type: ignore[arg-type]
        findings=ordered,
        pack_version=pack.version,
        elapsed_ms=(time.perf_counter() - start) * 1000.0,
        is_product=is_product,
        mix=mix,
    )


def _evaluate(doc: Doc, pack: Pack, draft: Draft) -> tuple[tuple[Finding, ...], bool | None]:
    findings: list[Finding] = []
    try:
        rules = pack.rules_for(draft)
    except TypeError:  # an unhashable kind or platform: ask every rule
        rules = tuple(r for r in pack.rules if r.applies(doc))
    deferring: list[Rule] = []
    base_applies = Rule.applies
    for rule in rules:
        if type(rule).applies is base_applies or rule.applies(doc):
            if rule.defers:
                deferring.append(rule)
            else:
                findings.extend(rule.evaluate(doc))
    if deferring:  # run only where no other rule of their guideline spoke
        covered = {f.guideline for f in findings}
        for rule in deferring:
            if rule.guideline not in covered:
                findings.extend(rule.evaluate(doc))
    findings.sort(key=lambda f: (-SEVERITY_RANK[f.severity], f.span or (-1, -1), f.rule_id))
    return tuple(findings), doc.is_product
