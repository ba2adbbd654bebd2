"""Saved replies: the sandbox and syntax whitelist on their placeholders, who manages which,
CSRF, the audit trail, insertion for a mention and the nudge when one goes out unchanged."""

from __future__ import annotations

import re
from typing import Any

import pytest
from jinja2 import Environment
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from hub.answers import templating
from hub.answers.templating import check_body, render_body, sandbox
from hub.db import job_session
from hub.models import AuditEvent, SavedReply, StaffTeam, Team

#: (body, the kind of refusal): every one must be refused, each for its own reason
REFUSED = [
    ("{{ ''.__class__.__mro__ }}", "unsafe"),
    ("{{ cycler.__init__.__globals__ }}", "unsafe"),
    ("{{ customer.name.__class__.__base__.__subclasses__ }}", "unsafe"),
    ("{{ customer['__class__'] }}", "unsafe"),
    ("{{ joiner.__init__.__globals__.os }}", "unsafe"),
    ("Hi {{ customer.name ", "syntax"),
    ("{% if order.number %}no end", "syntax"),
    ("Hi {{ cutsomer.name }}", "unknown"),
    ("Hi {{ customer.email }}", "unknown"),
    ("Hi {{ cycler }}", "unknown"),
    (
        "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}",
        "not_allowed",
    ),
    ("{{ 'x' * 1000000000 }}", "not_allowed"),
    ("{{ lipsum(1000) }}", "not_allowed"),
    ("{{ customer.name|replace('a', 'aaaaaaaaaa') }}", "not_allowed"),
    ("{% set x = customer %}{{ x }}", "not_allowed"),
    ("{% include 'base.html' %}", "not_allowed"),
    ("{% macro m() %}x{% endmacro %}", "not_allowed"),
    ("{{ customer.name is sameas customer }}", "not_allowed"),
    ("x" * (templating.MAX_BODY + 1), "too_long"),
    ("   ", "empty"),
]
ACCEPTED = [
    "Hi {{ customer.name }}, thanks for writing!",
    "{% if order.number %}Your order {{ order.number }} is {{ order.status }}.{% else %}DM us "
    "your order number.{% endif %}",
    "The {{ product.name|upper }} is {{ product.price }}: {{ product.url }}",
    "{{ customer.name|default('there') }} ~ {{ agent.name }} · {{ links.returns }}",
    "Hola {{ customer.name|title }}, {% if order.status == 'shipped' %}ya va{% endif %}",
]


@pytest.mark.parametrize(("body", "kind"), REFUSED, ids=[k for _, k in REFUSED])
def test_a_body_is_refused_for_its_reason(app: Any, body: str, kind: str) -> None:
    with app.test_request_context():
        problem = check_body(body)
    assert problem is not None and problem.kind == kind, problem


@pytest.mark.parametrize("body", ACCEPTED)
def test_placeholders_and_ifs_are_accepted(app: Any, body: str) -> None:
    with app.test_request_context():
        assert check_body(body) is None


ESCAPES = [body for body, kind in REFUSED if kind == "unsafe"]


@pytest.mark.parametrize("body", ESCAPES)
def test_the_sandbox_is_what_refuses_the_escapes(app: Any, body: str) -> None:
    """The refusals above are the sandbox's: in a plain Environment none is refused as unsafe
    (they render, or only the placeholder-name check catches those reaching a global), so
    swapping ImmutableSandboxedEnvironment out makes the table test fail."""
    with app.test_request_context():
        plain = check_body(body, env=sandbox(Environment))
        assert plain is None or plain.kind == "unknown"
        assert check_body(body, env=sandbox()).kind == "unsafe"  # type: ignore[union-attr]


def test_the_module_renders_in_the_immutable_sandbox(app: Any, monkeypatch: Any) -> None:
    with app.test_request_context():
        monkeypatch.setattr(templating, "_ENV", sandbox(Environment))
        templating._template.cache_clear()
        try:
            assert check_body("{{ ''.__class__.__mro__ }}") is None  # the guard is gone
        finally:
            monkeypatch.undo()
            templating._template.cache_clear()
        assert check_body("{{ ''.__class__.__mro__ }}").kind == "unsafe"  # type: ignore[union-attr]


def test_rendering_is_plain_text_and_shows_what_is_missing(app: Any) -> None:
    body = (
        "Hi {{ customer.name }}! {% if order.number %}Order {{ order.number }}."
        "{% else %}No order.{% endif %} {{ product.name }}"
    )
    with app.test_request_context():
        out = render_body(body, {"customer": {"name": "Tom & Jerry's <b>"}})
    assert out == "Hi Tom & Jerry's <b>! No order. [product.name]"


