"""One mention: read the context, claim or assign it, reply through the policy check."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from hub.auth import role_required
from hub.customers.facts import asks_for_known_fact, customer_facts
from hub.customers.present import customer_panel
from hub.db import attempt, get_session
from hub.engagement.conversation import load_conversation
from hub.engagement.moderation import (
    MoveError,
    allowed_moves,
    assign_mention,
    assigned_since,
    can_work,
    claim_mention,
    move_mention,
    take_over_mention,
)
from hub.engagement.presence import clear_presence, mentions_being_written, touch_presence, writers
from hub.engagement.present import active_staff
from hub.engagement.product_help import ProductPanel, product_panel
from hub.errors import UserError
from hub.i18n import _, label
from hub.ids import parse_id
from hub.models import Mention, OutboundItem, Staff
from hub.publishing.compose import check_text
from hub.publishing.present import stopped_message, verdict_view
from hub.publishing.replies import (
    MAX_REPLY_CHARS,
    AlreadyAnswered,
    SubmitReply,
    newest_outbound_id,
    reply_length,
    submit_reply,
)
from hub.publishing.submission import Outcome

bp = Blueprint("conversation", __name__)
#: the live check reads no further (the counter still counts, approximately, beyond)
MAX_CHECKED = MAX_REPLY_CHARS


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
    status: int = 200,
    error: str = "",
    answered: OutboundItem | None = None,
    seen_outbound: int | None = None,
) -> Any:
    session = get_session()
    if error:
        flash(error, "warn" if answered or outcome == Outcome.NEEDS_CONFIRMATION else "error")
    return render_template(
        "engagement/conversation/show.html",
        c=load_conversation(session, mention),
        text=text,
        **verdict_view(text, decision).context(),
        length=reply_length(mention.platform, text) if text else None,
        outcome=outcome,
        answered=answered,
        seen_outbound=(
            seen_outbound if seen_outbound is not None else newest_outbound_id(session, mention.id)
        ),
        writers=writers(session, mention.id, exclude=current_user.id),
        assigned_since=assigned_since(session, mention) if mention.assignee_id else None,
        moves=allowed_moves(mention.status),
        can_work=can_work(current_user, mention),
        staff=active_staff(session),
        customer_panel=customer_panel(session, mention),
    ), status


@bp.route("/mentions/<bigid:mention_id>")
@role_required("employee", "manager", "compliance")
def show(mention_id: int) -> Any:
    return _page(_mention(mention_id))


@bp.app_template_global("product_panel")
def _product_panel(mention: Mention) -> ProductPanel:
    """For the mention page's sidebar: the products it names, sold-out ones with alternatives."""
    return product_panel(mention)


def _seen_assignee() -> int | None:
    """The assignee the person's page showed when they pressed the button (empty: nobody)."""
    raw = request.form.get("seen_assignee", "")
    if not raw:
        return None
    seen = parse_id(raw)
    if seen is None:
        abort(400, _("The form is out of date; reload the page."))
    return seen


@bp.route("/mentions/<bigid:mention_id>/claim", methods=["POST"])
@role_required("employee", "manager")
def claim(mention_id: int) -> Any:
    """Claim a mention if it is still as the person saw it (compare-and-set)."""
    seen = _seen_assignee()
    try:
        with attempt() as session:
            claim_mention(session, _mention(mention_id), current_user, seen)
    except MoveError as exc:
        flash(str(exc), "error")
    return redirect(url_for("conversation.show", mention_id=mention_id))


@bp.route("/mentions/<bigid:mention_id>/take-over", methods=["POST"])
@role_required("manager")
def take_over(mention_id: int) -> Any:
    """A manager takes the mention from the person the page showed; they are notified."""
    seen = _seen_assignee()
    try:
        with attempt() as session:
            take_over_mention(session, _mention(mention_id), current_user, seen)
    except MoveError as exc:
        flash(str(exc), "error")
    else:
        flash(_("You have this mention now; the previous assignee was told."), "ok")
    return redirect(url_for("conversation.show", mention_id=mention_id))


@bp.route("/mentions/<bigid:mention_id>/presence", methods=["POST"])
@role_required("employee", "manager")
def presence(mention_id: int) -> Any:
    """The composer's heartbeat (htmx, every ~15 s): writing while the box holds text."""
    session = get_session()
    mention = _mention(mention_id)
    if request.form.get("text", "").strip():
        touch_presence(session, mention.id, current_user)
    else:
        clear_presence(session, mention.id, current_user)
    return "", 204


