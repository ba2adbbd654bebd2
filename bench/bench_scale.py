"""Benchmark: the queue and conversation pages in a hub holding a million mentions.

Seeds a throwaway database (SQLite, or PostgreSQL with --postgresql) migrated with the real
migrations and loaded with the demo company, then ``--rows`` mentions (default 1,000,000) from
200,000 customers over a year: about 3% still need action (new, open, escalated), 2% wait on the
customer, the rest are closed; two in five follow up on an earlier mention of their thread. Then,
signed in through the test client, it times (p50/p95 over ``--requests``):

- the manager's queue (all teams), an employee's queue (their teams), the queue filtered by
  language and by priority, the second page, and the conversation page of an active mention;
- the baseline: a bare Flask page (a constant string) served by the same app, in the same run.

Then it ingests ``--ingest`` mentions of the stream into the big hub, against a raw INSERT of
the same rows (see ``ingest_at_scale``).

``--keep DIR`` seeds into DIR/bench.db once and reuses it on the next run (SQLite only), for
profiling. Figures go to bench/results.json under "scale_sqlite" / "scale_postgresql".
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from results import record  # noqa: E402
from scratch import (  # noqa: E402
    PG_ADMIN_URL,
    as_mentions,
    scratch_app,
    scratch_database,
    stream_rows,
)
from sqlalchemy import create_engine, func, insert, select, text  # noqa: E402

from hub.db import job_session, refresh_statistics  # noqa: E402
from hub.models import Customer, CustomerIdentity, Mention, Staff, Team  # noqa: E402

PASSWORD = "correct horse battery 9"


def seed(app: Any, n: int, seed_value: int = 7) -> None:
    """``n`` mentions by 200,000 customers, the oldest a year back, in batches of 20,000."""
    rng = random.Random(seed_value)
    now = datetime.now(UTC)
    n_customers = min(200_000, max(1, n // 5))
    with job_session(app) as s:
        team_ids = list(s.scalars(select(Team.id)))
        staff_ids = list(s.scalars(select(Staff.id)))
        first = int(s.scalar(select(func.coalesce(func.max(Customer.id), 0))) or 0) + 1
        for start in range(0, n_customers, 20_000):
            ids = range(first + start, first + min(n_customers, start + 20_000))
            s.execute(
                insert(Customer),
                [
                    {
                        "id": i,
                        "display_name": f"Customer {i}",
                        "tags": [],
                        "vip": i % 500 == 0,
                        "blocked": i % 2000 == 0,
                        "created_at": now,
                    }
                    for i in ids
                ],
            )
            s.execute(
                insert(CustomerIdentity),
                [
                    {
                        "customer_id": i,
                        "platform": "sandbox",
                        "platform_user_id": f"u{i}",
                        "handle": f"cust{i}",
                        "followers": rng.randint(0, 5000),
                    }
                    for i in ids
                ],
            )
        if s.get_bind().dialect.name == "postgresql":
            # the ids above were given, not drawn: move the sequence past them for ingest
            seq = "pg_get_serial_sequence('customers', 'id')"
            s.execute(text(f"SELECT setval({seq}, max(id)) FROM customers"))
    step = timedelta(days=365) / n
    batch: list[dict[str, Any]] = []
    langs = ("en",) * 7 + ("es", "es", "zh")
    for i in range(n):
        received = now - timedelta(days=365) + step * i
        age = now - received
        r = rng.random()
        if age < timedelta(days=3) and r < 0.6 or r < 0.015:
            status = rng.choice(("new", "new", "open", "escalated"))
        elif r < 0.04:
            status = "pending"
        else:
            status = "closed"
        cust = first + rng.randrange(n_customers)
        follow = i > 10 and rng.random() < 0.4
        root = f"s{rng.randrange(max(1, i - 5000), i)}" if follow else None
        prio = rng.choices(("p1", "p2", "p3"), (1, 3, 6))[0]
        batch.append(
            {
                "platform": "sandbox",
                "external_id": f"s{i}",
                "customer_id": cust,
                "author_handle": f"cust{cust - first}",
                "author_name": "",
                "text": f"@KestrelFootwear where is my order {i}? it was due last week",
                "kind": "reply" if follow else "mention",
                "url": "",
                "created_at": received,
                "received_at": received,
                "in_reply_to_external_id": root,
                "thread_root_external_id": root,
                "reply_ref": {},
                "language": rng.choice(langs),
                "team_id": rng.choice(team_ids),
                "assignee_id": rng.choice(staff_ids) if status != "new" else None,
                "status": status,
                "priority": prio,
                "first_response_due_at": received + timedelta(hours=(1, 4, 8)[int(prio[1]) - 1]),
                "first_response_at": received + timedelta(minutes=30)
                if status in ("pending", "closed")
                else None,
                "attributes": {"intent": "question"},
                "tags": ["refund"] if i % 13 == 0 else [],
                "routing_why": {},
                "problems": [],
                "raw": {},
            }
        )
        if len(batch) == 20_000 or i == n - 1:
            with job_session(app) as s:
                s.execute(insert(Mention), batch)
            batch = []


PG_URL = PG_ADMIN_URL.rsplit("/", 1)[0] + "/"


def _ensure_pg(name: str) -> None:
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def _pg_seeded(name: str) -> bool:
    engine = create_engine(PG_URL + name)
    with engine.connect() as conn:
        seeded = bool(conn.scalar(text("SELECT to_regclass('mentions') IS NOT NULL")))
        if seeded:
            seeded = bool(conn.scalar(text("SELECT EXISTS (SELECT 1 FROM mentions)")))
    engine.dispose()
    return seeded


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """p50 and p95 milliseconds of ``repeat`` calls, after two warm-up calls."""
    fn()
    fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--postgresql", action="store_true")
    parser.add_argument("--ingest", type=int, default=2000, help="stream mentions to ingest")
    parser.add_argument("--pg-name", help="seed this PostgreSQL database once and keep it")
    parser.add_argument("--keep", type=Path, help="seed into this directory once (SQLite)")
    args = parser.parse_args()
    from hub.auth import create_staff
    from hub.demo import load_demo

    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = args.keep or Path(tmpdir)
        tmp.mkdir(parents=True, exist_ok=True)
        if args.pg_name:
            args.postgresql = True
            _ensure_pg(args.pg_name)
        reuse = (
            _pg_seeded(args.pg_name)
            if args.pg_name
            else args.keep is not None and (tmp / "bench.db").exists() and not args.postgresql
        )
        database = (
            nullcontext(PG_URL + args.pg_name)
            if args.pg_name
            else scratch_database(args.postgresql, tmp)
        )
        with database as url:
            # migrated on every run: a kept database may predate the newest migration
            app = scratch_app(url, tmp, WTF_CSRF_ENABLED=False)

            @app.get("/bench-bare")
            def bare() -> str:
                return "ok"

            engine = app.extensions["hub.engine"]
            if not reuse:
                t = time.perf_counter()
                with job_session(app) as s:
                    load_demo(s, app, tmp / "pw.txt")
                    create_staff(s, "m@bench.test", "Morgan", "manager", PASSWORD)
                    team = s.scalar(select(Team.id).order_by(Team.id))
                    create_staff(s, "e@bench.test", "Eve", "employee", PASSWORD, team_id=team)
                seed(app, args.rows)
                print(f"seeded {args.rows:,} mentions in {time.perf_counter() - t:.0f} s")
            # as the hub's scheduler does every minute ("statistics" job)
            refresh_statistics(engine)
            with job_session(app) as s:
                active = list(
                    s.scalars(
                        select(Mention.id)
                        .where(Mention.status == "open")
                        .where(Mention.thread_root_external_id.is_not(None))
                        .limit(50)
                    )
                )
            figures: dict[str, Any] = {"rows": args.rows}
            manager, employee = app.test_client(), app.test_client()
            for client, email in ((manager, "m@bench.test"), (employee, "e@bench.test")):
                resp = client.post("/login", data={"email": email, "password": PASSWORD})
                assert resp.status_code == 302, resp.status_code

            def get(client: Any, url: str) -> Callable[[], None]:
                def call() -> None:
                    resp = client.get(url)
                    assert resp.status_code == 200, (url, resp.status_code)

                return call

            page2 = manager.get("/queue").text
            import re

            more = re.search(r'href="(/queue\?[^"]*after=[^"]+)"', page2)
            pages = {
                "bare flask page": get(manager, "/bench-bare"),
                "queue, manager (all teams)": get(manager, "/queue"),
                "queue, employee (own teams)": get(employee, "/queue"),
                "queue, language=es": get(manager, "/queue?language=es"),
                "queue, priority=p1": get(manager, "/queue?priority=p1"),
                "queue, closed": get(manager, "/queue?status=closed"),
            }
            if more:
                pages["queue, second page"] = get(manager, more.group(1).replace("&amp;", "&"))
            ids = iter(active * 10)
            pages["conversation page"] = lambda: get(manager, f"/mentions/{next(ids)}")()
            backend = "PostgreSQL" if args.postgresql else "SQLite"
            print(f"{backend}, {args.rows:,} mentions, {args.requests} requests each")
            base_p50, _base_p95 = timed(pages.pop("bare flask page"), args.requests)
            print(f"  {'bare flask page':32} p50 {base_p50:8.2f} ms")
            figures["bare_p50_ms"] = round(base_p50, 3)
            for name, fn in pages.items():
                p50, p95 = timed(fn, args.requests)
                print(
                    f"  {name:32} p50 {p50:8.2f} ms  p95 {p95:8.2f} ms"
                    f"  ({p50 / base_p50:6.1f}× the bare page)"
                )
                figures[name] = {
                    "p50_ms": round(p50, 2),
                    "p95_ms": round(p95, 2),
                    "ratio_p50_vs_bare": round(p50 / base_p50, 1),
                }
            if args.ingest:
                figures["ingest"] = ingest_at_scale(app, args.ingest)
            record("scale_postgresql" if args.postgresql else "scale_sqlite", figures)


def ingest_at_scale(app: Any, n: int) -> dict[str, float]:
    """Ingest ``n`` mentions of the 5,000-mention stream (batches of 100, as a poll delivers
    them, with attributes and routing) into the big hub, against a raw INSERT of the rows
    ingest stored, into the same table; prints mentions/s of process CPU time for both."""
    from connectors.base import Batch
    from hub.engagement import ingest
    from hub.models import PlatformAccount

    ingest.prepare_process()  # as the scheduler process starts
    run = datetime.now(UTC).strftime("%H%M%S%f")
    mentions = as_mentions(stream_rows(n), prefix=f"{run}-")
    with job_session(app) as s:
        account_id = s.scalar(
            select(PlatformAccount.id).where(PlatformAccount.platform == "sandbox")
        )
    wall, cpu, stored = time.perf_counter(), time.process_time(), 0
    for i in range(0, len(mentions), 100):
        with job_session(app) as s:
            account = s.get(PlatformAccount, account_id)
            stored += ingest.ingest_batch(s, account, Batch(mentions[i : i + 100], None)).inserted
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    with job_session(app) as s:
        columns = [c for c in Mention.__table__.c if c.key != "id"]
        copied = [
            {c.key: getattr(m, c.key) for c in columns} | {"external_id": "raw-" + m.external_id}
            for m in s.scalars(select(Mention).where(Mention.external_id.like(f"{run}-%")))
        ]
    raw_wall, raw_cpu = time.perf_counter(), time.process_time()
    for i in range(0, len(copied), 100):
        with job_session(app) as s:
            s.execute(insert(Mention), copied[i : i + 100])
    raw_wall, raw_cpu = time.perf_counter() - raw_wall, time.process_time() - raw_cpu
    out = {
        "mentions": stored,
        "ingest_per_s_cpu": round(stored / cpu),
        "ingest_per_s_wall": round(stored / wall),
        "raw_insert_per_s_cpu": round(len(copied) / raw_cpu),
        "ratio_vs_raw_insert": round((stored / cpu) / (len(copied) / raw_cpu), 3),
    }
    print(
        f"  ingest into the big hub: {out['ingest_per_s_cpu']:,}/s of CPU time"
        f" ({out['ingest_per_s_wall']:,}/s wall); raw insert of the same rows"
        f" {out['raw_insert_per_s_cpu']:,}/s: ratio {out['ratio_vs_raw_insert']}"
    )
    return out


if __name__ == "__main__":
    main()