def test_rendered_output_is_cut_at_the_limit(app: Any) -> None:
    body = "{{ customer.name }}" * 10
    with app.test_request_context():
        out = render_body(body, {"customer": {"name": "x" * 500}})
    assert len(out) == templating.MAX_OUTPUT


# --- who manages which ------------------------------------------------------------------------


@pytest.fixture
def team(app: Any, make_staff: Any) -> dict[str, Any]:
    """A team with an employee in it, an employee outside it, and a manager."""
    member, outsider, manager = make_staff("employee"), make_staff("employee"), make_staff()
    with job_session(app) as s:
        t = Team(slug="care", name="Care")
        s.add(t)
        s.flush()
        s.add(StaffTeam(staff_id=member.id, team_id=t.id))
        team_id = t.id
    return {"id": team_id, "member": member, "outsider": outsider, "manager": manager}


def _form(owner: str = "me", body: str = "Hi {{ customer.name }}!", title: str = "Hello") -> dict:
    return {
        "reply_title": title,
        "reply_body": body,
        "reply_language": "en",
        "reply_owner": owner,
    }


def _replies(session: Any) -> list[SavedReply]:
    session.expire_all()
    rows = list(session.scalars(select(SavedReply).order_by(SavedReply.id)))
    session.commit()  # end the read: the test session's transactions take SQLite's write lock
    return rows


def test_an_employee_saves_a_personal_reply(client, login, team, session) -> None:  # type: ignore[no-untyped-def]
    login(client, team["member"])
    resp = client.post("/answers/", data=_form())
    assert resp.status_code == 302
    (reply,) = _replies(session)
    assert (reply.staff_id, reply.team_id, reply.created_by) == (
        team["member"].id,
        None,
        team["member"].id,
    )
    assert "Hello" in client.get("/answers/").text


def test_a_refused_body_is_shown_in_the_form_and_not_saved(client, login, team, session) -> None:  # type: ignore[no-untyped-def]
    login(client, team["member"])
    resp = client.post("/answers/", data=_form(body="{{ ''.__class__.__mro__ }}"))
    assert resp.status_code == 422
    assert "internals" in resp.text and "__mro__" in resp.text  # the message, and the text kept
    assert _replies(session) == []


def test_an_employee_cannot_save_a_team_reply(client, login, team, session) -> None:  # type: ignore[no-untyped-def]
    login(client, team["member"])
    resp = client.post("/answers/", data=_form(owner=str(team["id"])))
    assert resp.status_code == 403
    assert _replies(session) == []


def _team_reply(app: Any, team_id: int) -> int:
    with job_session(app) as s:
        reply = SavedReply(team_id=team_id, language="en", title="Team", body="Thanks!")
        s.add(reply)
        s.flush()
        return reply.id


def test_an_employee_sees_but_cannot_edit_or_delete_a_team_reply(  # type: ignore[no-untyped-def]
    app, client, login, team, session
) -> None:
    reply_id = _team_reply(app, team["id"])
    login(client, team["member"])
    assert "Team" in client.get("/answers/").text
    assert client.get(f"/answers/{reply_id}/edit").status_code == 403
    assert client.post(f"/answers/{reply_id}", data=_form(title="Mine now")).status_code == 403
    assert client.post(f"/answers/{reply_id}/delete").status_code == 403
    (reply,) = _replies(session)
    assert reply.title == "Team"


def test_an_employee_outside_the_team_does_not_see_its_replies(app, client, login, team) -> None:  # type: ignore[no-untyped-def]
    reply_id = _team_reply(app, team["id"])
    login(client, team["outsider"])
    assert "Team" not in client.get("/answers/").text
    assert client.get(f"/answers/{reply_id}/edit").status_code == 404


def test_a_manager_edits_any_teams_reply_and_it_is_audited(
    app, client, login, team, session
) -> None:  # type: ignore[no-untyped-def]
    reply_id = _team_reply(app, team["id"])
    login(client, team["manager"])  # not a member of the team
    resp = client.post(f"/answers/{reply_id}", data=_form(owner=str(team["id"]), title="Better"))
    assert resp.status_code == 302
    assert client.post(f"/answers/{reply_id}/delete").status_code == 302
    assert _replies(session) == []
    events = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    session.commit()
    assert [(e.action, e.subject_id, e.actor_id) for e in events] == [
        ("saved_reply.edited", reply_id, team["manager"].id),
        ("saved_reply.deleted", reply_id, team["manager"].id),
    ]
    assert events[0].data["before"]["title"] == "Team"
    assert events[0].data["after"]["title"] == "Better"


