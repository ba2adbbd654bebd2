"""`hub audit verify` over a million chained events, against the ORM-batched verify it replaced.

Seeds N events (default 1,000,000) into a throwaway database migrated with the real Alembic
migrations, chained with the same digest function record_events uses, then times
hub.audit.verify_chain over all of them. The baseline is the previous implementation (ORM objects
in keyset batches, kept below as ``orm_verify``) timed over the first 100,000 events and
extrapolated per event, since running it over a million takes minutes; the output says so.

    .venv/bin/python bench/bench_audit.py                 # SQLite, 1,000,000 events
    .venv/bin/python bench/bench_audit.py --rows 100000   # quick
    .venv/bin/python bench/bench_audit.py --postgresql    # a throwaway database on 127.0.0.1
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scratch import scratch_database  # noqa: E402
from sqlalchemy import insert, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402

from hub.audit import GENESIS, event_digest, verify_chain  # noqa: E402
from hub.db import make_engine  # noqa: E402
from hub.migrate import upgrade  # noqa: E402
from hub.models import AuditEvent, Staff  # noqa: E402

ACTIONS = [
    ("mention.received", "mention"),
    ("mention.claimed", "mention"),
    ("decision.recorded", "outbound"),
    ("outbound.checked", "outbound"),
    ("outbound.in_review", "outbound"),
    ("outbound.approved", "outbound"),
    ("outbound.scheduled", "outbound"),
    ("outbound.sending", "outbound"),
    ("outbound.sent", "outbound"),
]


def orm_verify(session: Session, limit_id: int, batch: int = 5000) -> int:
    """The verify_chain this replaced (ORM objects, keyset batches), bounded to ids <= limit_id."""
    prev_hash = GENESIS
    checked = 0
    last_id = 0
    while True:
        rows = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.id > last_id, AuditEvent.id <= limit_id)
            .order_by(AuditEvent.id)
            .limit(batch)
        ).all()
        if not rows:
            return checked
        for ev in rows:
            expected = event_digest(
                prev_hash, ev.at, ev.actor_id, ev.action, ev.subject_type, ev.subject_id, ev.data
            )
            if ev.prev_hash != prev_hash or ev.hash != expected:
                raise SystemExit(f"baseline found a broken chain at {ev.id}")
            prev_hash = ev.hash
            checked += 1
            last_id = ev.id
        session.expunge_all()


def seed(engine, rows: int, chunk: int = 20_000) -> float:  # type: ignore[no-untyped-def]
    """Insert ``rows`` realistic chained events with Core executemany; return seconds taken."""
    rng = random.Random(7)
    table = AuditEvent.__table__
    start = datetime(2024, 1, 1, tzinfo=UTC)
    prev = GENESIS
    began = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(
            insert(Staff.__table__),
            [
                {
                    "id": n,
                    "email": f"staff{n}@example.test",
                    "name": f"Staff {n}",
                    "password_hash": "-",
                    "role": "employee",
                    "languages": ["en"],
                    "active": True,
                    "created_at": start,
                }
                for n in range(1, 60)
            ],
        )
        for base in range(0, rows, chunk):
            batch = []
            for i in range(base, min(base + chunk, rows)):
                action, subject = ACTIONS[i % len(ACTIONS)]
                at = start + timedelta(milliseconds=i * 37 + rng.randrange(30))
                actor = rng.randrange(1, 60) if i % 3 else None
                data: dict[str, object] = {"state_from": "checked", "verdict": "allow"}
                if action == "decision.recorded":
                    data = {
                        "decision_id": i,
                        "verdict": rng.choice(["allow", "warn", "review", "block"]),
                        "pack_version": f"{i:064x}",
                        "rules": sorted(rng.sample(["G2", "G5", "G7", "G9", "G12"], 2)),
                    }
                elif action == "mention.received":
                    data = {"team_id": 1, "priority": "p2", "why": "rule: Spanish → Soporte ES"}
                sid = i // 9 + 1
                digest = event_digest(prev, at, actor, action, subject, sid, data)
                batch.append(
                    {
                        "at": at,
                        "actor_id": actor,
                        "action": action,
                        "subject_type": subject,
                        "subject_id": sid,
                        "data": data,
                        "prev_hash": prev,
                        "hash": digest,
                    }
                )
                prev = digest
            conn.execute(insert(table), batch)
    return time.perf_counter() - began


def run(url: str, rows: int, baseline_rows: int, batch: int) -> None:
    engine = make_engine(url)
    upgrade(engine)
    print(f"database: {engine.dialect.name}; seeding {rows:,} chained events ...", flush=True)
    seconds = seed(engine, rows)
    print(f"  seeded in {seconds:.1f}s")
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE audit_events"))

    with Session(engine) as session:
        result = verify_chain(session, batch=batch)
    if not result.ok or result.checked != rows:
        raise SystemExit(f"verify disagrees with the seed: {result}")
    new_rate = rows / result.seconds
    print(
        f"verify (Core, streamed): {rows:,} events in {result.seconds:.2f}s "
        f"= {new_rate:,.0f} events/s"
    )

    with Session(engine) as session:
        began = time.perf_counter()
        tail = verify_chain(session, last=1000)
        tail_s = time.perf_counter() - began
    print(f"tail check (the audit page, newest 1,000): {tail_s * 1000:.1f} ms, ok={tail.ok}")

    base_n = min(baseline_rows, rows)
    with Session(engine) as session:
        began = time.perf_counter()
        checked = orm_verify(session, base_n)
        base_s = time.perf_counter() - began
    base_rate = checked / base_s
    print(
        f"baseline (old ORM-batched verify) over the first {checked:,} events: {base_s:.2f}s "
        f"= {base_rate:,.0f} events/s; extrapolated to {rows:,}: {rows / base_rate:.1f}s"
    )
    print(f"ratio: {new_rate / base_rate:.1f}x faster than the baseline")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--baseline-rows", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=20_000, help="verify's rows per fetch")
    parser.add_argument("--postgresql", action="store_true", help="use 127.0.0.1:5432")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp,
        scratch_database(args.postgresql, Path(tmp)) as url,
    ):
        run(url, args.rows, args.baseline_rows, args.batch)


if __name__ == "__main__":
    main()
