"""Policy pack management: edit word lists and thresholds as drafts, test, activate, revert.

The pack is read from policies/packs/culture.yaml at run time: rule ids and keys are discovered
(the first word list whose new entry makes its own rule fire), never assumed.
"""

from __future__ import annotations

import html
import json
import re
import threading
from functools import lru_cache
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

import policies
from hub.audit import verify_chain
from hub.compliance import packs
from hub.db import job_session
from hub.models import AuditEvent, PolicyPackVersion, Staff
from hub.publishing.compose import check_text, record_decision
from policies import DEFAULT_PACK

WORD = "zorblaxian"
DRAFT = f"honestly this {WORD} shipping update is great"


def _fire(pack: policies.Pack, text: str) -> set[str]:
    decision = policies.check(policies.Draft(text=text, platform="bluesky", kind="post"), pack=pack)
    return {f.rule_id for f in decision.findings}


@lru_cache(maxsize=1)
def _word_list() -> tuple[str, str]:
    """(rule id, form field name) of a word list whose new entry makes its rule flag a draft."""
    spec = packs.load_spec(packs.shipped_text())
    shipped = policies.load_pack()
    assert _fire(shipped, DRAFT) == set(), "the probe draft must be clean on the shipped pack"
    kinds = {r.id: r.kind for r in packs.rule_views(spec)}
    order = sorted(
        (f for f in packs.editable_fields(spec) if f.kind == "list" and f.scope),
        key=lambda f: (kinds[f.scope] not in ("lexicon", "offensive"), len(f.path)),
    )
    for f in order[:40]:
        trial = packs.load_spec(packs.shipped_text())
        packs._set(trial, f, [*f.entries, WORD])
        try:
            pack = policies.load_pack(packs.dump_spec(trial))
        except Exception:  # noqa: S112 - not every list takes words; try the next one
            continue
        if f.scope in _fire(pack, DRAFT):
            return f.scope, f.name
    raise AssertionError("no word list of the pack flags a new word")


def _field(name: str) -> packs.PackField:
    spec = packs.load_spec(packs.shipped_text())
    return next(f for f in packs.editable_fields(spec) if f.name == name)


@pytest.fixture
def officer(make_staff: Any) -> Any:
    return make_staff("compliance", name="Cora Compliance")


@pytest.fixture
def signed_in(client: Any, login: Any, officer: Any) -> Any:
    login(client, officer)
    return client


def _base(client: Any, query: str = "") -> str:
    page = client.get(f"/policy/edit{query}")
    assert page.status_code == 200
    match = re.search(r'name="base" value="([0-9a-f]+)"', page.text)
    assert match
    return match.group(1)


def _save(client: Any, changes: dict[str, str], note: str = "tighten wording", **extra: str) -> Any:
    rule, _ = _word_list()
    base = _base(client, f"?rule={rule}")
    return client.post(
        "/policy/edit", data={"base": base, "note": note, "rule": rule, **changes, **extra}
    )


def _add_word(client: Any, *words: str, note: str = "add a word") -> int:
    _, name = _word_list()
    entries = _field(name).entries
    resp = _save(client, {name: "\n".join([*entries, *words])}, note=note)
    assert resp.status_code == 302, resp.text[:500]
    return int(resp.headers["Location"].rsplit("/", 1)[1])


def _row(app: Any, version_id: int) -> PolicyPackVersion:
    with job_session(app) as s:
        row = s.get(PolicyPackVersion, version_id)
        assert row is not None
        s.expunge(row)
    return row


def _events(app: Any, action: str) -> list[AuditEvent]:
    with job_session(app) as s:
        rows = list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))
        s.expunge_all()
    return rows


def _check(app: Any, staff: Any, text: str) -> tuple[policies.Decision, str]:
    with job_session(app) as s:
        author = s.get(Staff, staff.id)
        decision = check_text(s, author, text, "bluesky", "post")
        row = record_decision(s, author, text, "bluesky", decision, kind="post")
        return decision, row.pack_version


