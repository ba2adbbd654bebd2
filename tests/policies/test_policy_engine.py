"""The engine API: decisions, verdict ordering, JSON, pack loading and versioning."""

from __future__ import annotations

import json

import pytest

from policies import AuthorHistory, Context, Draft, Pack, check, load_pack
from policies.engine import verdict_of
from policies.types import Finding


def test_check_uses_default_pack() -> None:
    decision = check(Draft(text="Made a bowl. It is a plate now.", platform="x", kind="post"))
    assert decision.verdict == "allow"
    assert decision.findings == ()
    assert decision.pack_version == load_pack().version
    assert decision.elapsed_ms >= 0


def test_every_rule_runs_and_all_findings_are_reported(run) -> None:  # type: ignore[no-untyped-def]
    text = (
        "Order KF-20488172, f u c k this, Project Heron drops in fall "
        "https://bit.ly/x We apologize for any inconvenience this may have caused."
    )
    decision = run(text, kind="reply", in_reply_to="where is my order?")
    guidelines = {f.guideline for f in decision.findings}
    assert {"G3", "G4", "G5", "G9", "G14"} <= guidelines
    assert decision.verdict == "block"
    severities = [f.severity for f in decision.findings]
    assert severities == sorted(severities, key=["block", "review", "warn"].index)


@pytest.mark.parametrize(
    ("severities", "verdict"),
    [
        ([], "allow"),
        (["warn"], "warn"),
        (["warn", "review"], "review"),
        (["review", "block", "warn"], "block"),
    ],
)
def test_verdict_is_most_severe(severities: list[str], verdict: str) -> None:
    findings = [Finding("r", "G0", s, "m") for s in severities]  # type: ignore[arg-type]
    assert verdict_of(findings) == verdict


def test_to_dict_is_json(run) -> None:  # type: ignore[no-untyped-def]
    decision = run("Order KF-20488172 is late", kind="reply", in_reply_to="?", history=(3, 1))
    data = decision.to_dict()
    text = json.dumps(data)
    assert json.loads(text)["verdict"] == "block"
    assert isinstance(data["findings"][0]["span"], list)
    assert data["mix"]["posts_30d"] == 3


def test_messages_are_plain_language_with_suggestions(run) -> None:  # type: ignore[no-untyped-def]
    decision = run("Call me at 208.555.0193", kind="reply", in_reply_to="call me")
    f = decision.findings[0]
    assert "208.555.0193" in f.message and f.suggestion


def test_load_pack_from_text_and_version_is_content_hash() -> None:
    text = (
        "rules:\n  - id: demo\n    kind: lexicon\n    guideline: G3\n"
        "    severity: warn\n    terms: [heck]\n"
    )
    pack = load_pack(text)
    assert [r.id for r in pack.rules] == ["demo"]
    other = load_pack(text.replace("heck", "darn"))
    assert other.version != pack.version
    decision = check(Draft(text="what the heck", platform="x", kind="post"), pack=pack)
    assert decision.verdict == "warn" and decision.pack_version == pack.version


def test_load_pack_from_path(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "p.yaml"
    path.write_text("rules:\n  - id: a\n    kind: lexicon\n    terms: [x]\n", encoding="utf-8")
    assert load_pack(str(path)).rules[0].id == "a"
    assert load_pack(path).rules[0].id == "a"


@pytest.mark.parametrize(
    "text",
    [
        "name: x",  # no rules
        "rules:\n  - id: a\n    kind: nope\n",  # unknown kind
        "rules:\n  - id: a\n    kind: lexicon\n  - id: a\n    kind: lexicon\n",  # duplicate id
        "rules:\n  - id: a\n    kind: phrases\n    triggers: [{all: [missing]}]\n",
        # YAML reads an unquoted no as false: the word "no" would never match
        "rules:\n  - id: a\n    kind: lexicon\n    terms: [nope, no]\n",
        # and "\b" in double quotes as a backspace: the pattern would never match
        'rules:\n  - id: a\n    kind: lexicon\n    terms: ["re:\\bidiot"]\n',
    ],
)
def test_bad_packs_fail_loudly(text: str) -> None:
    with pytest.raises(ValueError):
        load_pack(text)


def test_default_pack_is_cached() -> None:
    assert load_pack() is load_pack()


def test_context_defaults(pack: Pack) -> None:
    draft = Draft(text="hi", platform="sandbox", kind="reply", in_reply_to=None)
    assert check(draft, Context(), pack).verdict == "allow"
    ctx = Context(history=AuthorHistory(0, 0))
    assert check(Draft(text="hi", platform="x", kind="post"), ctx, pack).mix is not None


def test_message_placeholder_typo_does_not_crash() -> None:
    pack = load_pack(
        "rules:\n  - id: a\n    kind: lexicon\n    terms: [heck]\n"
        '    message: "{nope:.2f} {match}"\n'
    )
    decision = check(Draft(text="heck", platform="x", kind="post"), pack=pack)
    assert decision.findings[0].message == "{nope:.2f} {match}"
    assert decision.findings[0].span == (0, 4)