@bp.route("/mentions/<bigid:mention_id>/writers")
@role_required("employee", "manager", "compliance")
def writers_now(mention_id: int) -> Any:
    """Who else is writing a reply to this mention (htmx polling on the mention page); a
    browser that asks for it outright gets the mention page."""
    mention = _mention(mention_id)
    if request.headers.get("HX-Request") != "true":
        return redirect(url_for("conversation.show", mention_id=mention_id))
    return render_template(
        "engagement/conversation/_writers.html",
        m=mention,
        writers=writers(get_session(), mention.id, exclude=current_user.id),
    )


@bp.app_template_global()
def writing_now(mentions: list[Mention]) -> set[int]:
    """Of a queue page's mentions, those someone is writing a reply to (one query a page)."""
    ids = tuple(m.id for m in mentions)
    cache: dict[tuple[int, ...], set[int]] = g.setdefault("hub_writing_now", {})
    if ids not in cache:
        cache[ids] = mentions_being_written(get_session(), ids)
    return cache[ids]


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
    text = request.form.get("text", "")
    raw_seen = request.form.get("seen_outbound", "")
    seen = parse_id(raw_seen) if raw_seen not in ("", "0") else 0
    if seen is None:
        abort(400, _("The form is out of date; reload the page."))
    form = SubmitReply(
        mention_id,
        text,
        confirm_warnings=request.form.get("confirm") == "yes",
        seen_outbound_id=seen,
        confirm_answered=request.form.get("confirm_answered") == "yes",
    )
    try:
        with attempt():
            result = submit_reply(session, form, current_user)
    except AlreadyAnswered as exc:
        return _page(
            mention, text, status=409, error=str(exc), answered=exc.item, seen_outbound=seen
        )
    except UserError as exc:
        return _page(mention, text, status=exc.status, error=str(exc), seen_outbound=seen)
    if result.outcome == Outcome.DUPLICATE:
        flash(
            _(
                "You already sent this reply; it is %(state)s, not sent twice. The same text to "
                "the same mention within 24 hours counts as one reply.",
                state=label(result.item.state) if result.item else "",
            ),
            "ok",
        )
        return redirect(url_for("conversation.show", mention_id=mention_id))
    if result.item is not None:
        clear_presence(session, mention.id, current_user)
    if result.outcome == Outcome.SCHEDULED:
        flash(_("Reply checked and on its way."), "ok")
        return redirect(url_for("conversation.show", mention_id=mention_id))
    if result.outcome == Outcome.IN_REVIEW:
        flash(_("Your reply is held for a compliance review; you'll see the outcome here."), "warn")
        return redirect(url_for("conversation.show", mention_id=mention_id))
    error = stopped_message("reply", result.outcome)
    return _page(
        mention, text, result.decision, result.outcome, 422, error=error, seen_outbound=seen
    )


@bp.route("/compose/check", methods=["POST"])
@role_required("employee", "manager", "compliance")
def check() -> Any:
    """The live check while typing (htmx, debounced): findings and highlights, nothing stored."""
    session = get_session()
    text = request.form.get("text", "")
    mention = None
    mention_id = parse_id(request.form.get("mention_id"), big=True)
    if mention_id is not None:
        mention = session.get(Mention, mention_id)
    platform = mention.platform if mention else request.form.get("platform", "")[:20]
    kind = "reply" if mention else "post"
    too_long = len(text) > MAX_CHECKED
    decision = (
        check_text(session, current_user, text, platform, kind, mention.text if mention else None)
        if text.strip() and not too_long
        else None
    )
    asked_again = []
    if mention is not None and mention.customer_id is not None and decision is not None:
        # don't ask twice: a reply asking for what the customer already told us
        facts = customer_facts(session, mention.customer_id)
        asked_again = asks_for_known_fact(text, facts, mention.language)
    return render_template(
        "engagement/conversation/_reply_check.html",
        **verdict_view(text, decision).context(),
        asked_again=asked_again,
        length=reply_length(platform, text) if mention and text else None,
        too_long=too_long,
        max_chars=MAX_CHECKED,
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
