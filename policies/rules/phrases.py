"""``phrases``: categories of wording that must occur together, e.g. a claim verb near a condition.

The YAML names word lists under ``terms`` and combines them in ``triggers``. A trigger fires when
every group in ``all`` matches, the draft-side groups within ``window`` characters of each other.
A group written ``reply_to:name`` is looked for in the customer's message instead of the draft.
``unless`` (anywhere in the draft) and ``unless_near`` (within the window) suppress a trigger,
which is how negations and innocent look-alikes are expressed as data. ``min_matches: N`` asks
for N distinct matches of a single list instead (weak signals that only count together).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from policies.matching import Span, TermGroup
from policies.rules import Rule, register
from policies.types import Finding

if TYPE_CHECKING:
    from policies.doc import Doc
    from policies.engine import PackBuilder


@dataclass(frozen=True)
class _Trigger:
    draft_groups: tuple[TermGroup, ...]
    reply_groups: tuple[TermGroup, ...]
    reply_unless: tuple[TermGroup, ...]
    window: int
    unless: tuple[TermGroup, ...]
    unless_near: tuple[TermGroup, ...]
    message: str | None
    min_matches: int
    kinds: frozenset[str] | None  # None: posts and replies


def _distance(a: Span, b: Span) -> int:
    return max(0, b[0] - a[1], a[0] - b[1])


@register("phrases")
class PhrasesRule(Rule):
    """Co-occurrence of named word lists within a window, with negations as data."""

    def __init__(self, spec: Mapping[str, Any], builder: PackBuilder) -> None:
        super().__init__(spec, builder)
        named: dict[str, TermGroup] = {}
        reply_named: dict[str, TermGroup] = {}
        terms: Mapping[str, Any] = spec.get("terms") or {}

        def group(name: str) -> tuple[str, TermGroup]:
            """Compile a named list once per side (draft or reply_to)."""
            source = "draft"
            if name.startswith("reply_to:"):
                source, name = "reply_to", name.split(":", 1)[1]
            if name not in terms:
                raise ValueError(f"rule {self.id}: unknown term list {name!r}")
            cache = reply_named if source == "reply_to" else named
            if name not in cache:
                cache[name] = builder.lexicon.add(terms[name] or [], self.view)
            return source, cache[name]

        def groups(names: Any) -> list[tuple[str, TermGroup]]:
            """Compile a list of names (or one name)."""
            if isinstance(names, str):
                names = [names]
            return [group(str(n)) for n in names or []]

        self.rule_unless = tuple(g for _, g in groups(spec.get("unless")))
        self.triggers: list[_Trigger] = []
        for t in spec.get("triggers") or []:
            all_groups = groups(t.get("all"))
            # lexicon-only lists first: their hits come from the shared automaton pass, so a
            # trigger that can't fire is rejected before any regex runs
            draft = tuple(
                sorted((g for s, g in all_groups if s == "draft"), key=lambda g: bool(g.regexes))
            )
            if not draft:
                raise ValueError(f"rule {self.id}: a trigger needs at least one draft-side list")
            self.triggers.append(
                _Trigger(
                    draft_groups=draft,
                    reply_groups=tuple(g for s, g in all_groups if s == "reply_to"),
                    reply_unless=tuple(g for _, g in groups(t.get("reply_unless"))),
                    window=int(t.get("window", 80)),
                    unless=tuple(g for _, g in groups(t.get("unless"))),
                    unless_near=tuple(g for _, g in groups(t.get("unless_near"))),
                    message=t.get("message"),
                    min_matches=int(t.get("min_matches", 1)),
                    kinds=frozenset(t["kinds"]) if t.get("kinds") else None,
                )
            )

        # A trigger can fire only if each draft-side list it requires matched (the anchor; with
        # min_matches 1 every other list too). A plain word list's hits are exactly its entry in
        # the view's automaton pass, so those lists are checked with set membership before any
        # regex, reply_to scan or trigger walk runs: most drafts rule out every trigger at once.
        self._required: list[tuple[_Trigger, frozenset[int]]] = []
        for t in self.triggers:
            needed = t.draft_groups if t.min_matches <= 1 else t.draft_groups[:1]
            gids = frozenset(g.gid for g in needed if g.regex is None and not g.regexes)
            self._required.append((t, gids))

    def _fire(self, doc: Doc, t: _Trigger) -> Span | None:
        if t.kinds is not None and doc.draft.kind not in t.kinds:
            return None
        # the customer's message first: empty for posts, and the lists asked of it are rare (one
        # scan of it, shared by every trigger that asks)
        for g in t.reply_groups:
            if not doc.find(g, "reply_to"):
                return None
        # every required list must match: one without word-list hits whose regexes' prefilter
        # says they cannot match rules the trigger out before any regex runs
        scanned = doc.scanned(self.view)
        for g in t.draft_groups if t.min_matches <= 1 else t.draft_groups[:1]:
            if g.gid in scanned:
                continue
            if g.regex is None or (g.gate is not None and not g.gate(doc.view(g.view).text)):
                return None
        first, *rest = t.draft_groups
        anchors = doc.find(first)  # cheapest way out first: most drafts match nothing
        if not anchors or len(set(anchors)) < t.min_matches:
            return None
        for g in t.reply_unless:
            if doc.find(g, "reply_to"):
                return None
        for g in t.unless:
            if doc.find(g):
                return None
        if t.min_matches > 1:
            spans = sorted(set(anchors))
            return (spans[0][0], spans[-1][1])
        others = []
        for g in rest:
            spans = doc.find(g)
            if not spans:
                return None
            others.append(spans)
        near = [s for g in t.unless_near for s in doc.find(g)]
        for a in sorted(anchors):
            union = a
            ok = True
            for spans in others:
                close = [s for s in spans if _distance(a, s) <= t.window]
                if not close:
                    ok = False
                    break
                best = min(close, key=lambda s: _distance(a, s))
                union = (min(union[0], best[0]), max(union[1], best[1]))
            if not ok:
                continue
            if any(_distance(union, s) <= t.window for s in near):
                continue
            return union
        return None

    def evaluate(self, doc: Doc) -> list[Finding]:
        """Return one finding for the first trigger that fires."""
        hit = doc.scanned(self.view).keys()
        live = [t for t, gids in self._required if hit >= gids]
        if not live:
            return []
        for g in self.rule_unless:
            if doc.find(g):
                return []
        for t in live:
            span = self._fire(doc, t)
            if span is not None:
                return [self.finding(doc, span, view=self.view, message=t.message)]
        return []
