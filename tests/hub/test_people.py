"""The people pages: add, invite, edit, deactivate and reactivate staff, team leads, and each
person's own account (password, duty, language); every change audited."""

from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from hub.db import job_session
from hub.models import AuditEvent, Staff, StaffInvite, StaffTeam, Team

STRONG = "violet-harbour-kettle-93"
OTHER_STRONG = "copper-lantern-meadow-41"
#: passwords every form refuses, with a word of the reason each page shows
WEAK = [
    ("short-1", "at least 12"),
    ("password1234", "too easy to guess"),
    ("qwertyuiopasdf", "too easy to guess"),
    ("aaaaaaaaaaaaaaaa", "too easy to guess"),
]


def _events(app: Any, action: str) -> list[AuditEvent]:
    with job_session(app) as s:
        rows = s.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        ).all()
        s.expunge_all()
        return list(rows)


def _staff(app: Any, staff_id: int) -> Staff:
    with job_session(app) as s:
        row = s.get(Staff, staff_id)
        assert row is not None
        s.expunge(row)
        return row


def _by_email(app: Any, email: str) -> Staff | None:
    with job_session(app) as s:
        row = s.scalar(select(Staff).where(Staff.email == email))
        if row is not None:
            s.expunge(row)
        return row


def _teams(app: Any, *slugs: str) -> list[int]:
    with job_session(app) as s:
        teams = [Team(slug=slug, name=slug.upper()) for slug in slugs]
        s.add_all(teams)
        s.flush()
        return [t.id for t in teams]


def _flashes(client: Any) -> list[tuple[str, str]]:
    with client.session_transaction() as session:
        return list(session.get("_flashes", []))


def _person_form(**overrides: str) -> dict[str, str]:
    form = {
        "person-email": "rosa@example.test",
        "person-name": "Rosa Díaz",
        "person-role": "employee",
        "person-team": "",
        "person-languages": "es",
        "person-password": STRONG,
    }
    return form | overrides


def _edit_form(staff: Staff, **overrides: Any) -> dict[str, Any]:
    form: dict[str, Any] = {
        "person-name": staff.name,
        "person-role": staff.role,
        "person-team": str(staff.team_id or ""),
        "person-languages": list(staff.languages),
        "person-open_cap": "",
    }
    return form | overrides


@pytest.fixture
def admin(app, client, make_staff, login):  # type: ignore[no-untyped-def]
    person = make_staff("admin", name="Ada Admin")
    login(client, person)
    return person


# -- adding people ---------------------------------------------------------------------------


def test_an_admin_adds_a_person_with_a_password_and_it_is_audited(app, client, admin, login):
    (team,) = _teams(app, "es")
    resp = client.post("/people/new", data=_person_form(**{"person-team": str(team)}))
    assert resp.status_code == 302
    rosa = _by_email(app, "rosa@example.test")
    assert rosa is not None and rosa.team_id == team and rosa.languages == ["es"]
    assert rosa.on_duty
    (event,) = _events(app, "staff.created")
    assert event.actor_id == admin.id and event.subject_id == rosa.id
    assert event.data["after"]["role"] == "employee" and event.data["password_set"] is True
    assert STRONG not in str(event.data)
    fresh = app.test_client()
    login(fresh, rosa, STRONG)


@pytest.mark.parametrize(("password", "reason"), WEAK)
def test_the_add_page_refuses_a_weak_password(app, client, admin, password, reason):
    resp = client.post("/people/new", data=_person_form(**{"person-password": password}))
    assert resp.status_code == 422
    assert reason in resp.text
    assert _by_email(app, "rosa@example.test") is None


def test_the_persons_own_email_as_password_is_refused(app, client, admin):
    resp = client.post("/people/new", data=_person_form(**{"person-password": "rosa@example.test"}))
    assert resp.status_code == 422 and "too easy to guess" in resp.text


def test_create_needs_a_password_and_names_the_invite_instead(app, client, admin):
    resp = client.post("/people/new", data=_person_form(**{"person-password": ""}))
    assert resp.status_code == 422 and "invite the person instead" in resp.text
    assert _by_email(app, "rosa@example.test") is None


def test_the_add_page_refuses_a_second_account_for_an_email(app, client, admin, make_staff):
    make_staff("employee", email="rosa@example.test")
    resp = client.post("/people/new", data=_person_form(**{"person-email": "ROSA@example.test"}))
    assert resp.status_code == 409
    assert "already an account for rosa@example.test" in resp.text


def test_the_add_page_names_every_missing_field(app, client, admin):
    resp = client.post("/people/new", data={})
    assert resp.status_code == 422
    assert resp.text.count("Fill this in.") == 2  # e-mail and name
    assert "Choose at least one language." in resp.text


