"""Keys handed out before insert (hub.db.reserve_ids): two writers never get the same ones."""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import func, select

from hub.db import reserve_ids
from hub.models import Customer, utcnow


def _customers(session: Any, ids: list[int], name: str) -> None:
    session.add_all(
        Customer(id=i, display_name=name, tags=[], vip=False, blocked=False, created_at=utcnow())
        for i in ids
    )
    session.flush()


def test_two_writers_reserve_disjoint_keys(app):
    factory = app.extensions["hub.sessionmaker"]
    out: dict[str, Any] = {}

    def second() -> None:
        try:
            with factory() as b:
                out["b"] = reserve_ids(b, Customer, 3)
                _customers(b, out["b"], "second")
                b.commit()
        except Exception as exc:  # reported below, in the test's thread
            out["error"] = exc

    with factory() as a:
        first = reserve_ids(a, Customer, 3)
        _customers(a, first, "first")
        worker = threading.Thread(target=second)
        worker.start()
        time.sleep(0.5)  # the second writer reserves while the first has not committed
        a.commit()
    worker.join(30)
    assert "error" not in out, out.get("error")
    assert len(first) == len(out["b"]) == 3
    assert not set(first) & set(out["b"])
    with factory() as s:
        assert s.scalar(select(func.count()).select_from(Customer)) == 6


def test_reserving_nothing_reads_nothing(session):
    assert reserve_ids(session, Customer, 0) == []


def test_reserved_keys_follow_the_stored_ones(session):
    _customers(session, reserve_ids(session, Customer, 2), "x")
    session.commit()
    top = session.scalar(select(func.max(Customer.id)))
    nxt = reserve_ids(session, Customer, 2)
    assert min(nxt) > top and len(set(nxt)) == 2
