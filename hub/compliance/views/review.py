"""Compliance's review queue: held drafts, one page each, approve, reject or edit-and-approve."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from hub.audit import history
from hub.auth import role_required
from hub.compliance.present import format_wait
from hub.compliance.review import (
    KINDS,
    MIN_OVERRIDE_REASON,
    MIN_REJECT_REASON,
    Approve,
    EditApprove,
    EditBlocked,
    QueueFilters,
    Reject,
    ReviewConflict,
    ReviewError,
    ReviewForbidden,
    ReviewOutcome,
    approve_item,
    edit_and_approve,
    list_in_review,
    queue_choices,
    reject_item,
    review_detail,
    rule_choices,
    save_two_person_rules,
    two_person_rules,
    version_editors,
)
from hub.db import attempt, get_session
from hub.i18n import _
from hub.models import OutboundItem
from hub.publishing.present import verdict_view, waiting_reason

bp = Blueprint("review", __name__, url_prefix="/review")
#: form fields longer than this are cut before the service sees them (it then reports the limit)
MAX_FIELD = 10_000


def _field(name: str) -> str:
    return request.form.get(name, "")[:MAX_FIELD]


def _item(item_id: int) -> OutboundItem:
    item = get_session().get(OutboundItem, item_id)
    if item is None:
        abort(404, _("That item does not exist."))
    return item


@bp.route("/")
@role_required("compliance")
def index() -> Any:
    """Held drafts, oldest first."""
    session = get_session()
    kind = request.args.get("kind", "")
    if kind and kind not in KINDS:
        abort(400, f"Kind must be one of: {', '.join(KINDS)}.")
    filters = QueueFilters(
        kind=kind,
        platform=request.args.get("platform", "")[:20],
        guideline=request.args.get("guideline", "")[:10],
    )
    return render_template(
        "compliance/review/index.html",
        rows=list_in_review(session, filters),
        f=filters,
        choices=queue_choices(session),
        format_wait=format_wait,
    )


def _page(
    item: OutboundItem,
    edit_text: str | None = None,
    edit_decision: Any = None,
    status: int = 200,
    form_action: str = "",
) -> Any:
    session = get_session()
    detail = review_detail(session, item)
    current = verdict_view(item.text, detail.decision)
    edit = verdict_view((edit_text or "").strip(), edit_decision)
    return render_template(
        "compliance/review/show.html",
        d=detail,
        item=item,
        reason=waiting_reason(session, item),
        pieces=current.pieces,
        findings=current.findings,
        versions=[(v, verdict_view(v.text, v).pieces) for v in detail.versions],
        version_editors=version_editors(session, item.id),
        edit_text=item.text if edit_text is None else edit_text,
        decision=edit_decision,
        edit_findings=edit.findings,
        edit_pieces=edit.pieces,
        events=history(session, "outbound", item.id),
        own=item.author_id == current_user.id,
        format_wait=format_wait,
        min_reject=MIN_REJECT_REASON,
        min_override=MIN_OVERRIDE_REASON,
        form_action=form_action,
        form_reason=_field("reason") if form_action else "",
    ), status


@bp.route("/<id:item_id>")
@role_required("compliance")
def show(item_id: int) -> Any:
    """One held draft with its findings, versions, mix and history."""
    return _page(_item(item_id))


def _done(outcome: ReviewOutcome) -> Any:
    if outcome.action == "reject":
        flash(_("Rejected; the author sees your reason on their page."), "ok")
        return redirect(url_for("review.index"))
    if outcome.released:
        flash(_("Approved and scheduled; the outbox will publish it."), "ok")
        return redirect(url_for("review.index"))
    if outcome.edited:
        flash(
            _(
                "Edit saved. You wrote part of this text now, so another reviewer has to approve "
                "it (%(done)s of %(num)s approvals).",
                done=outcome.approvals,
                num=outcome.required,
            ),
            "warn",
        )
        return redirect(url_for("review.show", item_id=outcome.item.id))
    flash(
        _(
            "Approval recorded (%(done)s of %(num)s); it needs another reviewer before it goes "
            "out.",
            done=outcome.approvals,
            num=outcome.required,
        ),
        "warn",
    )
    return redirect(url_for("review.show", item_id=outcome.item.id))


def _refused(item_id: int, exc: ReviewError) -> Any:
    """Translate a refusal: 403 for separation of duties, otherwise the page with the message."""
    if isinstance(exc, ReviewForbidden):
        raise exc
    flash(str(exc), "error")
    item = _item(item_id)
    if isinstance(exc, ReviewConflict):
        return redirect(url_for("review.show", item_id=item.id))
    return None


def _decide(item_id: int, action: str) -> Any:
    """Approve or reject with the form's reason; a refusal comes back on the item's page."""
    session = get_session()
    _item(item_id)
    reason = _field("reason")
    try:
        with attempt():
            if action == "approve":
                outcome = approve_item(session, Approve(item_id, reason), current_user)
            else:
                outcome = reject_item(session, Reject(item_id, reason), current_user)
    except ReviewError as exc:
        return _refused(item_id, exc) or _page(_item(item_id), status=422, form_action=action)
    return _done(outcome)


@bp.route("/<id:item_id>/approve", methods=["POST"])
@role_required("compliance")
def approve(item_id: int) -> Any:
    return _decide(item_id, "approve")


@bp.route("/<id:item_id>/reject", methods=["POST"])
@role_required("compliance")
def reject(item_id: int) -> Any:
    return _decide(item_id, "reject")


@bp.route("/<id:item_id>/edit", methods=["POST"])
@role_required("compliance")
def edit(item_id: int) -> Any:
    """Edit-and-approve; a blocked edit comes back with its findings and the text kept."""
    session = get_session()
    _item(item_id)
    text = _field("text")
    try:
        with attempt():
            outcome = edit_and_approve(
                session, EditApprove(item_id, text, _field("reason")), current_user
            )
    except EditBlocked as exc:
        flash(str(exc), "error")
        return _page(_item(item_id), text, exc.decision, status=422, form_action="edit")
    except ReviewError as exc:
        return _refused(item_id, exc) or _page(_item(item_id), text, status=422, form_action="edit")
    return _done(outcome)


@bp.route("/settings", methods=["GET", "POST"])
@role_required("compliance")
def settings() -> Any:
    """Which rules' findings need two distinct approvers."""
    session = get_session()
    status = 200
    chosen = two_person_rules(session)
    if request.method == "POST":
        picked = [r[:60] for r in request.form.getlist("rules")]
        try:
            with attempt():
                save_two_person_rules(session, picked, current_user)
        except ReviewForbidden:
            raise
        except ReviewError as exc:
            flash(str(exc), "error")
            chosen, status = picked, 422
        else:
            flash(_("Saved. New submissions use these rules."), "ok")
            return redirect(url_for("review.settings"))
    return render_template(
        "compliance/review/settings.html", rules=rule_choices(session), chosen=set(chosen)
    ), status