@pytest.mark.parametrize(
    ("field", "value"),
    [("person-role", "owner"), ("person-team", "999"), ("person-languages", "xx")],
)
def test_the_add_page_refuses_a_choice_it_did_not_offer(app, client, admin, field, value):
    resp = client.post("/people/new", data=_person_form(**{field: value}))
    assert resp.status_code == 422
    assert _by_email(app, "rosa@example.test") is None


# -- invites ---------------------------------------------------------------------------------


def _invite(client: Any, **overrides: str) -> str:
    resp = client.post("/people/invite", data=_person_form(**overrides))
    assert resp.status_code == 200, resp.text
    assert resp.headers["Cache-Control"] == "no-store"
    link = re.search(r'value="(http://localhost/invite/[^"]+)"', resp.text)
    assert link is not None
    return link.group(1).removeprefix("http://localhost")


def test_an_invite_link_lets_the_person_set_their_own_password_once(app, client, admin, login):
    path = _invite(client, **{"person-password": "ignored-for-invites"})
    rosa = _by_email(app, "rosa@example.test")
    assert rosa is not None and rosa.password_hash == "" and not rosa.on_duty
    token = path.rsplit("/", 1)[1]
    with job_session(app) as s:
        invite = s.scalars(select(StaffInvite)).one()
        assert invite.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert token not in invite.token_hash
    guest = app.test_client()
    # before the link is used nobody can sign in as the person, not even with an empty password
    assert guest.post("/login", data={"email": rosa.email, "password": ""}).status_code == 200
    assert "Welcome, Rosa Díaz" in guest.get(path).text
    resp = guest.post(path, data={"new_password": STRONG, "confirm_password": STRONG})
    assert resp.status_code == 302
    assert guest.get("/account/").status_code == 200  # signed in by the link
    rosa = _staff(app, rosa.id)
    assert rosa.on_duty
    again = app.test_client().post(
        path, data={"new_password": OTHER_STRONG, "confirm_password": OTHER_STRONG}
    )
    assert again.status_code == 404 and "used or replaced" in again.text
    login(app.test_client(), rosa, STRONG)
    actions = [e.action for e in _events(app, "staff.invite_issued")]
    actions += [e.action for e in _events(app, "staff.invite_accepted")]
    assert actions == ["staff.invite_issued", "staff.invite_accepted"]


def test_signing_in_as_an_invited_person_costs_a_full_password_check(
    app, client, admin, monkeypatch
):
    """No password yet must look like a wrong password, not answer faster (timing)."""
    import hub.auth

    _invite(client)
    checked: list[str] = []
    real = hub.auth._verify
    monkeypatch.setattr(hub.auth, "_verify", lambda h, p: checked.append(h) or real(h, p))
    resp = app.test_client().post(
        "/login", data={"email": "rosa@example.test", "password": "anything-at-all"}
    )
    assert resp.status_code == 200 and "don&#39;t match" in resp.text
    assert len(checked) == 1 and checked[0].startswith("$argon2")


@pytest.mark.parametrize(("password", "reason"), WEAK)
def test_the_invite_page_refuses_a_weak_password_and_keeps_the_link(
    app, client, admin, password, reason
):
    path = _invite(client)
    guest = app.test_client()
    resp = guest.post(path, data={"new_password": password, "confirm_password": password})
    assert resp.status_code == 422 and reason in resp.text
    assert guest.get(path).status_code == 200  # the link still works


def test_the_invite_page_refuses_two_different_passwords(app, client, admin):
    path = _invite(client)
    resp = app.test_client().post(
        path, data={"new_password": STRONG, "confirm_password": OTHER_STRONG}
    )
    assert resp.status_code == 422 and "The two new passwords differ." in resp.text


def test_an_expired_link_is_refused(app, client, admin):
    path = _invite(client)
    with job_session(app) as s:
        invite = s.scalars(select(StaffInvite)).one()
        invite.expires_at = invite.created_at - timedelta(seconds=1)
    resp = app.test_client().get(path)
    assert resp.status_code == 404 and "expired" in resp.text


def test_a_new_link_replaces_the_old_one(app, client, admin):
    old = _invite(client)
    rosa = _by_email(app, "rosa@example.test")
    assert rosa is not None
    resp = client.post(f"/people/{rosa.id}/invite")
    assert resp.status_code == 200
    new = re.search(r'value="http://localhost(/invite/[^"]+)"', resp.text)
    assert new is not None and new.group(1) != old
    assert app.test_client().get(old).status_code == 404
    assert app.test_client().get(new.group(1)).status_code == 200


