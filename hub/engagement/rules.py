"""The routing editor's services: create, change, reorder, switch and delete routing rules,
preview a draft against recent mentions, and put rules and routing reasons into words.

Rules are evaluated by ``hub.engagement.routing`` in ``position`` order, first match wins. The
editor keeps positions as 10, 20, 30, ... so the order is always a plain list. Every change is an
audit event ``routing_rule.*`` naming who made it, with the changed fields before and after.
A rule saved here always has at least one condition: an empty condition set would match every
mention and silently swallow the rules below it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from hub.audit import record_event
from hub.engagement import routing
from hub.errors import NotFound, UserError
from hub.i18n import _, format_decimal
from hub.i18n import lazy_gettext as _l
from hub.ids import MAX_ID
from hub.models import Mention, PlatformAccount, RoutingRule, Team, utcnow
from hub.platforms import registry

MAX_NAME = 120
MAX_TAG = 40
MAX_TAGS = 20
MAX_SLA = 10080
#: the most mentions a preview reads (the newest of the period)
PREVIEW_CAP = 5000
PREVIEW_DAYS = 7
PREVIEW_EXAMPLES = 5
POSITION_STEP = 10
#: what a condition list shows before "and N more"
SUMMARY_VALUES = 8

#: the reader's words for the values conditions take (routing.CONDITIONS' choices)
VALUE_WORDS: dict[str, Any] = {
    "en": _l("English"),
    "es": _l("Spanish"),
    "zh": _l("Chinese"),
    "complaint": _l("complaint"),
    "question": _l("question"),
    "praise": _l("praise"),
    "chit_chat": _l("chit-chat"),
    "spam": _l("spam"),
    "abuse": _l("abuse"),
    "negative": _l("negative"),
    "neutral": _l("neutral"),
    "positive": _l("positive"),
    "high": _l("high"),
    "normal": _l("normal"),
    "low": _l("low"),
    "order": _l("an existing order"),
    "pre_purchase": _l("a purchase"),
    "social": _l("neither (social)"),
    "safety": _l("safety"),
    "legal": _l("legal"),
    "press": _l("press"),
    "vip": _l("VIP"),
    "repeated": _l("repeated"),
    "churn": _l("churn"),
    "staff_conduct": _l("staff conduct"),
    "privacy": _l("privacy"),
    "quality_pattern": _l("quality pattern"),
    "urgent": _l("urgent"),
    "phishing": _l("phishing"),
    "scam_report": _l("scam report"),
    "counterfeit": _l("counterfeit"),
    "threat": _l("threat"),
    "harassment": _l("harassment"),
    "blocked_purchase": _l("blocked purchase"),
    "bulk": _l("bulk order"),
    "order_number": _l("order number"),
    "email": _l("e-mail"),
    "phone": _l("phone"),
    "card": _l("card"),
    "tracking": _l("tracking number"),
    "address": _l("address"),
}
ASSIGNMENT_WORDS: dict[str, Any] = {
    "": _l("The team's own policy"),
    "manual": _l("Manual (the team's pool)"),
    "round_robin": _l("Round robin"),
    "least_loaded": _l("Least loaded"),
}


def value_word(value: Any) -> str:
    """A condition value in the reader's words (unknown values as they are)."""
    word = VALUE_WORDS.get(str(value))
    return str(word) if word is not None else str(value)


@dataclass(frozen=True)
class RuleDraft:
    """What a manager typed into the rule form; ``position`` is 1-based (None: at the end)."""

    name: str
    conditions: Mapping[str, Any]
    team_id: int | None
    priority: str
    sla_minutes: int | None = None
    tags: tuple[str, ...] = ()
    assignment: str | None = None
    position: int | None = None


def known_platforms() -> tuple[str, ...]:
    """The platforms a rule may name: those whose connector this hub loaded."""
    return tuple(sorted(registry.platforms()))


def account_choices(session: Session) -> list[tuple[str, str]]:
    """(id, "@handle on platform") for every account of the hub."""
    rows = session.scalars(
        select(PlatformAccount).order_by(PlatformAccount.platform, PlatformAccount.handle)
    )
    return [
        (str(a.id), _("@%(handle)s on %(platform)s", handle=a.handle, platform=a.platform))
        for a in rows
    ]


