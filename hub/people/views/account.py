"""A person's own account page: a new password, on duty or off, the hub's language."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from hub.auth import authenticate, role_required, safe_next, sign_in
from hub.db import attempt, get_session
from hub.errors import UserError
from hub.i18n import _
from hub.models import ROLES, Staff
from hub.people.account import set_duty, set_locale, set_own_password
from hub.people.views.forms import ChangePasswordForm, DutyForm, LocaleForm, show_errors
from hub.throttle import Refusal

bp = Blueprint("account", __name__, url_prefix="/account")


def _me() -> Staff:
    staff = get_session().get(Staff, current_user.id)
    assert staff is not None  # the session's own person, loaded by Flask-Login
    return staff


def _page(password_form: ChangePasswordForm | None = None, status: int = 200) -> Any:
    locale_form = LocaleForm(data={"locale": current_user.locale or ""})
    return render_template(
        "people/account/index.html",
        password_form=password_form or ChangePasswordForm(formdata=None),
        locale_form=locale_form,
    ), status


@bp.route("/")
@role_required(*ROLES)
def index() -> Any:
    return _page()


@bp.route("/password", methods=["POST"])
@role_required(*ROLES)
def password() -> Any:
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return _page(form, 422)
    # the current password is checked like a sign-in: counted, limited, and as slow
    address = request.remote_addr or ""
    outcome = authenticate(current_user.email, form.current_password.data, address)
    if isinstance(outcome, Refusal):
        form.current_password.errors = [_("Too many wrong passwords. Try again later.")]
        return _page(form, 429)
    if outcome is None or outcome.id != current_user.id:
        form.current_password.errors = [_("That is not your current password.")]
        return _page(form, 422)
    staff = outcome
    try:
        with attempt() as session:
            set_own_password(session, staff, form.new_password.data, form.confirm_password.data)
    except UserError as exc:
        show_errors(form, exc)
        return _page(form, exc.status)
    sign_in(staff)  # every other session has ended; this one goes on
    flash(_("Your password is changed. Your other sessions have ended."), "ok")
    return redirect(url_for("account.index"))


@bp.route("/duty", methods=["POST"])
@role_required(*ROLES)
def duty() -> Any:
    form = DutyForm()
    if not form.validate_on_submit():
        flash(_("Choose on duty or off duty."), "error")
        return redirect(url_for("account.index"))
    on = form.on_duty.data == "1"
    set_duty(get_session(), _me(), on)
    if on:
        flash(_("You are on duty."), "ok")
    else:
        flash(_("You are off duty: no new mentions come to you."), "ok")
    return redirect(safe_next(form.next.data or "") or url_for("account.index"))


@bp.route("/language", methods=["POST"])
@role_required(*ROLES)
def language() -> Any:
    form = LocaleForm()
    if not form.validate_on_submit():
        flash(_("Choose one of the languages offered."), "error")
        return redirect(url_for("account.index"))
    set_locale(get_session(), _me(), form.locale.data or None)
    flash(_("Saved your language."), "ok")
    return redirect(url_for("account.index"))
