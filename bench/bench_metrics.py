"""A /metrics scrape with N stored policy decisions (default 1,000,000) and M mentions.

Seeds a throwaway database migrated with the real migrations, then times, per request, a scrape
of /metrics from 127.0.0.1 with the stored-decisions count cached (every scrape but one a
minute) against one that reads it afresh (the first scrape after the minute), and the bare
count query alone. The ratio is what the cache saves a scrape.

    .venv/bin/python bench/bench_metrics.py                 # SQLite
    .venv/bin/python bench/bench_metrics.py --postgresql    # a throwaway database
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from results import record  # noqa: E402
from scratch import scratch_app, scratch_database  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from hub import metrics  # noqa: E402
from hub.db import job_session  # noqa: E402
from hub.models import Mention, PolicyDecision, Staff  # noqa: E402


def seed(app: Any, decisions: int, mentions: int) -> None:
    now = datetime.now(UTC)
    with job_session(app) as s:
        staff = Staff(email="a@example.test", name="A", password_hash="x", role="employee")
        s.add(staff)
        s.flush()
        author = staff.id
    verdicts = ("allow",) * 7 + ("warn", "review", "block")
    step = 20_000
    for start in range(0, decisions, step):
        with job_session(app) as s:
            s.execute(
                insert(PolicyDecision),
                [
                    {
                        "author_id": author,
                        "text": "t",
                        "verdict": verdicts[i % len(verdicts)],
                        "pack_version": "v",
                        "findings": [],
                        "platform": "sandbox",
                        "elapsed_ms": 1.0,
                        "created_at": now - timedelta(seconds=i),
                        "kind": "reply",
                    }
                    for i in range(start, min(decisions, start + step))
                ],
            )
    statuses = ("new", "open", "pending", "closed", "closed", "closed", "escalated")
    with job_session(app) as s:
        for start in range(0, mentions, step):
            s.execute(
                insert(Mention),
                [
                    {
                        "platform": "sandbox",
                        "external_id": f"b{i}",
                        "author_handle": "c",
                        "text": "x",
                        "created_at": now,
                        "status": statuses[i % len(statuses)],
                    }
                    for i in range(start, min(mentions, start + step))
                ],
            )


def timed(fn: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--decisions", type=int, default=1_000_000)
    parser.add_argument("--mentions", type=int, default=100_000)
    parser.add_argument("--postgresql", action="store_true")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        scratch_database(args.postgresql, Path(tmp)) as url,
    ):
        app = scratch_app(url, Path(tmp))
        seed(app, args.decisions, args.mentions)
        if args.postgresql:
            engine = app.extensions["hub.engine"].execution_options(isolation_level="AUTOCOMMIT")
            with engine.connect() as conn:
                conn.exec_driver_sql("VACUUM ANALYZE")
        client = app.test_client()

        def scrape() -> None:
            assert client.get("/metrics").status_code == 200

        def fresh_scrape() -> None:
            metrics._decisions_cache.clear()
            scrape()

        def count_only() -> None:
            metrics._decisions_cache.clear()
            with job_session(app) as s:
                metrics.stored_decisions(s, "bench")

        scrape()  # warm
        cached = timed(scrape, 30)
        fresh = timed(fresh_scrape, 7)
        count = timed(count_only, 7)
        backend = "PostgreSQL" if args.postgresql else "SQLite"
        print(f"{backend}, {args.decisions:,} decisions, {args.mentions:,} mentions, /metrics:")
        print(f"  scrape, decisions count cached  {cached * 1000:8.1f} ms median")
        print(f"  scrape, decisions counted anew  {fresh * 1000:8.1f} ms median (once a minute)")
        print(f"  the count query alone           {count * 1000:8.1f} ms median")
        print(f"  ratio: a fresh scrape costs {fresh / cached:.1f} cached ones")
        record(
            f"bench_metrics_{backend.lower()}",
            {
                "decisions": args.decisions,
                "mentions": args.mentions,
                "scrape_cached_ms": round(cached * 1000, 2),
                "scrape_fresh_ms": round(fresh * 1000, 2),
                "count_ms": round(count * 1000, 2),
                "fresh_over_cached": round(fresh / cached, 2),
            },
        )
        app.extensions["hub.engine"].dispose()


if __name__ == "__main__":
    main()
