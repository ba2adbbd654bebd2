"""The open queue's live poll when nothing changed, against rendering the queue's rows.

Seeds N mentions (default 20,000; a third of them needing action) into a throwaway database
migrated with the real migrations, signs a manager in through the test client, and times, per
request, the poll an open tab sends every second (``/queue/live`` with the page's key: a 204)
against the rows refresh the queue used to send every 10 seconds (``/queue`` asked by htmx: the
rows of the first page). The ratio is how many unchanged polls cost one refresh.

    .venv/bin/python bench/bench_queue_poll.py                 # SQLite
    .venv/bin/python bench/bench_queue_poll.py --postgresql    # a throwaway database
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scratch import scratch_app, scratch_database  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from hub.db import job_session  # noqa: E402
from hub.models import Mention  # noqa: E402


def seed(app: Any, n: int) -> None:
    now = datetime.now(UTC)
    statuses = ("new", "open", "pending", "closed", "closed", "escalated")
    rows = [
        {
            "platform": "sandbox",
            "external_id": f"b{i}",
            "author_handle": f"cust{i % 997}",
            "author_name": "",
            "text": f"@KestrelFootwear question {i} about my order",
            "kind": "mention",
            "url": "",
            "created_at": now - timedelta(minutes=i),
            "received_at": now - timedelta(minutes=i),
            "reply_ref": {},
            "language": ("en", "es", "zh")[i % 3],
            "status": statuses[i % len(statuses)],
            "priority": ("p1", "p2", "p3")[i % 3],
            "first_response_due_at": now + timedelta(minutes=60 - i % 120),
            "attributes": {},
            "tags": ["refund"] if i % 7 == 0 else [],
            "routing_why": {},
            "problems": [],
            "raw": {},
        }
        for i in range(n)
    ]
    with job_session(app) as s:
        for start in range(0, n, 5000):
            s.execute(insert(Mention), rows[start : start + 5000])


def timed(client: Any, url: str, repeat: int, status: int) -> float:
    """Median seconds of ``repeat`` htmx GETs of ``url`` (each must answer ``status``)."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        resp = client.get(url, headers={"HX-Request": "true"})
        times.append(time.perf_counter() - t)
        assert resp.status_code == status, (url, resp.status_code)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--postgresql", action="store_true")
    args = parser.parse_args()
    from hub.auth import create_staff

    with (
        tempfile.TemporaryDirectory() as tmp,
        scratch_database(args.postgresql, Path(tmp)) as url,
    ):
        app = scratch_app(url, Path(tmp), WTF_CSRF_ENABLED=False)
        seed(app, args.rows)
        with job_session(app) as s:
            create_staff(s, "m@example.test", "Morgan", "manager", "correct horse battery 9")
        client = app.test_client()
        client.post(
            "/login", data={"email": "m@example.test", "password": "correct horse battery 9"}
        )
        page = client.get("/queue").text
        live = re.search(r'id="live" hx-get="([^"]+)"', page)
        assert live, "no live poller on the queue page"
        poll_url = live.group(1).replace("&amp;", "&")
        poll = timed(client, poll_url, 300, 204)
        rows = timed(client, "/queue", 60, 200)
        backend = "PostgreSQL" if args.postgresql else "SQLite"
        print(f"{backend}, {args.rows:,} mentions, a manager's first queue page:")
        print(f"  unchanged poll (204)   {poll * 1000:7.2f} ms median")
        print(f"  rows refresh (before)  {rows * 1000:7.2f} ms median")
        print(f"  ratio: one refresh costs {rows / poll:.1f} unchanged polls")
        print(
            f"  per open tab: {poll * 1000:.2f} ms of a thread per second polling every 1 s, "
            f"against {rows * 100:.2f} ms per second refreshing every 10 s"
        )
        app.extensions["hub.engine"].dispose()


if __name__ == "__main__":
    main()
