"""Benchmark: finding the open mention a new one follows up on, in a hub holding many mentions.

Ingest asks this for every reply it stores, and the conversation page asks it for every thread.
The old query (one ``OR`` over external_id and thread_root_external_id) against the hub's
(``hub.engagement.ingest.thread_mention``: two indexed lookups), on the same SQLite database,
without planner statistics (as a hub that never ran ANALYZE has them). Prints p50 per lookup for
both and the ratio.

    python bench/bench_thread_lookup.py [--rows 200000] [--lookups 200]
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, insert, select
from sqlalchemy.orm import Session

from hub.engagement.ingest import thread_mention
from hub.migrate import upgrade
from hub.models import Mention, MentionStatus


def main() -> None:
    """Fill a database, time both lookups interleaved, print the ratio."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--lookups", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = create_engine(f"sqlite:///{Path(tmp) / 'hub.db'}")
        upgrade(engine)
        now = datetime.now(UTC)
        t0 = time.perf_counter()
        with engine.begin() as conn:
            for start in range(0, args.rows, 50_000):
                conn.execute(
                    insert(Mention),
                    [
                        {
                            "platform": "x",
                            "external_id": f"m{i}",
                            "author_handle": f"user{i % 5000}",
                            "text": "hi",
                            "created_at": now,
                            "received_at": now,
                            "thread_root_external_id": f"m{i - i % 7}",
                            "in_reply_to_external_id": f"m{i - 1}" if i % 7 else None,
                            "status": "closed" if i % 3 else "open",
                        }
                        for i in range(start, min(args.rows, start + 50_000))
                    ],
                )
        print(f"{args.rows:,} mentions stored in {time.perf_counter() - t0:.1f} s")
        rng = random.Random(1)
        refs = [
            [f"m{rng.randrange(args.rows)}", f"m{rng.randrange(args.rows)}"]
            for _ in range(args.lookups)
        ]

        def old(session: Session, r: list[str]) -> Mention | None:
            return session.scalar(
                select(Mention)
                .where(
                    Mention.platform == "x",
                    Mention.status != MentionStatus.CLOSED.value,
                    (Mention.external_id.in_(r)) | (Mention.thread_root_external_id.in_(r)),
                )
                .order_by(Mention.id.desc())
                .limit(1)
            )

        timings: dict[str, list[float]] = {"one OR (before)": [], "two lookups (hub)": []}
        with Session(engine) as session:
            for r in refs:
                t = time.perf_counter()
                before = old(session, r)
                timings["one OR (before)"].append((time.perf_counter() - t) * 1000)
                t = time.perf_counter()
                after = thread_mention(session, "x", r, open_only=True)
                timings["two lookups (hub)"].append((time.perf_counter() - t) * 1000)
                assert (before.id if before else None) == (after.id if after else None)
                session.expunge_all()
        for name, ts in timings.items():
            print(f"{name:20} p50 {statistics.median(ts):8.3f} ms   max {max(ts):8.3f} ms")
        slow = statistics.median(timings["one OR (before)"])
        fast = statistics.median(timings["two lookups (hub)"])
        print(f"ratio before/after p50: {slow / fast:.0f}x")


if __name__ == "__main__":
    main()
