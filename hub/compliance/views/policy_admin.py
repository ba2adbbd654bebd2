"""Policy pack management for compliance: the active pack, edits as drafts, tests, activation."""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from hub.audit import history
from hub.auth import role_required
from hub.compliance import packs
from hub.db import attempt, get_session
from hub.i18n import _, ngettext
from hub.models import PolicyPackVersion

bp = Blueprint("policy_admin", __name__, url_prefix="/policy")


def _budget_ms() -> float:
    """How long one regular expression of an edited pack may take on hostile text."""
    return float(current_app.config["POLICY_PATTERN_BUDGET_MS"])


def _version(version_id: int) -> PolicyPackVersion:
    row = get_session().get(PolicyPackVersion, version_id)
    if row is None:
        abort(404, _("That pack version does not exist."))
    return row


def _index_page(status: int = 200, errors: dict[str, str] | None = None) -> Any:
    session = get_session()
    base = packs.current_base(session)
    rows = packs.list_versions(session)
    names = packs.staff_names(session, [*rows, *([base.row] if base.row else [])])
    return render_template(
        "compliance/policy/index.html",
        base=base,
        rules=packs.rule_views(base.spec),
        mix=packs.mix_fields(base.spec),
        versions=rows,
        names=names,
        errors=errors or {},
    ), status


@bp.route("/")
@role_required("compliance")
def index() -> Any:
    return _index_page()


def _edit_page(
    base: packs.Base,
    status: int = 200,
    values: dict[str, str] | None = None,
    note: str = "",
    errors: dict[str, str] | None = None,
) -> Any:
    rule_id = request.values.get("rule", "")
    section = request.values.get("section", "")
    rules = packs.rule_views(base.spec)
    if rule_id:
        rules = [r for r in rules if r.id == rule_id]
        if not rules:
            abort(404, _("The active pack has no rule with that id."))
    if section == "mix":
        rules = []
    return render_template(
        "compliance/policy/edit.html",
        base=base,
        rules=rules,
        mix=packs.mix_fields(base.spec) if not rule_id else [],
        rule_id=rule_id,
        section=section,
        values=values or {},
        note=note,
        errors=errors or {},
    ), status


@bp.route("/edit")
@role_required("compliance")
def edit() -> Any:
    return _edit_page(packs.current_base(get_session()))


@bp.route("/edit", methods=["POST"])
@role_required("compliance")
def save() -> Any:
    session = get_session()
    values = {k: v for k, v in request.form.items() if k.startswith(("rule:", "mix:"))}
    note = request.form.get("note", "")
    edit = packs.PackEdit(values=values, note=note, base_version=request.form.get("base", ""))
    try:
        with attempt():
            result = packs.create_draft(session, edit, current_user.id, _budget_ms())
    except packs.PackError as exc:
        base = packs.current_base(session)
        if exc.status == 409:
            # the submitted values belong to another pack: show the current one, keep the note
            return _edit_page(base, 409, note=note, errors=exc.errors)
        return _edit_page(base, 422, values=values, note=note, errors=exc.errors)
    n = len(result.changes)
    flash(
        ngettext(
            "Saved draft #%(id)s (%(num)s field changed). Run its examples, then activate it.",
            "Saved draft #%(id)s (%(num)s fields changed). Run its examples, then activate it.",
            n,
            id=result.row.id,
        ),
        "ok",
    )
    return redirect(url_for("policy_admin.version", version_id=result.row.id))


def _version_page(row: PolicyPackVersion, status: int = 200, error: str = "") -> Any:
    session = get_session()
    active = packs.active_version(session)
    parent = session.get(PolicyPackVersion, row.parent_id) if row.parent_id else None
    return render_template(
        "compliance/policy/version.html",
        v=row,
        parent=parent,
        diff=packs.version_diff(session, row),
        names=packs.staff_names(session, [row]),
        problem=packs.activation_problem(row, active),
        error=error,
        events=history(session, packs.SUBJECT, row.id),
    ), status


@bp.route("/versions/<id:version_id>")
@role_required("compliance")
def version(version_id: int) -> Any:
    return _version_page(_version(version_id))


@bp.route("/versions/<id:version_id>/test", methods=["POST"])
@role_required("compliance")
def test(version_id: int) -> Any:
    session = get_session()
    row = _version(version_id)
    result = packs.run_examples(session, row, current_user.id, _budget_ms())
    if result.get("error"):
        flash(_("The examples could not run: %(error)s", error=result["error"]), "error")
    elif result.get("patterns"):
        n = len(result["patterns"])
        flash(
            ngettext(
                "%(num)s regular expression of this version could freeze every check (listed "
                "below); the examples were not run.",
                "%(num)s regular expressions of this version could freeze every check (listed "
                "below); the examples were not run.",
                n,
            ),
            "error",
        )
    elif result["failed"]:
        flash(
            _(
                "%(failed)s of %(total)s examples fail on this version.",
                failed=len(result["failed"]),
                total=result["total"],
            ),
            "error",
        )
    else:
        flash(_("All %(total)s examples pass on this version.", total=result["total"]), "ok")
    return redirect(url_for("policy_admin.version", version_id=row.id))


@bp.route("/versions/<id:version_id>/activate", methods=["POST"])
@role_required("compliance")
def activate(version_id: int) -> Any:
    session = get_session()
    _version(version_id)
    try:
        with attempt():
            row = packs.activate_version(session, version_id, current_user.id, _budget_ms())
    except packs.PackError as exc:
        return _version_page(_version(version_id), exc.status, str(exc))
    flash(
        _(
            "Version #%(id)s (%(hash)s) is now the active pack.",
            id=row.id,
            hash=row.version[:10],
        ),
        "ok",
    )
    return redirect(url_for("policy_admin.index"))


@bp.route("/revert", methods=["POST"])
@role_required("compliance")
def revert() -> Any:
    try:
        with attempt() as session:
            row = packs.revert_to_default(session, current_user.id, request.form.get("note", ""))
    except packs.PackError as exc:
        return _index_page(exc.status, exc.errors)
    flash(_("Version #%(id)s retired: the shipped default pack is active again.", id=row.id), "ok")
    return redirect(url_for("policy_admin.index"))
