"""The store interface against its sandbox: lookups, the returns policy, returns recorded."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from connectors.store import OrderNotFound, Store, return_eligibility
from connectors.store.base import Order, order_numbers
from connectors.store.sandbox import SandboxShop

DEMO = Path(__file__).resolve().parents[2] / "hub" / "store_demo.json"
NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)


@pytest.fixture
def shop(tmp_path: Path) -> SandboxShop:
    return SandboxShop(DEMO, tmp_path / "store.json")


def _order(**kw: object) -> Order:
    base: dict[str, object] = dict(
        number="KF-00000001",
        handles=("a",),
        email="a@example.com",
        items=(),
        status="delivered",
        carrier="UPS",
        tracking_url="",
        placed_at=NOW - timedelta(days=10),
        delivered_at=NOW - timedelta(days=5),
        returns=(),
    )
    base.update(kw)
    return Order(**base)  # type: ignore[arg-type]


def test_the_sandbox_is_a_store(shop: SandboxShop) -> None:
    assert isinstance(shop, Store)


@pytest.mark.parametrize(
    ("overrides", "eligible", "reason"),
    [
        ({}, True, "ok"),
        ({"delivered_at": None, "status": "shipped"}, False, "not_delivered"),
        ({"delivered_at": NOW - timedelta(days=365)}, True, "ok"),
        ({"delivered_at": NOW - timedelta(days=366)}, False, "expired"),
        ({"returns": ("R-1",)}, False, "already_returned"),
    ],
)
def test_the_365_day_free_returns_policy(
    overrides: dict[str, object], eligible: bool, reason: str
) -> None:
    verdict = return_eligibility(_order(**overrides), NOW)
    assert (verdict.eligible, verdict.reason) == (eligible, reason)


@pytest.mark.parametrize(
    ("query", "numbers"),
    [
        ({"order_numbers": ["KF-20481736"]}, ["KF-20481736"]),
        ({"order_numbers": ["kf-20481736"]}, ["KF-20481736"]),
        ({"handles": ["@Dana_Kruger"]}, ["KF-20481736", "KF-19027455"]),
        ({"handles": ["danakruger.bsky.social"]}, ["KF-20481736"]),
        ({"emails": ["Dana.Kruger@example.com"]}, ["KF-20481736", "KF-19027455"]),
        ({"emails": [""], "handles": ["nobody"]}, []),
    ],
)
def test_orders_are_found_by_any_identifier_newest_first(
    shop: SandboxShop, query: dict[str, list[str]], numbers: list[str]
) -> None:
    assert [o.number for o in shop.orders_for(**query)] == numbers


def test_an_order_has_items_tracking_and_dates(shop: SandboxShop) -> None:
    order = shop.order("KF-20481736")
    assert order.items[0].sku == "KS-RUN-1001" and order.items[0].name == "Kestrel Cirrus Runner"
    assert order.status == "delivered" and order.tracking_url.startswith("https://")
    assert order.delivered_at is not None and order.delivered_at > order.placed_at
    with pytest.raises(OrderNotFound):
        shop.order("KF-99999999")


def test_a_return_is_recorded_and_cannot_be_started_twice(
    shop: SandboxShop, tmp_path: Path
) -> None:
    result = shop.start_return("KF-20481736", [], "too small")
    assert result.accepted and result.return_id and result.label_url
    # a fresh object on the same file sees it: the return is persisted
    again = SandboxShop(DEMO, tmp_path / "store.json")
    assert again.order("KF-20481736").returns == (result.return_id,)
    assert [r["items"] for r in again.returns()] == [["KS-RUN-1001"]]
    second = again.start_return("KF-20481736", [], "too small")
    assert (second.accepted, second.reason) == (False, "already_returned")
    state = json.loads((tmp_path / "store.json").read_text())
    assert len(state["returns"]) == 1


@pytest.mark.parametrize(
    ("number", "items", "reason"),
    [
        ("KF-19027455", [], "expired"),  # delivered 415 days ago
        ("KF-20517290", [], "not_delivered"),  # still in transit
        ("KF-20398814", ["KS-NOT-0000"], "no_items"),
    ],
)
def test_a_return_the_policy_refuses_is_not_recorded(
    shop: SandboxShop, number: str, items: list[str], reason: str
) -> None:
    result = shop.start_return(number, items, "changed my mind")
    assert (result.accepted, result.reason) == (False, reason)
    assert shop.returns() == []


def test_an_unknown_order_cannot_be_returned(shop: SandboxShop) -> None:
    with pytest.raises(OrderNotFound):
        shop.start_return("KF-00000000", [], "x")


def test_dates_are_fixed_when_the_shop_first_opens(shop: SandboxShop) -> None:
    first = shop.order("KF-20481736").placed_at
    assert shop.order("KF-20481736").placed_at == first


def test_order_numbers_are_read_from_text() -> None:
    text = "order KF-20481736 and kf-1 and KF-20481736 again, KF-123456789"
    assert order_numbers(text) == ["KF-20481736"]
