"""Saved replies' pages, and the reply composer's tools: saved replies rendered for the mention,
similar past answers, and the nudge when a saved reply is about to go out unchanged."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from hub.answers.present import composer_tools, reply_rows
from hub.answers.saved import (
    SavedReplyForm,
    create_saved_reply,
    delete_saved_reply,
    get_manageable,
    update_saved_reply,
)
from hub.answers.templating import VARIABLES
from hub.answers.use import insert_saved_reply, unchanged_saved_reply
from hub.auth import role_required
from hub.db import attempt, get_session
from hub.errors import UserError
from hub.i18n import _
from hub.models import SAVED_REPLY_LANGUAGES, Mention, SavedReply, Team

bp = Blueprint("answers", __name__, url_prefix="/answers")


def _form() -> SavedReplyForm:
    return SavedReplyForm(
        title=request.form.get("reply_title", "")[:500],
        body=request.form.get("reply_body", "")[:10_000],
        language=request.form.get("reply_language", ""),
        owner=request.form.get("reply_owner", "me"),
    )


def _editor(
    template: str, reply: SavedReply | None, form: SavedReplyForm | None, errors: Any, status: int
) -> Any:
    teams = (
        get_session().scalars(select(Team).order_by(Team.name)).all()
        if current_user.has_role("manager")
        else []
    )
    return render_template(
        template,
        reply=reply,
        form=form,
        errors=errors or {},
        teams=teams,
        languages=SAVED_REPLY_LANGUAGES,
        variables=VARIABLES,
        rows=reply_rows(get_session(), current_user) if reply is None else [],
    ), status


@bp.route("/")
@role_required("employee", "manager")
def index() -> Any:
    """The saved replies the person may use, and the form for a new one."""
    return _editor("answers/index.html", None, None, None, 200)


@bp.route("/", methods=["POST"])
@role_required("employee", "manager")
def create() -> Any:
    form = _form()
    try:
        with attempt() as session:
            create_saved_reply(session, current_user, form)
    except UserError as exc:
        return _editor("answers/index.html", None, form, exc.errors, exc.status)
    flash(_("Saved reply added."), "ok")
    return redirect(url_for("answers.index"))


@bp.route("/<id:reply_id>/edit")
@role_required("employee", "manager")
def edit(reply_id: int) -> Any:
    reply = get_manageable(get_session(), current_user, reply_id)
    return _editor("answers/edit.html", reply, None, None, 200)


@bp.route("/<id:reply_id>", methods=["POST"])
@role_required("employee", "manager")
def update(reply_id: int) -> Any:
    reply = get_manageable(get_session(), current_user, reply_id)
    form = _form()
    try:
        with attempt() as session:
            update_saved_reply(session, current_user, reply_id, form)
    except UserError as exc:
        if exc.status == 403:
            raise
        return _editor("answers/edit.html", reply, form, exc.errors, exc.status)
    flash(_("Saved reply changed."), "ok")
    return redirect(url_for("answers.index"))


@bp.route("/<id:reply_id>/delete", methods=["POST"])
@role_required("employee", "manager")
def delete(reply_id: int) -> Any:
    delete_saved_reply(get_session(), current_user, reply_id)
    flash(_("Saved reply deleted."), "ok")
    return redirect(url_for("answers.index"))


def _mention(mention_id: int) -> Mention:
    mention = get_session().get(Mention, mention_id)
    if mention is None:
        abort(404, _("That mention does not exist."))
    return mention


@bp.route("/composer/<bigid:mention_id>")
@role_required("employee", "manager")
def composer(mention_id: int) -> Any:
    """The composer's tools (htmx, on load): saved replies and similar past answers; a browser
    that asks for it outright gets the mention page."""
    mention = _mention(mention_id)
    if request.headers.get("HX-Request") != "true":
        return redirect(url_for("conversation.show", mention_id=mention_id))
    return render_template(
        "answers/_tools.html", m=mention, tools=composer_tools(get_session(), current_user, mention)
    )


@bp.route("/<id:reply_id>/insert/<bigid:mention_id>", methods=["POST"])
@role_required("employee", "manager")
def insert(reply_id: int, mention_id: int) -> Any:
    """A saved reply rendered for this mention, as JSON for the composer's script."""
    try:
        with attempt() as session:
            text = insert_saved_reply(session, current_user, reply_id, _mention(mention_id))
    except UserError as exc:
        return jsonify(error=exc.message), exc.status
    return jsonify(text=text)


@bp.route("/nudge/<bigid:mention_id>", methods=["POST"])
@role_required("employee", "manager")
def nudge(mention_id: int) -> Any:
    """Whether the reply box holds a saved reply as rendered, unchanged (htmx, while typing)."""
    text = request.form.get("text", "")[:5000]
    reply = unchanged_saved_reply(get_session(), current_user, _mention(mention_id), text)
    return render_template("answers/_nudge.html", reply=reply)
