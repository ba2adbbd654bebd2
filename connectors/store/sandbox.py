"""A store for the demo and the tests: orders from a JSON file, returns kept in a JSON file.

The orders file holds ``{"orders": [...]}``; each order gives its dates as days before now
(``placed_days_ago``, ``delivered_days_ago``) so a demo loaded today has recent orders, and the
dates are fixed the first time the state file is written. Returns started are appended to the
state file (under the hub's instance folder), written atomically under a lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from connectors.store.base import (
    Order,
    OrderItem,
    OrderNotFound,
    ReturnResult,
    Store,
    return_eligibility,
)


def _now() -> datetime:
    return datetime.now(UTC)


def _handle_key(handle: str) -> str:
    return handle.lstrip("@").casefold()


class SandboxShop(Store):
    """The demo shop: ``orders_file`` is the catalogue of orders, ``state_file`` its memory."""

    def __init__(self, orders_file: Path | str, state_file: Path | str) -> None:
        self.orders_file = Path(orders_file)
        self.state_file = Path(state_file)

    @contextmanager
    def _state(self, write: bool = False) -> Iterator[dict[str, Any]]:
        """The state under a file lock; with ``write`` it is saved (atomically) afterwards."""
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.state_file.with_suffix(self.state_file.suffix + ".lock")
        with open(lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            state = self._read()
            created = "orders" not in state
            if created:
                state = {"orders": self._seed(), "returns": []}
            yield state
            if write or created:
                tmp = self.state_file.with_suffix(".tmp")
                tmp.write_text(json.dumps(state, indent=1, ensure_ascii=False), "utf-8")
                os.replace(tmp, self.state_file)

    def _read(self) -> dict[str, Any]:
        if not self.state_file.exists():
            return {}
        data = json.loads(self.state_file.read_text("utf-8"))
        return data if isinstance(data, dict) else {}

    def _seed(self) -> list[dict[str, Any]]:
        """The orders file with its relative dates made absolute."""
        now = _now()
        orders = json.loads(self.orders_file.read_text("utf-8"))["orders"]
        out = []
        for o in orders:
            row = {k: v for k, v in o.items() if not k.endswith("_days_ago")}
            row["placed_at"] = (now - timedelta(days=o["placed_days_ago"])).isoformat()
            delivered = o.get("delivered_days_ago")
            row["delivered_at"] = (
                (now - timedelta(days=delivered)).isoformat() if delivered is not None else None
            )
            out.append(row)
        return out

    @staticmethod
    def _order(row: dict[str, Any], returns: list[dict[str, Any]]) -> Order:
        return Order(
            number=row["number"],
            handles=tuple(row.get("handles", [])),
            email=row.get("email", ""),
            items=tuple(
                OrderItem(i["sku"], i["name"], int(i.get("quantity", 1))) for i in row["items"]
            ),
            status=row["status"],
            carrier=row.get("carrier", ""),
            tracking_url=row.get("tracking_url", ""),
            placed_at=datetime.fromisoformat(row["placed_at"]),
            delivered_at=(
                datetime.fromisoformat(row["delivered_at"]) if row.get("delivered_at") else None
            ),
            returns=tuple(r["id"] for r in returns if r["order_number"] == row["number"]),
        )

    def orders_for(
        self,
        emails: Iterable[str] = (),
        handles: Iterable[str] = (),
        order_numbers: Iterable[str] = (),
    ) -> list[Order]:
        """Orders matching any e-mail, handle or number, newest first."""
        mails = {e.casefold() for e in emails}
        names = {_handle_key(h) for h in handles}
        numbers = {n.upper() for n in order_numbers}
        with self._state() as state:
            found = [
                self._order(o, state["returns"])
                for o in state["orders"]
                if o["number"].upper() in numbers
                or (o.get("email", "").casefold() in mails and o.get("email"))
                or names & {_handle_key(h) for h in o.get("handles", [])}
            ]
        return sorted(found, key=lambda o: o.placed_at, reverse=True)

    def order(self, order_number: str) -> Order:
        """One order by number; OrderNotFound when there is none."""
        with self._state() as state:
            for o in state["orders"]:
                if o["number"].upper() == order_number.strip().upper():
                    return self._order(o, state["returns"])
        raise OrderNotFound(order_number)

    def start_return(
        self, order_number: str, items: Iterable[str], reason: str, now: datetime | None = None
    ) -> ReturnResult:
        """Record a return when the policy allows it; refuse (with the reason) when not."""
        now = now or _now()
        skus = list(items)
        with self._state(write=True) as state:
            row = next(
                (o for o in state["orders"] if o["number"].upper() == order_number.upper()), None
            )
            if row is None:
                raise OrderNotFound(order_number)
            order = self._order(row, state["returns"])
            verdict = return_eligibility(order, now)
            if not verdict.eligible:
                return ReturnResult(False, order.number, reason=verdict.reason)
            known = {i.sku for i in order.items}
            chosen = [s for s in skus if s in known] if skus else sorted(known)
            if not chosen:
                return ReturnResult(False, order.number, reason="no_items")
            return_id = f"R-{secrets.token_hex(4).upper()}"
            state["returns"].append(
                {
                    "id": return_id,
                    "order_number": order.number,
                    "items": chosen,
                    "reason": reason[:500],
                    "at": now.isoformat(),
                }
            )
        return ReturnResult(
            True,
            order.number,
            return_id=return_id,
            label_url=f"https://returns.kestrelfootwear.example/{return_id}",
        )

    def returns(self) -> list[dict[str, Any]]:
        """Every return recorded (sandbox only: for tests and the demo)."""
        with self._state() as state:
            return list(state["returns"])