def test_page_shows_the_shipped_default(signed_in: Any) -> None:
    page = signed_in.get("/policy/")
    assert page.status_code == 200
    shipped = policies.load_pack()
    spec = packs.load_spec(packs.shipped_text())
    assert shipped.version in page.text
    assert "shipped default" in page.text
    assert f"v{spec['guidelines_version']}" in page.text
    rule, _ = _word_list()
    assert f'id="rule-{rule}"' in page.text
    assert f"/policy/edit?rule={rule}" in page.text
    assert "No edited versions yet" in page.text


def test_add_word_test_activate_then_checks_use_it(app: Any, signed_in: Any, officer: Any) -> None:
    rule, name = _word_list()
    before, before_version = _check(app, officer, DRAFT)
    assert rule not in {f.rule_id for f in before.findings}
    assert before_version == policies.load_pack().version

    vid = _add_word(signed_in, WORD)
    row = _row(app, vid)
    assert row.state == "draft" and row.parent_id is None
    assert row.version == policies.load_pack(row.yaml).version
    spec = packs.load_spec(row.yaml)
    assert WORD in next(f for f in packs.editable_fields(spec) if f.name == name).entries
    # a draft changes nothing yet
    assert _check(app, officer, DRAFT)[1] == before_version

    refused = signed_in.post(f"/policy/versions/{vid}/activate")
    assert refused.status_code == 409 and "Run the examples" in refused.text

    assert signed_in.post(f"/policy/versions/{vid}/test").status_code == 302
    tested = _row(app, vid)
    assert tested.examples["version"] == row.version
    assert tested.examples["failed"] == [] and tested.examples["passed"] > 0
    page = signed_in.get(f"/policy/versions/{vid}")
    assert f"{tested.examples['passed']} passed" in page.text

    resp = signed_in.post(f"/policy/versions/{vid}/activate")
    assert resp.status_code == 302, resp.text[:500]
    active = _row(app, vid)
    assert active.state == "active" and active.activated_by == officer.id
    assert active.activated_at is not None

    after, after_version = _check(app, officer, DRAFT)
    assert rule in {f.rule_id for f in after.findings}
    assert after_version == row.version != before_version

    index = signed_in.get("/policy/")
    assert row.version in index.text and f"version #{vid}" in index.text
    assert "Cora Compliance" in index.text and "add a word" in index.text


def test_audit_events_carry_the_actor_and_hashes(app: Any, signed_in: Any, officer: Any) -> None:
    _, name = _word_list()
    vid = _add_word(signed_in, WORD, note="customers report this slur")
    signed_in.post(f"/policy/versions/{vid}/test")
    signed_in.post(f"/policy/versions/{vid}/activate")
    version = _row(app, vid).version

    (created,) = _events(app, "policy.draft_created")
    assert created.actor_id == officer.id and created.subject_id == vid
    assert created.data["note"] == "customers report this slur"
    assert created.data["changes"] == [
        {"field": name, "added": [WORD], "removed": [], "count": len(_field(name).entries) + 1}
    ]
    (ran,) = _events(app, "policy.examples_run")
    assert ran.actor_id == officer.id and ran.data["failed"] == 0
    (activated,) = _events(app, "policy.activated")
    assert activated.actor_id == officer.id
    assert activated.data["old_version"] == policies.load_pack().version
    assert activated.data["new_version"] == version
    with job_session(app) as s:
        assert verify_chain(s)[1] is None
    history = signed_in.get(f"/policy/versions/{vid}").text
    assert "policy.activated" in history and "by Cora Compliance" in history


def test_diff_shows_only_the_changed_line(app: Any, signed_in: Any) -> None:
    vid = _add_word(signed_in, WORD)
    with job_session(app) as s:
        diff = packs.version_diff(s, s.get(PolicyPackVersion, vid))
    added = [d.text for d in diff if d.css == "add"]
    assert len(added) == 1 and re.fullmatch(rf"\+\s*- {WORD}", added[0])
    assert not [d for d in diff if d.css == "del"]
    page = signed_in.get(f"/policy/versions/{vid}")
    assert re.search(rf'<span class="add">\+\s*- {WORD}</span>', page.text)
    assert "shipped default (normalised)" in page.text


