"""The store interface: what the hub needs from a shop system (orders and returns).

A real store (Shopify, a warehouse system) implements :class:`Store`; the demo and the tests use
``connectors.store.sandbox.SandboxShop``. Everything in and out is our dataclasses; a store's own
objects never leave its module.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

#: the company's policy: free returns within this many days of delivery
RETURN_DAYS = 365
#: a Kestrel order number as customers write it ("KF-20481736", "kf-20481736")
ORDER_NUMBER = re.compile(r"\bKF-\d{8}\b", re.IGNORECASE)


class StoreError(Exception):
    """The store could not answer (down, refused); the caller shows it and may retry."""


class OrderNotFound(StoreError):
    """No order with that number."""


@dataclass(frozen=True)
class OrderItem:
    sku: str
    name: str
    quantity: int = 1


@dataclass(frozen=True)
class Order:
    number: str
    #: the customer's handles on the platforms they wrote from, as the shop knows them
    handles: tuple[str, ...]
    email: str
    items: tuple[OrderItem, ...]
    #: placed, shipped or delivered
    status: str
    carrier: str
    tracking_url: str
    placed_at: datetime
    delivered_at: datetime | None
    #: returns already started for this order (their ids)
    returns: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Eligibility:
    """Whether an order can be returned now, why not, and until when."""

    eligible: bool
    #: "ok", "not_delivered", "expired" or "already_returned"
    reason: str
    until: datetime | None


@dataclass(frozen=True)
class ReturnResult:
    """What the store made of a return request: accepted with its id, or refused and why."""

    accepted: bool
    order_number: str
    return_id: str | None = None
    #: the eligibility reason when refused ("not_delivered", "expired", "already_returned",
    #: "no_items")
    reason: str = "ok"
    label_url: str = ""


def return_eligibility(order: Order, now: datetime) -> Eligibility:
    """The free-returns policy: delivered, within RETURN_DAYS of delivery, not returned yet."""
    if order.delivered_at is None:
        return Eligibility(False, "not_delivered", None)
    until = order.delivered_at + timedelta(days=RETURN_DAYS)
    if order.returns:
        return Eligibility(False, "already_returned", until)
    if now > until:
        return Eligibility(False, "expired", until)
    return Eligibility(True, "ok", until)


def order_numbers(text: str) -> list[str]:
    """The order numbers written in a text, in order, without repeats."""
    return list(dict.fromkeys(n.upper() for n in ORDER_NUMBER.findall(text)))


class Store(ABC):
    """A shop the hub can ask about orders and start returns with."""

    @abstractmethod
    def orders_for(
        self,
        emails: Iterable[str] = (),
        handles: Iterable[str] = (),
        order_numbers: Iterable[str] = (),
    ) -> list[Order]:
        """Orders matching any of the identifiers, newest first."""

    @abstractmethod
    def order(self, order_number: str) -> Order:
        """One order; raises OrderNotFound."""

    @abstractmethod
    def start_return(
        self, order_number: str, items: Iterable[str], reason: str, now: datetime | None = None
    ) -> ReturnResult:
        """Start a return of ``items`` (skus; empty = the whole order); refused when the policy
        does not allow it. Raises OrderNotFound."""
