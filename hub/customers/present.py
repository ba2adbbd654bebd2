"""View models of the customers wing: the profile page and the mention page's sidebar."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from hub.customers.facts import Fact, customer_facts
from hub.customers.linking import Suggestion, suggest_links
from hub.customers.orders import OrderView, orders_for_customer, store_for
from hub.customers.profiles import mention_history, notes_of
from hub.models import Customer, CustomerNote, Mention


@dataclass(frozen=True)
class Profile:
    customer: Customer
    facts: list[Fact]
    notes: list[CustomerNote]
    history: list[Mention]
    orders: list[OrderView]
    suggestions: list[Suggestion]


@dataclass(frozen=True)
class Panel:
    """The mention page's customer sidebar."""

    customer: Customer
    facts: list[Fact]
    orders: list[OrderView]


def customer_orders(
    session: Session,
    customer: Customer,
    mention: Mention | None = None,
    facts: list[Fact] | None = None,
) -> list[OrderView]:
    """The customer's orders from the hub's store."""
    facts = customer_facts(session, customer.id) if facts is None else facts
    handles = [i.handle for i in customer.identities]
    return orders_for_customer(store_for(current_app), handles, facts, mention)


def profile(session: Session, customer: Customer) -> Profile:
    """Everything the profile page shows."""
    facts = customer_facts(session, customer.id)
    return Profile(
        customer,
        facts,
        notes_of(session, customer.id),
        mention_history(session, customer.id),
        customer_orders(session, customer, facts=facts),
        suggest_links(session, customer),
    )


def customer_panel(session: Session, mention: Mention) -> Panel | None:
    """The sidebar of a mention's page: who wrote it, what they told us, their orders."""
    if mention.customer is None:
        return None
    facts = customer_facts(session, mention.customer.id)
    return Panel(
        mention.customer, facts, customer_orders(session, mention.customer, mention, facts)
    )


def profile_document(session: Session, customer: Customer) -> dict[str, Any]:
    """The profile as plain data (``hub customer show --json``)."""
    p = profile(session, customer)
    return {
        "id": customer.id,
        "display_name": customer.display_name,
        "identities": [
            {"platform": i.platform, "handle": i.handle, "followers": i.followers}
            for i in customer.identities
        ],
        "tags": list(customer.tags),
        "notes": [
            {
                "text": n.text,
                "author": n.author.name if n.author else None,
                "at": n.created_at.isoformat(),
            }
            for n in p.notes
        ],
        "vip": customer.vip,
        "blocked": customer.blocked,
        "facts": [
            {
                "kind": f.kind,
                "value": f.value,
                "mention_id": f.mention_id,
                "at": f.at.isoformat() if f.at else None,
            }
            for f in p.facts
        ],
        "orders": [
            {
                "number": v.order.number,
                "status": v.order.status,
                "items": [
                    {"sku": i.sku, "name": i.name, "quantity": i.quantity} for i in v.order.items
                ],
                "tracking_url": v.order.tracking_url,
                "returnable": v.eligibility.eligible,
                "returns": list(v.order.returns),
            }
            for v in p.orders
        ],
        "mentions": [m.id for m in p.history],
    }
