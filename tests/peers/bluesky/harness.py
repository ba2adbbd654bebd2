"""The real Bluesky servers (PLC, PDS, AppView) as a pytest peer.

``bluesky_network`` (session-scoped) runs install.sh when needed (a no-op once installed),
starts network.mjs under the Node 22 installed next to it, waits for its "ready" JSON line and
yields a ``BlueskyNetwork``; at the end it stops the servers (network.mjs drops its PostgreSQL
schemas) and removes the temporary folder the PDS kept its SQLite files in.

The network runs with the PDS rate limits on (in-memory limiter): the connector sees real
``ratelimit-*`` headers and real 429s. Every test creates its own accounts, so the per-account
limits don't carry over between tests.

Settings (environment): HUB_TEST_PG_ADMIN (the PostgreSQL server, as in tests/conftest.py),
HUB_TEST_REDIS_HOST (default 127.0.0.1:6379).
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import shutil
import signal
import string
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

HERE = Path(__file__).resolve().parent
NODE = HERE / "node" / "bin" / "node"
INSTALL = HERE / "install.sh"
SCRIPT = HERE / "network.mjs"
STARTUP_TIMEOUT = 180.0  # seconds; 5-20 s is usual, more on a busy 2-core machine

T = TypeVar("T")


def postgres_url() -> str:
    """The PostgreSQL server the AppView, bsync and Ozone use (libpq form, no driver suffix)."""
    url = os.environ.get("HUB_TEST_PG_ADMIN", "postgresql://postgres@127.0.0.1:5432/postgres")
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def install() -> float:
    """Run install.sh (quick when already installed); return the seconds it took."""
    started = time.monotonic()
    result = subprocess.run(
        ["bash", str(INSTALL)], cwd=HERE, capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"tests/peers/bluesky/install.sh failed ({result.returncode}):\n"
            f"{result.stdout[-2000:]}\n{result.stderr[-4000:]}"
        )
    return time.monotonic() - started


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 15.0) -> T:
    """Poll ``probe`` every 0.1 s until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(0.1)


@dataclass(frozen=True)
class Account:
    """An account created on the local PDS."""

    handle: str
    did: str
    password: str


@dataclass
class BlueskyNetwork:
    """A running local network: its URLs and a few helpers for tests."""

    plc: str
    pds: str
    appview: str
    ozone: str
    schema: str
    install_seconds: float
    startup_seconds: float
    tmpdir: Path
    _http: httpx.Client = field(default_factory=lambda: httpx.Client(timeout=30.0))

    def create_account(self, prefix: str = "user") -> Account:
        """com.atproto.server.createAccount, then wait until the AppView knows the profile."""
        suffix = "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(8))
        handle = f"{prefix}-{suffix}.test"
        password = secrets.token_urlsafe(12)
        response = self._http.post(
            f"{self.pds}/xrpc/com.atproto.server.createAccount",
            json={
                "handle": handle,
                "email": f"{prefix}-{suffix}@example.test",
                "password": password,
            },
        )
        response.raise_for_status()
        account = Account(handle=handle, did=response.json()["did"], password=password)
        # Client.login() fails until the AppView has indexed the new profile (about 1 s).
        wait_for(
            f"the AppView to index {handle}",
            lambda: self.appview_get("app.bsky.actor.getProfile", actor=account.did),
        )
        return account

    def appview_get(self, nsid: str, **params: Any) -> dict[str, Any] | None:
        """An unauthenticated AppView query; None on any 4xx (not indexed yet, not found)."""
        response = self._http.get(f"{self.appview}/xrpc/{nsid}", params=params)
        if 400 <= response.status_code < 500:
            return None
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def visible_post(self, uri: str) -> dict[str, Any] | None:
        """The AppView's view of a post once indexed, else None."""
        data = self.appview_get("app.bsky.feed.getPosts", uris=uri)
        posts = (data or {}).get("posts") or []
        return posts[0] if posts else None

    def close(self) -> None:
        """Close the helper HTTP client."""
        self._http.close()