def ordered_rules(session: Session, *, lock: bool = False) -> list[RoutingRule]:
    """Every rule, enabled or not, in evaluation order."""
    query = select(RoutingRule).order_by(RoutingRule.position, RoutingRule.id)
    if lock:
        query = query.with_for_update()
    return list(session.scalars(query))


def get_rule(session: Session, rule_id: int) -> RoutingRule:
    """The rule, or NotFound."""
    rule = session.get(RoutingRule, rule_id)
    if rule is None:
        raise NotFound(_("There is no such routing rule."))
    return rule


def split_words(text: str) -> list[str]:
    """Words typed one a line or separated by commas, trimmed, empty ones and repeats dropped."""
    seen: dict[str, None] = {}
    for line in text.replace("\r", "\n").split("\n"):
        for word in line.split(","):
            word = word.strip()
            if word:
                seen.setdefault(word, None)
    return list(seen)


def split_tags(text: str) -> list[str]:
    """Tags typed comma separated (a tag is one line of text)."""
    return split_words(text.replace("\n", ","))


def check_draft(session: Session, draft: RuleDraft) -> dict[str, str]:
    """Every problem with a draft by field name (condition keys for conditions); empty when it
    can be saved."""
    errors: dict[str, str] = {}
    name = draft.name.strip()
    if not name:
        errors["name"] = _("Give the rule a name.")
    elif len(name) > MAX_NAME:
        errors["name"] = _("At most %(n)s characters.", n=MAX_NAME)
    if draft.team_id is None:
        errors["team"] = _("Choose the team the rule sends mentions to.")
    elif not 0 < draft.team_id <= MAX_ID or session.get(Team, draft.team_id) is None:
        errors["team"] = _("That team does not exist.")
    if draft.priority not in routing.PRIORITIES:
        errors["priority"] = _("Choose a priority.")
    if draft.sla_minutes is not None and not 1 <= draft.sla_minutes <= MAX_SLA:
        errors["sla_minutes"] = _("Between 1 and %(max)s minutes, or empty.", max=MAX_SLA)
    if draft.assignment is not None and draft.assignment not in routing.ASSIGNMENT_POLICIES:
        errors["assignment"] = _("Choose how mentions are assigned.")
    if len(draft.tags) > MAX_TAGS:
        errors["tags"] = _("At most %(n)s tags.", n=MAX_TAGS)
    elif any(len(t) > MAX_TAG for t in draft.tags):
        errors["tags"] = _("Each tag is at most %(n)s characters.", n=MAX_TAG)
    accounts = tuple(a for a, _name in account_choices(session))
    errors.update(routing.validate_conditions(draft.conditions, known_platforms(), accounts))
    texts = {"name": [draft.name], "tags": list(draft.tags)} | {
        k: v if isinstance(v, list) else [v] for k, v in draft.conditions.items()
    }
    for key, values in texts.items():
        if any(isinstance(v, str) and "\x00" in v for v in values):
            errors.setdefault(key, _("Remove the invisible control character (NUL)."))
    if not _conditions(draft.conditions):
        errors[""] = _(
            "Add at least one condition. A rule for everything left over is written with a "
            'condition every mention meets, e.g. "Language: en, es, zh".'
        )
    return errors


def _conditions(cond: Mapping[str, Any]) -> dict[str, Any]:
    """The conditions that say something (no empty lists, strings or None)."""
    return {k: v for k, v in cond.items() if v is not None and v != [] and v != ""}


def _clean(draft: RuleDraft) -> dict[str, Any]:
    """The stored fields of a valid draft."""
    return {
        "name": draft.name.strip(),
        "conditions": _conditions(draft.conditions),
        "team_id": draft.team_id,
        "priority": draft.priority,
        "sla_minutes": draft.sla_minutes,
        "tags": list(draft.tags),
        "assignment": draft.assignment,
    }


def _snapshot(rule: RoutingRule) -> dict[str, Any]:
    return {
        "name": rule.name,
        "conditions": dict(rule.conditions or {}),
        "team_id": rule.team_id,
        "priority": rule.priority,
        "sla_minutes": rule.sla_minutes,
        "tags": list(rule.tags or []),
        "assignment": rule.assignment,
        "enabled": rule.enabled,
        "position": rule.position,
    }


def refuse_bad_draft(session: Session, draft: RuleDraft) -> None:
    """Raise a UserError naming every problem of the draft (by field), if it has any."""
    _refuse(check_draft(session, draft))