def test_a_deactivated_persons_link_is_refused(app, client, admin):
    path = _invite(client)
    rosa = _by_email(app, "rosa@example.test")
    assert rosa is not None
    assert client.post(f"/people/{rosa.id}/active", data={"active": "0"}).status_code == 302
    assert app.test_client().get(path).status_code == 404


def test_an_unknown_link_is_a_clear_404(app):
    resp = app.test_client().get("/invite/not-a-real-token")
    assert resp.status_code == 404 and "Ask an admin for a new one" in resp.text


# -- editing, deactivating -------------------------------------------------------------------


def test_an_admin_edits_role_teams_languages_and_cap_and_it_is_audited(
    app, client, admin, make_staff
):
    home, extra, other = _teams(app, "en", "es", "zh")
    bob = make_staff("employee", name="Bob")
    form = _edit_form(
        bob,
        **{
            "person-role": "manager",
            "person-team": str(home),
            "person-extra_teams": [str(extra), str(other), str(home)],
            "person-languages": ["en", "zh"],
            "person-open_cap": "7",
        },
    )
    assert client.post(f"/people/{bob.id}", data=form).status_code == 302
    bob = _staff(app, bob.id)
    assert (bob.role, bob.team_id, bob.languages, bob.open_cap) == (
        "manager",
        home,
        ["en", "zh"],
        7,
    )
    with job_session(app) as s:
        extras = set(s.scalars(select(StaffTeam.team_id).where(StaffTeam.staff_id == bob.id)))
    assert extras == {extra, other}  # the home team is not an extra team too
    (event,) = _events(app, "staff.updated")
    assert event.actor_id == admin.id
    assert event.data["before"] == {
        "role": "employee",
        "team_id": None,
        "extra_team_ids": [],
        "languages": ["en"],
        "open_cap": None,
    }
    assert event.data["after"]["extra_team_ids"] == sorted([extra, other])
    # saving the same again changes nothing and records nothing
    assert client.post(f"/people/{bob.id}", data=form).status_code == 302
    assert len(_events(app, "staff.updated")) == 1


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("person-open_cap", "0", "Between 1 and 500"),
        ("person-open_cap", "501", "Between 1 and 500"),
        ("person-languages", "fr", "not a valid choice"),
        ("person-name", "", "Fill this in."),
    ],
)
def test_the_edit_page_refuses_bad_values(app, client, admin, make_staff, field, value, message):
    bob = make_staff("employee", name="Bob")
    resp = client.post(f"/people/{bob.id}", data=_edit_form(bob, **{field: value}))
    assert resp.status_code == 422 and message in resp.text
    assert _events(app, "staff.updated") == []


def test_a_language_someone_already_has_can_be_given(app, client, admin, make_staff):
    make_staff("employee", languages=["pt"])
    bob = make_staff("employee", name="Bob")
    form = _edit_form(bob, **{"person-languages": ["pt"]})
    assert client.post(f"/people/{bob.id}", data=form).status_code == 302
    assert _staff(app, bob.id).languages == ["pt"]


def test_deactivation_signs_the_person_out_at_once_and_reactivation_lets_them_back(
    app, client, admin, make_staff, login
):
    bob = make_staff("employee", name="Bob")
    bobs = app.test_client()
    login(bobs, bob)
    assert bobs.get("/queue").status_code == 200
    assert client.post(f"/people/{bob.id}/active", data={"active": "0"}).status_code == 302
    resp = bobs.get("/queue")
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    refused = app.test_client().post("/login", data={"email": bob.email, "password": "password123"})
    assert refused.status_code == 200 and "don&#39;t match an active account" in refused.text
    assert client.post(f"/people/{bob.id}/active", data={"active": "1"}).status_code == 302
    assert bobs.get("/queue").status_code == 302  # the old session does not come back
    login(app.test_client(), bob)
    (off,) = _events(app, "staff.deactivated")
    (on,) = _events(app, "staff.reactivated")
    assert off.actor_id == on.actor_id == admin.id
    assert (off.data["before"], off.data["after"]) == ({"active": True}, {"active": False})


