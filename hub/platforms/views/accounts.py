"""The admin accounts page: connect platform accounts, test them, pause them, see their health."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from hub.auth import role_required
from hub.db import attempt, get_session
from hub.i18n import _
from hub.models import PlatformAccount
from hub.platforms.accounts import (
    AccountError,
    NewAccount,
    account_fields,
    add_account,
    available_platforms,
    replace_credentials,
    set_account_active,
    test_connection,
)
from hub.platforms.present import account_statuses

bp = Blueprint("accounts", __name__, url_prefix="/admin/accounts")


def _account(account_id: int) -> PlatformAccount:
    account = get_session().get(PlatformAccount, account_id)
    if account is None:
        abort(404, _("That account does not exist."))
    return account


def _page(status: int = 200, form: dict[str, str] | None = None) -> Any:
    platforms = available_platforms()
    return render_template(
        "platforms/accounts/index.html",
        rows=account_statuses(get_session()),
        platforms=platforms,
        fields={p: account_fields(p) for p in platforms},
        form=form or {},
    ), status


@bp.route("/")
@role_required("manager")
def index() -> Any:
    return _page()


@bp.route("/", methods=["POST"])
@role_required("manager")
def create() -> Any:
    platform = request.form.get("platform", "")
    fields = account_fields(platform) if platform in available_platforms() else []
    new = NewAccount(
        platform=platform,
        handle=request.form.get("handle", ""),
        settings={
            f.name: request.form.get(f"{platform}-{f.name}", "") for f in fields if not f.secret
        },
        secrets={f.name: request.form.get(f"{platform}-{f.name}", "") for f in fields if f.secret},
    )
    try:
        with attempt() as session:
            account = add_account(session, current_app, new, current_user.id)
    except AccountError as exc:
        flash(str(exc), "error")
        # secrets are never echoed back into the form
        return _page(422, {"platform": platform, "handle": new.handle} | new.settings)
    flash(
        _(
            "Added @%(handle)s on %(platform)s. Test the connection next.",
            handle=account.handle,
            platform=account.platform,
        ),
        "ok",
    )
    return redirect(url_for("accounts.index"))


@bp.route("/<id:account_id>/test", methods=["POST"])
@role_required("manager")
def test(account_id: int) -> Any:
    ok, message = test_connection(current_app, _account(account_id))
    flash(message, "ok" if ok else "error")
    return redirect(url_for("accounts.index"))


@bp.route("/<id:account_id>/active", methods=["POST"])
@role_required("manager")
def active(account_id: int) -> Any:
    session = get_session()
    account = _account(account_id)
    set_account_active(session, account, request.form.get("active") == "1", current_user.id)
    if account.active:
        flash(_("@%(handle)s is active.", handle=account.handle), "ok")
    else:
        flash(_("@%(handle)s is paused.", handle=account.handle), "ok")
    return redirect(url_for("accounts.index"))


@bp.route("/<id:account_id>/credentials", methods=["POST"])
@role_required("manager")
def credentials(account_id: int) -> Any:
    session = get_session()
    account = _account(account_id)
    secrets = {
        f.name: request.form.get(f.name, "") for f in account_fields(account.platform) if f.secret
    }
    try:
        with attempt():
            replace_credentials(session, current_app, account, secrets, current_user.id)
    except AccountError as exc:
        flash(str(exc), "error")
    else:
        flash(
            _(
                "Replaced the credentials of @%(handle)s. Test the connection next.",
                handle=account.handle,
            ),
            "ok",
        )
    return redirect(url_for("accounts.index"))
