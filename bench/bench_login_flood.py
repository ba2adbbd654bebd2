"""Benchmark: a flood of wrong-password sign-ins against a real hub, and a brute force.

Starts `hub init`, `hub demo` and `hub run` (web and scheduler, polling every 2 s) in a fresh
instance folder on 127.0.0.1, with the real argon2 cost. Then, for each client count:
  a signed-in manager fetches /queue every 0.2 s while N threads send wrong passwords for the
  demo accounts as fast as the server answers, for a bounded time and request count. Printed:
  the median and p90 /queue latency (and without the flood), the sign-in answers by status,
  the 500s, and the "database is locked" lines in the server's log (the poll job's included).
Brute force: 50 wrong passwords for one account, then the right one: the answers by status,
whether the right password got in, and the Retry-After the hub sent.

Only 127.0.0.1 is contacted. Extra HUB_* settings for the server can be passed with --set.
Usage: python bench/bench_login_flood.py [--clients 10 30] [--seconds 15] [--set NAME=VALUE]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
HUB = [sys.executable, "-c", "from hub.cli import main; main()"]
#: a ceiling on each attacker thread, so a fast server still gets a bounded number of requests
MAX_REQUESTS_PER_CLIENT = 400


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def csrf(html: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token on the sign-in page"
    return match.group(1)


def sign_in(client: httpx.Client, email: str, password: str) -> httpx.Response:
    token = csrf(client.get("/login").text)
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


class Hub:
    """`hub run` in a temporary instance folder, its log in a file."""

    def __init__(self, extra: dict[str, str]) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="hub-flood-"))
        self.env = {
            **os.environ,
            "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
            "HUB_INSTANCE_PATH": str(self.dir),
            "HUB_POLL_SECONDS": "2",
            **extra,
        }
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = self.dir / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> list[tuple[str, str, str]]:
        subprocess.run([*HUB, "init"], env=self.env, check=True, capture_output=True)
        subprocess.run([*HUB, "demo"], env=self.env, check=True, capture_output=True)
        accounts = [
            tuple(line.split("\t"))
            for line in (self.dir / "demo-accounts.txt").read_text().splitlines()
        ]
        with self.log.open("wb") as fh:
            self.proc = subprocess.Popen(
                [*HUB, "run", "--port", str(self.port)],
                env=self.env,
                stdout=fh,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/login", timeout=2).status_code == 200:
                    return accounts  # type: ignore[return-value]
            except httpx.TransportError:
                time.sleep(0.2)
        raise SystemExit(f"the hub did not start; see {self.log}")

    def locked_lines(self) -> int:
        return self.log.read_text(errors="replace").count("database is locked")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)


def queue_latencies(client: httpx.Client, stop: threading.Event) -> list[tuple]:
    """(seconds, status) of GET /queue every 0.2 s until ``stop``."""
    out = []
    while not stop.is_set():
        t = time.perf_counter()
        status = client.get("/queue").status_code
        out.append((time.perf_counter() - t, status))
        stop.wait(0.2)
    return out


def attacker(url: str, emails: list[str], stop: threading.Event, statuses: Counter) -> None:
    with httpx.Client(base_url=url, timeout=60) as client:
        token = csrf(client.get("/login").text)
        for i in range(MAX_REQUESTS_PER_CLIENT):
            if stop.is_set():
                return
            data = {"email": emails[i % len(emails)], "password": f"wrong-{i}", "csrf_token": token}
            try:
                statuses[client.post("/login", data=data).status_code] += 1
            except httpx.TransportError as exc:
                statuses[type(exc).__name__] += 1


def flood(hub: Hub, accounts: list[tuple[str, str, str]], clients: int, seconds: float) -> None:
    manager = next(a for a in accounts if a[0] == "manager")
    emails = [a[1] for a in accounts]
    locked_before = hub.locked_lines()
    reader = httpx.Client(base_url=hub.url, timeout=60)
    assert sign_in(reader, manager[1], manager[2]).status_code == 302
    stop = threading.Event()
    quiet: list[tuple] = []
    watcher = threading.Thread(target=lambda: quiet.extend(queue_latencies(reader, stop)))
    watcher.start()
    time.sleep(3)
    stop.set()
    watcher.join()

    stop = threading.Event()
    busy: list[tuple] = []
    statuses: Counter = Counter()
    watcher = threading.Thread(target=lambda: busy.extend(queue_latencies(reader, stop)))
    threads = [
        threading.Thread(target=attacker, args=(hub.url, emails, stop, statuses))
        for _ in range(clients)
    ]
    for t in [watcher, *threads]:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in [watcher, *threads]:
        t.join()
    reader.close()
    q = sorted(s for s, _ in busy)
    quiet_ms = statistics.median(s for s, _ in quiet) * 1000
    p90_ms = q[int(0.9 * (len(q) - 1))] * 1000
    queue_statuses = dict(Counter(st for _, st in busy))
    locked = hub.locked_lines() - locked_before
    print(
        f"{clients:>3} clients: /queue median {quiet_ms:.0f} ms quiet ->"
        f" {statistics.median(q) * 1000:.0f} ms flooded (p90 {p90_ms:.0f} ms,"
        f" max {q[-1] * 1000:.0f} ms, {len(q)} fetches, statuses {queue_statuses});"
        f" sign-ins {dict(statuses)}; 'database is locked' in log: {locked}"
    )


def brute_force(hub: Hub, accounts: list[tuple[str, str, str]]) -> None:
    _, email, password = next(a for a in accounts if a[0] == "employee")
    statuses: Counter = Counter()
    retry_after = None
    with httpx.Client(base_url=hub.url, timeout=60) as client:
        token = csrf(client.get("/login").text)
        t = time.perf_counter()
        for i in range(50):
            resp = client.post(
                "/login", data={"email": email, "password": f"guess-{i}", "csrf_token": token}
            )
            statuses[resp.status_code] += 1
            retry_after = resp.headers.get("Retry-After", retry_after)
        took = time.perf_counter() - t
        right = client.post(
            "/login", data={"email": email, "password": password, "csrf_token": token}
        )
    print(
        f"brute force: 50 wrong passwords in {took:.1f} s answered {dict(statuses)};"
        f" Retry-After {retry_after}; then the right password: {right.status_code}"
        f" ({'signed in' if right.status_code == 302 else 'refused'})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[10, 30])
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--set", action="append", default=[], help="HUB setting NAME=VALUE")
    args = parser.parse_args()
    extra = {f"HUB_{k}": v for k, v in (item.split("=", 1) for item in args.set)}
    # a fresh hub for each run, so one run's failed sign-ins do not throttle the next
    for n in [*args.clients, 0]:
        hub = Hub(extra)
        try:
            accounts = hub.start()
            if n:
                flood(hub, accounts, n, args.seconds)
            else:
                brute_force(hub, accounts)
        finally:
            hub.stop()


if __name__ == "__main__":
    main()
