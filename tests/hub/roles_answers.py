"""Role-matrix rows for saved replies and the composer's answer tools (collected by
test_roles.py). Repliers (employees, managers) use them; compliance does not.

PREPARE overrides {s} with a team reply of a team everyone is in: employees may open the
editor's routes (they manage their own replies) but this team reply refuses them (403), managers
manage it. Refused roles are refused before any lookup, whatever the ids.
"""

from typing import Any

ANON, EMP, MGR, COMP, ADMIN = "anon", "employee", "manager", "compliance", "admin"
REPLIERS = {EMP, MGR, ADMIN}


def _team_reply(app: Any, _comp_id: int) -> dict[str, int]:
    from sqlalchemy import select

    from hub.db import job_session
    from hub.models import SavedReply, Staff, StaffTeam, Team

    with job_session(app) as s:
        team = Team(slug="answers-roles", name="Answers")
        s.add(team)
        s.flush()
        for staff_id in s.scalars(select(Staff.id)):
            s.add(StaffTeam(staff_id=staff_id, team_id=team.id))
        reply = SavedReply(team_id=team.id, language="en", title="Thanks", body="Thanks!")
        s.add(reply)
        s.flush()
        return {"s": reply.id}


_MANAGED = {EMP: 403, MGR: 200, ADMIN: 200}
_MANAGED_POST = {EMP: 403, MGR: 302, ADMIN: 302}
ROWS = [
    ("GET", "/answers/", REPLIERS, 200),
    ("POST", "/answers/", REPLIERS, 302),
    ("GET", "/answers/{s}/edit", REPLIERS, _MANAGED),
    ("POST", "/answers/{s}", REPLIERS, _MANAGED_POST),
    ("POST", "/answers/{s}/delete", REPLIERS, _MANAGED_POST),
    ("GET", "/answers/composer/{m}", REPLIERS, 302),  # htmx only: else the mention page
    ("POST", "/answers/{s}/insert/{m}", REPLIERS, 200),
    ("POST", "/answers/nudge/{m}", REPLIERS, 200),
]
FORM = {
    "reply_title": "A saved reply",
    "reply_body": "Hi {{ customer.name }}, thanks!",
    "reply_language": "en",
    "reply_owner": "me",
}
PREPARE = {
    ("GET", "/answers/{s}/edit"): _team_reply,
    ("POST", "/answers/{s}"): _team_reply,
    ("POST", "/answers/{s}/delete"): _team_reply,
    ("POST", "/answers/{s}/insert/{m}"): _team_reply,
}