class _Process:
    """network.mjs as a child process."""

    def __init__(self, *, rate_limits: bool) -> None:
        self.tmpdir = Path(tempfile.mkdtemp(prefix="hub-bluesky-"))
        self.schema = "hub_" + "".join(secrets.choice(string.ascii_lowercase) for _ in range(10))
        self.log_path = self.tmpdir / "network.log"
        env = {
            **os.environ,
            "PATH": f"{NODE.parent}{os.pathsep}{os.environ.get('PATH', '')}",
            # Each PDS keeps its SQLite files and blobs under os.tmpdir(): ours, removed at stop.
            "TMPDIR": str(self.tmpdir),
            "DB_POSTGRES_URL": postgres_url(),
            "REDIS_HOST": os.environ.get("HUB_TEST_REDIS_HOST", "127.0.0.1:6379"),
            "LOG_ENABLED": "false",
        }
        args = [str(NODE), str(SCRIPT), "--schema", self.schema]
        if rate_limits:
            args.append("--rate-limits")
        self._log = open(self.log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            args,
            cwd=HERE,
            env=env,
            stdin=subprocess.PIPE,  # network.mjs shuts down when this closes (we died)
            stdout=subprocess.PIPE,
            stderr=self._log,
        )
        self._lines: queue.Queue[bytes] = queue.Queue()
        self._reader = threading.Thread(target=self._read_stdout, daemon=True)
        self._reader.start()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self._lines.put(line)
        self._lines.put(b"")

    def wait_ready(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"the Bluesky network did not start in {timeout:.0f} s")
            try:
                line = self._lines.get(timeout=left)
            except queue.Empty:
                continue
            if not line:
                raise RuntimeError(f"the Bluesky network exited: {self.log_tail()}")
            try:
                ready: dict[str, Any] = json.loads(line)
            except ValueError:
                continue  # something else printed on stdout
            if isinstance(ready, dict) and "pds" in ready:
                return ready

    def log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-4000:]
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """SIGTERM (network.mjs closes the servers, drops its schemas), then clean up."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.returncode != 0:
            # It could not drop its schemas itself (killed, or failed to start): do it for it.
            subprocess.run(
                [str(NODE), str(SCRIPT), "--drop-schema", self.schema],
                cwd=HERE,
                env={**os.environ, "DB_POSTGRES_URL": postgres_url()},
                capture_output=True,
                check=False,
            )
        self._reader.join(timeout=10)  # it ends at EOF; closing stdout under it would raise
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()
        self._log.close()
        shutil.rmtree(self.tmpdir, ignore_errors=True)


def start_network(*, rate_limits: bool = True) -> Generator[BlueskyNetwork, None, None]:
    """Install if needed, start the network, yield it, and always tear it down."""
    install_seconds = install()
    started = time.monotonic()
    process = _Process(rate_limits=rate_limits)
    network = None
    try:
        ready = process.wait_ready(STARTUP_TIMEOUT)
        network = BlueskyNetwork(
            plc=ready["plc"],
            pds=ready["pds"],
            appview=ready["appview"],
            ozone=ready["ozone"],
            schema=ready["schema"],
            install_seconds=install_seconds,
            startup_seconds=time.monotonic() - started,
            tmpdir=process.tmpdir,
        )
        yield network
    finally:
        if network is not None:
            network.close()
        process.stop()


_shared: list[BlueskyNetwork] = []


def shared_network(config: pytest.Config) -> BlueskyNetwork:
    """One network per test process, however many test modules ask for it.

    Each module that imports ``bluesky_network`` registers its own copy of the fixture, and
    pytest would start one network per module; this keeps the first one and stops it when the
    session ends.
    """
    if not _shared:
        running = start_network(rate_limits=True)
        network = next(running)
        _shared.append(network)

        def stop() -> None:
            _shared.clear()
            running.close()  # runs start_network's finally: stop the servers, clean up

        config.add_cleanup(stop)
        _say(
            config,
            f"bluesky peer: install check {network.install_seconds:.1f} s, "
            f"network start {network.startup_seconds:.1f} s",
        )
    return _shared[0]


@pytest.fixture(scope="session")
def bluesky_network(request: pytest.FixtureRequest) -> BlueskyNetwork:
    """The local Bluesky network (PDS rate limits on) for the whole test session."""
    return shared_network(request.config)


def _say(config: pytest.Config, line: str) -> None:
    """Write a line to the terminal past pytest's output capture."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or capture is None:
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(line)
