"""Staff administration: add, change, deactivate and reactivate people, and set team leads and
team policies (assignment and breach action).

Every change is an audit event (``staff.*``, ``team.lead_set``, ``team.policy_set``) naming
who made it, with the values before and after. Nothing is deleted: a person who leaves is
deactivated, their history stays, and their unfinished mentions go back to their team's pool.
The hub always keeps one active admin: the last one cannot be demoted or deactivated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from hub.audit import record_event
from hub.auth import create_staff, deactivate_staff
from hub.engagement.assignment import POLICIES
from hub.engagement.deadlines import BREACH_ACTIONS
from hub.engagement.moderation import assign_mention
from hub.errors import UserError
from hub.i18n import LANGUAGES, _
from hub.models import ROLES, Mention, MentionStatus, Staff, StaffTeam, Team

ADMIN = "admin"
#: the most open mentions a cap may allow; more is no cap at all
MAX_OPEN_CAP = 500
_LANGUAGE_CODE = re.compile(r"[a-z]{2}")


@dataclass(frozen=True)
class NewPerson:
    """What an admin types to add a person; no password means an invite link instead."""

    email: str
    name: str
    role: str
    team_id: int | None
    languages: tuple[str, ...]
    password: str | None = None


@dataclass(frozen=True)
class PersonChanges:
    """An admin's edit of a person: every field is the new value."""

    name: str
    role: str
    team_id: int | None
    extra_team_ids: tuple[int, ...]
    languages: tuple[str, ...]
    open_cap: int | None


def language_choices(session: Session) -> list[str]:
    """The languages a person can be given: the UI's own plus any already given to someone."""
    used = {code for langs in session.scalars(select(Staff.languages)) for code in langs or ()}
    return sorted(set(LANGUAGES) | used)


def extra_team_ids(session: Session, staff_id: int) -> list[int]:
    """The teams the person works in besides their home team."""
    return sorted(session.scalars(select(StaffTeam.team_id).where(StaffTeam.staff_id == staff_id)))


def _check_languages(session: Session, languages: tuple[str, ...]) -> str | None:
    allowed = set(language_choices(session))
    if not languages:
        return _("Choose at least one language the person answers in.")
    unknown = [c for c in languages if c not in allowed or not _LANGUAGE_CODE.fullmatch(c)]
    if unknown:
        return _("Unknown language: %(codes)s.", codes=", ".join(unknown))
    return None


def _snapshot(session: Session, staff: Staff) -> dict[str, Any]:
    return {
        "name": staff.name,
        "role": staff.role,
        "team_id": staff.team_id,
        "extra_team_ids": extra_team_ids(session, staff.id),
        "languages": list(staff.languages or []),
        "open_cap": staff.open_cap,
    }


def _other_active_admins(session: Session, staff: Staff) -> int:
    # the admins' rows stay locked to the end of the transaction (PostgreSQL), so two admins
    # demoting each other at once cannot both pass; SQLite writes one transaction at a time
    ids = session.scalars(
        select(Staff.id)
        .where(Staff.role == ADMIN, Staff.active.is_(True), Staff.id != staff.id)
        .with_for_update()
    ).all()
    return len(ids)


def _guard_last_admin(session: Session, staff: Staff) -> None:
    if staff.role == ADMIN and staff.active and _other_active_admins(session, staff) == 0:
        raise UserError(
            _(
                "%(name)s is the hub's last active admin. Make someone else an admin first.",
                name=staff.name,
            )
        )


def add_person(session: Session, new: NewPerson, actor_id: int) -> Staff:
    """Add a person (with a password, or none yet: see ``hub.people.invites``)."""
    if problem := _check_languages(session, new.languages):
        raise UserError(problem, errors={"languages": problem})
    staff = create_staff(
        session,
        new.email,
        new.name,
        new.role,
        new.password,
        list(new.languages),
        new.team_id,
    )
    if new.password is None:
        staff.on_duty = False  # offered no mentions before they can sign in
        session.flush()
    record_event(
        session,
        "staff.created",
        "staff",
        staff.id,
        actor_id,
        after=_snapshot(session, staff) | {"email": staff.email},
        password_set=new.password is not None,
    )
    return staff


