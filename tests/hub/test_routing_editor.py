"""The routing editor: the services (create, edit, validate, reorder, switch, delete, preview),
the pages (roles, CSRF, errors next to fields, hostile input) and the conversation page's
"routed by … because …"."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from hub.db import job_session
from hub.engagement import rules as svc
from hub.errors import UserError
from hub.models import AuditEvent, Mention, RoutingRule, Team, utcnow

SCRIPT = "<script>alert('pwned')</script>"


@pytest.fixture
def teams(app: Any) -> dict[str, int]:
    with job_session(app) as s:
        rows = [Team(slug=slug, name=slug.title()) for slug in ("care", "social", "sales")]
        s.add_all(rows)
        s.flush()
        return {t.slug: t.id for t in rows}


def _draft(teams: dict[str, int], **kw: Any) -> svc.RuleDraft:
    base: dict[str, Any] = {
        "name": "Zips",
        "conditions": {"keywords": ["zipper"]},
        "team_id": teams["social"],
        "priority": "p1",
        "sla_minutes": None,
        "tags": ("zip",),
        "assignment": None,
        "position": None,
    }
    return svc.RuleDraft(**(base | kw))


def _make(app: Any, teams: dict[str, int], **kw: Any) -> int:
    with job_session(app) as s:
        return svc.create_rule(s, _draft(teams, **kw), actor_id=None).id  # type: ignore[arg-type]


def _events(app: Any, action: str) -> list[AuditEvent]:
    with job_session(app) as s:
        rows = list(
            s.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
        )
        s.expunge_all()
        return rows


def _order(app: Any) -> list[str]:
    with job_session(app) as s:
        return [r.name for r in svc.ordered_rules(s)]


# ---------------------------------------------------------------------------------------------
# services


def test_create_starts_switched_off_at_the_asked_place_and_is_audited(app, teams):
    _make(app, teams, name="A")
    _make(app, teams, name="B")
    rule_id = _make(app, teams, name="C", position=1)
    assert _order(app) == ["C", "A", "B"]
    with job_session(app) as s:
        rule = s.get(RoutingRule, rule_id)
        assert rule.enabled is False
        assert [r.position for r in svc.ordered_rules(s)] == [10, 20, 30]
    created = _events(app, "routing_rule.created")
    assert len(created) == 3
    assert created[-1].data["after"]["name"] == "C"
    assert created[-1].data["after"]["tags"] == ["zip"]


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"name": "   "}, "name", "Give the rule a name"),
        ({"name": "x" * 121}, "name", "At most"),
        ({"conditions": {}}, "", "Add at least one condition"),
        ({"conditions": {"keywords": []}}, "", "Add at least one condition"),
        ({"team_id": None}, "team", "Choose the team"),
        ({"team_id": 999_999}, "team", "does not exist"),
        ({"priority": "p9"}, "priority", "Choose a priority"),
        ({"sla_minutes": 0}, "sla_minutes", "Between 1 and 10080"),
        ({"sla_minutes": 10081}, "sla_minutes", "Between 1 and 10080"),
        ({"assignment": "whoever"}, "assignment", "Choose how"),
        ({"tags": ("x" * 41,)}, "tags", "at most 40"),
        ({"tags": tuple(f"t{i}" for i in range(21))}, "tags", "At most 20 tags"),
        ({"conditions": {"pattern": "(unclosed"}}, "pattern", "Not a valid regular expression"),
        ({"conditions": {"pattern": "(a+)+$"}}, "pattern", "can freeze routing"),
        ({"conditions": {"keywords": [f"w{i:03}" for i in range(501)]}}, "keywords", "At most"),
        ({"conditions": {"min_followers": -1}}, "min_followers", "0 or more"),
        ({"conditions": {"intents": ["shouting"]}}, "intents", "listed values"),
        ({"conditions": {"platforms": ["myspace"]}}, "platforms", "listed values"),
        ({"conditions": {"accounts": ["424242"]}}, "accounts", "listed values"),
    ],
)
def test_a_bad_rule_is_refused_with_the_reason_on_its_field(app, teams, change, field, words):
    with job_session(app) as s, pytest.raises(UserError) as caught:
        svc.create_rule(s, _draft(teams, **change), actor_id=None)  # type: ignore[arg-type]
    assert field in caught.value.errors
    assert words in caught.value.errors[field]
    assert _order(app) == []


def test_a_catch_all_written_as_every_language_is_accepted(app, teams):
    _make(app, teams, conditions={"languages": ["en", "es", "zh"]})
    assert _order(app) == ["Zips"]


def test_update_audits_only_the_changed_fields_and_nothing_when_unchanged(app, teams):
    rule_id = _make(app, teams)
    with job_session(app) as s:
        rule = s.get(RoutingRule, rule_id)
        assert svc.update_rule(s, rule, _draft(teams, priority="p2"), None) is True  # type: ignore[arg-type]
        assert svc.update_rule(s, rule, _draft(teams, priority="p2"), None) is False  # type: ignore[arg-type]
    [event] = _events(app, "routing_rule.updated")
    assert event.data == {"before": {"priority": "p1"}, "after": {"priority": "p2"}}


def test_enable_disable_and_their_audit(app, teams):
    rule_id = _make(app, teams)
    with job_session(app) as s:
        rule = s.get(RoutingRule, rule_id)
        assert svc.set_rule_enabled(s, rule, True, None) is True  # type: ignore[arg-type]
        assert svc.set_rule_enabled(s, rule, True, None) is False  # type: ignore[arg-type]
        assert svc.set_rule_enabled(s, rule, False, None) is True  # type: ignore[arg-type]
    assert [e.data["after"] for e in _events(app, "routing_rule.enabled")] == [{"enabled": True}]
    assert [e.data["after"] for e in _events(app, "routing_rule.disabled")] == [{"enabled": False}]


def test_move_up_and_down_stops_at_the_ends(app, teams):
    a, b, c = (_make(app, teams, name=n) for n in "ABC")
    with job_session(app) as s:
        assert svc.move_rule(s, s.get(RoutingRule, c), "up", None) is True  # type: ignore[arg-type]
        assert svc.move_rule(s, s.get(RoutingRule, a), "up", None) is False  # type: ignore[arg-type]
        assert svc.move_rule(s, s.get(RoutingRule, a), "down", None) is True  # type: ignore[arg-type]
        with pytest.raises(UserError):
            svc.move_rule(s, s.get(RoutingRule, a), "sideways", None)  # type: ignore[arg-type]
    assert _order(app) == ["C", "A", "B"]
    moved = _events(app, "routing_rule.moved")
    assert [(e.data["before"]["place"], e.data["after"]["place"]) for e in moved] == [
        (3, 2),
        (1, 2),
    ]
    assert b


def test_delete_keeps_the_mentions_it_routed_and_is_audited(app, teams, make_mention):
    rule_id = _make(app, teams)
    with job_session(app) as s:
        svc.set_rule_enabled(s, s.get(RoutingRule, rule_id), True, None)  # type: ignore[arg-type]
    m = make_mention("@KestrelFootwear my zipper broke")
    assert m.routing_rule_id == rule_id
    with job_session(app) as s:
        svc.delete_rule(s, s.get(RoutingRule, rule_id), None)  # type: ignore[arg-type]
    with job_session(app) as s:
        kept = s.get(Mention, m.id)
        assert kept.routing_rule_id is None
        assert kept.team_id == teams["social"]
        assert kept.routing_why["rule"] == "Zips"
    [event] = _events(app, "routing_rule.deleted")
    assert event.data["before"]["name"] == "Zips" and event.data["mentions_unlinked"] == 1


def test_preview_counts_matches_changes_and_examples_and_writes_nothing(app, teams, make_mention):
    for i in range(3):
        make_mention(f"@KestrelFootwear zipper {i} stuck")
    make_mention("@KestrelFootwear lovely shoes")
    old = make_mention("@KestrelFootwear zipper from long ago")
    with job_session(app) as s:
        s.get(Mention, old.id).received_at = utcnow() - timedelta(days=8)
    before = _events(app, "routing_rule.created")
    with job_session(app) as s:
        p = svc.preview_rule(s, _draft(teams))
        assert not s.new and not s.dirty
    assert (p.matched, p.scanned, p.total, p.changed, p.capped) == (3, 4, 4, 3, False)
    assert len(p.examples) == 3
    ex = p.examples[0]
    assert (ex.team_now, ex.team_new, ex.priority_now, ex.priority_new) == (
        None,
        teams["social"],
        "p3",
        "p1",
    )
    assert _order(app) == [] and _events(app, "routing_rule.created") == before


def test_preview_caps_the_scan_and_says_so(app, teams, make_mention):
    for i in range(4):
        make_mention(f"@KestrelFootwear zipper {i}")
    with job_session(app) as s:
        p = svc.preview_rule(s, _draft(teams), cap=2)
    assert (p.scanned, p.total, p.capped, p.matched) == (2, 4, True, 2)


def test_preview_puts_the_draft_at_its_place_and_counts_the_shadowed(app, teams, make_mention):
    first = _make(app, teams, name="First", conditions={"keywords": ["broke"]})
    with job_session(app) as s:
        svc.set_rule_enabled(s, s.get(RoutingRule, first), True, None)  # type: ignore[arg-type]
    make_mention("@KestrelFootwear zipper broke")
    make_mention("@KestrelFootwear zipper stuck")
    with job_session(app) as s:
        below = svc.preview_rule(s, _draft(teams, position=2))
        above = svc.preview_rule(s, _draft(teams, position=1))
    assert (below.matched, below.shadowed) == (1, 1)
    assert (above.matched, above.shadowed) == (2, 0)


def test_preview_of_an_edit_replaces_the_rule(app, teams, make_mention):
    rule_id = _make(app, teams)
    with job_session(app) as s:
        svc.set_rule_enabled(s, s.get(RoutingRule, rule_id), True, None)  # type: ignore[arg-type]
    make_mention("@KestrelFootwear zipper")
    with job_session(app) as s:
        p = svc.preview_rule(s, _draft(teams, priority="p2", team_id=teams["care"]), rule_id)
    assert (p.matched, p.changed) == (1, 1)
    assert (p.examples[0].team_now, p.examples[0].team_new) == (teams["social"], teams["care"])


def test_conditions_and_reasons_in_words(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        lines = svc.describe_conditions(
            {"intents": ["complaint"], "min_followers": 50000, "vip": True, "keywords": ["a", "b"]}
        )
        assert lines == [
            "Intent: complaint",
            "Author has at least this many followers: 50,000",
            "Customer is VIP: yes",
            "Any of these words: a, b",
        ]
        rule = RoutingRule(conditions={"min_followers": 50000})
        why = {"matched": {"intents": "complaint", "triggers": ["legal"], "min_followers": 180000}}
        assert svc.explain_route(why, rule) == [
            "Intent = complaint",
            "Triggers: legal",
            "Followers ≥ 50,000 (had 180,000)",
        ]
        assert svc.explain_route(why, None)[-1] == "Followers: 180,000"


# ---------------------------------------------------------------------------------------------
# pages


def _form(teams: dict[str, int], **kw: str) -> dict[str, Any]:
    data = {
        "rule-name": "Zips",
        "rule-position": "1",
        "rule-c_keywords": "zipper\nzip-up, zips",
        "rule-team": str(teams["social"]),
        "rule-priority": "p1",
        "rule-sla_minutes": "",
        "rule-tags": "zip",
        "rule-assignment": "",
        "action": "save",
    }
    return data | kw


@pytest.fixture
def manager_client(app, make_staff, login):  # type: ignore[no-untyped-def]
    client = app.test_client()
    login(client, make_staff("manager"))
    return client


def test_a_manager_creates_a_rule_through_the_form(app, teams, manager_client):
    resp = manager_client.post("/routing/new", data=_form(teams))
    assert resp.status_code == 302, resp.text
    with job_session(app) as s:
        [rule] = s.scalars(select(RoutingRule)).all()
        assert rule.conditions == {"keywords": ["zipper", "zip-up", "zips"]}
        assert (rule.team_id, rule.priority, rule.tags, rule.enabled) == (
            teams["social"],
            "p1",
            ["zip"],
            False,
        )
    page = manager_client.get("/routing/").text
    assert "Any of these words: zipper, zip-up, zips" in page
    assert "first enabled rule" in page


def test_every_condition_is_on_the_form_and_round_trips(app, teams, manager_client):
    page = manager_client.get("/routing/new").text
    for spec in svc.routing.CONDITIONS:
        assert f'data-condition="{spec.key}"' in page
    form = _form(
        teams,
        **{
            "rule-c_intents": "complaint",
            "rule-c_vip": "yes",
            "rule-c_min_followers": "50000",
            "rule-c_pattern": r"zip+er",
            "rule-c_customer_tags": "gold",
        },
    )
    form["rule-c_languages"] = ["en", "es"]  # type: ignore[assignment]
    assert manager_client.post("/routing/new", data=form).status_code == 302
    with job_session(app) as s:
        rule = s.scalars(select(RoutingRule)).one()
        assert rule.conditions == {
            "languages": ["en", "es"],
            "intents": ["complaint"],
            "vip": True,
            "min_followers": 50000,
            "customer_tags": ["gold"],
            "keywords": ["zipper", "zip-up", "zips"],
            "pattern": "zip+er",
        }
        rule_id = rule.id
    edit = manager_client.get(f"/routing/{rule_id}").text
    assert 'value="50000"' in edit and "zip+er" in edit and 'selected value="yes"' in edit


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"rule-name": ""}, "Give the rule a name."),
        ({"rule-c_keywords": ""}, "Add at least one condition"),
        ({"rule-team": "999999"}, "That team does not exist."),
        ({"rule-team": "abc"}, "Choose the team"),
        ({"rule-c_pattern": "(a+)+$"}, "can freeze routing"),
        ({"rule-c_pattern": "[z"}, "Not a valid regular expression"),
        ({"rule-sla_minutes": "99999"}, "Between 1 and 10080 minutes, or empty."),
        ({"rule-sla_minutes": "soon"}, "Not a valid integer"),
        ({"rule-c_min_followers": "-5"}, "A whole number, 0 or more."),
        ({"rule-c_min_followers": "9" * 40}, "A whole number, 0 or more."),
        ({"rule-c_keywords": "\n".join(f"w{i:03}" for i in range(501))}, "At most 500 words."),
        ({"rule-c_keywords": "x" * 50_000}, "That list is too long."),
        ({"rule-tags": "a" * 41}, "Each tag is at most 40 characters."),
        ({"rule-priority": "p0"}, "Not a valid choice"),
        ({"rule-position": "zero"}, "Not a valid choice"),
        ({"rule-c_intents": "shouting"}, "not a valid choice"),
    ],
)
def test_the_form_shows_each_problem_and_saves_nothing(app, teams, manager_client, change, message):
    resp = manager_client.post("/routing/new", data=_form(teams, **change))
    assert resp.status_code == 422
    assert message in html.unescape(resp.text)
    assert _order(app) == []


def test_hostile_names_and_patterns_are_inert(app, teams, manager_client):
    name = f"{SCRIPT} {{{{ 7*7 }}}}"
    resp = manager_client.post(
        "/routing/new", data=_form(teams, **{"rule-name": name, "rule-c_keywords": SCRIPT})
    )
    assert resp.status_code == 302
    page = manager_client.get("/routing/").text
    assert SCRIPT not in page and "&lt;script&gt;" in page and "{{ 7*7 }}" in page
    with job_session(app) as s:
        rule_id = s.scalars(select(RoutingRule.id)).one()
    for url in (f"/routing/{rule_id}", f"/routing/{rule_id}/delete"):
        got = manager_client.get(url)
        assert got.status_code == 200 and SCRIPT not in got.text


def test_preview_button_shows_the_count_and_saves_nothing(app, teams, manager_client, make_mention):
    make_mention("@KestrelFootwear my zipper broke", handle="dana")
    make_mention("@KestrelFootwear hello")
    resp = manager_client.post("/routing/new", data=_form(teams, action="preview"))
    assert resp.status_code == 200
    text = html.unescape(resp.text)
    assert "This rule would have matched 1 of the last 7 days' 2 mentions." in text
    assert "@dana" in text and "my zipper broke" in text
    assert "Team or priority would change for 1 mentions" in text
    assert 'value="zipper' in resp.text or "zipper\nzip-up" in text  # the form is kept
    assert _order(app) == []
    assert _events(app, "routing_rule.created") == []


def test_preview_of_a_bad_rule_shows_the_problem(app, teams, manager_client):
    resp = manager_client.post(
        "/routing/new", data=_form(teams, action="preview", **{"rule-c_pattern": "(a+)+$"})
    )
    assert resp.status_code == 422 and "can freeze routing" in resp.text


def test_list_buttons_enable_move_and_delete(app, teams, manager_client):
    a = _make(app, teams, name="A")
    b = _make(app, teams, name="B")
    assert manager_client.post(f"/routing/{a}/enabled", data={"enabled": "1"}).status_code == 302
    assert manager_client.post(f"/routing/{b}/move", data={"direction": "up"}).status_code == 302
    assert _order(app) == ["B", "A"]
    resp = manager_client.post(f"/routing/{a}/enabled", data={"enabled": "maybe"})
    assert resp.status_code == 302
    confirm = manager_client.get(f"/routing/{a}/delete")
    assert "Delete “A”?" in html.unescape(confirm.text)
    assert _order(app) == ["B", "A"]  # asking is not deleting
    assert manager_client.post(f"/routing/{a}/delete").status_code == 302
    assert _order(app) == ["B"]
    assert manager_client.get(f"/routing/{a}").status_code == 404
    with job_session(app) as s:
        assert s.get(RoutingRule, b).enabled is False
    assert len(_events(app, "routing_rule.enabled")) == 1
    assert len(_events(app, "routing_rule.moved")) == 1
    assert len(_events(app, "routing_rule.deleted")) == 1


def test_editing_through_the_form(app, teams, manager_client):
    rule_id = _make(app, teams)
    resp = manager_client.post(
        f"/routing/{rule_id}", data=_form(teams, **{"rule-priority": "p3", "rule-tags": "a, b"})
    )
    assert resp.status_code == 302
    with job_session(app) as s:
        rule = s.get(RoutingRule, rule_id)
        assert (rule.priority, rule.tags) == ("p3", ["a", "b"])
    [event] = _events(app, "routing_rule.updated")
    assert event.data["after"]["priority"] == "p3"


ROUTES = [
    ("GET", "/routing/"),
    ("GET", "/routing/new"),
    ("POST", "/routing/new"),
    ("GET", "/routing/{r}"),
    ("POST", "/routing/{r}"),
    ("POST", "/routing/{r}/enabled"),
    ("POST", "/routing/{r}/move"),
    ("GET", "/routing/{r}/delete"),
    ("POST", "/routing/{r}/delete"),
]


@pytest.mark.parametrize("role", ["employee", "compliance"])
@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_only_managers_and_admins(app, teams, make_staff, login, role, method, path):
    rule_id = _make(app, teams)
    client = app.test_client()
    login(client, make_staff(role))
    resp = client.open(path.format(r=rule_id), method=method, data=_form(teams, **{"enabled": "1"}))
    assert resp.status_code == 403
    with job_session(app) as s:
        rule = s.get(RoutingRule, rule_id)
        assert (rule.enabled, rule.priority, rule.name) == (False, "p1", "Zips")


@pytest.mark.parametrize(("method", "path"), ROUTES)
def test_admins_may_too(app, teams, make_staff, login, method, path):
    rule_id = _make(app, teams)
    client = app.test_client()
    login(client, make_staff("admin"))
    resp = client.open(path.format(r=rule_id), method=method, data=_form(teams, enabled="1"))
    assert resp.status_code in (200, 302)


def test_nav_links_the_editor_for_managers_only(app, make_staff, login):
    for role, shown in (("manager", True), ("employee", False), ("compliance", False)):
        client = app.test_client()
        login(client, make_staff(role))
        page = client.get("/account/").text
        assert ('href="/routing/"' in page) is shown, role


@pytest.mark.parametrize(("method", "path"), [r for r in ROUTES if r[0] == "POST"])
def test_a_form_without_its_csrf_token_is_refused(app, teams, make_staff, login, method, path):
    rule_id = _make(app, teams)
    client = app.test_client()
    login(client, make_staff("manager"))
    app.config["WTF_CSRF_ENABLED"] = True
    resp = client.post(path.format(r=rule_id), data=_form(teams, enabled="1", direction="up"))
    assert resp.status_code == 400
    with job_session(app) as s:
        assert len(s.scalars(select(RoutingRule)).all()) == 1
        assert s.get(RoutingRule, rule_id).enabled is False


def test_with_its_token_the_form_goes_through(app, teams, make_staff, login, csrf_token):
    client = app.test_client()
    login(client, make_staff("manager"))
    app.config["WTF_CSRF_ENABLED"] = True
    token = csrf_token(client.get("/routing/new").text)
    resp = client.post("/routing/new", data=_form(teams, **{"rule-csrf_token": token}))
    assert resp.status_code == 302, resp.text


# ---------------------------------------------------------------------------------------------
# the conversation page


def test_the_mention_says_which_rule_routed_it_and_why(app, teams, make_mention, manager_client):
    rule_id = _make(app, teams, conditions={"keywords": ["zipper"], "min_followers": 100})
    with job_session(app) as s:
        svc.set_rule_enabled(s, s.get(RoutingRule, rule_id), True, None)  # type: ignore[arg-type]
    m = make_mention("@KestrelFootwear my zipper broke")
    with job_session(app) as s:
        row = s.get(Mention, m.id)
        row.attributes = {
            "language": "en",
            "intent": "complaint",
            "triggers": ["legal"],
            "pii": ["email"],
            "followers": 180000,
            "product": "Cirrus Runner",
        }
        row.tags = ["zip"]
        row.routing_why = {
            "rule_id": rule_id,
            "rule": "Zips",
            "matched": {"keywords": "zipper", "min_followers": 180000},
        }
    page = html.unescape(manager_client.get(f"/mentions/{m.id}").text)
    text = re.sub(r"<[^>]+>", "", page)
    assert "Routed by Zips because:" in text
    assert 'Word "zipper"; Followers ≥ 100 (had 180,000)' in text
    for line in (
        "Intent: complaint",
        "Triggers: legal",
        "Personal data: e-mail",
        "Product: Cirrus Runner",
        "Followers: 180,000",
    ):
        assert line in text
    assert "Tags: zip" in text


def test_an_unrouted_mention_says_so(app, make_mention, manager_client):
    m = make_mention("@KestrelFootwear hello")
    page = manager_client.get(f"/mentions/{m.id}").text
    assert "No routing rule matched" in page


def test_a_deleted_rules_reason_still_shows(app, make_mention, manager_client):
    m = make_mention("@KestrelFootwear hello")
    with job_session(app) as s:
        s.get(Mention, m.id).routing_why = {
            "rule_id": 987654,
            "rule": "Gone rule",
            "matched": {"intents": "complaint", "min_followers": 12000},
        }
    page = html.unescape(manager_client.get(f"/mentions/{m.id}").text)
    assert "Gone rule" in page and "Intent = complaint; Followers: 12,000" in page


def test_a_hostile_rule_name_on_the_mention_page_is_inert(app, make_mention, manager_client):
    m = make_mention("@KestrelFootwear hello")
    with job_session(app) as s:
        s.get(Mention, m.id).routing_why = {
            "rule_id": 1,
            "rule": SCRIPT,
            "matched": {"keywords": SCRIPT},
        }
    page = manager_client.get(f"/mentions/{m.id}").text
    assert SCRIPT not in page and "Routed by <strong>&lt;script&gt;" in page


def test_an_edit_is_checked_like_a_new_rule(app, teams):
    rule_id = _make(app, teams)
    with job_session(app) as s, pytest.raises(UserError) as caught:
        rule = s.get(RoutingRule, rule_id)
        svc.update_rule(s, rule, _draft(teams, conditions={"pattern": "(a+)+$"}), None)  # type: ignore[arg-type]
    assert "pattern" in caught.value.errors
    with job_session(app) as s:
        assert s.get(RoutingRule, rule_id).conditions == {"keywords": ["zipper"]}
    assert _events(app, "routing_rule.updated") == []


@pytest.mark.parametrize(
    "change",
    [
        {"rule-name": "bad\x00name"},
        {"rule-c_keywords": "zip\x00per"},
        {"rule-tags": "a\x00b"},
        {"rule-c_pattern": "zip\x00"},
        {"rule-name": "x" * 100_000},
        {"rule-c_customer_tags": "{{ 7*7 }}\n" * 3},
        {"rule-c_min_followers": "1e99"},
        {"rule-c_languages": "../../etc"},
        {"rule-position": "-1"},
        {"rule-team": str(2**70)},
    ],
)
def test_hostile_input_is_never_a_500(app, teams, manager_client, change):
    resp = manager_client.post("/routing/new", data=_form(teams, **change))
    assert resp.status_code in (302, 422)
    preview = manager_client.post("/routing/new", data=_form(teams, action="preview", **change))
    assert preview.status_code in (200, 422)
