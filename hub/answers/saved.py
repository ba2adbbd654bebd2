"""Saved replies: who sees and manages which, and creating, editing and deleting them (audited).

- A personal reply (``staff_id``) is its owner's alone: only they see, edit or delete it; not a
  manager, not an admin (it is their own wording, like a draft).
- A team reply (``team_id``) is seen by the team's members (home team and extra teams) and by
  managers; managers create, edit and delete team replies of any team.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session

from hub.answers.templating import check_body
from hub.audit import record_event
from hub.engagement.queue import my_team_ids
from hub.errors import Forbidden, NotFound, UserError
from hub.i18n import _
from hub.models import SAVED_REPLY_LANGUAGES, SavedReply, Staff, Team

MAX_TITLE = 120


@dataclass(frozen=True)
class SavedReplyForm:
    """What the create/edit form sends: ``owner`` is "me" or a team id (as text)."""

    title: str
    body: str
    language: str
    owner: str


def visible_replies(session: Session, me: Staff, language: str | None = None) -> list[SavedReply]:
    """The saved replies ``me`` may use: their own, their teams' (every team's for managers);
    in ``language`` first when given, then by title."""
    rows = session.scalars(select(SavedReply).where(_visible_to(session, me))).all()
    return sorted(rows, key=lambda r: (r.language != language, r.title.casefold(), r.id))


def _visible_to(session: Session, me: Staff) -> ColumnElement[bool]:
    teams = SavedReply.team_id.is_not(None)
    if not me.has_role("manager"):
        teams = SavedReply.team_id.in_(my_team_ids(session, me))
    return or_(SavedReply.staff_id == me.id, teams)


def can_manage(me: Staff, reply: SavedReply) -> bool:
    """Personal replies: the owner only. Team replies: managers (admins pass every role)."""
    if reply.staff_id is not None:
        return reply.staff_id == me.id
    return me.has_role("manager")


def get_visible(session: Session, me: Staff, reply_id: int) -> SavedReply:
    """The saved reply, if ``me`` may see it (NotFound otherwise: another's personal replies are
    not even confirmed to exist)."""
    reply = session.scalar(
        select(SavedReply).where(SavedReply.id == reply_id, _visible_to(session, me))
    )
    if reply is None:
        raise NotFound(_("There is no such saved reply."))
    return reply


def get_manageable(session: Session, me: Staff, reply_id: int) -> SavedReply:
    """The saved reply, if ``me`` may change it."""
    reply = get_visible(session, me, reply_id)
    if not can_manage(me, reply):
        raise Forbidden(_("Only a community manager can change the team's saved replies."))
    return reply


def _validated(session: Session, me: Staff, form: SavedReplyForm) -> dict[str, object]:
    """The columns for ``form``, or UserError with every problem found, per field."""
    errors: dict[str, str] = {}
    title = form.title.strip()
    if not title:
        errors["title"] = _("Give the saved reply a title.")
    elif len(title) > MAX_TITLE:
        errors["title"] = _("Titles are at most %(n)s characters.", n=MAX_TITLE)
    if form.language not in SAVED_REPLY_LANGUAGES:
        errors["language"] = _(
            "The language must be one of: %(languages)s.",
            languages=", ".join(SAVED_REPLY_LANGUAGES),
        )
    team_id: int | None = None
    if form.owner != "me":
        if not form.owner.isdigit() or session.get(Team, int(form.owner)) is None:
            errors["owner"] = _("There is no such team.")
        elif not me.has_role("manager"):
            errors["owner"] = _("Only a community manager can save replies for a team.")
        else:
            team_id = int(form.owner)
    body = form.body.replace("\r\n", "\n").strip()
    if (problem := check_body(body)) is not None:
        errors["body"] = problem.message
    if errors:
        status = 403 if set(errors) == {"owner"} and form.owner.isdigit() else 422
        raise UserError(" ".join(errors.values()), errors=errors, status=status)
    return {
        "title": title,
        "body": body,
        "language": form.language,
        "team_id": team_id,
        "staff_id": None if team_id is not None else me.id,
    }


def create_saved_reply(session: Session, me: Staff, form: SavedReplyForm) -> SavedReply:
    """Save a new reply (personal, or a team's by a manager)."""
    reply = SavedReply(created_by=me.id, **_validated(session, me, form))
    session.add(reply)
    session.flush()
    record_event(
        session, "saved_reply.created", "saved_reply", reply.id, me.id, **_audit_data(reply)
    )
    return reply


def update_saved_reply(
    session: Session, me: Staff, reply_id: int, form: SavedReplyForm
) -> SavedReply:
    """Change a reply ``me`` may manage; its owner may change only within what they may own."""
    reply = get_manageable(session, me, reply_id)
    before = _audit_data(reply)
    for column, value in _validated(session, me, form).items():
        setattr(reply, column, value)
    session.flush()
    record_event(
        session,
        "saved_reply.edited",
        "saved_reply",
        reply.id,
        me.id,
        before=before,
        after=_audit_data(reply),
    )
    return reply


def delete_saved_reply(session: Session, me: Staff, reply_id: int) -> None:
    """Delete a reply ``me`` may manage (its last text is kept in the audit event)."""
    reply = get_manageable(session, me, reply_id)
    record_event(
        session, "saved_reply.deleted", "saved_reply", reply.id, me.id, **_audit_data(reply)
    )
    session.delete(reply)
    session.flush()


def count_use(session: Session, reply: SavedReply) -> None:
    """One more use (an insert into a composer), counted in the database, not in Python, so
    two people inserting at once both count."""
    session.execute(
        update(SavedReply)
        .where(SavedReply.id == reply.id)
        .values(use_count=SavedReply.use_count + 1)
        .execution_options(synchronize_session=False)
    )


def _audit_data(reply: SavedReply) -> dict[str, object]:
    return {
        "title": reply.title,
        "language": reply.language,
        "team_id": reply.team_id,
        "staff_id": reply.staff_id,
        "body": reply.body,
    }
