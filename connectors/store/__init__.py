"""Stores the hub can look orders up in and start returns with (a library: never imports hub)."""

from connectors.store.base import (
    RETURN_DAYS,
    Order,
    OrderItem,
    OrderNotFound,
    ReturnResult,
    Store,
    StoreError,
    return_eligibility,
)

__all__ = [
    "RETURN_DAYS",
    "Order",
    "OrderItem",
    "OrderNotFound",
    "ReturnResult",
    "Store",
    "StoreError",
    "return_eligibility",
]
