"""The sandbox platform's own pages: post as a customer, see the brand's replies.

These pages stand in for x.com or bsky.app, so they need no hub sign-in; they are switched off
with HUB_SANDBOX_ENABLED=false on a hub that only uses real platforms.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for

from connectors.sandbox import SandboxConnector, SandboxError, SandboxStore
from hub.db import get_session
from hub.i18n import _
from hub.ids import parse_id
from hub.platforms.accounts import account_handles

bp = Blueprint("sandbox", __name__, url_prefix="/sandbox")


@bp.before_request
def _enabled() -> None:
    if not current_app.config["SANDBOX_ENABLED"]:
        abort(404, _("The sandbox platform is switched off on this hub."))


def _store() -> SandboxStore:
    return SandboxStore(current_app.config["SANDBOX_URL"])


def _brand() -> str:
    return str(current_app.config["SANDBOX_BRAND"])


@bp.route("/")
def index() -> Any:
    store = _store()
    roots = store.recent_roots()
    return render_template(
        "platforms/sandbox/index.html",
        roots=roots,
        brand=_brand(),
        threads={r["id"]: len(store.thread(r["id"])) - 1 for r in roots},
    )


@bp.route("/post", methods=["POST"])
def post() -> Any:
    raw_reply_to = request.form.get("reply_to", "").strip()
    reply_to = parse_id(raw_reply_to)
    try:
        if raw_reply_to and reply_to is None:
            raise SandboxError("The post you are replying to does not exist.")
        row = _store().create_post(
            request.form.get("handle", ""),
            request.form.get("text", ""),
            display_name=request.form.get("display_name", ""),
            reply_to=reply_to,
            reserved=[_brand(), *account_handles(get_session(), SandboxConnector.platform)],
        )
    except SandboxError as exc:
        flash(_(exc.template, **exc.params), "error")
        return redirect(
            request.referrer
            if request.referrer and request.referrer.startswith(request.host_url)
            else url_for("sandbox.index")
        )
    return redirect(url_for("sandbox.show", post_id=row["root_id"] or row["id"]))


@bp.route("/p/<id:post_id>")
def show(post_id: int) -> Any:
    thread = _store().thread(post_id)
    if not thread:
        abort(404, _("No such post on the sandbox."))
    return render_template(
        "platforms/sandbox/thread.html", thread=thread, focus=post_id, brand=_brand()
    )