def _refuse(errors: dict[str, str]) -> None:
    if errors:
        first = errors.get("") or _("The rule was not saved: see the marked fields.")
        raise UserError(first, errors=errors)


def _place(rules: list[RoutingRule], rule: RoutingRule, position: int | None) -> None:
    """Put ``rule`` at the 1-based ``position`` of ``rules`` (clamped) and renumber them all."""
    others = [r for r in rules if r is not rule]
    index = len(others) if position is None else max(0, min(position - 1, len(others)))
    others.insert(index, rule)
    _renumber(others)


def _renumber(rules: list[RoutingRule]) -> None:
    for i, r in enumerate(rules, start=1):
        if r.position != i * POSITION_STEP:
            r.position = i * POSITION_STEP


def create_rule(session: Session, draft: RuleDraft, actor_id: int) -> RoutingRule:
    """Add a rule, switched off until a manager enables it, at the draft's position."""
    _refuse(check_draft(session, draft))
    rules = ordered_rules(session, lock=True)
    rule = RoutingRule(position=0, enabled=False, **_clean(draft))
    _place(rules, rule, draft.position)
    session.add(rule)
    session.flush()
    record_event(
        session, "routing_rule.created", "routing_rule", rule.id, actor_id, after=_snapshot(rule)
    )
    return rule


def update_rule(session: Session, rule: RoutingRule, draft: RuleDraft, actor_id: int) -> bool:
    """Apply an edit; False when nothing changed (no audit event then)."""
    _refuse(check_draft(session, draft))
    before = _snapshot(rule)
    for key, value in _clean(draft).items():
        setattr(rule, key, value)
    if draft.position is not None:
        _place(ordered_rules(session, lock=True), rule, draft.position)
    session.flush()
    after = _snapshot(rule)
    changed = [k for k in after if after[k] != before[k]]
    if not changed:
        return False
    record_event(
        session,
        "routing_rule.updated",
        "routing_rule",
        rule.id,
        actor_id,
        before={k: before[k] for k in changed},
        after={k: after[k] for k in changed},
    )
    return True


def set_rule_enabled(session: Session, rule: RoutingRule, enabled: bool, actor_id: int) -> bool:
    """Switch a rule on or off; False when it already was."""
    if rule.enabled is enabled:
        return False
    rule.enabled = enabled
    session.flush()
    record_event(
        session,
        "routing_rule.enabled" if enabled else "routing_rule.disabled",
        "routing_rule",
        rule.id,
        actor_id,
        before={"enabled": not enabled},
        after={"enabled": enabled},
    )
    return True


def move_rule(session: Session, rule: RoutingRule, direction: str, actor_id: int) -> bool:
    """Move a rule one place up or down; False at the top or bottom already."""
    if direction not in ("up", "down"):
        raise UserError(_("Move a rule up or down."))
    rules = ordered_rules(session, lock=True)
    index = next(i for i, r in enumerate(rules) if r.id == rule.id)
    target = index - 1 if direction == "up" else index + 1
    if not 0 <= target < len(rules):
        return False
    before = rule.position
    _place(rules, rule, target + 1)
    session.flush()
    record_event(
        session,
        "routing_rule.moved",
        "routing_rule",
        rule.id,
        actor_id,
        before={"position": before, "place": index + 1},
        after={"position": rule.position, "place": target + 1},
    )
    return True


def delete_rule(session: Session, rule: RoutingRule, actor_id: int) -> None:
    """Delete a rule. The mentions it routed keep their team, priority and the reason (with the
    rule's name) in ``routing_why``; only their link to the row goes."""
    unlinked = session.scalar(
        select(func.count(Mention.id)).where(Mention.routing_rule_id == rule.id)
    )
    session.execute(
        update(Mention).where(Mention.routing_rule_id == rule.id).values(routing_rule_id=None)
    )
    before = _snapshot(rule)
    rule_id = rule.id
    session.delete(rule)
    session.flush()
    _renumber(ordered_rules(session, lock=True))
    record_event(
        session,
        "routing_rule.deleted",
        "routing_rule",
        rule_id,
        actor_id,
        before=before,
        mentions_unlinked=int(unlinked or 0),
    )


# ---------------------------------------------------------------------------------------------
# Preview