def test_breaking_an_example_is_shown_and_blocks_activation(app: Any, signed_in: Any) -> None:
    rule, name = _word_list()
    # only the new word left: the rule's own "must trigger" examples no longer do
    resp = _save(signed_in, {name: WORD}, note="trim the list")
    assert resp.status_code == 302
    vid = int(resp.headers["Location"].rsplit("/", 1)[1])
    signed_in.post(f"/policy/versions/{vid}/test")
    result = _row(app, vid).examples
    failed = [f for f in result["failed"] if f["rule_id"] == rule]
    assert failed and all(f["expect"] == "trigger" for f in failed)

    page = signed_in.get(f"/policy/versions/{vid}")
    assert "did not trigger" in page.text and "triggers the rule" in page.text
    assert f"{len(result['failed'])} failed" in page.text

    refused = signed_in.post(f"/policy/versions/{vid}/activate")
    assert refused.status_code == 409
    assert "examples fail on this version" in refused.text
    assert _row(app, vid).state == "draft"
    assert not _events(app, "policy.activated")


def _probability_field() -> packs.PackField:
    spec = packs.load_spec(packs.shipped_text())
    return next(f for f in packs.editable_fields(spec) if f.probability)


def _count(app: Any) -> int:
    with job_session(app) as s:
        return int(s.scalar(select(func.count()).select_from(PolicyPackVersion)) or 0)


@pytest.mark.parametrize(
    ("value", "note", "expected"),
    [
        ("7", "raise it", "between 0 and 1"),
        ("-0.1", "lower it", "between 0 and 1"),
        ("nan", "lower it", "finite"),
        ("abc", "lower it", "is not a number"),
        ("", "lower it", "Enter a number"),
        (None, "", "Say why you are making this change"),
        (None, "   ", "Say why you are making this change"),
    ],
)
def test_invalid_values_are_refused_and_nothing_saved(
    app: Any, signed_in: Any, value: str | None, note: str, expected: str
) -> None:
    prob = _probability_field()
    base = _base(signed_in)
    data = {"base": base, "note": note, prob.name: "0.5" if value is None else value}
    resp = signed_in.post("/policy/edit", data=data)
    assert resp.status_code == 422
    assert expected in resp.text
    assert _count(app) == 0 and not _events(app, "policy.draft_created")
    # the form comes back with what was typed
    if value:
        assert f'value="{value}"' in resp.text


def test_whole_numbers_and_uncompilable_terms_are_refused(app: Any, signed_in: Any) -> None:
    spec = packs.load_spec(packs.shipped_text())
    whole = next(f for f in packs.editable_fields(spec) if f.kind == "number" and f.integer)
    base = _base(signed_in)
    resp = signed_in.post("/policy/edit", data={"base": base, "note": "x", whole.name: "2.5"})
    assert resp.status_code == 422 and "is not a whole number" in resp.text

    _, name = _word_list()
    resp = _save(signed_in, {name: "\n".join([*_field(name).entries, "re:("])})
    assert resp.status_code == 422
    assert "The edited pack does not compile" in resp.text
    assert "re:(" in resp.text  # the typed list comes back for fixing
    assert _count(app) == 0


def test_unchanged_form_saves_nothing(app: Any, signed_in: Any) -> None:
    spec = packs.load_spec(packs.shipped_text())
    data = {
        f.name: "\n".join(f.entries) if f.kind == "list" else str(f.value)
        for f in packs.editable_fields(spec)
    }
    resp = signed_in.post("/policy/edit", data={"base": _base(signed_in), "note": "no-op", **data})
    assert resp.status_code == 422 and "Nothing changed" in resp.text
    assert _count(app) == 0


