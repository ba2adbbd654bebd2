"""Routing rules: conditions on a mention → team, priority and first-response SLA.

Rules live in the database, ordered by ``position``; the first enabled rule whose conditions
all hold wins. An empty condition matches anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import ahocorasick
from sqlalchemy import select
from sqlalchemy.orm import Session

from hub.models import RoutingRule

SLA_BY_PRIORITY = {"p1": 30, "p2": 120, "p3": 480}
_WORDCHAR = re.compile(r"\w")


@dataclass(frozen=True)
class Route:
    """Where a mention goes and how soon it needs a first answer."""

    team_id: int | None
    priority: str
    sla_minutes: int
    rule_id: int | None
    rule_name: str


@dataclass(frozen=True)
class _CompiledRule:
    rule: RoutingRule
    languages: frozenset[str]
    platforms: frozenset[str]
    keywords: ahocorasick.Automaton | None

    def matches(self, text: str, language: str | None, platform: str) -> bool:
        if self.languages and language not in self.languages:
            return False
        if self.platforms and platform not in self.platforms:
            return False
        return self.keywords is None or _has_keyword(self.keywords, text.casefold())


def _has_keyword(automaton: ahocorasick.Automaton, folded: str) -> bool:
    # Latin keywords must sit on word boundaries so "sue" does not fire inside "issue";
    # a keyword ending in "*" is a prefix ("refund*"), and CJK keywords are plain substrings.
    for end, (word, free_left, free_right) in automaton.iter(folded):
        start = end - len(word) + 1
        left = free_left or start == 0 or not _WORDCHAR.match(folded[start - 1])
        right = free_right or end + 1 == len(folded) or not _WORDCHAR.match(folded[end + 1])
        if left and right:
            return True
    return False


def _is_cjk(word: str) -> bool:
    return any("\u3400" <= ch <= "\u9fff" for ch in word)


def compile_rules(rules: list[RoutingRule]) -> list[_CompiledRule]:
    """Prepare rules for matching (one automaton per rule, built once per batch)."""
    compiled = []
    for rule in rules:
        cond = rule.conditions or {}
        words = [w.strip().casefold() for w in cond.get("keywords") or [] if w.strip()]
        automaton = None
        if words:
            automaton = ahocorasick.Automaton()
            for w in words:
                prefix = w.endswith("*")
                w = w.rstrip("*")
                cjk = _is_cjk(w)
                automaton.add_word(w, (w, cjk, cjk or prefix))
            automaton.make_automaton()
        compiled.append(
            _CompiledRule(
                rule,
                frozenset(cond.get("languages") or ()),
                frozenset(cond.get("platforms") or ()),
                automaton,
            )
        )
    return compiled


def load_rules(session: Session) -> list[_CompiledRule]:
    """The enabled rules in evaluation order, compiled."""
    rules = session.scalars(
        select(RoutingRule).where(RoutingRule.enabled.is_(True)).order_by(RoutingRule.position)
    ).all()
    return compile_rules(list(rules))


def route(
    rules: list[_CompiledRule],
    text: str,
    language: str | None,
    platform: str,
    default_sla: int = 120,
) -> Route:
    """Apply the first matching rule; with none, no team, p3 and the default SLA."""
    for c in rules:
        if c.matches(text, language, platform):
            prio = c.rule.priority or "p3"
            sla = c.rule.sla_minutes or SLA_BY_PRIORITY.get(prio, default_sla)
            return Route(c.rule.team_id, prio, sla, c.rule.id, c.rule.name)
    return Route(None, "p3", default_sla, None, "no rule matched")


def due_at(received: datetime, route_: Route) -> datetime:
    """First-response deadline."""
    return received + timedelta(minutes=route_.sla_minutes)
