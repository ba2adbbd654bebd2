"""Benchmark: can the hub keep up with a burst on the sandbox platform?

Customers post ``--rate`` mentions a second (default 50) for ``--seconds`` (default 20) into
the sandbox store while a poller thread runs the scheduler's poll job every second, as
``hub worker`` does, into a fresh SQLite hub with the demo's teams and rules. Measured: how far
behind the hub is when the burst ends, and how long until the last post is a mention.

The baseline, in the same run: the same burst read as before (one page of 200 per poll
interval, ``Batch.more`` ignored). Figures go to bench/results.json under "sandbox_rate".
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from results import record  # noqa: E402
from scratch import scratch_app  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from connectors.sandbox import SandboxConnector, SandboxStore  # noqa: E402
from hub.db import job_session  # noqa: E402
from hub.models import Mention  # noqa: E402


def burst(rate: int, seconds: int, follow_pages: bool) -> dict[str, float]:
    from hub.demo import demo_data, load_teams_and_rules
    from hub.engagement.attributes import warm
    from hub.platforms.accounts import create_account
    from hub.platforms.polling import poll_all

    warm()
    with tempfile.TemporaryDirectory() as tmp:
        app = scratch_app(f"sqlite:///{Path(tmp) / 'hub.db'}", Path(tmp))
        with job_session(app) as s:
            load_teams_and_rules(s, demo_data())
            create_account(s, app, "sandbox", "KestrelFootwear", {"handle": "KestrelFootwear"})
        store = SandboxStore(app.config["SANDBOX_URL"])
        original = SandboxConnector.fetch_mentions

        def one_page(self: Any, cursor: str | None) -> Any:
            return dataclasses.replace(original(self, cursor), more=False)

        stop = threading.Event()

        def poller() -> None:
            while not stop.is_set():
                poll_all(app)
                stop.wait(1.0)

        def stored() -> int:
            with job_session(app) as s:
                return int(s.scalar(select(func.count()).select_from(Mention)) or 0)

        if not follow_pages:
            SandboxConnector.fetch_mentions = one_page  # type: ignore[method-assign]
        thread = threading.Thread(target=poller, daemon=True)
        thread.start()
        try:
            total = rate * seconds
            start = time.perf_counter()
            for i in range(total):
                due = start + i / rate
                if (wait := due - time.perf_counter()) > 0:
                    time.sleep(wait)
                store.create_post(f"fan{i % 500}", f"@KestrelFootwear where is order {i}?")
            ended = time.perf_counter()
            behind = total - stored()
            limit = ended + 120
            while stored() < total and time.perf_counter() < limit:
                time.sleep(0.2)
            caught_up = time.perf_counter() - ended
            done = stored()
        finally:
            stop.set()
            thread.join()
            SandboxConnector.fetch_mentions = original  # type: ignore[method-assign]
        return {
            "posted": total,
            "stored": done,
            "behind_at_end": behind,
            "seconds_to_catch_up": round(caught_up, 1),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=20)
    args = parser.parse_args()
    now = burst(args.rate, args.seconds, follow_pages=True)
    base = burst(args.rate, args.seconds, follow_pages=False)
    print(f"a burst of {args.rate} posts/s for {args.seconds} s on the sandbox:")
    for name, r in (("one page per poll (before)", base), ("pages followed (now)", now)):
        print(
            f"  {name:28} {r['behind_at_end']:5} behind when it ended, all"
            f" {r['stored']}/{r['posted']} stored {r['seconds_to_catch_up']:5.1f} s later"
        )
    ratio = (base["seconds_to_catch_up"] + 1) / (now["seconds_to_catch_up"] + 1)
    print(f"  catch-up time, before / now (+1 s each): ×{ratio:.1f}")
    record("sandbox_rate", {"rate": args.rate, "seconds": args.seconds, "now": now, "before": base})


if __name__ == "__main__":
    main()