def update_person(session: Session, staff: Staff, changes: PersonChanges, actor_id: int) -> bool:
    """Apply an admin's edit; False when nothing changed (no audit event then)."""
    errors: dict[str, str] = {}
    if changes.role not in ROLES:
        errors["role"] = _("The role must be one of: %(roles)s.", roles=", ".join(ROLES))
    if not changes.name.strip():
        errors["name"] = _("Give the person's name.")
    teams = set(session.scalars(select(Team.id)))
    if changes.team_id is not None and changes.team_id not in teams:
        errors["team"] = _("There is no such team.")
    if set(changes.extra_team_ids) - teams:
        errors["extra_teams"] = _("There is no such team.")
    if problem := _check_languages(session, changes.languages):
        errors["languages"] = problem
    if changes.open_cap is not None and not 1 <= changes.open_cap <= MAX_OPEN_CAP:
        errors["open_cap"] = _(
            "The cap is between 1 and %(most)d open mentions, or empty for no cap.",
            most=MAX_OPEN_CAP,
        )
    if errors:
        raise UserError(" ".join(errors.values()), errors=errors)
    if changes.role != ADMIN:
        _guard_last_admin(session, staff)
    before = _snapshot(session, staff)
    extra = sorted(set(changes.extra_team_ids) - {changes.team_id})
    staff.name = changes.name.strip()
    staff.role = changes.role
    staff.team_id = changes.team_id
    staff.languages = list(dict.fromkeys(changes.languages))
    staff.open_cap = changes.open_cap
    session.execute(delete(StaffTeam).where(StaffTeam.staff_id == staff.id))
    session.add_all(StaffTeam(staff_id=staff.id, team_id=t) for t in extra)
    session.flush()
    after = _snapshot(session, staff)
    changed = [k for k in after if after[k] != before[k]]
    if not changed:
        return False
    record_event(
        session,
        "staff.updated",
        "staff",
        staff.id,
        actor_id,
        before={k: before[k] for k in changed},
        after={k: after[k] for k in changed},
    )
    return True


def _release_mentions(session: Session, staff: Staff, actor_id: int) -> None:
    """Give a leaving person's unfinished mentions back to their team's pool (each move an
    ordinary, audited reassignment), so none waits on someone who cannot sign in."""
    actor = session.get(Staff, actor_id)
    assert actor is not None
    mine = session.scalars(
        select(Mention)
        .where(Mention.assignee_id == staff.id, Mention.status != MentionStatus.CLOSED.value)
        .order_by(Mention.id)
    ).all()
    for mention in mine:
        assign_mention(session, mention, None, actor)


def set_person_active(session: Session, staff: Staff, active: bool, actor_id: int) -> bool:
    """Deactivate (every session ends at once) or reactivate a person; False if already so."""
    if staff.active == active:
        return False
    if not active:
        _guard_last_admin(session, staff)
        deactivate_staff(session, staff)
        _release_mentions(session, staff, actor_id)
    else:
        staff.active = True
        session.flush()
    record_event(
        session,
        "staff.reactivated" if active else "staff.deactivated",
        "staff",
        staff.id,
        actor_id,
        before={"active": not active},
        after={"active": active},
    )
    return True


def set_team_lead(session: Session, team: Team, lead_id: int | None, actor_id: int) -> bool:
    """Make an active person the team's lead (None: no lead); False if nothing changed."""
    if lead_id == team.lead_id:
        return False
    if lead_id is not None:
        lead = session.get(Staff, lead_id)
        if lead is None or not lead.active:
            raise UserError(_("A team lead must be an active member of staff."))
    record_event(
        session,
        "team.lead_set",
        "team",
        team.id,
        actor_id,
        before={"lead_id": team.lead_id},
        after={"lead_id": lead_id},
    )
    team.lead_id = lead_id
    session.flush()
    return True


def set_team_policy(
    session: Session, team: Team, assignment_policy: str, breach_action: str, actor_id: int
) -> bool:
    """Set who gets the team's new mentions and what a missed deadline does; False if unchanged."""
    if assignment_policy not in POLICIES:
        raise UserError(_("Choose how the team's new mentions are assigned."))
    if breach_action not in BREACH_ACTIONS:
        raise UserError(_("Choose what happens when a first response is late."))
    before = {"assignment_policy": team.assignment_policy, "breach_action": team.breach_action}
    after = {"assignment_policy": assignment_policy, "breach_action": breach_action}
    if before == after:
        return False
    record_event(session, "team.policy_set", "team", team.id, actor_id, before=before, after=after)
    team.assignment_policy = assignment_policy
    team.breach_action = breach_action
    session.flush()
    return True
