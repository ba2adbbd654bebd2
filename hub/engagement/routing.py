"""Routing rules: conditions on a mention's attributes → team, priority, SLA, tags, assignment.

Rules live in the database, ordered by ``position``; the first enabled rule whose conditions all
hold wins (AND across conditions, OR inside a list). An empty condition set matches anything.
The conditions read the attributes triage computed at ingest (``hub.engagement.attributes``):
what a manager writes in the routing editor is exactly what is evaluated here, and
``Route.matched`` keeps which conditions held, with the values that made them hold, so every
mention can say why it is where it is.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Text, cast, select
from sqlalchemy.orm import Session

import policies
from hub.engagement.wordlists import WordList
from hub.i18n import lazy_gettext
from hub.models import RoutingRule

SLA_BY_PRIORITY = {"p1": 30, "p2": 120, "p3": 480}
PRIORITIES = ("p1", "p2", "p3")
ASSIGNMENT_POLICIES = ("manual", "round_robin", "least_loaded")
LANGUAGES = ("en", "es", "zh")
INTENTS = ("complaint", "question", "praise", "chit_chat", "spam", "abuse")
SENTIMENTS = ("negative", "neutral", "positive")
#: how serious a post reads (the model's reading of how urgent the community team finds posts
#: like it), for priorities that no trigger decides
SEVERITIES = ("high", "normal", "low")
#: what a mention is about, for care / sales / social: an order that exists, a purchase not yet
#: made, or neither
STAGES = ("order", "pre_purchase", "social")
#: escalation and trust-and-safety triggers triage can find in a mention
TRIGGERS = (
    "safety",
    "legal",
    "press",
    "vip",
    "repeated",
    "churn",
    "staff_conduct",
    "privacy",
    "quality_pattern",
    "urgent",
    "phishing",
    "scam_report",
    "counterfeit",
    "threat",
    "harassment",
    "blocked_purchase",
    "bulk",
)
PII_KINDS = ("order_number", "email", "phone", "card", "tracking", "address")
MAX_KEYWORDS = 500


@dataclass(frozen=True)
class Condition:
    """One kind of condition a rule can hold: its key in ``RoutingRule.conditions``, how the
    editor shows it, and what values it takes."""

    key: str
    label: Any  # a lazy string: the reader's language
    kind: str  # "choices" (a list of values), "bool", "int", "words" (keywords)
    choices: tuple[str, ...] = ()
    help: Any = ""


CONDITIONS: tuple[Condition, ...] = (
    Condition("languages", lazy_gettext("Language"), "choices", LANGUAGES),
    Condition("intents", lazy_gettext("Intent"), "choices", INTENTS),
    Condition("sentiments", lazy_gettext("Sentiment"), "choices", SENTIMENTS),
    Condition("severities", lazy_gettext("Severity"), "choices", SEVERITIES),
    Condition(
        "stages",
        lazy_gettext("About"),
        "choices",
        STAGES,
        lazy_gettext("an existing order, a purchase, or neither"),
    ),
    Condition("triggers", lazy_gettext("Any of these triggers"), "choices", TRIGGERS),
    Condition("no_triggers", lazy_gettext("None of these triggers"), "choices", TRIGGERS),
    Condition("pii", lazy_gettext("Exposes personal data"), "choices", PII_KINDS),
    Condition("has_product", lazy_gettext("Names a catalogue product"), "bool"),
    Condition("sold_out", lazy_gettext("The product is sold out"), "bool"),
    Condition("min_followers", lazy_gettext("Author has at least this many followers"), "int"),
    Condition("max_followers", lazy_gettext("Author has at most this many followers"), "int"),
    Condition("vip", lazy_gettext("Customer is VIP"), "bool"),
    Condition("customer_tags", lazy_gettext("Customer has any of these tags"), "words"),
    Condition("open_escalation", lazy_gettext("Customer has an open escalation"), "bool"),
    Condition("min_earlier", lazy_gettext("Customer wrote at least this many times before"), "int"),
    Condition(
        "platforms", lazy_gettext("Platform"), "choices"
    ),  # choices: the registry's platforms
    Condition("accounts", lazy_gettext("Account"), "choices"),  # choices: the hub's accounts (ids)
    Condition(
        "keywords",
        lazy_gettext("Any of these words"),
        "words",
        (),
        lazy_gettext('"refund*" is a prefix'),
    ),
    Condition("pattern", lazy_gettext("Text matches this regular expression"), "regex"),
)
#: how long one rule's pattern may take on one mention before it counts as not matching
PATTERN_BUDGET_S = 0.005
CONDITION_KEYS = {c.key: c for c in CONDITIONS}


@dataclass(frozen=True)
class Route:
    """Where a mention goes, how soon it needs a first answer, and why."""

    team_id: int | None
    priority: str
    sla_minutes: int
    rule_id: int | None
    rule_name: str
    tags: tuple[str, ...] = ()
    assignment: str | None = None
    #: condition key → the mention's value that satisfied it
    matched: dict[str, Any] = field(default_factory=dict)

    def why(self) -> dict[str, Any]:
        """What ``Mention.routing_why`` stores."""
        return {"rule_id": self.rule_id, "rule": self.rule_name, "matched": self.matched}


Test = Callable[[Mapping[str, Any], str], Any]


def _one_of(values: frozenset[str], key: str) -> Test:
    """The attribute ``key`` is one of ``values`` (a list attribute: shares one); strings, most
    values, skip the conversions: this is the test every rule runs first."""

    def test(attrs: Mapping[str, Any], folded: str) -> Any:
        have = attrs.get(key)
        if have is None:
            return None
        if type(have) is str:
            return have if have in values else None
        have = _str(have)
        if isinstance(have, list):
            return sorted(values.intersection(have)) or None
        return have if have in values else None

    return test


def _none_of(values: frozenset[str]) -> Test:
    def test(attrs: Mapping[str, Any], folded: str) -> Any:
        return "none" if not values.intersection(attrs.get("triggers") or ()) else None

    return test


def _flag(want: bool, get: Callable[[Mapping[str, Any]], Any]) -> Test:
    def test(attrs: Mapping[str, Any], folded: str) -> Any:
        return bool(get(attrs)) if bool(get(attrs)) is want else None

    return test


def _at_least(n: int, get: Callable[[Mapping[str, Any]], Any]) -> Test:
    def test(attrs: Mapping[str, Any], folded: str) -> Any:
        v = get(attrs)
        return v if v is not None and v >= n else None

    return test


def _at_most(n: int, get: Callable[[Mapping[str, Any]], Any]) -> Test:
    def test(attrs: Mapping[str, Any], folded: str) -> Any:
        v = get(attrs)
        return v if v is not None and v <= n else None

    return test


def _history(key: str) -> Callable[[Mapping[str, Any]], Any]:
    return lambda a: (a.get("history") or {}).get(key)


def _earlier(attrs: Mapping[str, Any]) -> Any:
    """Earlier contacts: the customer's stored mentions, or as many as they say they made
    elsewhere ("fourth time I'm writing"), whichever is more."""
    return max((attrs.get("history") or {}).get("earlier") or 0, attrs.get("contacts_stated") or 0)


def _key(key: str) -> Callable[[Mapping[str, Any]], Any]:
    return lambda a: a.get(key)


def _tests(cond: Mapping[str, Any]) -> list[tuple[str, Test]]:
    """One test per condition; each returns the matching value, or None when it does not hold.
    Empty lists and missing keys are no condition at all."""
    out: list[tuple[str, Test]] = []
    plain = {
        "languages": "language",
        "intents": "intent",
        "sentiments": "sentiment",
        "severities": "severity",
        "stages": "stage",
        "triggers": "triggers",
        "pii": "pii",
        "platforms": "platform",
        "accounts": "account_id",
    }
    for key, value in cond.items():
        if value is None or value == [] or value == "":
            continue
        if key in plain:
            out.append((key, _one_of(frozenset(str(v) for v in value), plain[key])))
        elif key == "no_triggers":
            out.append((key, _none_of(frozenset(value))))
        elif key == "has_product":
            out.append((key, _flag(bool(value), _key("product"))))
        elif key == "sold_out":
            out.append((key, _flag(bool(value), _key("sold_out"))))
        elif key == "min_followers":
            out.append((key, _at_least(int(value), _key("followers"))))
        elif key == "max_followers":
            out.append((key, _at_most(int(value), _key("followers"))))
        elif key == "vip":
            out.append((key, _flag(bool(value), _history("vip"))))
        elif key == "open_escalation":
            out.append((key, _flag(bool(value), _history("open_escalation"))))
        elif key == "min_earlier":
            out.append((key, _at_least(int(value), _earlier)))
        elif key == "customer_tags":
            tags = frozenset(str(t).strip().casefold() for t in value)
            out.append((key, _tagged(tags)))
        elif key == "pattern":
            out.append((key, _searcher(policies.Pattern(str(value), re.IGNORECASE))))
        elif key == "keywords":
            words = WordList((w, None) for w in value if isinstance(w, str))
            if not words.empty:
                out.append((key, _worded(words)))
    return out


def _tagged(tags: frozenset[str]) -> Test:
    def test(attrs: Mapping[str, Any], folded: str) -> Any:
        return (
            sorted(tags.intersection(t.casefold() for t in _history("tags")(attrs) or ())) or None
        )

    return test


def _searcher(rx: policies.Pattern) -> Test:
    return lambda attrs, folded: _search(rx, folded)


def _worded(words: WordList) -> Test:
    return lambda attrs, folded: next((w for _start, w, _p in words.find(folded)), None)


def _search(rx: policies.Pattern, folded: str) -> str | None:
    # saved patterns were checked for catastrophic backtracking; the budget is the second line
    try:
        with policies.budget(PATTERN_BUDGET_S):
            found = rx.search(folded)
    except policies.BudgetExceeded:
        return None
    return found.group(0)[:80] if found else None


def _str(v: Any) -> Any:
    if isinstance(v, list | tuple):
        return [str(x) for x in v]
    return None if v is None else str(v)


@dataclass(frozen=True)
class StoredRule:
    """A routing rule's values as ``load_rules`` read them: plain values, not an ORM object,
    so its compiled form can outlive the session that read it."""

    id: int
    name: str
    conditions: dict[str, Any] | None
    team_id: int | None
    priority: str | None
    sla_minutes: int | None
    tags: list[str] | None
    assignment: str | None


@dataclass(frozen=True)
class CompiledRule:
    """A rule ready to evaluate: one test per condition."""

    rule: RoutingRule | StoredRule
    tests: tuple[tuple[str, Test], ...]

    def match(self, attrs: Mapping[str, Any], folded: str) -> dict[str, Any] | None:
        """The conditions that held with their values, or None if one did not."""
        values = []
        for _key_name, test in self.tests:
            value = test(attrs, folded)
            if value is None:
                return None
            values.append(value)
        return {key: value for (key, _t), value in zip(self.tests, values, strict=True)}


def compile_rules(rules: Sequence[RoutingRule | StoredRule]) -> list[CompiledRule]:
    """Prepare rules for matching, in the order given."""
    return [CompiledRule(rule, tuple(_tests(rule.conditions or {}))) for rule in rules]


_RULES = RoutingRule.__table__.c
#: what load_rules reads of each enabled rule, its JSON as the stored text: plain values that
#: compare with the last read's, and differ when a rule was edited in any way
_STORED = (
    select(
        _RULES.id,
        _RULES.name,
        cast(_RULES.conditions, Text),
        _RULES.team_id,
        _RULES.priority,
        _RULES.sla_minutes,
        cast(_RULES.tags, Text),
        _RULES.assignment,
    )
    .where(_RULES.enabled.is_(True))
    .order_by(_RULES.position)
)
#: the rows load_rules read last and the rules compiled from them
_last_loaded: tuple[tuple[tuple[Any, ...], ...], list[CompiledRule]] = ((), [])


def load_rules(session: Session) -> list[CompiledRule]:
    """The enabled rules in evaluation order, compiled.

    Ingest calls this once per batch. The rules are read every time, as plain rows in one
    query: that read is the version check, so a rule a manager edited, reordered or switched
    off applies from the next batch in every process. They are compiled again only when the
    rows differ from the previous call's (reading them as ORM objects and compiling their
    keyword lists and patterns was a twentieth of ingest)."""
    global _last_loaded
    rows = tuple(tuple(row) for row in session.execute(_STORED))
    last_rows, compiled = _last_loaded
    if rows != last_rows:
        compiled = compile_rules(
            [
                StoredRule(
                    rule_id,
                    name,
                    None if conditions is None else json.loads(conditions),
                    team_id,
                    priority,
                    sla,
                    None if tags is None else json.loads(tags),
                    assignment,
                )
                for rule_id, name, conditions, team_id, priority, sla, tags, assignment in rows
            ]
        )
        _last_loaded = (rows, compiled)
    return compiled


def route(
    rules: list[CompiledRule],
    attrs: Mapping[str, Any],
    text: str,
    default_sla: int = 120,
) -> Route:
    """Apply the first matching rule; with none, no team, p3 and the default SLA.

    ``attrs`` are the mention's attributes plus ``platform`` and ``account_id``."""
    folded = text.casefold()
    for c in rules:
        matched = c.match(attrs, folded)
        if matched is not None:
            prio = c.rule.priority or "p3"
            sla = c.rule.sla_minutes or SLA_BY_PRIORITY.get(prio, default_sla)
            return Route(
                c.rule.team_id,
                prio,
                sla,
                c.rule.id,
                c.rule.name,
                tuple(c.rule.tags or ()),
                c.rule.assignment,
                matched,
            )
    return Route(None, "p3", default_sla, None, "no rule matched")


