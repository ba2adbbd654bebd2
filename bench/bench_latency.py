"""Benchmark: mention-to-queue latency against the local Bluesky network, polling vs push; and
polls per account per 15 minutes at the platforms' rate-limit budgets.

Measured (real servers from tests/peers/bluesky, the hub's own scheduler and ingest):
  for each of N customer posts made at a steady pace, the time from the createRecord response
  to the Mention row being visible (committed) in the hub's database, (i) with push off and the
  scheduler polling at its configured interval (POLL_SECONDS), (ii) with push on (the scheduler's
  firehose consumer; the poll still runs as a safety net, a minute apart). A watcher thread looks
  for the rows every 10 ms, so each figure carries up to 10 ms of observation delay.
Computed (no waiting 15 minutes): polls per account per 15 minutes, by driving
  hub.platforms.polling.next_poll_delay over a simulated 15 minutes with the budget the real
  PDS reports in its ratelimit-* headers, and with X's documented budgets (450 / 15 min per app,
  180 / 15 min per user).

Needs the network installed (`make peers`) and PostgreSQL on 127.0.0.1:5432 for the AppView.
Usage: python bench/bench_latency.py [--posts 40] [--pace 1.5]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
HARNESS = REPO / "tests" / "peers" / "bluesky" / "harness.py"
FIFTEEN_MIN = timedelta(minutes=15)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of values (q in 0..1)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def load_harness() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hub_bench_bluesky_harness", HARNESS)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def installed(harness: ModuleType) -> bool:
    here: Path = harness.HERE
    return harness.NODE.exists() and (here / "node_modules" / "@atproto" / "dev-env").is_dir()


# --- the hub, on a throwaway SQLite database ------------------------------------------------------


def make_app(folder: Path) -> Any:
    from cryptography.fernet import Fernet

    from hub import create_app
    from hub.migrate import upgrade

    os.environ["HUB_INSTANCE_PATH"] = str(folder)
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{folder / 'hub.db'}",
            "SANDBOX_URL": f"sqlite:///{folder / 'sandbox.db'}",
            "SECRET_KEY": "bench",
            "ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "ALLOW_LOCAL_PLATFORMS": True,  # the local Bluesky network is on http://127.0.0.1
        }
    )
    upgrade(app.extensions["hub.engine"])
    return app


class Watcher:
    """Notes when each expected Mention row first becomes visible (every 10 ms)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.expected: dict[str, float] = {}  #: uri -> when createRecord answered
        self.arrived: dict[str, float] = {}
        self.via_push: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def expect(self, uri: str, sent_at: float) -> None:
        with self._lock:
            self.expected[uri] = sent_at

    def _run(self) -> None:
        from sqlalchemy import select

        from hub.models import Mention

        engine = self.app.extensions["hub.engine"]
        while not self._stop.wait(0.01):
            with self._lock:
                waiting = [u for u in self.expected if u not in self.arrived]
            if not waiting:
                continue
            with engine.connect() as conn:
                rows = conn.execute(
                    select(Mention.external_id, Mention.raw).where(Mention.external_id.in_(waiting))
                ).all()
            now = time.monotonic()
            with self._lock:
                for uri, raw in rows:
                    self.arrived.setdefault(uri, now)
                    if isinstance(raw, dict) and "seq" in raw:  # a firehose commit, not a poll
                        self.via_push.add(uri)

    def wait_all(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.arrived) >= len(self.expected):
                    return
            time.sleep(0.05)
        missing = len(self.expected) - len(self.arrived)
        raise SystemExit(f"bench_latency: {missing} mentions never arrived")

    def latencies(self) -> list[float]:
        with self._lock:
            return [self.arrived[u] - self.expected[u] for u in self.expected]

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def run_mode(
    app: Any,
    net: Any,
    brand: Any,
    customer: Any,
    account_id: int,
    *,
    push: bool,
    posts: int,
    pace: float,
) -> tuple[list[float], int]:
    """Start the hub's scheduler, post ``posts`` mentions ``pace`` s apart; latencies in s."""
    from atproto import client_utils

    from hub.db import job_session
    from hub.models import PlatformAccount
    from hub.platforms.push import push_connected
    from hub.platforms.scheduler import build_scheduler

    with job_session(app) as s:
        account = s.get(PlatformAccount, account_id)
        assert account is not None
        account.config = account.config | {"push": push}
        # the last mode's stream state must not count as this one's
        account.push_state = account.push_since = account.push_error = None
        account.next_poll_at = None

    def mention(text: str) -> Any:
        built = client_utils.TextBuilder().text(text + " ").mention(f"@{brand.handle}", brand.did)
        return customer.send_post(built)

    scheduler = build_scheduler(app)
    scheduler.start()
    watcher = Watcher(app)
    try:
        if push:

            def connected() -> bool:
                with job_session(app) as s:
                    row = s.get(PlatformAccount, account_id)
                    return row is not None and push_connected(row)

            net_wait(connected, 60, "the push stream to connect")
            # the firehose has no "ready" message: one mention through it proves it streams
            warm = mention("warm-up")
            watcher.expect(warm.uri, time.monotonic())
            watcher.wait_all(30)
            watcher.close()
            watcher = Watcher(app)
        else:
            # let the first (immediate) poll pass, so we measure the steady interval
            time.sleep(2)
        for i in range(posts):
            started = time.monotonic()
            created = mention(f"order question {i}")
            watcher.expect(created.uri, time.monotonic())
            time.sleep(max(0.0, pace - (time.monotonic() - started)))
        watcher.wait_all(max(120.0, 4 * app.config["POLL_SECONDS"]))
        return watcher.latencies(), len(watcher.via_push)
    finally:
        watcher.close()
        scheduler.shutdown(wait=True)


