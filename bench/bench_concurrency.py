"""Benchmark: 20 signed-in people working the queue while mentions stream in.

Serves a hub that bench/bench_scale.py seeded (``--keep DIR`` for SQLite, ``--pg-name`` for
PostgreSQL; without either it seeds a SQLite hub of ``--rows``, a million by default) with the
production server (``hub serve``), and
runs ``--clients`` people (default 20), each signed in with its own session and working as a
person with the queue open does: the page's live poll every second and a page every
``--think`` seconds (the queue or a conversation, in turn), for ``--seconds``, while a thread
ingests the stream (batches of 100 at ``--rate`` mentions/s, as a worker does). Reports p50/p95
per page and poll, the errors (any status but 200/204 counts), the same pages with one client
and no ingest as the baseline, and the same clients loading pages back to back (the server's
saturation), all in the same run. Figures go to bench/results.json under "concurrency_<backend>".
"""

from __future__ import annotations

import argparse
import atexit
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_scale import PASSWORD, PG_URL  # noqa: E402
from results import record  # noqa: E402
from scratch import BENCH_KEY, stream_rows  # noqa: E402


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
    base: str,
    sessions: list[requests.Session],
    urls: list[str],
    seconds: float,
    think: float,
) -> tuple[dict[str, list[float]], list[str]]:
    """Each session works as a person with the queue open in a browser: the page's live poll
    every second (``/queue/live`` with the page's key, as htmx sends it) and, every ``think``
    seconds, a page (the queue or a conversation, in turn). ``think`` 0: pages back to back,
    no polls (a closed loop: the server's saturation, not a person's pace)."""
    times: dict[str, list[float]] = {"queue": [], "conversation": [], "live poll": []}
    errors: list[str] = []
    lock = threading.Lock()
    start = time.perf_counter()
    end = start + seconds

    def get(s: requests.Session, kind: str, url: str, headers: dict[str, str]) -> str:
        t = time.perf_counter()
        try:
            resp = s.get(base + url, timeout=60, headers=headers)
            status, body = resp.status_code, resp.text
        except requests.RequestException as exc:
            status, body = 0, str(exc)
        took = (time.perf_counter() - t) * 1000
        with lock:
            times[kind].append(took)
            if status not in (200, 204):
                errors.append(f"{url}: {status or body}")
        return body

    def client(i: int, s: requests.Session) -> None:
        n, live = i, ""
        # people do not arrive in step: spread the first page over the think time
        next_page = start + (think * i / len(sessions) if think else 0)
        next_poll = next_page + 1
        while (now := time.perf_counter()) < end:
            if now >= next_page:
                kind, url = (
                    ("queue", "/queue") if n % 2 == 0 else ("conversation", urls[n % len(urls)])
                )
                n += 1
                body = get(s, kind, url, {})
                if kind == "queue" and (found := re.search(r'id="live" hx-get="([^"]+)"', body)):
                    live = found.group(1).replace("&amp;", "&")
                next_page = now + think
            elif think and live and now >= next_poll:
                get(s, "live poll", live, {"HX-Request": "true"})
                next_poll = now + 1
            else:
                time.sleep(max(0.0, min(next_page, next_poll if live else end) - now))

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
    parser.add_argument("--rows", type=int, default=1_000_000, help="without --keep/--pg-name")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--rate", type=int, default=20, help="mentions ingested per second")
    parser.add_argument("--think", type=float, default=5, help="seconds between a person's pages")
    parser.add_argument("--workers", type=int, default=0, help="web processes (0: the hub's)")
    args = parser.parse_args()
    if args.pg_name:
        url, backend = PG_URL + args.pg_name, "postgresql"
    elif args.keep:
        url, backend = f"sqlite:///{args.keep / 'bench.db'}", "sqlite"
    else:
        # a hub of its own, seeded (and timed once) by bench_scale, as `make bench` runs it
        args.keep = Path(tempfile.mkdtemp(prefix="hub-concurrency-"))
        atexit.register(shutil.rmtree, args.keep, True)
        seeding = [sys.executable, str(Path(__file__).with_name("bench_scale.py"))]
        seeding += ["--rows", str(args.rows), "--requests", "3", "--ingest", "0"]
        subprocess.run([*seeding, "--keep", str(args.keep)], check=True, stdout=subprocess.DEVNULL)
        url, backend = f"sqlite:///{args.keep / 'bench.db'}", "sqlite"
    tmp = args.keep or Path("/tmp")
    env = {
        **os.environ,
        "HUB_DATABASE_URL": url,
        "HUB_SANDBOX_URL": f"sqlite:///{tmp / 'sandbox.db'}",
        "HUB_SECRET_KEY": "bench",
        "HUB_ENCRYPTION_KEY": BENCH_KEY,
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
                "ENCRYPTION_KEY": BENCH_KEY,
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
        quiet, quiet_errors = _load(base, one, urls, min(10.0, args.seconds), 0)
        sessions = [
            _signed_in(base, "m@bench.test" if i % 2 else "e@bench.test")
            for i in range(args.clients)
        ]
        stop = threading.Event()
        ingested = [0]

        def ingest() -> None:

            from connectors.base import Author, Batch, IncomingMention
            from hub.engagement import ingest as ingest_mod
            from hub.models import PlatformAccount

            run = datetime.now(UTC).strftime("c%H%M%S%f")
            rows = stream_rows()
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
        busy, busy_errors = _load(base, sessions, urls, args.seconds, args.think)
        saturated, saturated_errors = _load(base, sessions, urls, min(20.0, args.seconds), 0)
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
        "saturated": _summary(saturated),
        "errors": len(busy_errors) + len(quiet_errors) + len(saturated_errors),
    }
    print(
        f"{backend}: {args.clients} people for {args.seconds:.0f} s (a page every"
        f" {args.think:g} s, the live poll every second), {ingested[0]} mentions ingested"
    )
    for kind in ("queue", "conversation", "live poll"):
        q, b = figures["one_client_no_ingest"].get(kind), figures["busy"].get(kind)
        if b:
            base_txt = f"one client p95 {q['p95_ms']:7.1f} ms | " if q else " " * 27
            ratio = f" (×{b['p95_ms'] / q['p95_ms']:.1f})" if q else ""
            print(
                f"  {kind:13} {base_txt}{args.clients} people p50 {b['p50_ms']:7.1f} ms"
                f" p95 {b['p95_ms']:7.1f} ms n={b['n']}{ratio}"
            )
    for kind, r in figures["saturated"].items():
        print(
            f"  closed loop, {args.clients} clients back to back, {kind}: p50 {r['p50_ms']:.1f} ms"
            f" p95 {r['p95_ms']:.1f} ms n={r['n']}"
        )
    errors = busy_errors + quiet_errors + saturated_errors
    print(f"  errors: {figures['errors']}", *errors[:5], sep="\n    ")
    record(f"concurrency_{backend}", figures)


if __name__ == "__main__":
    main()
