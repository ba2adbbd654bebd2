"""The customers pages: list and search, a profile, its changes, links, the blocklist, returns."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from hub.auth import role_required
from hub.customers import linking, profiles
from hub.customers.orders import start_return, store_for
from hub.customers.present import customer_orders, profile
from hub.db import attempt, get_session
from hub.errors import NotFound, UserError
from hub.i18n import _
from hub.ids import parse_id
from hub.models import CustomerIdentity, Mention

bp = Blueprint("customers", __name__, url_prefix="/customers")
#: who works with customers: the people who can reply
AGENTS = ("employee", "manager")


def _back(customer_id: int) -> Any:
    return redirect(url_for("customers.show", customer_id=customer_id))


@bp.route("/")
@role_required(*AGENTS)
def index() -> Any:
    query = request.args.get("q", "")[:200]
    rows = profiles.find_customers(get_session(), query)
    return render_template("customers/index.html", customers=rows, q=query)


@bp.route("/blocked")
@role_required(*AGENTS)
def blocked() -> Any:
    """Mentions from customers on the blocklist (kept, but not in the queue)."""
    rows = profiles.blocked_mentions(get_session())
    return render_template("customers/blocked.html", mentions=rows)


@bp.route("/<id:customer_id>")
@role_required(*AGENTS)
def show(customer_id: int) -> Any:
    session = get_session()
    customer = profiles.get_customer(session, customer_id)
    return render_template("customers/show.html", p=profile(session, customer))


def _change(customer_id: int, change: Any, done: str) -> Any:
    """Run one change to a customer; its refusal is flashed, its success too."""
    session = get_session()
    customer = profiles.get_customer(session, customer_id)
    try:
        with attempt():
            change(session, customer)
    except UserError as exc:
        flash(exc.message, "error")
    else:
        flash(done, "ok")
    return _back(customer_id)


@bp.route("/<id:customer_id>/tags", methods=["POST"])
@role_required(*AGENTS)
def tags(customer_id: int) -> Any:
    tag = request.form.get("tag", "")[:200]
    if request.form.get("action") == "remove":
        return _change(
            customer_id,
            lambda s, c: profiles.remove_tag(s, c, tag, current_user),
            _("Tag removed."),
        )
    return _change(
        customer_id, lambda s, c: profiles.add_tag(s, c, tag, current_user), _("Tag added.")
    )


@bp.route("/<id:customer_id>/notes", methods=["POST"])
@role_required(*AGENTS)
def notes(customer_id: int) -> Any:
    text = request.form.get("note", "")[:5000]
    return _change(
        customer_id, lambda s, c: profiles.add_note(s, c, text, current_user), _("Note added.")
    )


@bp.route("/<id:customer_id>/vip", methods=["POST"])
@role_required(*AGENTS)
def vip(customer_id: int) -> Any:
    on = request.form.get("vip") == "yes"
    return _change(
        customer_id,
        lambda s, c: profiles.set_vip(s, c, on, current_user),
        _("Marked as VIP.") if on else _("No longer VIP."),
    )


@bp.route("/<id:customer_id>/block", methods=["POST"])
@role_required(*AGENTS)
def block(customer_id: int) -> Any:
    on = request.form.get("blocked") == "yes"
    return _change(
        customer_id,
        lambda s, c: profiles.set_blocked(s, c, on, current_user),
        _("Customer blocked.") if on else _("Customer unblocked."),
    )


@bp.route("/<id:customer_id>/merge", methods=["POST"])
@role_required(*AGENTS)
def merge(customer_id: int) -> Any:
    """Link another customer to this one: the other's identities and mentions move here."""
    session = get_session()
    other = profiles.get_customer(session, parse_id(request.form.get("other")))
    why = request.form.get("why", "")[:500] or "linked by hand"
    return _change(
        customer_id,
        lambda s, c: linking.merge_customers(s, c, other, current_user, why),
        _("Customers linked."),
    )


@bp.route("/identities/<id:identity_id>/unlink", methods=["POST"])
@role_required(*AGENTS)
def unlink(identity_id: int) -> Any:
    """Give an identity (and its mentions) a customer of its own."""
    session = get_session()
    identity = session.get(CustomerIdentity, identity_id)
    if identity is None:
        raise NotFound(_("That identity does not exist."))
    old = identity.customer_id
    try:
        with attempt():
            new = linking.unlink_identity(session, identity, current_user)
    except UserError as exc:
        flash(exc.message, "error")
        return _back(old)
    flash(_("Identity unlinked into a customer of its own."), "ok")
    return _back(new.id)


@bp.route("/mentions/<bigid:mention_id>/return", methods=["POST"])
@role_required(*AGENTS)
def order_return(mention_id: int) -> Any:
    """Start a return of the mention's customer's order (the store records it)."""
    session = get_session()
    mention = session.get(Mention, mention_id)
    if mention is None or mention.customer is None:
        raise NotFound(_("That mention does not exist."))
    views = customer_orders(session, mention.customer, mention)
    number = request.form.get("order", "")[:40]
    reason = request.form.get("reason", "")[:500]
    try:
        with attempt():
            return_id = start_return(
                session, store_for(current_app), mention, views, number, reason, current_user
            )
    except UserError as exc:
        flash(exc.message, "error")
    else:
        flash(_("Return %(id)s started for order %(order)s.", id=return_id, order=number), "ok")
    return redirect(url_for("conversation.show", mention_id=mention_id))