def test_deactivation_gives_unfinished_mentions_back_to_the_pool(
    app, client, admin, make_staff, make_mention
):
    from hub.engagement.moderation import claim_mention
    from hub.models import Mention, MentionStatus

    bob = make_staff("employee", name="Bob")
    open_one, closed_one = (
        make_mention("@KestrelFootwear one"),
        make_mention("@KestrelFootwear two"),
    )
    with job_session(app) as s:
        for m in (open_one, closed_one):
            claim_mention(s, s.get(Mention, m.id), s.get(Staff, bob.id))
        s.get(Mention, closed_one.id).status = MentionStatus.CLOSED.value
    assert client.post(f"/people/{bob.id}/active", data={"active": "0"}).status_code == 302
    with job_session(app) as s:
        back = s.get(Mention, open_one.id)
        assert back.assignee_id is None and back.status == MentionStatus.NEW.value
        assert s.get(Mention, closed_one.id).assignee_id == bob.id  # history stays
    (moved,) = _events(app, "mention.assigned")
    assert moved.subject_id == open_one.id and moved.actor_id == admin.id


def test_the_last_active_admin_cannot_demote_themselves(app, client, admin):
    resp = client.post(f"/people/{admin.id}", data=_edit_form(admin, **{"person-role": "manager"}))
    assert resp.status_code == 422
    assert "last active admin" in resp.text
    assert _staff(app, admin.id).role == "admin"


def test_the_last_active_admin_cannot_deactivate_themselves(app, client, admin):
    resp = client.post(f"/people/{admin.id}/active", data={"active": "0"})
    assert resp.status_code == 302
    assert any("last active admin" in m for _, m in _flashes(client))
    assert _staff(app, admin.id).active
    assert client.get("/people/").status_code == 200  # still signed in


def test_a_deactivated_admin_does_not_count_as_another_admin(app, client, admin, make_staff):
    other = make_staff("admin")
    assert client.post(f"/people/{other.id}/active", data={"active": "0"}).status_code == 302
    resp = client.post(f"/people/{admin.id}", data=_edit_form(admin, **{"person-role": "manager"}))
    assert resp.status_code == 422 and "last active admin" in resp.text


def test_with_another_active_admin_an_admin_can_step_down(app, client, admin, make_staff):
    make_staff("admin")
    resp = client.post(f"/people/{admin.id}", data=_edit_form(admin, **{"person-role": "manager"}))
    assert resp.status_code == 302
    assert _staff(app, admin.id).role == "manager"
    assert client.get("/people/new").status_code == 403  # the new role applies at once


def test_team_leads_are_set_by_admins_and_audited(app, client, admin, make_staff):
    es, zh = _teams(app, "es", "zh")
    lead = make_staff("manager", name="Lena Lead")
    resp = client.post("/people/teams", data={f"lead-{es}": str(lead.id), f"lead-{zh}": ""})
    assert resp.status_code == 302
    with job_session(app) as s:
        assert s.get(Team, es).lead_id == lead.id and s.get(Team, zh).lead_id is None
    (event,) = _events(app, "team.lead_set")
    assert event.subject_id == es and event.actor_id == admin.id
    assert (event.data["before"], event.data["after"]) == ({"lead_id": None}, {"lead_id": lead.id})


def test_a_deactivated_person_cannot_become_a_lead(app, client, admin, make_staff):
    (es,) = _teams(app, "es")
    gone = make_staff("manager")
    client.post(f"/people/{gone.id}/active", data={"active": "0"})
    client.post("/people/teams", data={f"lead-{es}": str(gone.id)})
    assert any("active member of staff" in m for c, m in _flashes(client) if c == "error")
    with job_session(app) as s:
        assert s.get(Team, es).lead_id is None


def test_managers_see_the_list_without_ways_to_change_it(app, client, make_staff, login):
    make_staff("employee", name="Bob", languages=["es", "zh"])
    login(client, make_staff("manager"))
    page = client.get("/people/").text
    assert "Bob" in page and "Spanish (es)" in page and "Chinese (zh)" in page
    # the one page into the people wing a manager gets: the teams' assignment policies
    others = page.replace('"/people/"', "").replace('"/people/teams"', "")
    assert "/people/new" not in page and 'href="/people/' not in others


def test_names_on_the_people_pages_are_escaped(app, client, admin, make_staff):
    bob = make_staff("employee", name="<script>alert(1)</script>")
    _teams(app, "es")
    for url in ("/people/", f"/people/{bob.id}", "/people/teams"):
        page = client.get(url).text
        assert "<script>alert(1)" not in page and "&lt;script&gt;" in page


# -- one's own account -----------------------------------------------------------------------


def test_a_new_password_ends_the_other_sessions_but_not_this_one(app, make_staff, login):
    bob = make_staff("employee")
    here, elsewhere = app.test_client(), app.test_client()
    login(here, bob)
    login(elsewhere, bob)
    resp = here.post(
        "/account/password",
        data={
            "current_password": "password123",
            "new_password": STRONG,
            "confirm_password": STRONG,
        },
    )
    assert resp.status_code == 302
    assert here.get("/account/").status_code == 200
    assert elsewhere.get("/account/").status_code == 302
    login(app.test_client(), bob, STRONG)
    (event,) = _events(app, "staff.password_changed")
    assert event.actor_id == bob.id and STRONG not in str(event.data)