def mention_facts(mention: Any) -> dict[str, Any]:
    """What rules read of a stored mention: its attributes, platform and account."""
    return {
        **(mention.attributes or {}),
        "language": (mention.attributes or {}).get("language") or mention.language,
        "platform": mention.platform,
        "account_id": None if mention.account_id is None else str(mention.account_id),
    }


def validate_conditions(
    cond: Mapping[str, Any],
    platforms: tuple[str, ...] = (),
    accounts: tuple[str, ...] = (),
) -> dict[str, str]:
    """Problems with a rule's conditions, by condition key (empty when it can be saved).

    ``platforms``/``accounts``: the values the hub knows, for those two conditions."""
    errors: dict[str, str] = {}
    for key, value in cond.items():
        spec = CONDITION_KEYS.get(key)
        if spec is None:
            errors[key] = str(lazy_gettext("Unknown condition."))
            continue
        if value is None or value == [] or value == "":
            continue
        if spec.kind == "choices":
            allowed = spec.choices or {"platforms": platforms, "accounts": accounts}.get(key, ())
            if not isinstance(value, list) or any(str(v) not in allowed for v in value):
                errors[key] = str(lazy_gettext("Choose from the listed values."))
        elif spec.kind == "bool":
            if not isinstance(value, bool):
                errors[key] = str(lazy_gettext("Yes or no."))
        elif spec.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                errors[key] = str(lazy_gettext("A whole number, 0 or more."))
        elif spec.kind == "words":
            if not isinstance(value, list) or not all(isinstance(w, str) for w in value):
                errors[key] = str(lazy_gettext("A list of words."))
            elif len(value) > MAX_KEYWORDS:
                errors[key] = str(lazy_gettext("At most %(n)d words.", n=MAX_KEYWORDS))
            elif any(len(w.strip().rstrip("*")) < 2 for w in value):
                errors[key] = str(lazy_gettext("Each word needs at least two characters."))
        elif spec.kind == "regex":
            problem = pattern_problem(value)
            if problem:
                errors[key] = problem
    return errors


def pattern_problem(source: Any) -> str | None:
    """Why a rule's regular expression cannot be saved: not text, too long, not valid, or able to
    backtrack exponentially (``policies.backtracking``, the check packs' patterns pass)."""
    if not isinstance(source, str):
        return str(lazy_gettext("A regular expression."))
    if len(source) > 500:
        return str(lazy_gettext("At most 500 characters."))
    try:
        re.compile(source, re.IGNORECASE)
    except re.error as exc:
        return str(lazy_gettext("Not a valid regular expression: %(why)s.", why=str(exc)))
    witness = policies.exponential_witness(source, re.IGNORECASE)
    if witness is not None:
        return str(
            lazy_gettext(
                "This pattern can freeze routing: a repeated part can match the same text in "
                "more than one way (like (a+)+), so on a text like %(sample)s the work doubles "
                "with every added %(pump)s. Rewrite it so each repetition matches only one way.",
                sample=witness.sample()[:60],
                pump=witness.pump[:20],
            )
        )
    return None


def due_at(received: datetime, route_: Route) -> datetime:
    """First-response deadline."""
    return received + timedelta(minutes=route_.sla_minutes)