def test_entries_are_trimmed_and_deduplicated(app: Any, signed_in: Any) -> None:
    _, name = _word_list()
    entries = _field(name).entries
    text = "\r\n".join([*entries, f"   {WORD}  ", "", WORD, entries[0], "  "])
    resp = _save(signed_in, {name: text})
    assert resp.status_code == 302
    (created,) = _events(app, "policy.draft_created")
    assert created.data["changes"][0]["added"] == [WORD]
    assert created.data["changes"][0]["count"] == len(entries) + 1


def test_edit_from_a_stale_page_is_refused(app: Any, signed_in: Any) -> None:
    prob = _probability_field()
    resp = signed_in.post(
        "/policy/edit", data={"base": "0123456789abcdef", "note": "keep me", prob.name: "0.5"}
    )
    assert resp.status_code == 409 and "The active pack changed" in resp.text
    assert "keep me" in resp.text
    assert _count(app) == 0


def test_mix_limit_is_editable(app: Any, signed_in: Any) -> None:
    mix = packs.mix_fields(packs.load_spec(packs.shipped_text()))
    limit = next(f for f in mix if f.probability)
    page = signed_in.get("/policy/edit?section=mix")
    assert f'name="{limit.name}"' in page.text
    new = 0.5 if limit.value != 0.5 else 0.4
    base = _base(signed_in, "?section=mix")
    resp = signed_in.post("/policy/edit", data={"base": base, "note": "G7 review", limit.name: new})
    assert resp.status_code == 302
    vid = int(resp.headers["Location"].rsplit("/", 1)[1])
    row = _row(app, vid)
    assert policies.load_pack(row.yaml).mix.limit == pytest.approx(new)
    with job_session(app) as s:
        diff = packs.version_diff(s, s.get(PolicyPackVersion, vid))
    key = limit.path[-1]
    assert [d.text for d in diff if d.css in ("add", "del")] == [
        f"-  {key}: {limit.value}",
        f"+  {key}: {new}",
    ]


def test_revert_to_the_shipped_default(app: Any, signed_in: Any, officer: Any) -> None:
    assert signed_in.post("/policy/revert", data={"note": "x"}).status_code == 409
    vid = _add_word(signed_in, WORD)
    signed_in.post(f"/policy/versions/{vid}/test")
    signed_in.post(f"/policy/versions/{vid}/activate")
    assert _check(app, officer, DRAFT)[1] == _row(app, vid).version

    missing = signed_in.post("/policy/revert", data={"note": " "})
    assert missing.status_code == 422 and _row(app, vid).state == "active"
    resp = signed_in.post("/policy/revert", data={"note": "the word list caused false alarms"})
    assert resp.status_code == 302
    assert _row(app, vid).state == "retired"
    assert _check(app, officer, DRAFT)[1] == policies.load_pack().version
    with job_session(app) as s:
        assert packs.active_pack(s).version == policies.load_pack().version
    (event,) = _events(app, "policy.reverted")
    assert event.actor_id == officer.id and event.subject_id == vid
    assert event.data["old_version"] == _row(app, vid).version
    assert event.data["new_version"] == policies.load_pack().version
    assert "shipped default" in signed_in.get("/policy/").text

    # the retired version can be rolled back to: its examples ran on exactly this text
    again = signed_in.post(f"/policy/versions/{vid}/activate")
    assert again.status_code == 302 and _row(app, vid).state == "active"


def test_a_draft_from_an_older_pack_cannot_undo_newer_changes(app: Any, signed_in: Any) -> None:
    first = _add_word(signed_in, WORD, note="first")
    second = _add_word(signed_in, "quxxolian", note="second")
    for vid in (first, second):
        signed_in.post(f"/policy/versions/{vid}/test")
    assert signed_in.post(f"/policy/versions/{first}/activate").status_code == 302
    refused = signed_in.post(f"/policy/versions/{second}/activate")
    assert refused.status_code == 409 and "would undo the changes" in refused.text
    # a draft made now starts from the active version
    third = _add_word(signed_in, WORD, "quxxolian", note="third")
    assert _row(app, third).parent_id == first


