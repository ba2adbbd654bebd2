"""Invite links: a one-time link for a person to set their own password.

The link carries a random token; the database keeps only its SHA-256, so a copy of the table
opens nothing. A link works once, until it expires (``INVITE_HOURS``), and only for an active
person; a newer link for the same person retires the older ones. The same link serves a new
person (first password) and someone who forgot theirs (a new password, every session ended).
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hub.audit import record_event
from hub.auth import NO_PASSWORD, change_password
from hub.errors import Conflict, NotFound, UserError
from hub.i18n import _
from hub.models import Staff, StaffInvite, utcnow


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_invite(session: Session, staff: Staff, actor_id: int, lifetime: timedelta) -> str:
    """A new link token for ``staff`` (shown once, never stored); older links stop working."""
    if not staff.active:
        raise UserError(_("%(name)s is deactivated: reactivate them first.", name=staff.name))
    now = utcnow()
    session.execute(
        update(StaffInvite)
        .where(StaffInvite.staff_id == staff.id, StaffInvite.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    token = secrets.token_urlsafe(32)
    invite = StaffInvite(
        staff_id=staff.id,
        token_hash=_digest(token),
        created_by=actor_id,
        created_at=now,
        expires_at=now + lifetime,
    )
    session.add(invite)
    session.flush()
    record_event(
        session,
        "staff.invite_issued",
        "staff",
        staff.id,
        actor_id,
        invite_id=invite.id,
        expires_at=invite.expires_at.isoformat(),
    )
    return token


def open_invite(session: Session, token: str) -> StaffInvite:
    """The unused, unexpired invite for this token, for an active person; else NotFound."""
    invite = session.scalar(select(StaffInvite).where(StaffInvite.token_hash == _digest(token)))
    staff = session.get(Staff, invite.staff_id) if invite is not None else None
    if invite is None or staff is None or invite.used_at is not None or not staff.active:
        raise NotFound(_("This link has been used or replaced. Ask an admin for a new one."))
    if invite.expires_at <= utcnow():
        raise NotFound(_("This link has expired. Ask an admin for a new one."))
    return invite


def accept_invite(session: Session, token: str, password: str, confirm: str) -> Staff:
    """Set the person's password through the link, once; every earlier session ends."""
    invite = open_invite(session, token)
    staff = session.get(Staff, invite.staff_id)
    assert staff is not None
    if password != confirm:
        message = _("The two new passwords differ.")
        raise UserError(message, errors={"confirm_password": message})
    used = session.execute(
        update(StaffInvite)
        .where(StaffInvite.id == invite.id, StaffInvite.used_at.is_(None))
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if used.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(_("This link has been used or replaced. Ask an admin for a new one."))
    first = staff.password_hash == NO_PASSWORD
    try:
        change_password(session, staff, password)
    except UserError as exc:
        raise UserError(exc.message, errors={"new_password": exc.message}) from None
    session.refresh(staff)
    if first:
        staff.on_duty = True  # invited people wait off duty until they can sign in
        session.flush()
    record_event(session, "staff.invite_accepted", "staff", staff.id, staff.id, invite_id=invite.id)
    return staff


def invite_pending(session: Session, staff_id: int) -> bool:
    """True while the person has a link that still works."""
    return (
        session.scalar(
            select(StaffInvite.id).where(
                StaffInvite.staff_id == staff_id,
                StaffInvite.used_at.is_(None),
                StaffInvite.expires_at > utcnow(),
            )
        )
        is not None
    )
