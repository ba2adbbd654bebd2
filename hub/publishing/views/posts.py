"""Employee posts: the composer with its live check, "My posts", one post, edit and withdraw."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from hub.audit import history
from hub.auth import role_required
from hub.compliance.review import version_editors
from hub.db import attempt, get_session
from hub.errors import UserError
from hub.i18n import _, lazy_gettext
from hub.ids import parse_id
from hub.models import OutboundItem, PlatformAccount, utcnow
from hub.publishing.posts import (
    EDITABLE,
    MAX_POST_CHARS,
    MIN_OVERRIDE_REASON,
    WITHDRAWABLE,
    NewPost,
    PostEdit,
    PostError,
    check_post,
    count_length,
    edit_post,
    my_items,
    parse_schedule,
    postable_accounts,
    submit_post,
    versions,
    visible_post,
    withdraw_post,
)
from hub.publishing.present import (
    describe_state,
    stopped_message,
    verdict_view,
    waiting_reason,
)

bp = Blueprint("posts", __name__, url_prefix="/posts")
ROLES = ("employee", "manager")
OUTCOME_FLASH = {
    "scheduled": (lazy_gettext("Checked and scheduled."), "ok"),
    "duplicate": (
        lazy_gettext(
            "You already sent this post; it is queued or out, not sent twice. The same text to "
            "the same account for the same time within 24 hours counts as one post."
        ),
        "ok",
    ),
    "unchanged": (lazy_gettext("Nothing changed."), "ok"),
    "in_review": (lazy_gettext("Held for a compliance review; the reason is below."), "warn"),
}


def _post_or_404(item_id: int) -> OutboundItem:
    item = visible_post(get_session(), current_user, item_id)
    if item is None:
        abort(404, _("No such post of yours."))
    return item


def _check_context(text: str, platform: str | None, editing: OutboundItem | None) -> dict[str, Any]:
    """What templates/posts/_check.html needs: verdict, findings, mix meter, length counter."""
    session = get_session()
    ctx: dict[str, Any] = verdict_view(text, None).context()
    ctx["length"] = count_length(platform, text) if platform else None
    ctx["too_long"] = len(text) > MAX_POST_CHARS
    if platform and text.strip() and not ctx["too_long"]:
        author = editing.author if editing is not None else current_user
        decision = check_post(session, author, text, platform, editing=editing)
        ctx.update(verdict_view(text, decision).context())
    return ctx


def _composer(
    *,
    text: str = "",
    account_id: int | None = None,
    schedule_raw: str = "",
    item: OutboundItem | None = None,
    decision: Any = None,
    outcome: str = "",
    error: str = "",
    status: int = 200,
) -> Any:
    session = get_session()
    accounts = postable_accounts(session, current_user)
    if item is not None:
        account: PlatformAccount | None = item.account
    else:
        account = next(
            (a for a in accounts if a.id == account_id), accounts[0] if accounts else None
        )
    ctx = _check_context(text, account.platform if account else None, item)
    if decision is not None:  # the submitted version's decision, not a fresh one
        ctx.update(verdict_view(text, decision).context())
    return render_template(
        "publishing/posts/new.html",
        accounts=accounts,
        account=account,
        item=item,
        text=text,
        schedule_raw=schedule_raw,
        outcome=outcome,
        error=error,
        min_override=MIN_OVERRIDE_REASON,
        max_chars=MAX_POST_CHARS,
        **ctx,
    ), status


def _schedule_from_form() -> tuple[str, Any]:
    """(raw value, parsed time or None); "Post now" ignores the time field."""
    raw = request.form.get("schedule_at", "")[:40]
    when = request.form.get("when", "")
    if when == "now":
        return "", None
    at = parse_schedule(raw)
    if when == "schedule" and at is None:
        raise PostError(_("Pick a time in “Schedule for”, or press Post now."))
    return raw, at


@bp.route("/")
@role_required(*ROLES)
def mine() -> Any:
    """My posts (and my replies), newest first, with their state in plain words."""
    session = get_session()
    posts = my_items(session, current_user, "post")
    replies = my_items(session, current_user, "reply", limit=50)
    return render_template(
        "publishing/posts/mine.html",
        posts=posts,
        replies=replies,
        states={i.id: describe_state(session, i) for i in posts + replies},
        reasons={i.id: waiting_reason(session, i) for i in posts + replies},
    )


@bp.route("/new")
@role_required(*ROLES)
def new() -> Any:
    return _composer(account_id=parse_id(request.args.get("account_id")))


@bp.route("/new", methods=["POST"])
@role_required(*ROLES)
def create() -> Any:
    """Submit a post: it is checked and routed by its verdict."""
    session = get_session()
    text = request.form.get("text", "")
    account_id = parse_id(request.form.get("account_id"))
    raw_schedule = request.form.get("schedule_at", "")[:40]
    try:
        raw_schedule, at = _schedule_from_form()
        form = NewPost(
            account_id=account_id,
            text=text,
            schedule_at=at,
            confirm_warnings=request.form.get("confirm_warnings") == "yes",
            override_reason=request.form.get("override_reason", "")[:4000],
        )
        with attempt():
            result = submit_post(session, form, current_user)
    except UserError as exc:
        return _composer(
            text=text,
            account_id=account_id,
            schedule_raw=raw_schedule,
            error=str(exc),
            status=exc.status,
        )
    return _after_submit(result, text, account_id, raw_schedule, None)


def _after_submit(
    result: Any,
    text: str,
    account_id: int | None,
    raw_schedule: str,
    item: OutboundItem | None,
) -> Any:
    if result.item is not None:
        message, category = OUTCOME_FLASH[result.outcome]
        flash(str(message), category)
        return redirect(url_for("posts.show", item_id=result.item.id))
    error = stopped_message("post", result.outcome)
    return _composer(
        text=text,
        account_id=account_id,
        schedule_raw=raw_schedule,
        item=item,
        decision=result.decision,
        outcome=result.outcome,
        error=error,
        status=422,
    )


@bp.route("/check", methods=["POST"])
@role_required(*ROLES)
def check() -> Any:
    """The live check while typing (htmx, debounced): nothing stored."""
    session = get_session()
    text = request.form.get("text", "")
    editing = None
    item_id = parse_id(request.form.get("item_id"))
    if item_id is not None:
        editing = visible_post(session, current_user, item_id)
        if editing is None:
            abort(404, _("No such post of yours."))
        platform: str | None = editing.account.platform
    else:
        accounts = postable_accounts(session, current_user)
        wanted = parse_id(request.form.get("account_id"))
        account = next((a for a in accounts if a.id == wanted), None)
        if account is None and wanted is None and accounts:
            account = accounts[0]
        platform = account.platform if account else None
    ctx = _check_context(text, platform, editing)
    return render_template("publishing/posts/_check.html", max_chars=MAX_POST_CHARS, **ctx)


@bp.route("/<id:item_id>")
@role_required(*ROLES)
def show(item_id: int) -> Any:
    session = get_session()
    item = _post_or_404(item_id)
    return render_template(
        "publishing/posts/show.html",
        item=item,
        state=describe_state(session, item),
        reason=waiting_reason(session, item),
        versions=versions(session, item),
        version_editors=version_editors(session, item.id),
        events=history(session, "outbound", item.id),
        editable=item.state in EDITABLE,
        withdrawable=item.state in WITHDRAWABLE,
    )


@bp.route("/<id:item_id>/edit")
@role_required(*ROLES)
def edit_form(item_id: int) -> Any:
    item = _post_or_404(item_id)
    if item.state not in EDITABLE:
        flash(_("This post can no longer be changed."), "error")
        return redirect(url_for("posts.show", item_id=item.id))
    raw = ""
    if item.not_before is not None and item.not_before > utcnow():
        raw = item.not_before.strftime("%Y-%m-%dT%H:%M")
    return _composer(text=item.text, schedule_raw=raw, item=item)


@bp.route("/<id:item_id>/edit", methods=["POST"])
@role_required(*ROLES)
def edit(item_id: int) -> Any:
    """Save a new version: re-checked and re-routed; earlier versions stay on record."""
    session = get_session()
    item = _post_or_404(item_id)
    text = request.form.get("text", "")
    raw_schedule = request.form.get("schedule_at", "")[:40]
    try:
        raw_schedule, at = _schedule_from_form()
        form = PostEdit(
            text=text,
            schedule_at=at,
            confirm_warnings=request.form.get("confirm_warnings") == "yes",
            override_reason=request.form.get("override_reason", "")[:4000],
        )
        with attempt():
            result = edit_post(session, item, form, current_user)
    except UserError as exc:
        if exc.status == 409:
            flash(str(exc), "error")
            return redirect(url_for("posts.show", item_id=item_id), 303)
        return _composer(
            text=text, schedule_raw=raw_schedule, item=item, error=str(exc), status=exc.status
        )
    return _after_submit(result, text, None, raw_schedule, item)


@bp.route("/<id:item_id>/withdraw", methods=["POST"])
@role_required(*ROLES)
def withdraw(item_id: int) -> Any:
    session = get_session()
    item = _post_or_404(item_id)
    try:
        with attempt():
            withdraw_post(session, item, current_user)
    except UserError as exc:
        flash(str(exc), "error")
    else:
        flash(_("Withdrawn: it will not be posted."), "ok")
    return redirect(url_for("posts.show", item_id=item_id))
