"""The audit pages: chain status, retention, legal holds, exports and any item's full history."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from sqlalchemy import select

from hub.audit import (
    UI_VERIFY_LIMIT,
    chain_anchor,
    describe,
    event_count,
    history,
    known_head,
    load_last_verify,
    save_last_verify,
    verify_app_chain,
    verify_chain,
)
from hub.auth import role_required
from hub.compliance.archive import ArchiveError, export_archive
from hub.compliance.retention import (
    MAX_YEARS,
    MIN_YEARS,
    NewHold,
    RetentionError,
    create_hold,
    hold_period,
    list_holds,
    release_hold,
    retention_cutoff,
    retention_years,
    set_retention_years,
)
from hub.db import attempt, discard, get_session
from hub.errors import UserError
from hub.i18n import _, format_decimal
from hub.ids import parse_id
from hub.models import LegalHold, Mention, OutboundItem, PolicyDecision, ReviewAction, Staff

bp = Blueprint("audit", __name__, url_prefix="/audit")
#: the index page re-checks this many of the newest events on every visit
TAIL_EVENTS = 1000


class FormError(UserError):
    """Bad input on one of the audit forms; the message is for the user."""


def _day(raw: str, label: str, end: bool = False) -> datetime | None:
    """A YYYY-MM-DD field as UTC midnight (the next midnight for an inclusive end day)."""
    raw = raw.strip()
    if not raw:
        return None
    try:
        day = datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise FormError(_("%(field)s: use a date like 2024-01-31.", field=label)) from None
    return day + timedelta(days=1) if end else day


def _staff_id(raw: str) -> int | None:
    if not raw.strip():
        return None
    staff_id = parse_id(raw)
    if staff_id is None:
        raise FormError(_("Pick an employee from the list."))
    return staff_id


def _staff() -> list[Staff]:
    return list(get_session().scalars(select(Staff).order_by(Staff.name)))


def _index(status: int = 200, form: dict[str, str] | None = None) -> Any:
    session = get_session()
    now = datetime.now(UTC)
    years = retention_years(session)
    holds = list_holds(session)
    staff = _staff()
    return render_template(
        "compliance/audit/index.html",
        years=years,
        min_years=MIN_YEARS,
        max_years=MAX_YEARS,
        cutoff=retention_cutoff(now, years),
        active_holds=[h for h in holds if h.released_at is None],
        staff=staff,
        staff_names={s.id: s.name for s in staff},
        tail=verify_chain(session, last=TAIL_EVENTS),
        tail_size=TAIL_EVENTS,
        total=event_count(session),
        anchor=chain_anchor(session),
        last_verify=load_last_verify(current_app.instance_path),
        ui_verify_limit=UI_VERIFY_LIMIT,
        describe=describe,
        hold_period=hold_period,
        form=form or {},
    ), status


@bp.route("/")
@role_required("compliance")
def index() -> Any:
    return _index()


@bp.route("/retention", methods=["POST"])
@role_required("compliance")
def retention() -> Any:
    try:
        with attempt() as session:
            years = set_retention_years(
                session, request.form.get("retention_years", ""), current_user.id
            )
    except RetentionError as exc:
        flash(str(exc), "error")
        return _index(422)
    flash(_("Records are now kept for %(years)s years.", years=years), "ok")
    return redirect(url_for("audit.index"))


@bp.route("/verify", methods=["POST"])
@role_required("compliance")
def verify() -> Any:
    session = get_session()
    total = event_count(session)
    if total > UI_VERIFY_LIMIT:
        flash(
            _(
                "%(total)s events are too many to verify in the browser; run %(command)s on the "
                "server.",
                total=format_decimal(total),
                command="`hub audit verify`",
            ),
            "warn",
        )
        return redirect(url_for("audit.index"))
    discard()  # nothing written: free the request's connection during the long read below
    result = verify_app_chain(
        current_app, known_head=known_head(load_last_verify(current_app.instance_path))
    )
    save_last_verify(current_app.instance_path, result)
    flash(describe(result), "ok" if result.ok else "error")
    return redirect(url_for("audit.index"))


def _holds_page(status: int = 200, form: dict[str, str] | None = None) -> Any:
    staff = _staff()
    return render_template(
        "compliance/audit/holds.html",
        holds=list_holds(get_session()),
        staff=staff,
        staff_names={s.id: s.name for s in staff},
        hold_period=hold_period,
        form=form or {},
    ), status


@bp.route("/holds")
@role_required("compliance")
def holds() -> Any:
    return _holds_page()


@bp.route("/holds", methods=["POST"])
@role_required("compliance")
def place_hold() -> Any:
    form = {k: request.form.get(k, "") for k in ("hold_employee", "hold_from", "hold_to")}
    form["hold_reason"] = request.form.get("hold_reason", "")[:4000]
    try:
        new = NewHold(
            staff_id=_staff_id(form["hold_employee"]),
            starts_at=_day(form["hold_from"], _("From")),
            ends_at=_day(form["hold_to"], _("To"), end=True),
            reason=form["hold_reason"],
        )
        with attempt() as session:
            hold = create_hold(session, new, current_user.id)
    except (FormError, RetentionError) as exc:
        flash(str(exc), "error")
        return _holds_page(422, form)
    flash(_("Legal hold #%(id)s placed: covered records will not be purged.", id=hold.id), "ok")
    return redirect(url_for("audit.holds"))


@bp.route("/holds/<id:hold_id>/release", methods=["POST"])
@role_required("compliance")
def release(hold_id: int) -> Any:
    try:
        with attempt() as session:
            release_hold(session, hold_id, current_user.id)
    except RetentionError as exc:
        if session.get(LegalHold, hold_id) is None:
            abort(404, str(exc))
        flash(str(exc), "error")
        return redirect(url_for("audit.holds"))
    flash(_("Legal hold #%(id)s released.", id=hold_id), "ok")
    return redirect(url_for("audit.holds"))


def _download(path: Path, name: str) -> Response:
    """Stream a finished file and delete it once sent (or once the response is closed)."""

    def cleanup() -> None:
        path.unlink(missing_ok=True)

    def chunks() -> Iterator[bytes]:
        try:
            with path.open("rb") as fh:
                while chunk := fh.read(1 << 16):
                    yield chunk
        finally:
            cleanup()

    response = Response(
        chunks(),
        mimetype="application/zip",
        headers={
            "Content-Disposition": f"attachment; filename={name}",
            "Content-Length": str(path.stat().st_size),
        },
    )
    response.call_on_close(cleanup)
    return response


@bp.route("/export", methods=["POST"])
@role_required("compliance")
def export() -> Any:
    session = get_session()
    form = {k: request.form.get(k, "") for k in ("export_employee", "export_from", "export_to")}
    folder = Path(current_app.instance_path, "exports")
    folder.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="audit-", suffix=".zip", dir=folder)
    os.close(fd)
    path = Path(name)
    try:
        staff_id = _staff_id(form["export_employee"])
        start = _day(form["export_from"], _("From"))
        end = _day(form["export_to"], _("To"), end=True)
        with attempt():
            export_archive(session, path, staff_id, start, end, actor_id=current_user.id)
    except (FormError, ArchiveError) as exc:
        path.unlink(missing_ok=True)
        flash(str(exc), "error")
        return _index(422, form)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    parts = ["audit"]
    if staff_id is not None:
        parts.append(f"staff{staff_id}")
    if start:
        parts.append(f"from-{start:%Y%m%d}")
    if end:
        parts.append(f"to-{end - timedelta(days=1):%Y%m%d}")
    parts.append(datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"))
    return _download(path, "-".join(parts) + ".zip")


@bp.route("/lookup")
@role_required("compliance")
def lookup() -> Any:
    kind = request.args.get("kind", "outbound")
    ident = parse_id(request.args.get("id", "").strip().lstrip("#"), big=kind == "mention")
    if kind not in ("outbound", "mention") or ident is None:
        flash(_("Give an outbound item id or a mention id (a number)."), "error")
        return redirect(url_for("audit.index"))
    if kind == "outbound":
        return redirect(url_for("audit.outbound_history", item_id=ident))
    return redirect(url_for("audit.mention_history", mention_id=ident))


@bp.route("/items/outbound/<id:item_id>")
@role_required("compliance")
def outbound_history(item_id: int) -> Any:
    session = get_session()
    item = session.get(OutboundItem, item_id)
    if item is None:
        abort(404, f"There is no outbound item #{item_id} (it may have been purged by retention).")
    decisions = list(
        session.scalars(
            select(PolicyDecision)
            .where(PolicyDecision.outbound_id == item_id)
            .order_by(PolicyDecision.id)
        )
    )
    if item.decision_id and item.decision_id not in {d.id for d in decisions}:
        current = session.get(PolicyDecision, item.decision_id)
        if current is not None:
            decisions.append(current)
    reviews = list(
        session.scalars(
            select(ReviewAction)
            .where(ReviewAction.outbound_id == item_id)
            .order_by(ReviewAction.id)
        )
    )
    return render_template(
        "compliance/audit/item.html",
        kind="outbound",
        item=item,
        decisions=decisions,
        reviews=reviews,
        staff_names={s.id: s.name for s in _staff()},
        events=history(session, "outbound", item_id),
    )


@bp.route("/items/mention/<bigid:mention_id>")
@role_required("compliance")
def mention_history(mention_id: int) -> Any:
    session = get_session()
    mention = session.get(Mention, mention_id)
    if mention is None:
        abort(404, f"There is no mention #{mention_id}.")
    replies = list(
        session.scalars(
            select(OutboundItem)
            .where(OutboundItem.mention_id == mention_id)
            .order_by(OutboundItem.id)
        )
    )
    return render_template(
        "compliance/audit/item.html",
        kind="mention",
        item=mention,
        replies=replies,
        events=history(session, "mention", mention_id),
    )
