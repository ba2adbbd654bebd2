"""`hub run` as a real process: a production server (gunicorn, hub.server) with the scheduler in
a child process, that names no version, cuts off clients that hold half-sent requests, refuses
oversize bodies, restarts its scheduler when it dies and stops cleanly, with its child, on
SIGTERM."""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

HALF_OPEN = 10
THREADS = 4
#: seconds a client may stay silent mid-request (SERVER_CHANNEL_TIMEOUT)
CLIENT_TIMEOUT = 2


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    def request(self, method: str, path: str, **kw: Any) -> http.client.HTTPResponse:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        conn.request(method, path, **kw)
        resp = conn.getresponse()
        resp.read()
        conn.close()
        return resp

    def children(self) -> dict[int, str]:
        """The arbiter's child processes: pid -> command line."""
        pids = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()
        found = {}
        for pid in pids:
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            except FileNotFoundError:
                continue
            found[int(pid)] = cmd
        return found

    def scheduler_pid(self) -> int | None:
        """The scheduler child's pid; None while there is none (or, briefly, two)."""
        pids = [pid for pid, cmd in self.children().items() if "hub.cli worker" in cmd]
        return pids[0] if len(pids) == 1 else None

    def web_pid(self) -> int:
        pids = [pid for pid, cmd in self.children().items() if "hub.cli worker" not in cmd]
        assert len(pids) == 1, self.children()
        return pids[0]

    def threads(self) -> int:
        for line in Path(f"/proc/{self.web_pid()}/status").read_text().splitlines():
            if line.startswith("Threads:"):
                return int(line.split()[1])
        raise AssertionError("no thread count")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def server(app: Any, tmp_path: Path) -> Iterator[Server]:
    """`hub run` (scheduler included) on the test database, on a free loopback port."""
    port = _free_port()
    env = dict(
        os.environ,
        HUB_INSTANCE_PATH=str(tmp_path / "instance"),
        HUB_DATABASE_URL=app.config["DATABASE_URL"],
        HUB_SANDBOX_URL=app.config["SANDBOX_URL"],
        HUB_SECRET_KEY="run-secret",
        HUB_ENCRYPTION_KEY=app.config["ENCRYPTION_KEY"],
        HUB_SERVER_THREADS=str(THREADS),
        HUB_SERVER_WORKERS="1",
        HUB_SERVER_CHANNEL_TIMEOUT=str(CLIENT_TIMEOUT),
    )
    log = tmp_path / "hub.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hub.cli", "run", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    running = Server(proc, port, log)
    try:
        # until /login is served, not just until the port listens: gunicorn's master listens
        # before its worker has imported the app, which on a loaded machine takes a while
        deadline = time.monotonic() + 120
        while True:
            try:
                if running.request("GET", "/login").status == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield running
    finally:
        if proc.poll() is None:
            children = list(running.children()) if Path("/proc").exists() else []
            proc.kill()
            proc.wait()
            for pid in children:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)


def test_hub_run_serves_pages_without_naming_its_version(server: Server) -> None:
    resp = server.request("GET", "/login")
    assert resp.status == 200
    assert resp.getheader("Server") == "hub"
    assert resp.getheader("Content-Security-Policy", "").startswith("default-src 'self'")
    missing = server.request("GET", "/no-such-page")
    assert missing.status == 404 and missing.getheader("Server") == "hub"
    assert missing.getheader("X-Content-Type-Options") == "nosniff"
    assert "serving the hub on" in server.log.read_text()


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="counts threads in /proc")
def test_half_sent_requests_are_cut_off_and_block_nobody_for_long(server: Server) -> None:
    """More clients than threads each send half a request and go quiet: each holds a thread
    for CLIENT_TIMEOUT seconds at most, so a real request is answered soon after (without the
    timeout it would wait as long as they keep their connections open)."""
    assert server.request("GET", "/login").status == 200
    idle = server.threads()
    held: list[socket.socket] = []
    try:
        for _ in range(HALF_OPEN):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            sock.sendall(
                b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                b"Content-Type: application/x-www-form-urlencoded\r\n"
                b"Content-Length: 1000\r\n\r\nemail="
            )
            held.append(sock)
        time.sleep(0.5)
        assert server.threads() <= idle + THREADS  # a fixed pool, not a thread per connection
        started = time.monotonic()
        resp = server.request("GET", "/login")
        waited = time.monotonic() - started
        assert resp.status == 200
        # every thread was held by a silent client; each let go after CLIENT_TIMEOUT seconds
        assert waited < 20, waited
        for sock in held:  # each was answered 400 (a body cut short) or closed
            sock.settimeout(10)
            answer = sock.recv(100)
            assert answer == b"" or answer.startswith(b"HTTP/1.1 400 "), answer
    finally:
        for sock in held:
            sock.close()
    assert "Traceback" not in server.log.read_text()


def test_an_oversize_body_is_refused_before_it_is_read(server: Server) -> None:
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(
            b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\n"
            + f"Content-Length: {50 * 1024 * 1024}\r\n\r\n".encode()
            + b"email=a"
        )
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(4096)
            if not chunk:
                break
            answer += chunk
    status_line = answer.split(b"\r\n", 1)[0]
    assert status_line.upper() == b"HTTP/1.1 413 REQUEST ENTITY TOO LARGE", answer[:300]
    assert b"\r\nServer: hub\r\n" in answer


def _gone(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "State:\tZ" in status


def _wait_for(what: str, check: Any, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_sigterm_stops_server_and_scheduler_cleanly(server: Server) -> None:
    assert server.request("GET", "/login").status == 200
    scheduler = _wait_for("the scheduler child", lambda: server.scheduler_pid())
    web = server.web_pid()
    _wait_for("the scheduler to run", lambda: "scheduler running" in server.log.read_text())
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=60) == 0, server.log.read_text()
    log = server.log.read_text()
    assert log.rstrip().endswith("stopped"), log
    assert "scheduler stopped" in log, log
    assert "Traceback" not in log, log
    assert _gone(scheduler) and _gone(web)


def test_a_scheduler_that_dies_is_started_again(server: Server) -> None:
    first = _wait_for("the scheduler child", lambda: server.scheduler_pid())
    os.kill(first, signal.SIGKILL)

    def replaced() -> int | None:
        pid = server.scheduler_pid()
        return pid if pid != first else None

    second = _wait_for("a new scheduler", replaced, timeout=30)
    assert second != first
    assert f"scheduler (pid {first}) exited with status -9" in server.log.read_text()
    assert server.request("GET", "/login").status == 200


def test_the_server_warms_the_checks_before_its_first_request(app):
    """The models and detectors load before anyone types (each web worker calls warm_checks)."""
    import inspect

    from hub import server
    from hub.engagement import attributes
    from hub.publishing.compose import warm_checks

    assert "warm_checks(session)" in inspect.getsource(server._warm_worker)
    assert (
        server.gunicorn_settings(server.plan(app.config, "127.0.0.1", 1, 1, 1))["post_worker_init"]
        is server._warm_worker
    )
    attributes.model.cache_clear()
    with app.extensions["hub.sessionmaker"]() as session:
        warm_checks(session)
    assert attributes.model.cache_info().currsize == 1