def test_two_activations_at_once_leave_one_active(app: Any, signed_in: Any, officer: Any) -> None:
    """A retired version (a roll-back) and a fresh draft both pass every check on their own, so
    only the lock stops both from becoming active when they are activated at the same moment."""
    old = _add_word(signed_in, WORD, note="a")
    signed_in.post(f"/policy/versions/{old}/test")
    signed_in.post(f"/policy/versions/{old}/activate")
    signed_in.post("/policy/revert", data={"note": "back to default"})
    new = _add_word(signed_in, "quxxolian", note="b")
    signed_in.post(f"/policy/versions/{new}/test")
    assert (_row(app, old).state, _row(app, new).state) == ("retired", "draft")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def activate(vid: int) -> None:
        barrier.wait()
        try:
            with job_session(app) as s:
                packs.activate_version(s, vid, officer.id)
            outcomes.append("ok")
        except packs.PackError as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=activate, args=(vid,)) for vid in (old, new)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(outcomes) == 2 and "ok" in outcomes, outcomes
    with job_session(app) as s:
        states = s.scalars(select(PolicyPackVersion.state)).all()
    assert states.count("active") == 1
    assert len(_events(app, "policy.activated")) == 1 + outcomes.count("ok")


def test_hostile_terms_are_stored_as_data_and_escaped(app: Any, signed_in: Any) -> None:
    script, template = "<script>alert(1)</script>", "{{7*7}}"
    vid = _add_word(signed_in, script, template)
    row = _row(app, vid)
    rule, name = _word_list()
    stored = next(f for f in packs.editable_fields(packs.load_spec(row.yaml)) if f.name == name)
    assert stored.entries[-2:] == [script, template]
    signed_in.post(f"/policy/versions/{vid}/test")
    assert signed_in.post(f"/policy/versions/{vid}/activate").status_code == 302
    for url in (f"/policy/versions/{vid}", f"/policy/edit?rule={rule}"):
        page = signed_in.get(url).text
        assert script not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert template in page and ">49<" not in page


def test_unknown_version_and_rule_are_404(signed_in: Any) -> None:
    assert signed_in.get("/policy/versions/999999").status_code == 404
    assert signed_in.post("/policy/versions/999999/test").status_code == 404
    assert signed_in.post("/policy/versions/999999/activate").status_code == 404
    assert signed_in.get("/policy/edit?rule=no-such-rule").status_code == 404


