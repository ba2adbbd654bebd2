"""The API's queue list against the queue page: the same first page, as JSON and as HTML.

Seeds N mentions (default 20,000) into a throwaway database migrated with the real migrations,
makes a manager with a read token, and times per request ``GET /api/v1/mentions`` (bearer token
checked, 25 rows as JSON) against ``GET /queue`` (session cookie, the same 25 rows rendered).
The ratio says what the token check and the JSON cost next to the page people already use.

    .venv/bin/python bench/bench_api.py                 # SQLite
    .venv/bin/python bench/bench_api.py --postgresql    # a throwaway database
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_queue_poll import seed  # noqa: E402
from results import record  # noqa: E402
from scratch import scratch_app, scratch_database  # noqa: E402

from hub.db import job_session  # noqa: E402


def timed(client: Any, url: str, repeat: int, headers: dict[str, str]) -> float:
    """Median seconds of ``repeat`` GETs of ``url`` (each must answer 200)."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        resp = client.get(url, headers=headers)
        times.append(time.perf_counter() - t)
        assert resp.status_code == 200, (url, resp.status_code)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--postgresql", action="store_true")
    args = parser.parse_args()
    from hub.api.tokens import NewToken, create_token
    from hub.auth import create_staff

    with (
        tempfile.TemporaryDirectory() as tmp,
        scratch_database(args.postgresql, Path(tmp)) as url,
    ):
        app = scratch_app(url, Path(tmp), WTF_CSRF_ENABLED=False)
        seed(app, args.rows)
        with job_session(app) as s:
            me = create_staff(s, "m@example.test", "Morgan", "manager", "correct horse battery 9")
            _row, token = create_token(s, me, NewToken("bench", "read"))
        browser = app.test_client()
        browser.post(
            "/login", data={"email": "m@example.test", "password": "correct horse battery 9"}
        )
        api = app.test_client()
        bearer = {"Authorization": f"Bearer {token}"}
        timed(api, "/api/v1/mentions", 5, bearer)  # warm both paths
        timed(browser, "/queue", 5, {})
        api_s = timed(api, "/api/v1/mentions", 100, bearer)
        page_s = timed(browser, "/queue", 100, {})
        backend = "PostgreSQL" if args.postgresql else "SQLite"
        print(f"{backend}, {args.rows:,} mentions, a manager's first queue page (25 rows):")
        print(f"  GET /api/v1/mentions (token, JSON)  {api_s * 1000:7.2f} ms median")
        print(f"  GET /queue (cookie, HTML; baseline) {page_s * 1000:7.2f} ms median")
        print(f"  ratio API / page: {api_s / page_s:.2f}")
        record(
            f"api_queue_{backend.lower()}",
            {
                "rows": args.rows,
                "api_ms": round(api_s * 1000, 2),
                "page_ms": round(page_s * 1000, 2),
                "ratio_api_to_page": round(api_s / page_s, 3),
            },
        )
        app.extensions["hub.engine"].dispose()


if __name__ == "__main__":
    main()
