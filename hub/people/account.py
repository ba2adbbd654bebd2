"""A person's own account: a new password, on duty or off, the UI language."""

from __future__ import annotations

from sqlalchemy.orm import Session

from hub.audit import record_event
from hub.auth import change_password
from hub.errors import UserError
from hub.i18n import LANGUAGES, _
from hub.models import Staff


def set_own_password(session: Session, staff: Staff, password: str, confirm: str) -> None:
    """A new password (the caller checked the current one); every session ends, so the
    caller signs this browser in again."""
    if password != confirm:
        message = _("The two new passwords differ.")
        raise UserError(message, errors={"confirm_password": message})
    try:
        change_password(session, staff, password)
    except UserError as exc:
        raise UserError(exc.message, errors={"new_password": exc.message}) from None
    session.refresh(staff)
    record_event(session, "staff.password_changed", "staff", staff.id, staff.id)


def set_duty(session: Session, staff: Staff, on_duty: bool) -> bool:
    """On duty (offered new mentions) or off; False if it already was."""
    if staff.on_duty == on_duty:
        return False
    staff.on_duty = on_duty
    session.flush()
    record_event(
        session,
        "staff.duty_set",
        "staff",
        staff.id,
        staff.id,
        before={"on_duty": not on_duty},
        after={"on_duty": on_duty},
    )
    return True


def set_locale(session: Session, staff: Staff, locale: str | None) -> bool:
    """The UI language (None: the browser's); False if it already was."""
    if locale is not None and locale not in LANGUAGES:
        raise UserError(_("Choose one of the languages offered."))
    if staff.locale == locale:
        return False
    record_event(
        session,
        "staff.locale_set",
        "staff",
        staff.id,
        staff.id,
        before={"locale": staff.locale},
        after={"locale": locale},
    )
    staff.locale = locale
    session.flush()
    return True
