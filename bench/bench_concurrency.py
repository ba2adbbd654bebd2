"""Benchmark: 20 signed-in people working the queue while mentions stream in.

Serves a hub that bench/bench_scale.py seeded (``--keep DIR`` for SQLite, ``--pg-name`` for
PostgreSQL; a million mentions by default) with the production server (``hub serve``), and
runs ``--clients`` threads (default 20), each signed in with its own session, loading the
queue and a conversation page in turn for ``--seconds``, while a thread ingests the stream
(batches of 100 at ``--rate`` mentions/s, as a worker does). Reports p50/p95 per page, the
errors (any status but 200 counts), and the same pages with one client and no ingest as the
baseline, in the same run. Figures go to bench/results.json under "concurrency_<backend>".
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_scale import PASSWORD, PG_URL, STREAM  # noqa: E402
from results import record  # noqa: E402

KEY = "LxzcBdvt2Zy0l3Qc3C4o5VfI9Z0r8n1qYQ0b2K0n5mE="


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _signed_in(base: str, email: str) -> requests.Session:
    s = requests.Session()
    page = s.get(f"{base}/login", timeout=30).text
    token = re.search(r'name="csrf_token" [^>]*value="([^"]+)"', page)
    data = {"email": email, "password": PASSWORD}
    if token:
        data["csrf_token"] = token.group(1)
    resp = s.post(f"{base}/login", data=data, timeout=30, allow_redirects=False)
    assert resp.status_code == 302, (email, resp.status_code)
    return s


def _load(
    base: str, sessions: list[requests.Session], urls: list[str], seconds: float
) -> tuple[dict[str, list[float]], list[str]]:
    times: dict[str, list[float]] = {"queue": [], "conversation": []}
    errors: list[str] = []
    lock = threading.Lock()
    end = time.perf_counter() + seconds

    def client(i: int, s: requests.Session) -> None:
        n = i
        while time.perf_counter() < end:
            kind, url = ("queue", "/queue") if n % 2 == 0 else ("conversation", urls[n % len(urls)])
            n += 1
            t = time.perf_counter()
            try:
                status = s.get(base + url, timeout=60).status_code
            except requests.RequestException as exc:
                status, detail = 0, str(exc)
            took = (time.perf_counter() - t) * 1000
            with lock:
                times[kind].append(took)
                if status != 200:
                    errors.append(f"{url}: {status or detail}")

    threads = [threading.Thread(target=client, args=(i, s)) for i, s in enumerate(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times, errors


def _summary(times: dict[str, list[float]]) -> dict[str, dict[str, float]]:
    out = {}
    for kind, ts in times.items():
        ts = sorted(ts)
        if ts:
            out[kind] = {
                "n": len(ts),
                "p50_ms": round(statistics.median(ts), 1),
                "p95_ms": round(ts[int(len(ts) * 0.95) - 1 if len(ts) > 1 else 0], 1),
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", type=Path, help="SQLite: the directory bench_scale seeded")
    parser.add_argument("--pg-name", help="PostgreSQL: the database bench_scale seeded")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--rate", type=int, default=20, help="mentions ingested per second")
    parser.add_argument("--workers", type=int, default=0, help="web processes (0: the hub's)")
    args = parser.parse_args()
    if args.pg_name:
        url, backend = PG_URL + args.pg_name, "postgresql"
    elif args.keep:
        url, backend = f"sqlite:///{args.keep / 'bench.db'}", "sqlite"
    else:
        parser.error("--keep DIR or --pg-name NAME (seed it with bench/bench_scale.py)")
    tmp = args.keep or Path("/tmp")
    env = {
        **os.environ,
        "HUB_DATABASE_URL": url,
        "HUB_SANDBOX_URL": f"sqlite:///{tmp / 'sandbox.db'}",
        "HUB_SECRET_KEY": "bench",
        "HUB_ENCRYPTION_KEY": KEY,
    }
    port = _free_port()
    cmd = [sys.executable, "-m", "hub.cli", "serve", "--port", str(port)]
    if args.workers:
        cmd += ["--workers", str(args.workers)]
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if requests.get(base + "/login", timeout=2).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        os.environ.update(env)
        from hub import create_app
        from hub.db import job_session

        app = create_app(
            {
                "DATABASE_URL": url,
                "SANDBOX_URL": env["HUB_SANDBOX_URL"],
                "SECRET_KEY": "bench",
                "ENCRYPTION_KEY": KEY,
            }
        )
        from sqlalchemy import select

        from hub.models import Mention

        with job_session(app) as s:
            ids = list(
                s.scalars(
                    select(Mention.id)
                    .where(Mention.status == "open")
                    .order_by(Mention.id.desc())
                    .limit(200)
                )
            )
        urls = [f"/mentions/{i}" for i in ids]
        one = [_signed_in(base, "m@bench.test")]
        quiet, quiet_errors = _load(base, one, urls, min(10.0, args.seconds))
        sessions = [
            _signed_in(base, "m@bench.test" if i % 2 else "e@bench.test")
            for i in range(args.clients)
        ]
        stop = threading.Event()
        ingested = [0]

        def ingest() -> None:
            import json

            from connectors.base import Author, Batch, IncomingMention
            from hub.engagement import ingest as ingest_mod
            from hub.models import PlatformAccount

            run = datetime.now(UTC).strftime("c%H%M%S%f")
            rows = [json.loads(x) for x in STREAM.read_text(encoding="utf-8").splitlines()]
            with job_session(app) as s:
                account_id = s.scalar(
                    select(PlatformAccount.id).where(PlatformAccount.platform == "sandbox")
                )
            i = 0
            while not stop.is_set() and i < len(rows):
                t = time.perf_counter()
                batch = [
                    IncomingMention(
                        platform="sandbox",
                        external_id=f"{run}-{r['external_id']}",
                        author=Author(r["author"]["handle"], r["author"]["handle"]),
                        text=r["text"],
                        created_at=datetime.now(UTC),
                    )
                    for r in rows[i : i + 100]
                ]
                with job_session(app) as s:
                    account = s.get(PlatformAccount, account_id)
                    ingested[0] += ingest_mod.ingest_batch(s, account, Batch(batch, None)).inserted
                i += 100
                stop.wait(max(0.0, 100 / args.rate - (time.perf_counter() - t)))

        feeder = threading.Thread(target=ingest)
        feeder.start()
        busy, busy_errors = _load(base, sessions, urls, args.seconds)
        stop.set()
        feeder.join()
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()
    figures = {
        "clients": args.clients,
        "seconds": args.seconds,
        "ingested": ingested[0],
        "one_client_no_ingest": _summary(quiet),
        "busy": _summary(busy),
        "errors": len(busy_errors) + len(quiet_errors),
    }
    print(f"{backend}: {args.clients} clients for {args.seconds:.0f} s, {ingested[0]} ingested")
    for kind in ("queue", "conversation"):
        q, b = figures["one_client_no_ingest"].get(kind), figures["busy"].get(kind)
        if q and b:
            print(
                f"  {kind:13} one client p50 {q['p50_ms']:7.1f} ms p95 {q['p95_ms']:7.1f} ms |"
                f" {args.clients} clients p50 {b['p50_ms']:7.1f} ms p95 {b['p95_ms']:7.1f} ms"
                f" (n={b['n']}; p95 ×{b['p95_ms'] / q['p95_ms']:.1f})"
            )
    print(f"  errors: {figures['errors']}", *(busy_errors + quiet_errors)[:5], sep="\n    ")
    record(f"concurrency_{backend}", figures)


if __name__ == "__main__":
    main()
