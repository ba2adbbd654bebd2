"""Role-matrix rows for the people pages (collected by test_roles.py).

Managers read the staff list (who is on duty, in which team, speaking what) and set each team's
assignment and breach policy, but only admins change people or team leads. Everyone has their
own account page. An invite link is public:
whoever holds it sets that person's password ({t}: a fresh link made by PREPARE).
"""

from typing import Any

ANON, EMP, MGR, COMP, ADMIN = "anon", "employee", "manager", "compliance", "admin"
ALL_STAFF = {EMP, MGR, COMP, ADMIN}
STRONG = "violet-harbour-kettle-93"

ROWS = [
    ("GET", "/people/", {MGR, ADMIN}, 200),
    ("GET", "/people/new", {ADMIN}, 200),
    ("POST", "/people/new", {ADMIN}, 302),
    ("POST", "/people/invite", {ADMIN}, 200),
    ("GET", "/people/{s}", {ADMIN}, 200),
    ("POST", "/people/{s}", {ADMIN}, 302),
    ("POST", "/people/{s}/active", {ADMIN}, 302),
    ("POST", "/people/{s}/invite", {ADMIN}, 200),
    ("GET", "/people/teams", {MGR, ADMIN}, 200),
    ("POST", "/people/teams", {ADMIN}, 302),
    ("POST", "/people/teams/policies", {MGR, ADMIN}, 302),
    ("GET", "/account/", ALL_STAFF, 200),
    ("POST", "/account/password", ALL_STAFF, 302),
    ("POST", "/account/duty", ALL_STAFF, 302),
    ("POST", "/account/language", ALL_STAFF, 302),
    ("GET", "/invite/{t}", ALL_STAFF | {ANON}, 200),
    ("POST", "/invite/{t}", ALL_STAFF | {ANON}, 302),
]
FORM = {
    "person-email": "new.person@example.test",
    "person-name": "New Person",
    "person-role": "employee",
    "person-team": "",
    "person-languages": "es",
    "person-open_cap": "5",
    "person-password": STRONG,
    "current_password": "password123",
    "new_password": STRONG,
    "confirm_password": STRONG,
    "on_duty": "0",
    "locale": "es",
    "active": "0",
}


def _invite(app: Any, actor_id: int) -> dict[str, Any]:
    from datetime import timedelta

    from hub.db import job_session
    from hub.people.invites import issue_invite
    from hub.people.staff import NewPerson, add_person

    with job_session(app) as s:
        new = NewPerson("invited@example.test", "Invited Person", "employee", None, ("en",))
        staff = add_person(s, new, actor_id)
        return {"t": issue_invite(s, staff, actor_id, timedelta(hours=1))}


PREPARE = {
    ("GET", "/invite/{t}"): _invite,
    ("POST", "/invite/{t}"): _invite,
}
