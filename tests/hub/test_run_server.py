"""`hub run` as a real process: a production server (waitress) with the scheduler, that names no
version, keeps its threads while clients hold half-sent requests, refuses oversize bodies and
stops cleanly on SIGTERM."""

from __future__ import annotations

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

HALF_OPEN = 60
THREADS = 4


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

    def threads(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
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
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert proc.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        yield running
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


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
def test_half_sent_requests_hold_no_thread_and_block_nobody(server: Server) -> None:
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
        # connections are accepted in order: once this one is answered, all 60 were taken in
        resp = server.request("GET", "/login")
        assert resp.status == 200
        busy = server.threads()
        # a thread per connection (the development server) would be 60 more
        assert busy < idle + HALF_OPEN // 2, (idle, busy)
    finally:
        for sock in held:
            sock.close()


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
    assert status_line == b"HTTP/1.1 413 Request Entity Too Large", answer[:300]
    assert b"\r\nServer: hub\r\n" in answer


def test_sigterm_stops_server_and_scheduler_cleanly(server: Server) -> None:
    assert server.request("GET", "/login").status == 200
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=30) == 0, server.log.read_text()
    log = server.log.read_text()
    assert log.rstrip().endswith("stopped"), log
    assert "Traceback" not in log, log


def test_the_server_warms_the_checks_before_its_first_request(app):
    """The models and detectors load before anyone types (hub run calls warm_checks)."""
    import inspect

    from hub import cli
    from hub.engagement import attributes
    from hub.publishing.compose import warm_checks

    assert "warm_checks(session)" in inspect.getsource(cli.run.callback)
    attributes.model.cache_clear()
    with app.extensions["hub.sessionmaker"]() as session:
        warm_checks(session)
    assert attributes.model.cache_info().currsize == 1
