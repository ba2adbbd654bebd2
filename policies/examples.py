"""Rule tests as data: every rule's ``examples`` in the pack must trigger it or must pass it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from policies.engine import Pack, check
from policies.types import AuthorHistory, Context, Draft


@dataclass(frozen=True)
class ExampleCase:
    """One example of one rule: the draft, its context and whether the rule should fire."""

    rule_id: str
    expect: str  # "trigger" | "pass"
    draft: Draft
    context: Context


@dataclass(frozen=True)
class ExampleFailure:
    """An example whose outcome differed from what the pack says."""

    rule_id: str
    expect: str
    text: str
    fired: tuple[str, ...]  # rule ids that fired on the example

    def __str__(self) -> str:
        verb = "should trigger" if self.expect == "trigger" else "should pass"
        return f"{self.rule_id} {verb}: {self.text!r} (fired: {', '.join(self.fired) or 'none'})"


def _case(rule_spec: Mapping[str, Any], expect: str, item: Any) -> ExampleCase:
    kinds = rule_spec.get("kinds")
    default_kind = (kinds[0] if isinstance(kinds, list) else kinds) or "post"
    if isinstance(item, str):
        item = {"text": item}
    history = item.get("history")
    return ExampleCase(
        rule_id=str(rule_spec["id"]),
        expect=expect,
        draft=Draft(
            text=str(item["text"]),
            platform=str(item.get("platform", "bluesky")),
            kind=str(item.get("kind", default_kind)),
            lang=item.get("lang"),
            in_reply_to=item.get("in_reply_to"),
        ),
        context=Context(
            history=AuthorHistory(int(history[0]), int(history[1])) if history else None
        ),
    )


def iter_examples(pack: Pack) -> Iterator[ExampleCase]:
    """Every example of every enabled rule in the pack."""
    enabled = {r.id for r in pack.rules}
    for rule_spec in pack.spec.get("rules") or []:
        if rule_spec.get("id") not in enabled:
            continue
        examples = rule_spec.get("examples") or {}
        for expect in ("trigger", "pass"):
            for item in examples.get(expect) or []:
                yield _case(rule_spec, expect, item)


def run_case(case: ExampleCase, pack: Pack) -> ExampleFailure | None:
    """Check one example; return a failure or None."""
    decision = check(case.draft, case.context, pack)
    fired = tuple(sorted({f.rule_id for f in decision.findings}))
    hit = case.rule_id in fired
    if hit == (case.expect == "trigger"):
        return None
    return ExampleFailure(case.rule_id, case.expect, case.draft.text, fired)


def run_pack_examples(pack: Pack) -> list[ExampleFailure]:
    """Run every rule example in the pack; return the failures (empty means all good)."""
    failures = []
    for case in iter_examples(pack):
        failure = run_case(case, pack)
        if failure is not None:
            failures.append(failure)
    return failures
