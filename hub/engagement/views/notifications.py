"""The signed-in person's notifications, and the unread count in every page's header."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError

from hub.auth import role_required
from hub.db import attempt, get_session
from hub.engagement.notifications import list_notifications, mark_all_read, unread_count
from hub.i18n import _
from hub.models import ROLES, utcnow

bp = Blueprint("notifications", __name__)


@bp.app_context_processor
def _header() -> dict[str, Any]:
    def unread_notifications() -> int:
        if not getattr(current_user, "is_authenticated", False):
            return 0
        try:
            return unread_count(get_session(), current_user.id)
        except SQLAlchemyError:  # an error page about the database must still render
            return 0

    return {"unread_notifications": unread_notifications}


@bp.route("/notifications")
@role_required(*ROLES)
def index() -> Any:
    return render_template(
        "engagement/notifications/index.html",
        items=list_notifications(get_session(), current_user.id),
    )


@bp.route("/notifications/read", methods=["POST"])
@role_required(*ROLES)
def read_all() -> Any:
    with attempt() as session:
        count = mark_all_read(session, current_user.id, utcnow())
    flash(_("Marked them all read.") if count else _("Nothing was unread."), "ok")
    return redirect(url_for("notifications.index"))
