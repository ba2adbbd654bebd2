"""Landing pages: send each role where its work is."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from hub.auth import role_required
from hub.db import get_session
from hub.models import PolicyDecision, Staff

bp = Blueprint("home", __name__)


@bp.route("/")
@login_required
def index() -> Any:
    if current_user.role == "compliance":
        return redirect(url_for("home.decisions"))
    return redirect(url_for("queue.index"))


@bp.route("/decisions")
@role_required("compliance")
def decisions() -> Any:
    """Compliance's view of the most recent policy decisions."""
    session = get_session()
    rows = session.scalars(select(PolicyDecision).order_by(PolicyDecision.id.desc()).limit(100))
    decisions = list(rows)
    ids = sorted({d.author_id for d in decisions})
    authors = dict(session.execute(select(Staff.id, Staff.name).where(Staff.id.in_(ids))).all())
    return render_template("home/decisions.html", decisions=decisions, authors=authors)
