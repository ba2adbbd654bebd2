"""Settings → Webhooks (admins only): endpoints, their secrets, a test ping and the delivery log."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from hub.auth import role_required
from hub.db import attempt, get_session
from hub.i18n import _
from hub.ids import parse_id
from hub.models import DeliveryState, WebhookDelivery, WebhookEndpoint
from hub.webhooks.endpoints import (
    LOG_PAGE,
    EndpointInput,
    WebhookError,
    add_endpoint,
    delivery_log,
    edit_endpoint,
    endpoints,
    queue_ping,
    redeliver,
    rotate_secret,
    set_endpoint_active,
)
from hub.webhooks.events import EVENT_TYPES

bp = Blueprint("webhooks", __name__, url_prefix="/admin/webhooks")


def _endpoint(endpoint_id: int) -> WebhookEndpoint:
    row = get_session().get(WebhookEndpoint, endpoint_id)
    if row is None:
        abort(404, _("That webhook does not exist."))
    return row


def _input() -> EndpointInput:
    return EndpointInput(
        url=request.form.get("url", ""),
        events=tuple(request.form.getlist("events")),
        description=request.form.get("description", ""),
    )


def _index(
    status: int = 200,
    form: EndpointInput | None = None,
    errors: dict[str, str] | None = None,
    secret: tuple[WebhookEndpoint, str] | None = None,
) -> Any:
    return render_template(
        "webhooks/index.html",
        endpoints=endpoints(get_session()),
        event_types=EVENT_TYPES,
        form=form or EndpointInput("", ()),
        errors=errors or {},
        secret=secret,
    ), status


@bp.route("/")
@role_required("admin")
def index() -> Any:
    return _index()


@bp.route("/", methods=["POST"])
@role_required("admin")
def create() -> Any:
    new = _input()
    try:
        with attempt() as session:
            endpoint, secret = add_endpoint(session, current_app, new, current_user.id)
    except WebhookError as exc:
        return _index(422, new, exc.errors)
    # the secret is shown on this page only: never in a flash (the session cookie) or a URL
    return _index(200, secret=(endpoint, secret))


@bp.route("/<id:endpoint_id>")
@role_required("admin")
def edit(endpoint_id: int) -> Any:
    row = _endpoint(endpoint_id)
    form = EndpointInput(row.url, tuple(row.events or ()), row.description)
    return render_template(
        "webhooks/edit.html", endpoint=row, form=form, errors={}, event_types=EVENT_TYPES
    )


@bp.route("/<id:endpoint_id>", methods=["POST"])
@role_required("admin")
def save(endpoint_id: int) -> Any:
    row = _endpoint(endpoint_id)
    new = _input()
    try:
        with attempt() as session:
            edit_endpoint(session, current_app, row, new, current_user.id)
    except WebhookError as exc:
        return render_template(
            "webhooks/edit.html",
            endpoint=row,
            form=new,
            errors=exc.errors,
            event_types=EVENT_TYPES,
        ), 422
    flash(_("Saved the webhook."), "ok")
    return redirect(url_for("webhooks.index"))


@bp.route("/<id:endpoint_id>/active", methods=["POST"])
@role_required("admin")
def active(endpoint_id: int) -> Any:
    row = _endpoint(endpoint_id)
    set_endpoint_active(get_session(), row, request.form.get("active") == "1", current_user.id)
    flash(_("The webhook is on.") if row.active else _("The webhook is off."), "ok")
    return redirect(url_for("webhooks.index"))


@bp.route("/<id:endpoint_id>/rotate", methods=["POST"])
@role_required("admin")
def rotate(endpoint_id: int) -> Any:
    row = _endpoint(endpoint_id)
    secret = rotate_secret(get_session(), current_app, row, current_user.id)
    return _index(200, secret=(row, secret))


@bp.route("/<id:endpoint_id>/ping", methods=["POST"])
@role_required("admin")
def ping(endpoint_id: int) -> Any:
    row = _endpoint(endpoint_id)
    queue_ping(get_session(), row, current_user.id)
    flash(_("A test ping is on its way; the delivery log shows how it went."), "ok")
    return redirect(url_for("webhooks.deliveries", receiver=row.id))


@bp.route("/deliveries")
@role_required("admin")
def deliveries() -> Any:
    endpoint_id = parse_id(request.args.get("receiver"))
    state = request.args.get("state") or None
    before = parse_id(request.args.get("before"), big=True)
    rows = delivery_log(get_session(), endpoint_id, state, before)
    return render_template(
        "webhooks/deliveries.html",
        rows=rows,
        endpoints=endpoints(get_session()),
        endpoint_id=endpoint_id,
        state=state if state in tuple(DeliveryState) else None,
        states=tuple(DeliveryState),
        DeliveryState=DeliveryState,
        more=rows[-1].id if len(rows) == LOG_PAGE else None,
    )


@bp.route("/deliveries/<bigid:delivery_id>/redeliver", methods=["POST"])
@role_required("admin")
def redeliver_one(delivery_id: int) -> Any:
    row = get_session().get(WebhookDelivery, delivery_id)
    if row is None:
        abort(404, _("That delivery does not exist."))
    redeliver(get_session(), row, current_user.id)
    flash(_("The delivery will be sent again (same event id)."), "ok")
    return redirect(url_for("webhooks.deliveries", receiver=row.endpoint_id))
