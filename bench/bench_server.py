"""The production server (`hub serve`: gunicorn, gthread) against Flask's development server
(werkzeug's run_simple, threaded) on the same SQLite database, and the memory of each process.

Both serve a hub with N mentions (default 2,000) and a signed-in manager. C clients (default 8)
each keep one connection and ask, back to back for S seconds (default 8), the manager's queue
page, then a static file (the stylesheet). Printed per server and page: requests per second and
the p50/p95 latency; then the ratios (production / development). Then the resident memory of a
web process, of the gunicorn arbiter, of the development server and of a `hub worker` (the
scheduler) once it has run its jobs for a while.

    .venv/bin/python bench/bench_server.py [--rows N] [--clients C] [--seconds S] [--workers W]
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import requests  # noqa: E402
from bench_queue_poll import seed  # noqa: E402
from results import record  # noqa: E402

EMAIL = "m@example.test"
PASSWORD = "correct horse battery 9"
DEV_SERVER = """
import sys
from werkzeug.serving import run_simple
from hub import create_app
run_simple("127.0.0.1", int(sys.argv[1]), create_app(), threaded=True)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    path = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in path.read_text().split()] if path.exists() else []


def wait_until_up(port: int, proc: subprocess.Popen[bytes], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the server exited"
        try:
            if requests.get(f"http://127.0.0.1:{port}/login", timeout=30).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"nothing answers on port {port}")


def signed_in_cookies(base: str) -> dict[str, str]:
    http = requests.Session()
    page = http.get(f"{base}/login", timeout=30).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert token, "no CSRF token on the sign-in page"
    done = http.post(
        f"{base}/login",
        data={"csrf_token": token.group(1), "email": EMAIL, "password": PASSWORD},
        timeout=30,
    )
    assert done.status_code == 200 and "/login" not in done.url, done.status_code
    return http.cookies.get_dict()


