"""The page an invite link opens: the person sets their own password and is signed in."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, make_response, redirect, render_template, url_for
from flask_login import logout_user

from hub.auth import sign_in
from hub.db import attempt, get_session
from hub.errors import UserError
from hub.i18n import _
from hub.models import Staff
from hub.people.invites import accept_invite, open_invite
from hub.people.views.forms import NewPasswordForm, show_errors

bp = Blueprint("invite", __name__, url_prefix="/invite")


def _page(token: str, form: NewPasswordForm, status: int = 200) -> Any:
    invite = open_invite(get_session(), token)
    person = get_session().get(Staff, invite.staff_id)
    response = make_response(
        render_template("people/invite/accept.html", form=form, person=person), status
    )
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/<token>")
def accept_form(token: str) -> Any:
    return _page(token, NewPasswordForm(formdata=None))


@bp.route("/<token>", methods=["POST"])
def accept(token: str) -> Any:
    form = NewPasswordForm()
    if not form.validate_on_submit():
        return _page(token, form, 422)
    try:
        with attempt() as session:
            staff = accept_invite(
                session, token, form.new_password.data, form.confirm_password.data
            )
    except UserError as exc:
        if exc.status in (404, 409):
            raise
        show_errors(form, exc)
        return _page(token, form, exc.status)
    logout_user()  # whoever was signed in in this browser
    sign_in(staff)
    flash(_("Your password is set. Welcome, %(name)s.", name=staff.name), "ok")
    return redirect(url_for("home.index"))