def test_active_pack_reads_one_small_row(app: Any, signed_in: Any, officer: Any) -> None:
    """After the first compile, active_pack only asks for the active row's id and hash."""
    from sqlalchemy import event

    vid = _add_word(signed_in, WORD)
    signed_in.post(f"/policy/versions/{vid}/test")
    signed_in.post(f"/policy/versions/{vid}/activate")
    statements: list[str] = []
    engine = app.extensions["hub.engine"]

    def log(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    with job_session(app) as s:
        packs.active_pack(s)  # compiles (or finds) the version
        event.listen(engine, "before_cursor_execute", log)
        try:
            pack = packs.active_pack(s)
        finally:
            event.remove(engine, "before_cursor_execute", log)
    assert pack.version == _row(app, vid).version
    assert len(statements) == 1 and "yaml" not in statements[0].lower()


def test_a_version_that_does_not_compile_cannot_be_activated(app: Any, signed_in: Any) -> None:
    with job_session(app) as s:
        row = PolicyPackVersion(
            version="0000000000000000",
            yaml="name: broken\nrules:\n- {id: r1, kind: no-such-kind}\n",
            note="imported by hand",
            state="draft",
            examples={},
        )
        s.add(row)
        s.flush()
        vid = row.id
    resp = signed_in.post(f"/policy/versions/{vid}/test", follow_redirects=True)
    assert resp.status_code == 200 and "The examples could not run" in resp.text
    assert "no-such-kind" in _row(app, vid).examples["error"]
    refused = signed_in.post(f"/policy/versions/{vid}/activate")
    assert refused.status_code == 409 and "could not run" in refused.text
    assert _row(app, vid).state == "draft"


# ------------------------------------------------ regular expressions that could freeze checks

#: the issue's shape: a repeated group whose inside repeats too (passes the pack's examples)
NESTED = r"(\d+\s?)+#"


def _patterns_field() -> packs.PackField:
    """The list of regular expressions of the pack's first ``pattern`` rule."""
    spec = packs.load_spec(packs.shipped_text())
    kinds = {r.id: r.kind for r in packs.rule_views(spec)}
    return next(
        f
        for f in packs.editable_fields(spec)
        if f.kind == "list" and kinds.get(f.scope) == "pattern" and f.path == ("patterns",)
    )


def _field_error(page: str, name: str) -> str:
    """The error shown with one field of the edit form ("" if none)."""
    found = re.search(
        rf'<div class="pack-field invalid">(?:(?!</div>).)*name="{re.escape(name)}"'
        r'(?:(?!</div>).)*<p class="flash error">(.*?)</p>',
        page,
        re.S,
    )
    return html.unescape(found.group(1)) if found else ""


def _post_field(client: Any, f: packs.PackField, entries: list[str]) -> Any:
    base = _base(client, f"?rule={f.scope}")
    data = {"base": base, "note": "catch numbers", "rule": f.scope, f.name: "\n".join(entries)}
    return client.post("/policy/edit", data=data)


def test_a_nested_quantifier_is_refused_at_edit_time_naming_the_field(
    app: Any, signed_in: Any
) -> None:
    f = _patterns_field()
    resp = _post_field(signed_in, f, [*f.entries, NESTED])
    assert resp.status_code == 422
    error = _field_error(resp.text, f.name)
    assert error.startswith(f"{f.label}: the regular expression")
    assert NESTED in error and "more than one way" in error
    assert NESTED in resp.text  # the typed list comes back for fixing
    assert _count(app) == 0 and not _events(app, "policy.draft_created")


def test_a_nested_quantifier_in_a_word_list_is_refused_too(app: Any, signed_in: Any) -> None:
    """A word list's ``re:`` term is a regular expression as well."""
    _, name = _word_list()
    resp = _save(signed_in, {name: "\n".join([*_field(name).entries, r"re:(\w+\s?)*!"])})
    assert resp.status_code == 422
    assert "can freeze the check" in _field_error(resp.text, name)
    assert _count(app) == 0


def test_a_pattern_slow_on_hostile_text_is_refused_at_edit_time(
    app: Any, signed_in: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Not exponential (the static check lets it through) but O(n^5) on a long draft."""
    monkeypatch.setitem(app.config, "POLICY_PATTERN_BUDGET_MS", 100)
    f = _patterns_field()
    resp = _post_field(signed_in, f, [*f.entries, r"\d*\d*\d*\d*#"])
    assert resp.status_code == 422
    assert "took over 100 ms on a hostile text" in _field_error(resp.text, f.name)
    assert _count(app) == 0


def test_the_budget_is_the_setting(
    app: Any, signed_in: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    f = _patterns_field()
    added = [*f.entries, r"\bzorblax\d{3}\b"]
    monkeypatch.setitem(app.config, "POLICY_PATTERN_BUDGET_MS", 0)
    refused = _post_field(signed_in, f, added)
    assert refused.status_code == 422 and "took over 0 ms" in _field_error(refused.text, f.name)
    monkeypatch.setitem(app.config, "POLICY_PATTERN_BUDGET_MS", 60_000)
    assert _post_field(signed_in, f, added).status_code == 302


def _hand_made(app: Any, examples: dict[str, Any] | None = None) -> int:
    """A version written straight into the table, holding NESTED (no edit form involved)."""
    spec = packs.load_spec(packs.shipped_text())
    f = _patterns_field()
    packs._set(spec, f, [*f.entries, NESTED])
    text = packs.dump_spec(spec)
    version = policies.load_pack(text).version
    with job_session(app) as s:
        row = PolicyPackVersion(
            version=version,
            yaml=text,
            note="imported by hand",
            state="draft",
            examples={"version": version, **examples} if examples else {},
        )
        s.add(row)
        s.flush()
        return row.id


def test_a_hand_made_version_with_a_catastrophic_pattern_is_refused_at_activation(
    app: Any, signed_in: Any
) -> None:
    # even with a stored test run that says all is well
    vid = _hand_made(app, {"total": 5, "passed": 5, "failed": []})
    refused = signed_in.post(f"/policy/versions/{vid}/activate")
    assert refused.status_code == 409
    shown = html.unescape(refused.text)
    assert "This version cannot be activated: in " in shown and NESTED in shown
    assert _row(app, vid).state == "draft" and not _events(app, "policy.activated")


def test_running_a_hand_made_versions_examples_lists_its_catastrophic_pattern(
    app: Any, signed_in: Any, officer: Any
) -> None:
    vid = _hand_made(app)
    resp = signed_in.post(f"/policy/versions/{vid}/test", follow_redirects=True)
    assert resp.status_code == 200
    result = _row(app, vid).examples
    (row,) = result["patterns"]
    assert row["pattern"] == NESTED and row["kind"] == "exponential"
    assert row["rule_id"] == _patterns_field().scope
    shown = html.unescape(resp.text)
    assert "could freeze every check" in shown and NESTED in shown
    assert "1 unsafe pattern" in shown
    (ran,) = _events(app, "policy.examples_run")
    assert ran.data["unsafe_patterns"] == 1
    refused = signed_in.post(f"/policy/versions/{vid}/activate")
    assert refused.status_code == 409 and "could freeze every check" in refused.text
    with job_session(app) as s, pytest.raises(packs.PackError, match="could freeze"):
        packs.activate_version(s, vid, officer.id)


def test_hub_policy_check_and_eval_use_the_active_version_and_say_so(
    app: Any, signed_in: Any, monkeypatch: Any, tmp_path: Any
) -> None:
    import hub.cli

    monkeypatch.setattr(hub.cli, "_app", lambda: app)
    rule_id, _ = _word_list()

    def run(*args: str) -> Any:
        return CliRunner().invoke(hub.cli.main, ["policy", *args])

    shipped = run("check", DRAFT, "--platform", "bluesky", "--json")
    assert shipped.exit_code == 0, shipped.output
    assert rule_id not in {f["rule_id"] for f in json.loads(shipped.stdout)["findings"]}
    assert "the shipped default" in shipped.stderr
    vid = _add_word(signed_in, WORD)
    signed_in.post(f"/policy/versions/{vid}/test")
    assert signed_in.post(f"/policy/versions/{vid}/activate").status_code == 302
    active = run("check", DRAFT, "--platform", "bluesky", "--json")
    decision = json.loads(active.stdout)
    assert rule_id in {f["rule_id"] for f in decision["findings"]}
    assert decision["pack_version"] == _row(app, vid).version
    assert f"version {vid} active in the hub's database" in active.stderr
    chosen = run("check", DRAFT, "--platform", "bluesky", "--json", "--pack", str(DEFAULT_PACK))
    assert rule_id not in {f["rule_id"] for f in json.loads(chosen.stdout)["findings"]}
    assert f"file {DEFAULT_PACK}" in chosen.stderr
    labelled = tmp_path / "one.jsonl"
    labelled.write_text(
        json.dumps({"id": "t1", "kind": "post", "platform": "bluesky", "lang": "en",
                    "text": DRAFT, "in_reply_to": None, "author_history": None,
                    "expected": "allow", "violations": [], "is_product": False, "note": ""})
        + "\n"
    )  # fmt: skip
    evaluated = run("eval", str(labelled))
    assert evaluated.exit_code == 0, evaluated.output
    assert _row(app, vid).version in evaluated.stdout.splitlines()[0]
