"""The active policy pack and its versions: edit word lists and thresholds, test, activate.

The shipped default (policies/packs/culture.yaml) is active until compliance activates an edited
version. An edit is a *draft* PolicyPackVersion holding the whole pack text; its own examples are
run against exactly that text before it may become *active*; the one it replaces is *retired*.
Only the values of existing word lists and numbers change in an edit (found generically in each
rule's YAML, so new rule kinds and renamed keys need no code here); structure, messages and
examples stay as they are.

A word list may hold regular expressions (``re:`` terms, a ``pattern`` rule's list, the PII
detectors), and one that backtracks catastrophically would freeze every check. Every regular
expression of a version that is not in the shipped pack (whose own are checked by its tests) is
checked by ``policies.pattern_problems`` when a draft is saved (refused with the field named),
when its examples run (shown, and activation refused) and again when it is activated (so a
version written by hand is refused too): none may backtrack exponentially, and none may take
longer than ``POLICY_PATTERN_BUDGET_MS`` on a generated hostile draft.
"""

from __future__ import annotations

import copy
import difflib
import math
import re
import threading
import unicodedata
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal

import yaml
from flask import current_app, has_app_context
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

import policies
from hub.audit import record_event
from hub.compliance.config import SETTINGS
from hub.errors import UserError
from hub.i18n import _, ngettext
from hub.models import PackState, PolicyPackVersion, Staff, utcnow
from policies import DEFAULT_PACK, iter_examples, run_pack_examples

#: subject_type of the audit events about pack versions
SUBJECT = "policy_pack"
#: pg_advisory_xact_lock key that serialises activation and revert
_LOCK_KEY = 7283017
#: keys that are structure, not settings: never offered for editing, at any depth (a length
#: rule's "limits" is only the CLI's fallback: the hub counts with the connector's limit)
_STRUCTURAL = frozenset({"id", "kind", "examples", "kinds", "platforms", "limits"})
MAX_ENTRY_CHARS = 1000
MAX_ENTRIES = 5000
MAX_NOTE_CHARS = 2000
_INT_LIMIT = 1_000_000
_AUDIT_LIST_CAP = 50

#: POLICY_PATTERN_BUDGET_MS as declared, for callers outside a request (jobs, tests)
DEFAULT_PATTERN_BUDGET_MS = float(
    next(default for name, default, _doc in SETTINGS if name == "POLICY_PATTERN_BUDGET_MS")
)


def check_budget_ms() -> float:
    """POLICY_CHECK_BUDGET_MS: the app's setting in an app context, else as declared."""
    if has_app_context():
        return float(current_app.config["POLICY_CHECK_BUDGET_MS"])
    return float(next(d for name, d, _doc in SETTINGS if name == "POLICY_CHECK_BUDGET_MS"))


# libyaml's loader builds the same objects as yaml.safe_load, about ten times faster on the pack.
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class PackError(UserError):
    """A refused pack operation; ``errors`` maps form field names ("" for the form) to messages;
    ``status`` is 409 when the pack's state is the reason (not the input)."""

    def __init__(
        self, message: str, errors: Mapping[str, str] | None = None, status: int = 422
    ) -> None:
        super().__init__(message, status=status, errors=errors)


# ---------------------------------------------------------------------------------- reading


_compiled: dict[str, policies.Pack] = {}
_compiled_lock = threading.Lock()