def test_a_new_password_needs_the_current_one(app, client, make_staff, login):
    bob = make_staff("employee")
    login(client, bob)
    resp = client.post(
        "/account/password",
        data={
            "current_password": "not-my-password",
            "new_password": STRONG,
            "confirm_password": STRONG,
        },
    )
    assert resp.status_code == 422 and "not your current password" in resp.text
    login(app.test_client(), bob)  # the old password still works


@pytest.mark.parametrize(("password", "reason"), [*WEAK, ("employee1example", "too easy")])
def test_the_account_page_refuses_a_weak_new_password(
    app, client, make_staff, login, password, reason
):
    bob = make_staff("employee", email="employee1@example.test")
    login(client, bob)
    resp = client.post(
        "/account/password",
        data={
            "current_password": "password123",
            "new_password": password,
            "confirm_password": password,
        },
    )
    assert resp.status_code == 422 and reason in resp.text
    assert client.get("/account/").status_code == 200  # still signed in
    login(app.test_client(), bob)


def test_duty_toggles_from_any_page_and_is_audited(app, client, make_staff, login):
    bob = make_staff("employee")
    login(client, bob)
    assert "On duty" in client.get("/queue").text
    resp = client.post("/account/duty", data={"on_duty": "0", "next": "/queue?status=open"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/queue?status=open"
    assert not _staff(app, bob.id).on_duty
    assert "Off duty" in client.get("/queue").text
    resp = client.post("/account/duty", data={"on_duty": "1", "next": "//evil.example/"})
    assert resp.headers["Location"] == "/account/"
    assert _staff(app, bob.id).on_duty
    events = _events(app, "staff.duty_set")
    assert [e.data["after"] for e in events] == [{"on_duty": False}, {"on_duty": True}]


def test_the_ui_language_is_the_persons_choice(app, client, make_staff, login):
    bob = make_staff("employee")
    login(client, bob)
    assert client.post("/account/language", data={"locale": "zh"}).status_code == 302
    assert _staff(app, bob.id).locale == "zh"
    assert client.post("/account/language", data={"locale": ""}).status_code == 302
    assert _staff(app, bob.id).locale is None
    client.post("/account/language", data={"locale": "fr"})
    assert any(c == "error" for c, _ in _flashes(client))
    assert [e.data["after"] for e in _events(app, "staff.locale_set")] == [
        {"locale": "zh"},
        {"locale": None},
    ]


def test_the_account_page_refuses_two_different_new_passwords(app, client, make_staff, login):
    bob = make_staff("employee")
    login(client, bob)
    resp = client.post(
        "/account/password",
        data={
            "current_password": "password123",
            "new_password": STRONG,
            "confirm_password": OTHER_STRONG,
        },
    )
    assert resp.status_code == 422 and "The two new passwords differ." in resp.text
    login(app.test_client(), bob)


# -- the services check what the forms cannot promise ----------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"team_id": 999_999}, "team"),
        ({"extra_team_ids": (999_999,)}, "extra_teams"),
        ({"languages": ("fr",)}, "languages"),
        ({"languages": ()}, "languages"),
        ({"open_cap": 0}, "open_cap"),
        ({"role": "owner"}, "role"),
        ({"name": "  "}, "name"),
    ],
)
def test_update_person_refuses_what_no_form_offers(app, make_staff, changes, field):
    from hub.errors import UserError
    from hub.people.staff import PersonChanges, update_person

    bob = make_staff("employee")
    base = {
        "name": "Bob",
        "role": "employee",
        "team_id": None,
        "extra_team_ids": (),
        "languages": ("en",),
        "open_cap": None,
    }
    with job_session(app) as s, pytest.raises(UserError) as refused:
        update_person(s, s.get(Staff, bob.id), PersonChanges(**(base | changes)), bob.id)
    assert set(refused.value.errors) == {field}


def test_add_person_refuses_an_unknown_team(app, make_staff):
    from hub.errors import UserError
    from hub.people.staff import NewPerson, add_person

    actor = make_staff("admin")
    new = NewPerson("x@example.test", "X", "employee", 999_999, ("en",), STRONG)
    with job_session(app) as s, pytest.raises(UserError) as refused:
        add_person(s, new, actor.id)
    assert set(refused.value.errors) == {"team"}
