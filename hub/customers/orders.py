"""A customer's orders through the store connector, and returns started from a mention."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path

from flask import Flask
from sqlalchemy.orm import Session

from connectors.store import Order, OrderNotFound, Store, StoreError, return_eligibility
from connectors.store.base import Eligibility, order_numbers
from connectors.store.sandbox import SandboxShop
from hub.audit import record_event
from hub.customers.facts import Fact
from hub.errors import NotFound, UserError
from hub.i18n import _
from hub.models import Mention, Staff, utcnow

#: the sandbox shop's memory, in the instance folder
STATE_FILE = "store-sandbox.json"
MAX_REASON = 500


@dataclass(frozen=True)
class OrderView:
    order: Order
    eligibility: Eligibility
    #: how it was found: "mention" (its number is in this mention) or "customer"
    matched: str


def store_for(app: Flask) -> Store:
    """The store the hub asks: the sandbox shop with the demo's orders."""
    orders = Path(str(resources.files("hub").joinpath("store_demo.json")))
    return SandboxShop(orders, Path(app.instance_path) / STATE_FILE)


def orders_for_customer(
    store: Store,
    handles: list[str],
    facts: list[Fact],
    mention: Mention | None = None,
    now: datetime | None = None,
) -> list[OrderView]:
    """Orders by an order number in the mention, or by the customer's handles, e-mails and the
    order numbers they gave before; the mention's own orders first."""
    now = now or utcnow()
    in_mention = set(order_numbers(mention.text)) if mention else set()
    numbers = in_mention | {f.value for f in facts if f.kind == "order"}
    emails = [f.value for f in facts if f.kind == "email"]
    try:
        found = store.orders_for(emails=emails, handles=handles, order_numbers=numbers)
    except StoreError:
        return []
    views = [
        OrderView(
            o, return_eligibility(o, now), "mention" if o.number in in_mention else "customer"
        )
        for o in found
    ]
    return sorted(views, key=lambda v: v.matched != "mention")


def start_return(
    session: Session,
    store: Store,
    mention: Mention,
    views: list[OrderView],
    order_number: str,
    reason: str,
    actor: Staff,
) -> str:
    """Start a return of an order this mention's customer placed; the return's id. Refused
    (UserError) when the order is not theirs or the policy does not allow it."""
    if not any(v.order.number == order_number for v in views):
        raise NotFound(_("That order is not this customer's."))
    try:
        result = store.start_return(order_number, [], reason.strip()[:MAX_REASON])
    except OrderNotFound as exc:
        raise NotFound(_("The store does not know that order.")) from exc
    except StoreError as exc:
        raise UserError(_("The store did not answer; try again."), status=503) from exc
    if not result.accepted or result.return_id is None:
        raise UserError(refusal(result.reason), status=409)
    record_event(
        session,
        "order.return_started",
        "mention",
        mention.id,
        actor.id,
        order=order_number,
        return_id=result.return_id,
        customer=mention.customer_id,
        why=reason.strip()[:MAX_REASON],
    )
    return result.return_id


def refusal(reason: str) -> str:
    """Why the store refused a return, for the person."""
    words = {
        "not_delivered": _("This order has not been delivered yet; it cannot be returned."),
        "expired": _("This order was delivered more than 365 days ago; free returns have ended."),
        "already_returned": _("A return was already started for this order."),
        "no_items": _("Nothing in this order can be returned."),
    }
    return str(words.get(reason, _("The store refused the return.")))