def load(base: str, path: str, clients: int, seconds: float, cookies: dict[str, str]) -> dict:
    """``clients`` threads asking ``path`` back to back for ``seconds``: rps, p50, p95 (ms)."""
    latencies: list[float] = []
    errors: list[str] = []
    guard = threading.Lock()
    start = threading.Barrier(clients + 1)
    stop_at: list[float] = []

    def client() -> None:
        http = requests.Session()
        http.cookies.update(cookies)
        mine = []
        start.wait()
        while time.monotonic() < stop_at[0]:
            t = time.perf_counter()
            resp = http.get(base + path, timeout=60)
            mine.append(time.perf_counter() - t)
            if resp.status_code != 200:
                with guard:
                    errors.append(f"{resp.status_code} {resp.url}")
                return
        with guard:
            latencies.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for th in threads:
        th.start()
    stop_at.append(time.monotonic() + seconds)
    began = time.monotonic()
    start.wait()
    for th in threads:
        th.join()
    elapsed = time.monotonic() - began
    assert not errors, errors[:3]
    q = statistics.quantiles(latencies, n=100)
    return {
        "requests": len(latencies),
        "rps": round(len(latencies) / elapsed, 1),
        "p50_ms": round(q[49] * 1000, 1),
        "p95_ms": round(q[94] * 1000, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=2_000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--workers", type=int, default=0, help="web processes (0: per CPU)")
    args = parser.parse_args()

    from cryptography.fernet import Fernet

    from connectors.sandbox import SandboxStore
    from hub import create_app
    from hub.auth import create_staff
    from hub.db import job_session
    from hub.migrate import upgrade
    from hub.platforms.accounts import create_account
    from hub.server import plan

    with tempfile.TemporaryDirectory() as tmp:
        env = dict(
            os.environ,
            HUB_INSTANCE_PATH=tmp,
            HUB_DATABASE_URL=f"sqlite:///{Path(tmp) / 'hub.db'}",
            HUB_SANDBOX_URL=f"sqlite:///{Path(tmp) / 'sandbox.db'}",
            HUB_SECRET_KEY="bench-secret",
            HUB_ENCRYPTION_KEY=Fernet.generate_key().decode(),
            HUB_SERVER_WORKERS=str(args.workers),
            PYTHONUNBUFFERED="1",
        )
        os.environ.update({k: v for k, v in env.items() if k.startswith("HUB_")})
        app = create_app()
        upgrade(app.extensions["hub.engine"])
        seed(app, args.rows)
        with job_session(app) as s:
            create_staff(s, EMAIL, "Morgan", "manager", PASSWORD)
            # an account with a post waiting, so the worker's first poll ingests (and warms)
            create_account(s, app, "sandbox", "KestrelFootwear", {"handle": "KestrelFootwear"})
        SandboxStore(env["HUB_SANDBOX_URL"]).create_post("fan", "@KestrelFootwear hello there")
        shape = plan(app.config, "127.0.0.1", 0, None, None)
        app.extensions["hub.engine"].dispose()

        results: dict[str, dict[str, Any]] = {}
        memory: dict[str, float] = {}
        python = sys.executable
        servers = {
            "gunicorn": lambda port: [python, "-m", "hub.cli", "serve", "--port", str(port)],
            "development": lambda port: [python, "-c", DEV_SERVER, str(port)],
        }
        for name, argv in servers.items():
            port = free_port()
            log = open(Path(tmp) / f"{name}.log", "w")  # noqa: SIM115 - closed below
            proc = subprocess.Popen(argv(port), env=env, stdout=log, stderr=subprocess.STDOUT)
            try:
                wait_until_up(port, proc)
                base = f"http://127.0.0.1:{port}"
                cookies = signed_in_cookies(base)
                load(base, "/queue", args.clients, 1.0, cookies)  # every thread warmed
                results[name] = {
                    "queue": load(base, "/queue", args.clients, args.seconds, cookies),
                    "static": load(base, "/static/hub.css", args.clients, args.seconds, cookies),
                }
                if name == "gunicorn":
                    web = children(proc.pid)
                    memory["web_process_mb"] = round(max(rss_mb(p) for p in web), 1)
                    memory["arbiter_mb"] = round(rss_mb(proc.pid), 1)
                else:
                    memory["development_server_mb"] = round(rss_mb(proc.pid), 1)
            finally:
                proc.terminate()
                proc.wait(60)
                log.close()

        worker = subprocess.Popen(
            [python, "-m", "hub.cli", "worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(20)  # started, and its jobs have run (the first poll warms ingest)
            memory["scheduler_worker_mb"] = round(rss_mb(worker.pid), 1)
        finally:
            worker.terminate()
            worker.wait(60)

    prod, dev = results["gunicorn"], results["development"]
    print(
        f"{args.rows:,} mentions on SQLite, {args.clients} clients, {args.seconds:g} s per page; "
        f"gunicorn: {shape.workers} web process(es) x {shape.threads} threads"
    )
    ratios: dict[str, float] = {}
    for page in ("queue", "static"):
        for name, r in (("gunicorn", prod[page]), ("development", dev[page])):
            print(
                f"  {page:<6} {name:<12} {r['rps']:8.1f} req/s   p50 {r['p50_ms']:7.1f} ms   "
                f"p95 {r['p95_ms']:7.1f} ms"
            )
        ratios[f"{page}_rps_ratio"] = round(prod[page]["rps"] / dev[page]["rps"], 2)
        ratios[f"{page}_p95_ratio"] = round(prod[page]["p95_ms"] / dev[page]["p95_ms"], 2)
        print(
            f"  {page}: gunicorn serves {ratios[f'{page}_rps_ratio']:.2f}x the requests per "
            f"second, at {ratios[f'{page}_p95_ratio']:.2f}x the p95 latency"
        )
    print("resident memory per process:")
    for what, mb in memory.items():
        print(f"  {what:<24} {mb:7.1f} MB")
    record(
        "server",
        {
            "rows": args.rows,
            "clients": args.clients,
            "seconds": args.seconds,
            "web_processes": shape.workers,
            "threads": shape.threads,
            "gunicorn": prod,
            "development": dev,
            **ratios,
            "memory_mb": memory,
        },
    )


if __name__ == "__main__":
    main()