@dataclass(frozen=True)
class PreviewExample:
    """One mention the draft would route, with where it goes now and where it would go."""

    mention_id: int
    text: str
    handle: str
    team_now: int | None
    team_new: int | None
    priority_now: str
    priority_new: str


@dataclass(frozen=True)
class Preview:
    """What saving the draft would have done to the recent mentions."""

    scanned: int
    total: int
    matched: int
    #: mentions whose conditions the draft meets but an earlier rule takes first
    shadowed: int
    changed: int
    examples: list[PreviewExample] = field(default_factory=list)
    days: int = PREVIEW_DAYS

    @property
    def capped(self) -> bool:
        """Whether only the newest ``scanned`` of ``total`` mentions were read."""
        return self.total > self.scanned


def _draft_rule(draft: RuleDraft, rule_id: int | None) -> RoutingRule:
    """A detached rule for evaluation only: never added to the session."""
    rule = RoutingRule(enabled=True, position=0, **_clean(draft))
    rule.id = rule_id if rule_id is not None else -1
    return rule


def preview_rule(
    session: Session,
    draft: RuleDraft,
    rule_id: int | None = None,
    now: datetime | None = None,
    cap: int = PREVIEW_CAP,
) -> Preview:
    """Evaluate the whole rule list with the draft put in (at its position, or in place of
    ``rule_id``) against the last days' mentions, newest first, and compare with the rules as
    they stand. Reads only: the draft is never added to the session."""
    now = now or utcnow()
    since = now - timedelta(days=PREVIEW_DAYS)
    stored = ordered_rules(session)
    draft_rule = _draft_rule(draft, rule_id)
    with_draft = [r for r in stored if r.id != rule_id]
    old_index = next((i for i, r in enumerate(stored) if r.id == rule_id), None)
    index = draft.position - 1 if draft.position is not None else old_index
    if index is None:
        index = len(with_draft)
    with_draft.insert(max(0, min(index, len(with_draft))), draft_rule)
    rules_now = routing.compile_rules([r for r in stored if r.enabled])
    rules_new = routing.compile_rules([r for r in with_draft if r.enabled])
    draft_only = routing.compile_rules([draft_rule])
    total = session.scalar(select(func.count(Mention.id)).where(Mention.received_at >= since)) or 0
    mentions = session.scalars(
        select(Mention)
        .where(Mention.received_at >= since)
        .order_by(Mention.received_at.desc(), Mention.id.desc())
        .limit(cap)
    ).all()
    matched = shadowed = changed = scanned = 0
    examples: list[PreviewExample] = []
    for m in mentions:
        scanned += 1
        facts = routing.mention_facts(m)
        was = routing.route(rules_now, facts, m.text)
        new = routing.route(rules_new, facts, m.text)
        if (was.team_id, was.priority) != (new.team_id, new.priority):
            changed += 1
        if new.rule_id == draft_rule.id:
            matched += 1
            if len(examples) < PREVIEW_EXAMPLES:
                examples.append(
                    PreviewExample(
                        m.id,
                        m.text,
                        m.author_handle,
                        was.team_id,
                        new.team_id,
                        was.priority,
                        new.priority,
                    )
                )
        elif routing.route(draft_only, facts, m.text).rule_id == draft_rule.id:
            shadowed += 1
    return Preview(scanned, max(total, scanned), matched, shadowed, changed, examples)


# ---------------------------------------------------------------------------------------------
# Rules and routing reasons in words


def _values(values: Any, words: Mapping[str, str] | None = None) -> str:
    items = values if isinstance(values, list | tuple) else [values]
    shown = [words.get(str(v), str(v)) if words else value_word(v) for v in items[:SUMMARY_VALUES]]
    text = ", ".join(shown)
    if len(items) > SUMMARY_VALUES:
        text = _("%(list)s and %(n)s more", list=text, n=len(items) - SUMMARY_VALUES)
    return text


def _yes_no(value: Any) -> str:
    return _("yes") if value else _("no")