@pytest.mark.parametrize("who", ["outsider", "manager", "admin"])
def test_nobody_edits_another_persons_reply(  # type: ignore[no-untyped-def]
    app, client, login, team, session, make_staff, who
) -> None:
    login(client, team["member"])
    client.post("/answers/", data=_form(title="My own"))
    (reply,) = _replies(session)
    other = make_staff("admin") if who == "admin" else team[who]
    client.post("/logout")
    login(client, other)
    assert "My own" not in client.get("/answers/").text
    assert client.get(f"/answers/{reply.id}/edit").status_code == 404
    assert client.post(f"/answers/{reply.id}", data=_form(title="Hijacked")).status_code == 404
    assert client.post(f"/answers/{reply.id}/delete").status_code == 404
    (same,) = _replies(session)
    assert same.title == "My own"


def test_creating_is_audited(client, login, team, session) -> None:  # type: ignore[no-untyped-def]
    login(client, team["manager"])
    client.post("/answers/", data=_form(owner=str(team["id"])))
    (event,) = session.scalars(select(AuditEvent)).all()
    session.commit()
    assert event.action == "saved_reply.created"
    assert event.data["team_id"] == team["id"] and event.data["body"] == "Hi {{ customer.name }}!"


def test_a_form_without_its_csrf_token_is_refused(app, client, login, team, session) -> None:  # type: ignore[no-untyped-def]
    login(client, team["member"])
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post("/answers/", data=_form()).status_code == 400
    page = client.get("/answers/").text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token is not None
    assert (
        client.post("/answers/", data=_form() | {"csrf_token": token.group(1)}).status_code == 302
    )
    assert len(_replies(session)) == 1


def test_a_reply_has_exactly_one_owner(app: Any, team: dict[str, Any]) -> None:
    for owners in ({"team_id": team["id"], "staff_id": team["member"].id}, {}):
        with pytest.raises(IntegrityError), job_session(app) as s:
            s.add(SavedReply(language="en", title="x", body="x", **owners))
            s.flush()


# --- in the composer --------------------------------------------------------------------------


def test_a_saved_reply_is_filled_in_for_the_mention_and_the_nudge_sees_it_unchanged(  # type: ignore[no-untyped-def]
    app, client, login, team, session, make_mention
) -> None:
    from hub.engagement.moderation import claim_mention
    from hub.models import Mention, Staff

    mention = make_mention("@KestrelFootwear my Cirrus Runners squeak", handle="dana_kruger")
    with job_session(app) as s:
        claim_mention(s, s.get(Mention, mention.id), s.get(Staff, team["member"].id))
    login(client, team["member"])
    client.post(
        "/answers/",
        data=_form(body="Hi {{ customer.handle }}, sorry about your {{ product.name }}!"),
    )
    (reply,) = _replies(session)
    page = client.get(f"/mentions/{mention.id}").text
    assert f"/answers/composer/{mention.id}" in page and f"/answers/nudge/{mention.id}" in page
    tools = client.get(f"/answers/composer/{mention.id}", headers={"HX-Request": "true"}).text
    assert f"/answers/{reply.id}/insert/{mention.id}" in tools

    resp = client.post(f"/answers/{reply.id}/insert/{mention.id}")
    text = resp.get_json()["text"]
    assert text == "Hi @dana_kruger, sorry about your Kestrel Cirrus Runner!"
    assert _replies(session)[0].use_count == 1

    nudge = client.post(f"/answers/nudge/{mention.id}", data={"text": f"  {text}\n"}).text
    assert "add a personal touch" in nudge
    edited = client.post(
        f"/answers/nudge/{mention.id}", data={"text": text + " A fix is on its way."}
    ).text
    assert "personal touch" not in edited


def test_another_persons_reply_cannot_be_inserted(app, client, login, team, make_mention) -> None:  # type: ignore[no-untyped-def]
    mention = make_mention()
    login(client, team["member"])
    client.post("/answers/", data=_form())
    client.post("/logout")
    login(client, team["outsider"])
    with job_session(app) as s:
        reply_id = s.scalar(select(SavedReply.id))
    resp = client.post(f"/answers/{reply_id}/insert/{mention.id}")
    assert resp.status_code == 404 and "error" in resp.get_json()
