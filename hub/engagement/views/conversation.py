"""One mention: read the context, claim or assign it, reply through the policy check."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from hub.auth import role_required
from hub.customers.present import customer_panel
from hub.db import attempt, get_session
from hub.engagement.conversation import load_conversation
from hub.engagement.moderation import (
    MoveError,
    allowed_moves,
    assign_mention,
    can_work,
    claim_mention,
    move_mention,
)
from hub.engagement.present import active_staff
from hub.errors import UserError
from hub.i18n import _
from hub.ids import parse_id
from hub.models import Mention, OutboundItem, Staff
from hub.publishing.compose import check_text
from hub.publishing.present import verdict_view
from hub.publishing.replies import SubmitReply, submit_reply
from hub.publishing.submission import Outcome, new_idempotency_key

bp = Blueprint("conversation", __name__)
MAX_REPLY = 5000


def _mention(mention_id: int) -> Mention:
    mention = get_session().get(Mention, mention_id)
    if mention is None:
        abort(404, _("That mention does not exist."))
    return mention


def _page(
    mention: Mention,
    text: str = "",
    decision: Any = None,
    outcome: str = "",
    key: str | None = None,
    status: int = 200,
) -> Any:
    session = get_session()
    return render_template(
        "engagement/conversation/show.html",
        c=load_conversation(session, mention),
        text=text,
        **verdict_view(text, decision).context(),
        outcome=outcome,
        key=key or new_idempotency_key(),
        moves=allowed_moves(mention.status),
        can_work=can_work(current_user, mention),
        staff=active_staff(session),
        customer_panel=customer_panel(session, mention),
    ), status


@bp.route("/mentions/<bigid:mention_id>")
@role_required("employee", "manager", "compliance")
def show(mention_id: int) -> Any:
    return _page(_mention(mention_id))


@bp.route("/mentions/<bigid:mention_id>/claim", methods=["POST"])
@role_required("employee", "manager")
def claim(mention_id: int) -> Any:
    try:
        with attempt() as session:
            claim_mention(session, _mention(mention_id), current_user)
    except MoveError as exc:
        flash(str(exc), "error")
    return redirect(url_for("conversation.show", mention_id=mention_id))


@bp.route("/mentions/<bigid:mention_id>/assign", methods=["POST"])
@role_required("manager")
def assign(mention_id: int) -> Any:
    session = get_session()
    raw = request.form.get("assignee", "")
    assignee_id = parse_id(raw)
    assignee = session.get(Staff, assignee_id) if assignee_id is not None else None
    if raw and assignee is None:
        abort(400, _("No such person."))
    try:
        with attempt():
            assign_mention(session, _mention(mention_id), assignee, current_user)
    except MoveError as exc:
        flash(str(exc), "error")
    return redirect(url_for("conversation.show", mention_id=mention_id))


@bp.route("/mentions/<bigid:mention_id>/status", methods=["POST"])
@role_required("employee", "manager")
def status(mention_id: int) -> Any:
    try:
        with attempt() as session:
            move_mention(
                session,
                _mention(mention_id),
                request.form.get("to", ""),
                current_user,
                request.form.get("why", "")[:500],
            )
    except MoveError as exc:
        flash(str(exc), "error")
    return redirect(url_for("conversation.show", mention_id=mention_id))


@bp.route("/mentions/<bigid:mention_id>/reply", methods=["POST"])
@role_required("employee", "manager")
def reply(mention_id: int) -> Any:
    session = get_session()
    mention = _mention(mention_id)
    text = request.form.get("text", "")[:MAX_REPLY]
    key = request.form.get("key", "")
    if not key or len(key) > 64:
        abort(400, _("The form is missing its key; reload the page."))
    form = SubmitReply(mention_id, text, key, request.form.get("confirm") == "yes")
    try:
        with attempt():
            result = submit_reply(session, form, current_user)
    except UserError as exc:
        flash(str(exc), "error")
        return _page(mention, text, key=key, status=422)
    if result.outcome in (Outcome.SCHEDULED, Outcome.DUPLICATE):
        flash(_("Reply checked and on its way."), "ok")
        return redirect(url_for("conversation.show", mention_id=mention_id))
    if result.outcome == Outcome.IN_REVIEW:
        flash(_("Your reply is held for a compliance review; you'll see the outcome here."), "warn")
        return redirect(url_for("conversation.show", mention_id=mention_id))
    if result.outcome == Outcome.BLOCKED:
        flash(_("This reply can't be sent as written; see why below."), "error")
    else:
        flash(_("The check has suggestions. Edit, or confirm to send as is."), "warn")
    return _page(mention, text, result.decision, result.outcome, key, status=422)


@bp.route("/compose/check", methods=["POST"])
@role_required("employee", "manager", "compliance")
def check() -> Any:
    """The live check while typing (htmx, debounced): findings and highlights, nothing stored."""
    session = get_session()
    text = request.form.get("text", "")[:MAX_REPLY]
    mention = None
    mention_id = parse_id(request.form.get("mention_id"), big=True)
    if mention_id is not None:
        mention = session.get(Mention, mention_id)
    platform = mention.platform if mention else request.form.get("platform", "")[:20]
    kind = "reply" if mention else "post"
    decision = (
        check_text(session, current_user, text, platform, kind, mention.text if mention else None)
        if text.strip()
        else None
    )
    return render_template(
        "engagement/conversation/_check.html", **verdict_view(text, decision).context()
    )


@bp.route("/outbox")
@role_required("employee", "manager")
def mine() -> Any:
    """The signed-in person's replies and posts with their state."""
    rows = (
        get_session()
        .scalars(
            select(OutboundItem)
            .where(OutboundItem.author_id == current_user.id)
            .order_by(OutboundItem.id.desc())
            .limit(100)
        )
        .all()
    )
    return render_template("engagement/conversation/outbox.html", items=rows)
