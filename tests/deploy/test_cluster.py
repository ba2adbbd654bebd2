"""The hub as it is deployed for real, on PostgreSQL: two web processes and two scheduler workers,
started with the commands and settings of the shipped systemd units (hub/deploy: the ExecStart
lines of hub-web.service and hub-worker@.service, the values of hub.env), as separate processes
on one fresh database. Only what cannot hold in a test is overridden: the database, the instance
folder, the port, one gunicorn process per unit, the sandbox on and cookies over plain http.

Each sandbox mention is ingested exactly once; when a worker is killed with -9 the other one
ingests what comes next within 30 s; a reply submitted through one web process is published
exactly once even when the worker that claimed it is killed in the middle of sending it; and
both web processes show the same queue. Runs only with HUB_TEST_DB=postgresql.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import URL, create_engine, text

from connectors.sandbox import SandboxStore
from hub.deploy import unit_command, unit_environment

pytestmark = pytest.mark.skipif(
    os.environ.get("HUB_TEST_DB") != "postgresql", reason="a cluster needs PostgreSQL"
)

PG_ADMIN_URL = os.environ.get(
    "HUB_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BRAND = "KestrelFootwear"
EMAIL = "lead@example.com"
PASSWORD = "cluster-test-passphrase-42"
#: a dead worker's accounts must be polled by another within this many seconds
TAKEOVER_SECONDS = 30


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(what: str, check: Callable[[], Any], timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


def _scalar(db_url: str | URL, sql: str, **params: Any) -> Any:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql), params).scalar()
    finally:
        engine.dispose()


def _execute(db_url: str | URL, sql: str, **params: Any) -> None:
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(text(sql), params)
    finally:
        engine.dispose()


@dataclass
class Cluster:
    env: dict[str, str]
    tmp: Path
    db_url: str
    sandbox_url: str
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)

    def hub(self, *args: str, input: str | None = None) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "hub.cli", *args],
            env=self.env,
            input=input,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def start(self, name: str, *args: str) -> None:
        log = open(self.tmp / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "hub.cli", *args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def serve(self, name: str) -> None:
        """hub-web.service's command, on a free port instead of 8000."""
        port = _free_port()
        self.ports[name] = port
        argv = unit_command("hub-web.service")
        argv[argv.index("--port") + 1] = str(port)
        self.start(name, *argv)

    def work(self, name: str) -> None:
        """hub-worker@.service's command."""
        self.start(name, *unit_command("hub-worker@.service"))

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text()

    def url(self, name: str, path: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}{path}"

    def scalar(self, sql: str, **params: Any) -> Any:
        return _scalar(self.db_url, sql, **params)

    def execute(self, sql: str, **params: Any) -> None:
        _execute(self.db_url, sql, **params)

    def stop_all(self) -> None:
        """Kill everything at once (clean stops are tests/hub/test_run_server.py's business);
        gunicorn's web workers leave as soon as they see their arbiter gone."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.kill()
        for proc in self.procs.values():
            proc.wait()


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    name = f"hub_cluster_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    db_url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    sandbox_url = f"sqlite:///{tmp_path / 'sandbox.db'}"
    env = {
        **os.environ,
        **unit_environment(),
        "HUB_SANDBOX_ENABLED": "true",
        "HUB_SESSION_COOKIE_SECURE": "false",
        "HUB_SERVER_WORKERS": "1",
        "HUB_SERVER_THREADS": "4",
        "PYTHONUNBUFFERED": "1",
        "HUB_INSTANCE_PATH": str(tmp_path / "instance"),
        "HUB_DATABASE_URL": db_url,
        "HUB_SANDBOX_URL": sandbox_url,
        "HUB_POLL_SECONDS": "1",
        "HUB_SEND_SECONDS": "1",
        "HUB_SERVER_CHANNEL_TIMEOUT": "10",
    }
    env.pop("HUB_DEMO_TRICKLE_SECONDS", None)
    running = Cluster(env, tmp_path, db_url, sandbox_url)
    try:
        yield running
    finally:
        running.stop_all()
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def _add_account_and_manager(c: Cluster) -> None:
    """The sandbox account and a manager, written in this process (as `hub add-account` and
    `hub create-user` would, without paying for two more interpreters)."""
    from hub import create_app
    from hub.auth import create_staff
    from hub.db import job_session
    from hub.platforms.accounts import create_account

    app = create_app(
        {
            "DATABASE_URL": c.db_url,
            "SANDBOX_URL": c.sandbox_url,
            "SECRET_KEY": "unused",
            "ENCRYPTION_KEY": (c.tmp / "instance" / "encryption_key").read_text().strip(),
        }
    )
    try:
        with job_session(app) as session:
            create_account(session, app, "sandbox", BRAND, {"handle": BRAND}, {})
            create_staff(session, EMAIL, "Lead", "manager", PASSWORD, ["en"], None)
    finally:
        app.extensions["hub.engine"].dispose()


def _sign_in(c: Cluster, web: str) -> requests.Session:
    http = requests.Session()
    page = http.get(c.url(web, "/login"), timeout=30)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
    assert token, page.text[:500]
    done = http.post(
        c.url(web, "/login"),
        data={"csrf_token": token.group(1), "email": EMAIL, "password": PASSWORD},
        timeout=30,
    )
    assert done.status_code == 200 and "/login" not in done.url, done.text[:500]
    return http


def _queue_mentions(http: requests.Session, c: Cluster, web: str) -> set[str]:
    page = http.get(c.url(web, "/queue"), timeout=30)
    assert page.status_code == 200
    return set(re.findall(r'href="(/mentions/[^"/]+)"', page.text))


def _sent_once_by_the_survivor(
    scalar: Callable[..., Any], store: SandboxStore, item_id: int
) -> None:
    """The stale send of ``item_id`` is taken over: sent on its second attempt, posted once and
    audited once (``scalar(sql, **params)`` reads the cluster's database)."""
    _wait(
        "the reply to be sent by the survivor",
        lambda: scalar("SELECT state FROM outbound_items WHERE id = :id", id=item_id) == "sent",
        timeout=30,
    )
    assert _brand_posts(store) == 1
    assert scalar("SELECT attempts FROM outbound_items WHERE id = :id", id=item_id) == 2
    assert (
        scalar(
            "SELECT count(*) FROM audit_events WHERE action = 'outbound.sent' AND subject_id = :i",
            i=item_id,
        )
        == 1
    )


def _brand_posts(store: SandboxStore) -> int:
    with store.engine.connect() as conn:
        found = conn.execute(
            text("SELECT count(*) FROM sandbox_posts WHERE author = :a"), {"a": BRAND}
        )
        return int(found.scalar() or 0)


def _ingested(db_url: str | URL) -> dict[str, int]:
    """How many times each external id was stored."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT external_id, count(*) FROM mentions GROUP BY external_id")
            )
            return {external_id: n for external_id, n in rows}
    finally:
        engine.dispose()


def test_two_web_processes_and_two_workers_share_the_work(cluster: Cluster) -> None:
    c = cluster
    c.hub("init")
    _add_account_and_manager(c)
    c.work("worker1")
    c.work("worker2")
    c.serve("web1")
    c.serve("web2")
    store = SandboxStore(c.sandbox_url)

    # each mention is ingested once, whichever worker polled
    first = [store.create_post(f"fan{i}", f"@{BRAND} question number {i}")["id"] for i in range(6)]
    _wait("the first mentions", lambda: len(_ingested(c.db_url)) == len(first))
    assert set(_ingested(c.db_url).values()) == {1}

    # a worker killed with -9: the other polls the account within TAKEOVER_SECONDS
    c.procs["worker1"].send_signal(signal.SIGKILL)
    c.procs["worker1"].wait()
    killed_at = time.monotonic()
    later = [store.create_post(f"late{i}", f"@{BRAND} after the crash {i}")["id"] for i in range(3)]
    _wait(
        "the survivor to ingest",
        lambda: len(_ingested(c.db_url)) == len(first) + len(later),
        timeout=TAKEOVER_SECONDS,
    )
    assert time.monotonic() - killed_at < TAKEOVER_SECONDS
    assert set(_ingested(c.db_url).values()) == {1}

    # both web processes show the same queue (the queue lives in the database)
    http = _sign_in(c, "web1")
    seen1 = _queue_mentions(http, c, "web1")
    seen2 = _queue_mentions(http, c, "web2")  # the session cookie is good on both
    assert len(seen1) == len(first) + len(later)
    assert seen1 == seen2

    # systemd would restart the dead worker: two workers again
    c.work("worker3")
    _wait("worker3 to run", lambda: "scheduler running" in c.log("worker3"))

    # A reply through web2, while the sandbox cannot take a post (its store is locked): one
    # worker claims it ("sending") and blocks in publish. Kill that worker mid-send.
    blocker = sqlite3.connect(c.sandbox_url.removeprefix("sqlite:///"), timeout=30)
    blocker.isolation_level = None
    blocker.execute("BEGIN IMMEDIATE")
    target = sorted(seen1)[0]
    page = http.get(c.url("web2", target), timeout=30)
    action = re.search(r'action="(/mentions/[^"]+/reply)"', page.text)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert action and token, page.text[:500]
    sent = http.post(
        c.url("web2", action.group(1)),
        data={
            "csrf_token": token.group(1),
            "text": "Thanks for writing in! We're on it and will reply shortly.",
            "seen_outbound": "",
            "confirm": "yes",
        },
        timeout=30,
    )
    assert sent.status_code == 200, sent.text[:500]
    item_id = _wait(
        "the reply to be claimed",
        lambda: c.scalar("SELECT id FROM outbound_items WHERE state = 'sending'"),
        timeout=30,
    )

    def claimer() -> str | None:
        for name in ("worker2", "worker3"):
            if f"sending outbound item {item_id}" in c.log(name):
                return name
        return None

    stuck = _wait("the claiming worker", claimer, timeout=20)
    c.procs[stuck].send_signal(signal.SIGKILL)
    c.procs[stuck].wait()
    blocker.execute("ROLLBACK")
    blocker.close()
    # it was the claimer: with the store free again nobody publishes, the row stays "sending"
    time.sleep(3)
    assert c.scalar("SELECT state FROM outbound_items WHERE id = :id", id=item_id) == "sending"
    assert _brand_posts(store) == 0
    # the interrupted send is reconciled once it is stale (SENDING_STALE); make it stale now
    c.execute(
        "UPDATE outbound_items SET updated_at = now() - interval '1 hour' WHERE id = :id",
        id=item_id,
    )
    _sent_once_by_the_survivor(c.scalar, store, item_id)

    for name in ("web1", "web2", "worker2", "worker3"):
        if name != stuck:
            assert "Traceback" not in c.log(name), c.log(name)