def describe_conditions(
    conditions: Mapping[str, Any], accounts: Mapping[str, str] | None = None
) -> list[str]:
    """One line per condition, in the catalogue's order and the reader's language."""
    lines = []
    for spec in routing.CONDITIONS:
        value = conditions.get(spec.key)
        if value is None or value == [] or value == "":
            continue
        if spec.kind == "bool":
            shown = _yes_no(value)
        elif spec.kind == "int":
            shown = _number(value)
        elif spec.kind == "regex":
            shown = f"/{value}/"
        elif spec.key == "accounts":
            shown = _values(value, accounts or {})
        elif spec.kind == "words" or spec.key == "platforms":
            shown = _values(value, {})
        else:
            shown = _values(value)
        lines.append(_("%(condition)s: %(values)s", condition=spec.label, values=shown))
    unknown = sorted(set(conditions) - set(routing.CONDITION_KEYS))
    if unknown:
        lines.append(_("Conditions this editor does not know: %(keys)s", keys=", ".join(unknown)))
    return lines


def _number(value: Any) -> str:
    try:
        return str(format_decimal(value, format="#,##0"))
    except (TypeError, ValueError):
        return str(value)


def explain_route(why: Mapping[str, Any] | None, rule: RoutingRule | None) -> list[str]:
    """Why a mention went where it went: one phrase per condition that held, e.g. "Intent =
    complaint" or "Followers ≥ 50,000 (had 180,000)". ``rule`` is the rule as it stands now, for
    thresholds (None when deleted: the values alone are shown)."""
    matched = (why or {}).get("matched") or {}
    if not isinstance(matched, Mapping):
        return []
    cond = (rule.conditions or {}) if rule is not None else {}
    out = []
    for key, value in matched.items():
        out.append(_explain(str(key), value, cond.get(key)))
    return out


def _explain(key: str, value: Any, threshold: Any) -> str:
    spec = routing.CONDITION_KEYS.get(key)
    if spec is None:
        return _("%(condition)s: %(values)s", condition=key, values=_values(value, {}))
    if key == "no_triggers":
        return _("None of the excluded triggers")
    if key == "keywords":
        return _('Word "%(word)s"', word=value)
    if key == "pattern":
        return _('Text matched "%(text)s"', text=value)
    if key in ("min_followers", "max_followers", "min_earlier"):
        what = _("Followers") if key != "min_earlier" else _("Earlier mentions")
        sign = "≤" if key == "max_followers" else "≥"
        if isinstance(threshold, int) and not isinstance(threshold, bool):
            return _(
                "%(what)s %(sign)s %(n)s (had %(had)s)",
                what=what,
                sign=sign,
                n=_number(threshold),
                had=_number(value),
            )
        return _("%(condition)s: %(values)s", condition=what, values=_number(value))
    if spec.kind == "bool":
        return str(spec.label) if value else _("%(condition)s: no", condition=spec.label)
    if key == "triggers":
        return _("Triggers: %(values)s", values=_values(value))
    if key == "pii":
        return _("Personal data: %(values)s", values=_values(value))
    if key == "customer_tags":
        return _("Customer tags: %(values)s", values=_values(value, {}))
    if key in ("platforms", "accounts"):
        return _("%(condition)s = %(values)s", condition=spec.label, values=_values(value, {}))
    return _("%(condition)s = %(values)s", condition=spec.label, values=_values(value))


def key_attributes(
    attributes: Mapping[str, Any] | None, language: str | None
) -> list[tuple[str, str]]:
    """(label, value) of the attributes triage found that matter to whoever answers."""
    a = attributes or {}
    rows: list[tuple[str, str]] = []
    lang = a.get("language") or language
    if lang:
        rows.append((_("Language"), value_word(lang)))
    for key, title in (
        ("intent", _l("Intent")),
        ("sentiment", _l("Sentiment")),
        ("stage", _l("About")),
    ):
        if a.get(key):
            rows.append((str(title), value_word(a[key])))
    if a.get("triggers"):
        rows.append((_("Triggers"), _values(a["triggers"])))
    product = a.get("product")
    if product:
        if isinstance(product, Mapping):
            product = product.get("name") or product.get("sku") or ""
        rows.append((_("Product"), str(product)))
    if a.get("sold_out"):
        rows.append((_("Stock"), _("sold out")))
    if a.get("pii"):
        rows.append((_("Personal data"), _values(a["pii"])))
    if a.get("followers") is not None:
        rows.append((_("Followers"), _number(a["followers"])))
    if a.get("contacts_stated"):
        rows.append((_("Earlier contacts they mention"), _number(a["contacts_stated"])))
    return rows