def active_pack(session: Session) -> policies.Pack:
    """The pack every check uses now: one small query, compiled packs kept per version hash."""
    row = session.execute(
        select(PolicyPackVersion.id, PolicyPackVersion.version)
        .where(PolicyPackVersion.state == PackState.ACTIVE.value)
        .order_by(PolicyPackVersion.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return shipped_pack()
    pack = _compiled.get(row.version)
    if pack is None:
        # The 80 kB text is read only when this process has not compiled this version yet.
        source = session.scalar(
            select(PolicyPackVersion.yaml).where(PolicyPackVersion.id == row.id)
        )
        pack = _remember(row.version, policies.load_pack(source or ""))
    return pack


def _remember(key: str, pack: policies.Pack) -> policies.Pack:
    with _compiled_lock:
        while len(_compiled) >= 8:
            _compiled.pop(next(iter(_compiled)))
        _compiled[key] = pack
    return pack


def shipped_pack() -> policies.Pack:
    """The compiled shipped default, re-read only when the file on disk changes.

    ``policies.load_pack()`` reads the 80 kB file on every call before its cache lookup; a stat
    is a few microseconds, and this runs on every check when no edited version is active.
    """
    st = DEFAULT_PACK.stat()
    key = f"shipped:{st.st_mtime_ns}:{st.st_size}"
    return _compiled.get(key) or _remember(key, policies.load_pack())


def load_spec(source: str) -> dict[str, Any]:
    """Parse pack YAML (same result as yaml.safe_load)."""
    spec = yaml.load(source, Loader=_Loader)  # noqa: S506 - a safe loader
    if not isinstance(spec, dict):
        raise PackError(_("A rule pack is a YAML mapping."))
    return spec


def dump_spec(spec: Mapping[str, Any]) -> str:
    """The stored form of an edited pack (comments are not kept; one list entry per line)."""
    return yaml.safe_dump(dict(spec), sort_keys=False, allow_unicode=True, width=4096)


def shipped_text() -> str:
    """The shipped default pack, as the file is on disk."""
    return DEFAULT_PACK.read_text(encoding="utf-8")


@lru_cache(maxsize=2)
def _normalised(source: str) -> str:
    return dump_spec(load_spec(source))


def shipped_normalised() -> str:
    """The shipped default as an edited version would store it, so diffs show only real changes."""
    return _normalised(shipped_text())


def active_version(session: Session) -> PolicyPackVersion | None:
    """The active edited version, or None when the shipped default is active."""
    return session.scalar(
        select(PolicyPackVersion)
        .where(PolicyPackVersion.state == PackState.ACTIVE.value)
        .order_by(PolicyPackVersion.id.desc())
        .limit(1)
        .execution_options(populate_existing=True)
    )


@dataclass(frozen=True)
class Base:
    """The pack edits start from: the active version or the shipped default."""

    row: PolicyPackVersion | None
    source: str
    spec: dict[str, Any]
    version: str


def current_base(session: Session) -> Base:
    """The active pack's text, parsed spec and version hash."""
    row = active_version(session)
    source = row.yaml if row is not None else shipped_text()
    version = row.version if row is not None else shipped_pack().version
    return Base(row=row, source=source, spec=load_spec(source), version=version)


# --------------------------------------------------------------------------- editable fields


#: regex syntax that a plain word list entry never has: \\b \\d \\s (?: [..] {n}
_REGEX_HINT = re.compile(r"\\[bBdDsSwW]|\(\?|\[[^\]]+\]|\{\d")


@dataclass(frozen=True)
class PackField:
    """One editable value of a rule or of the mix settings: a word list or a number."""

    scope: str  # a rule id, or "" for the pack's mix settings
    path: tuple[str | int, ...]  # keys (and list indexes) inside the rule / mix mapping
    label: str
    kind: Literal["list", "number"]
    value: Any  # the value in the pack (list entries may be non-strings in YAML)
    integer: bool = False
    minimum: float = 0
    maximum: float = 0

    @property
    def name(self) -> str:
        """The form field name."""
        where = f"rule:{self.scope}" if self.scope else "mix"
        return where + ":" + ".".join(str(p) for p in self.path)

    @property
    def entries(self) -> list[str]:
        """A list's entries as the engine reads them, cleaned as an edit would clean them."""
        return clean_entries(str(v) for v in self.value) if self.kind == "list" else []

    @property
    def shown(self) -> list[tuple[str, bool]]:
        """Each entry with whether it reads as a regular expression (the policy page shows
        those behind a "show pattern" toggle so the word lists stay readable)."""
        return [(e, e.startswith("re:") or bool(_REGEX_HINT.search(e))) for e in self.entries]

    @property
    def probability(self) -> bool:
        """True for shares and probabilities (0 to 1)."""
        return not self.integer and self.maximum == 1


def _number_bounds(key: str, value: int | float) -> tuple[bool, float, float]:
    """Bounds from the value's own shape: a float in 0..1 is a share or probability; whole
    numbers are counts, except similarity percentages; negative values keep their sign."""
    lo = -_INT_LIMIT if value < 0 else 0
    if isinstance(value, float):
        return (False, 0.0, 1.0) if 0 <= value <= 1 else (False, lo, float(_INT_LIMIT))
    if re.search(r"ratio|similarity|percent", key):
        return True, 0, 100
    return True, lo, _INT_LIMIT


def _walk(
    node: Any, scope: str, path: tuple[str | int, ...], label: tuple[str, ...]
) -> Iterator[PackField]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if str(key) not in _STRUCTURAL:
                yield from _walk(value, scope, (*path, str(key)), (*label, str(key)))
    elif isinstance(node, list):
        if all(isinstance(v, str | int | float | bool) for v in node):
            yield PackField(scope, path, " › ".join(label), "list", list(node))
        elif all(isinstance(v, Mapping) for v in node):
            for i, item in enumerate(node):
                tag = item.get("name") or item.get("id") or f"#{i + 1}"
                yield from _walk(item, scope, (*path, i), (*label, f"[{tag}]"))
    elif isinstance(node, int | float) and not isinstance(node, bool):
        integer, lo, hi = _number_bounds(str(path[-1]) if path else "", node)
        yield PackField(scope, path, " › ".join(label), "number", node, integer, lo, hi)


@dataclass(frozen=True)
class RuleView:
    """A rule of the pack as the policy page shows it."""

    id: str
    guideline: str
    kind: str
    severities: tuple[str, ...]
    enabled: bool
    fields: tuple[PackField, ...]


def _severities(node: Any) -> Iterator[str]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "severity" and isinstance(value, str):
                yield value
            elif key != "examples":
                yield from _severities(value)
    elif isinstance(node, list):
        for item in node:
            yield from _severities(item)


def rule_views(spec: Mapping[str, Any]) -> list[RuleView]:
    """Every rule of a pack spec with its editable fields."""
    views = []
    for rspec in spec.get("rules") or []:
        if not isinstance(rspec, Mapping) or "id" not in rspec:
            continue
        rid = str(rspec["id"])
        views.append(
            RuleView(
                id=rid,
                guideline=str(rspec.get("guideline", "")),
                kind=str(rspec.get("kind", "")),
                severities=tuple(dict.fromkeys(_severities(rspec))) or ("review",),
                enabled=rspec.get("enabled", True) is not False,
                fields=tuple(_walk(rspec, rid, (), ())),
            )
        )
    return views


def mix_fields(spec: Mapping[str, Any]) -> list[PackField]:
    """The editable values of the pack's content-mix settings (the product-share limit etc.)."""
    return list(_walk(spec.get("mix") or {}, "", (), ("mix",)))


def editable_fields(spec: Mapping[str, Any]) -> list[PackField]:
    """Every editable field of the pack: each rule's, then the mix settings."""
    return [f for r in rule_views(spec) for f in r.fields] + mix_fields(spec)


# ---------------------------------------------------------------------------------- editing


def clean_entries(lines: Iterator[str] | Sequence[str]) -> list[str]:
    """Entries trimmed, blank ones dropped, repeats removed (first one kept)."""
    return list(dict.fromkeys(s.strip() for s in lines if s.strip()))


def _control_chars(value: str, allowed: str = "") -> bool:
    return any(unicodedata.category(c) == "Cc" and c not in allowed for c in value)


def _parse(f: PackField, raw: str) -> Any:
    """The submitted value of a field, or PackError with a message for that field."""
    if f.kind == "list":
        entries = clean_entries(raw.splitlines())
        if len(entries) > MAX_ENTRIES:
            raise PackError(
                _("At most %(max)s entries (%(num)s given).", max=MAX_ENTRIES, num=len(entries))
            )
        for entry in entries:
            if len(entry) > MAX_ENTRY_CHARS:
                raise PackError(
                    _(
                        "Entries are at most %(max)s characters: '%(entry)s…' is %(num)s.",
                        max=MAX_ENTRY_CHARS,
                        entry=entry[:40],
                        num=len(entry),
                    )
                )
            if _control_chars(entry, "\t"):
                raise PackError(_("'%(entry)s' contains a control character.", entry=entry[:40]))
        return entries
    raw = raw.strip()
    if not raw:
        raise PackError(_("Enter a number."))
    if f.integer:
        if not re.fullmatch(r"[+-]?\d{1,12}", raw):
            raise PackError(_("'%(value)s' is not a whole number.", value=raw[:40]))
        number: int | float = int(raw)
    else:
        try:
            number = float(raw)
        except ValueError:
            raise PackError(_("'%(value)s' is not a number.", value=raw[:40])) from None
        if not math.isfinite(number):
            raise PackError(_("Enter a finite number."))
    if not f.minimum <= number <= f.maximum:
        bounds = {"min": f"{f.minimum:g}", "max": f"{f.maximum:g}", "value": raw[:40]}
        if f.probability:
            raise PackError(
                _(
                    "Must be between %(min)s and %(max)s (a share or probability); got %(value)s.",
                    **bounds,
                )
            )
        raise PackError(_("Must be between %(min)s and %(max)s; got %(value)s.", **bounds))
    return number


def _container(spec: dict[str, Any], f: PackField) -> Any:
    if f.scope:
        return next(
            r for r in spec["rules"] if isinstance(r, Mapping) and str(r.get("id")) == f.scope
        )
    return spec["mix"]


def _set(spec: dict[str, Any], f: PackField, value: Any) -> None:
    node = _container(spec, f)
    for step in f.path[:-1]:
        node = node[step]
    node[f.path[-1]] = value


def _change(f: PackField, new: Any) -> dict[str, Any]:
    if f.kind == "list":
        old = f.entries
        old_set, new_set = set(old), set(new)
        added = [e for e in new if e not in old_set]
        removed = [e for e in old if e not in new_set]
        return {
            "field": f.name,
            "added": added[:_AUDIT_LIST_CAP],
            "removed": removed[:_AUDIT_LIST_CAP],
            "count": len(new),
        }
    return {"field": f.name, "from": f.value, "to": new}


@dataclass(frozen=True)
class PackEdit:
    """An edit as submitted: raw form values by field name, the reason, and the pack it is from."""

    values: Mapping[str, str]
    note: str
    base_version: str


@dataclass
class EditResult:
    """A saved draft and what changed in it."""

    row: PolicyPackVersion
    changes: list[dict[str, Any]] = field(default_factory=list)


def create_draft(
    session: Session, edit: PackEdit, actor_id: int | None, budget_ms: float | None = None
) -> EditResult:
    """Save the edited values as a draft version of the active pack (validated, compiled).

    Only fields present in ``edit.values`` whose cleaned value differs from the pack's are
    changed; everything else in the pack text stays as it is. Raises PackError with every
    problem found (field name -> message), including regular expressions that could freeze
    checks (``budget_ms``: POLICY_PATTERN_BUDGET_MS).
    """
    base = current_base(session)
    errors: dict[str, str] = {}
    if edit.base_version != base.version:
        raise PackError(
            _(
                "The active pack changed while you were editing (it is now %(version)s). Nothing "
                "was saved: make your change again on the current pack.",
                version=base.version[:10],
            ),
            status=409,
        )
    note = edit.note.strip()
    if not note:
        errors["note"] = _("Say why you are making this change.")
    elif len(note) > MAX_NOTE_CHARS:
        errors["note"] = _("The note is at most %(max)s characters.", max=MAX_NOTE_CHARS)
    elif _control_chars(note, "\t\r\n"):
        errors["note"] = _("The note contains a control character.")
    new_spec = copy.deepcopy(base.spec)
    changes = []
    edited: list[tuple[PackField, Any]] = []
    for f in editable_fields(base.spec):
        if f.name not in edit.values:
            continue
        try:
            value = _parse(f, edit.values[f.name])
        except PackError as exc:
            errors[f.name] = str(exc)
            continue
        unchanged = value == f.entries if f.kind == "list" else value == f.value
        if not unchanged:
            _set(new_spec, f, value)
            changes.append(_change(f, value))
            edited.append((f, value))
    if errors:
        raise PackError(_("Please correct the marked fields."), errors)
    if not changes:
        raise PackError(_("Nothing changed: edit a list or a number first."))
    source = dump_spec(new_spec)
    try:
        pack = policies.load_pack(source)
    except Exception as exc:  # rule factories raise ValueError, KeyError, re.error, TypeError...
        error = f"{type(exc).__name__}: {exc}"
        raise PackError(_("The edited pack does not compile: %(error)s", error=error)) from exc
    unsafe = _pattern_errors(pack, edited, _budget(budget_ms))
    if unsafe:
        raise PackError(_("Please correct the marked fields."), unsafe)
    row = PolicyPackVersion(
        version=pack.version,
        yaml=source,
        note=note,
        state=PackState.DRAFT.value,
        parent_id=base.row.id if base.row is not None else None,
        examples={},
        created_by=actor_id,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    record_event(
        session,
        "policy.draft_created",
        SUBJECT,
        row.id,
        actor_id,
        version=row.version,
        base_version=base.version,
        note=note,
        changes=changes,
    )
    return EditResult(row=row, changes=changes)


# ---------------------------------------------------------------------- regular expressions


def _budget(budget_ms: float | None) -> float:
    return DEFAULT_PATTERN_BUDGET_MS if budget_ms is None else float(budget_ms)


def pattern_problems(pack: policies.Pack, budget_ms: float) -> list[policies.PatternProblem]:
    """The regular expressions of this pack that could freeze checks (those of the shipped
    pack are left out: its tests hold them to the default budget)."""
    shipped = set(shipped_pack().patterns)
    added = [p for p in pack.patterns if p not in shipped]
    return policies.pattern_problems(added, max_chars=pack.max_chars, budget_ms=budget_ms)


def _holds(f: PackField, value: Any, pattern: policies.PackPattern) -> bool:
    if f.kind != "list" or f.scope != ("" if pattern.owner == "mix" else pattern.owner):
        return False
    return any(e in (pattern.source, "re:" + pattern.source) for e in value)


def _pattern_errors(
    pack: policies.Pack, edited: Sequence[tuple[PackField, Any]], budget_ms: float
) -> dict[str, str]:
    """Messages by form field for the edited fields' regular expressions that could freeze
    checks (first problem per field; "" for one that no edited field holds)."""
    errors: dict[str, str] = {}
    for problem in pattern_problems(pack, budget_ms):
        f = next((f for f, value in edited if _holds(f, value, problem.pattern)), None)
        if f is None:
            errors.setdefault(
                "",
                _("In %(rule)s: %(problem)s", rule=problem.pattern.owner, problem=problem.message),
            )
        else:
            errors.setdefault(f.name, f"{f.label}: {problem.message}")  # label: the pack's key
    return errors


def _problem_rows(problems: Sequence[policies.PatternProblem]) -> list[dict[str, Any]]:
    return [
        {
            "rule_id": p.pattern.owner,
            "pattern": p.pattern.source,
            "kind": p.kind,
            "problem": p.message,
        }
        for p in problems
    ]


# ------------------------------------------------------------------------ testing and activation


def run_examples(
    session: Session, row: PolicyPackVersion, actor_id: int | None, budget_ms: float | None = None
) -> dict[str, Any]:
    """Run the pack's own examples against this version's text, and check its regular
    expressions (``budget_ms``: POLICY_PATTERN_BUDGET_MS); store and return the result."""
    budget = _budget(budget_ms)
    result: dict[str, Any] = {
        "version": row.version,
        "ran_at": utcnow().isoformat(),
        "ran_by": actor_id,
        "total": 0,
        "passed": 0,
        "failed": [],
    }
    try:
        pack = policies.load_pack(row.yaml)
        if pack.version != row.version:
            raise ValueError(
                f"the engine's hash of this text is {pack.version}, not the stored {row.version}"
            )
        # the patterns first: one that backtracks exponentially would hang the examples
        unsafe = _problem_rows(pattern_problems(pack, budget))
        total = sum(1 for _example in iter_examples(pack))
        failures = run_pack_examples(pack) if not unsafe else []
    except Exception as exc:  # a version that no longer compiles or whose rule crashes
        result["error"] = f"{type(exc).__name__}: {exc}"
    else:
        result["total"] = total
        result["passed"] = total - len(failures)
        result["failed"] = [
            {"rule_id": x.rule_id, "expect": x.expect, "text": x.text, "fired": list(x.fired)}
            for x in failures
        ]
        result["patterns"] = unsafe
        result["budget_ms"] = budget
        if unsafe:
            result["passed"] = 0
    row.examples = result
    record_event(
        session,
        "policy.examples_run",
        SUBJECT,
        row.id,
        actor_id,
        version=row.version,
        total=result["total"],
        passed=result["passed"],
        failed=len(result["failed"]),
        unsafe_patterns=len(result.get("patterns") or []),
        **({"error": result["error"]} if "error" in result else {}),
    )
    session.flush()
    return result


def activation_problem(row: PolicyPackVersion, active: PolicyPackVersion | None) -> str | None:
    """Why this version may not be activated now, or None."""
    res = row.examples or {}
    if row.state == PackState.ACTIVE:
        return _("This version is already active.")
    if res.get("version") != row.version:
        return _("Run the examples on this version first: activation needs a passing run.")
    if res.get("error"):
        return _("The examples could not run on this version (%(error)s).", error=res["error"])
    if res.get("patterns"):
        return ngettext(
            "%(num)s regular expression of this version could freeze every check; fix it first.",
            "%(num)s regular expressions of this version could freeze every check; fix them first.",
            len(res["patterns"]),
        )
    if res.get("failed"):
        return _(
            "%(num)s of the pack's examples fail on this version; fix them first.",
            num=len(res["failed"]),
        )
    if not res.get("total"):
        return _("This pack has no examples, so nothing shows it works; add examples first.")
    if row.state == PackState.DRAFT and row.parent_id != (active.id if active else None):
        shipped = _("the shipped default")
        was = _("version #%(id)s", id=row.parent_id) if row.parent_id else shipped
        now = _("version #%(id)s", id=active.id) if active else shipped
        return _(
            "This draft was edited from %(was)s, but the active pack is now %(now)s; activating "
            "it would undo the changes made since. Make the edit again on the current pack.",
            was=was,
            now=now,
        )
    return None


def _unsafe_to_activate(row: PolicyPackVersion, budget_ms: float) -> str | None:
    """Why this version's regular expressions forbid activating it, or None."""
    try:
        pack = policies.load_pack(row.yaml)
    except Exception as exc:  # noqa: BLE001 - a version written by hand may not compile
        error = f"{type(exc).__name__}: {exc}"
        return _("This version does not compile: %(error)s", error=error)
    problems = pattern_problems(pack, budget_ms)
    if not problems:
        return None
    first = problems[0]
    if len(problems) > 1:
        return _(
            "This version cannot be activated: in %(rule)s, %(problem)s (%(num)s more)",
            rule=first.pattern.owner,
            problem=first.message,
            num=len(problems) - 1,
        )
    return _(
        "This version cannot be activated: in %(rule)s, %(problem)s",
        rule=first.pattern.owner,
        problem=first.message,
    )


def _lock(session: Session) -> None:
    """Serialise activations (SQLite already does: every transaction begins IMMEDIATE)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _LOCK_KEY})


def activate_version(
    session: Session, version_id: int, actor_id: int | None, budget_ms: float | None = None
) -> PolicyPackVersion:
    """Make this tested version the active pack and retire the previous one (audited).

    Its regular expressions are checked again here (``budget_ms``: POLICY_PATTERN_BUDGET_MS),
    whatever its stored test run says: a version may have been written by hand."""
    _lock(session)
    row = session.get(PolicyPackVersion, version_id, populate_existing=True)
    if row is None:
        raise LookupError(version_id)
    active = active_version(session)
    problem = activation_problem(row, active) or _unsafe_to_activate(row, _budget(budget_ms))
    if problem:
        raise PackError(problem, status=409)
    old = active.version if active else shipped_pack().version
    now = utcnow()
    session.execute(
        update(PolicyPackVersion)
        .where(PolicyPackVersion.state == PackState.ACTIVE.value)
        .values(state=PackState.RETIRED.value)
    )
    done = session.execute(
        update(PolicyPackVersion)
        .where(PolicyPackVersion.id == row.id, PolicyPackVersion.state != PackState.ACTIVE.value)
        .values(state=PackState.ACTIVE.value, activated_by=actor_id, activated_at=now)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise PackError(
            _("This version changed while activating it; reload and try again."), status=409
        )
    session.refresh(row)
    record_event(
        session,
        "policy.activated",
        SUBJECT,
        row.id,
        actor_id,
        old_version=old,
        new_version=row.version,
        previous_id=active.id if active else None,
        note=row.note,
    )
    return row


def revert_to_default(session: Session, actor_id: int | None, note: str) -> PolicyPackVersion:
    """Retire the active version so the shipped default applies again (audited)."""
    note = note.strip()
    if not note:
        message = _("Say why you are returning to the shipped default.")
        raise PackError(message, {"note": message})
    if len(note) > MAX_NOTE_CHARS or _control_chars(note, "\t\r\n"):
        raise PackError(
            _("The note is at most %(max)s characters of plain text.", max=MAX_NOTE_CHARS)
        )
    _lock(session)
    active = active_version(session)
    if active is None:
        raise PackError(_("The shipped default is already active."), status=409)
    active.state = PackState.RETIRED.value
    session.flush()
    record_event(
        session,
        "policy.reverted",
        SUBJECT,
        active.id,
        actor_id,
        old_version=active.version,
        new_version=shipped_pack().version,
        note=note,
    )
    return active


# --------------------------------------------------------------------------------- showing


@dataclass(frozen=True)
class DiffLine:
    """One line of a unified diff and how to show it (add, del, hunk, head or ctx)."""

    css: str
    text: str


def version_diff(session: Session, row: PolicyPackVersion, limit: int = 3000) -> list[DiffLine]:
    """Unified diff of this version against its parent (or the normalised shipped default)."""
    parent = session.get(PolicyPackVersion, row.parent_id) if row.parent_id else None
    before = parent.yaml if parent else shipped_normalised()
    name = f"version #{parent.id}" if parent else "shipped default (normalised)"
    lines = difflib.unified_diff(
        before.splitlines(), row.yaml.splitlines(), name, f"version #{row.id}", lineterm=""
    )
    out = []
    for i, line in enumerate(lines):
        if i >= limit:
            out.append(DiffLine("hunk", f"… diff cut at {limit} lines"))
            break
        if line.startswith(("+++", "---")):
            css = "head"
        elif line.startswith("@@"):
            css = "hunk"
        else:
            css = {"+": "add", "-": "del"}.get(line[:1], "ctx")
        out.append(DiffLine(css, line))
    return out


def list_versions(session: Session, limit: int = 200) -> list[PolicyPackVersion]:
    """Pack versions, newest first."""
    return list(
        session.scalars(
            select(PolicyPackVersion).order_by(PolicyPackVersion.id.desc()).limit(limit)
        )
    )


def staff_names(session: Session, rows: Sequence[PolicyPackVersion]) -> dict[int, str]:
    """Names of the people who created or activated these versions."""
    ids = {i for r in rows for i in (r.created_by, r.activated_by) if i is not None}
    if not ids:
        return {}
    found = session.execute(select(Staff.id, Staff.name).where(Staff.id.in_(ids)))
    return {staff_id: name for staff_id, name in found}