def net_wait(probe: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not probe():
        if time.monotonic() > deadline:
            raise SystemExit(f"bench_latency: timed out waiting for {what}")
        time.sleep(0.1)


# --- polls per 15 minutes at a budget (computed) --------------------------------------------------


@dataclass(frozen=True)
class Budget:
    name: str
    limit: int
    window: timedelta
    remaining: int  #: what was left at the start (the real PDS's report for Bluesky)
    reset_in: timedelta


def polls_in_15_min(budget: Budget, base_seconds: float) -> int:
    """Simulate the scheduler: poll, spend one request, wait next_poll_delay; count 15 min."""
    from hub.platforms.polling import next_poll_delay

    start = datetime(2026, 1, 1, tzinfo=UTC)
    now, end = start, start + FIFTEEN_MIN
    remaining, reset_at = budget.remaining, start + budget.reset_in
    polls = 0
    while now < end:
        while now >= reset_at:
            remaining, reset_at = budget.limit, reset_at + budget.window
        remaining -= 1  # one listNotifications / mentions-timeline page per poll
        polls += 1
        now += next_poll_delay(base_seconds, remaining, reset_at, now)
    return polls


def pds_budget(net: Any) -> tuple[Budget, dict[str, str]]:
    """The PDS's per-IP budget as its ratelimit-* headers report it."""
    response = httpx.get(f"{net.pds}/xrpc/com.atproto.server.describeServer", timeout=10)
    headers = {k: v for k, v in response.headers.items() if k.startswith("ratelimit-")}
    if "ratelimit-limit" not in headers:
        raise SystemExit("bench_latency: the PDS reported no ratelimit-* headers")
    limit = int(headers["ratelimit-limit"])
    policy = re.search(r"w=(\d+)", headers.get("ratelimit-policy", ""))
    window = timedelta(seconds=int(policy.group(1)) if policy else 300)
    reset = datetime.fromtimestamp(int(headers["ratelimit-reset"]), UTC)
    budget = Budget(
        "Bluesky PDS (reported)",
        limit,
        window,
        int(headers["ratelimit-remaining"]),
        max(timedelta(0), reset - datetime.now(UTC)),
    )
    return budget, headers


def budget_table(budgets: Sequence[Budget], bases: Sequence[tuple[str, float]]) -> None:
    print("polls per account per 15 min (computed with hub.platforms.polling.next_poll_delay):")
    print(f"  {'budget':<34} {'interval':<26} {'polls':>6} {'share of budget':>16}")
    for budget in budgets:
        per_15 = budget.limit * (FIFTEEN_MIN / budget.window)
        for label, base in bases:
            polls = polls_in_15_min(budget, base)
            print(
                f"  {budget.name + f' {budget.limit}/{int(budget.window.total_seconds())}s':<34} "
                f"{label:<26} {polls:>6} {polls / per_15:>15.1%}"
            )


# --- main -----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=40, help="customer posts per mode")
    parser.add_argument("--pace", type=float, default=1.5, help="seconds between posts")
    args = parser.parse_args()

    harness = load_harness()
    if not installed(harness):
        print(
            "bench_latency: the local Bluesky network is not installed. Run `make peers` "
            "(or `bash tests/peers/bluesky/install.sh`), then `make bench` again.",
            file=sys.stderr,
        )
        sys.exit(1)
    folder = Path(tempfile.mkdtemp(prefix="hub-bench-latency-"))
    network = harness.start_network(rate_limits=True)
    try:
        net = next(network)
    except RuntimeError as exc:
        shutil.rmtree(folder, ignore_errors=True)
        print(f"bench_latency: the Bluesky network did not start: {exc}", file=sys.stderr)
        sys.exit(1)
    try:
        bench(net, folder, args.posts, args.pace)
    finally:
        network.close()
        shutil.rmtree(folder, ignore_errors=True)


def bench(net: Any, folder: Path, posts: int, pace: float) -> None:
    import logging

    from atproto import Client

    from hub.db import job_session
    from hub.platforms.accounts import create_account
    from hub.platforms.push import PUSH_POLL_SECONDS

    logging.basicConfig(level=logging.ERROR)
    app = make_app(folder)
    brand, someone = net.create_account("brand"), net.create_account("customer")
    customer = Client(base_url=net.pds)
    customer.login(someone.handle, someone.password)
    with job_session(app) as s:
        account_id = create_account(
            s,
            app,
            "bluesky",
            brand.handle,
            {"handle": brand.handle, "service": net.pds},
            {"app_password": brand.password},
        ).id
    interval = app.config["POLL_SECONDS"]
    print(
        f"local Bluesky network up in {net.startup_seconds:.1f} s; {posts} posts per mode, "
        f"one every {pace:.1f} s; hub POLL_SECONDS={interval}"
    )

    poll_lat, _ = run_mode(
        app, net, brand, customer, account_id, push=False, posts=posts, pace=pace
    )
    push_lat, pushed = run_mode(
        app, net, brand, customer, account_id, push=True, posts=posts, pace=pace
    )

    print("mention-to-queue latency (measured: createRecord answered -> Mention row visible):")
    for label, values in (("polling", poll_lat), ("push", push_lat)):
        print(
            f"  {label:<8} p50 {percentile(values, 0.5) * 1000:8.0f} ms   "
            f"p95 {percentile(values, 0.95) * 1000:8.0f} ms   max {max(values) * 1000:8.0f} ms"
        )
    print(f"  push mode: {pushed} of {posts} stored by the stream, the rest by the safety-net poll")
    print(
        f"  ratio poll/push: p50 {percentile(poll_lat, 0.5) / percentile(push_lat, 0.5):.0f}x, "
        f"p95 {percentile(poll_lat, 0.95) / percentile(push_lat, 0.95):.0f}x"
    )

    pds, headers = pds_budget(net)
    print("PDS rate-limit headers (measured): " + ", ".join(f"{k}={v}" for k, v in headers.items()))
    budget_table(
        [
            pds,
            Budget("X mentions, per app", 450, FIFTEEN_MIN, 450, FIFTEEN_MIN),
            Budget("X mentions, per user", 180, FIFTEEN_MIN, 180, FIFTEEN_MIN),
        ],
        [
            (f"POLL_SECONDS={interval}", float(interval)),
            (f"push connected ({PUSH_POLL_SECONDS} s)", float(PUSH_POLL_SECONDS)),
            ("budget-bound (base 1 s)", 1.0),
        ],
    )
    per_account = FIFTEEN_MIN / timedelta(seconds=interval)
    print(
        f"  accounts one IP can poll every {interval} s within the PDS budget: "
        f"{int(pds.limit * (FIFTEEN_MIN / pds.window) // per_account)}"
    )


if __name__ == "__main__":
    main()
