"""The "API tokens" page of a person's account: make a token (shown once), list, revoke."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from hub.api.tokens import MAX_NAME, NewToken, create_token, revoke_token, visible_tokens
from hub.auth import role_required
from hub.db import attempt, get_session
from hub.errors import UserError
from hub.i18n import _
from hub.models import ROLES, Staff

bp = Blueprint("api_tokens", __name__, url_prefix="/account/api-tokens")


def _me() -> Staff:
    staff = get_session().get(Staff, current_user.id)
    assert staff is not None  # the session's own person, loaded by Flask-Login
    return staff


def _page(*, new_token: str = "", error: str = "", name: str = "", status: int = 200) -> Any:
    rows = visible_tokens(get_session(), current_user)
    return render_template(
        "people/account/api_tokens.html",
        tokens=rows,
        new_token=new_token,
        error=error,
        name=name,
        max_name=MAX_NAME,
    ), status


@bp.route("/")
@role_required(*ROLES)
def index() -> Any:
    return _page()


@bp.route("/", methods=["POST"])
@role_required(*ROLES)
def create() -> Any:
    """Make a token; the page shows it this once (it is never stored, so never shown again)."""
    name = request.form.get("name", "")[:500]
    form = NewToken(name=name, scope=request.form.get("scope", ""))
    try:
        with attempt() as session:
            _row, token = create_token(session, _me(), form)
    except UserError as exc:
        return _page(error=exc.message, name=name, status=exc.status)
    return _page(new_token=token, status=201)


@bp.route("/<id:token_id>/revoke", methods=["POST"])
@role_required(*ROLES)
def revoke(token_id: int) -> Any:
    with attempt() as session:
        row = revoke_token(session, token_id, _me())
    flash(_("Token %(prefix)s… is revoked; it no longer works.", prefix=row.prefix), "ok")
    return redirect(url_for("api_tokens.index"))
