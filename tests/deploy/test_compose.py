"""The shipped compose file, run for real: `docker compose up` of hub/deploy/compose.yaml as
`hub deploy-files` writes it, unchanged, in a fresh project folder (a copy of the sources its
Dockerfile copies, a generated deploy/.env and a self-signed certificate where
nginx-compose.conf wants one). PostgreSQL, the one-shot `hub init`, two `hub serve` containers,
two `hub worker` containers and nginx with TLS in front. Only what cannot hold in a test is
changed, by tests/deploy/compose/test-override.yaml: the sandbox platform on with its store in a
folder this test shares, polling and sending every second, and the published ports on free
127.0.0.1 ports.

Through nginx, as tests/deploy/test_cluster.py does with plain processes: each sandbox mention
is ingested exactly once; when a worker container is killed (`docker kill`) the other ingests
what comes next within 30 s; both web containers show the same queue to the same session (they
share the instance volume's keys); a reply submitted through nginx is published exactly once
even when the worker container that claimed it is killed in the middle of sending it; and nginx
reaches a web container it never saw at its own start (a third replica, the first two stopped),
as it must after an upgrade recreates the web containers on other addresses.

Runs only with HUB_TEST_DB=postgresql, and is skipped, saying why, without a Docker daemon,
Docker Compose 2.24.4 or later (`docker compose`) or the images python:3.11-slim, postgres:16
and nginx:1.27 (real ones, or the stand-ins tests/deploy/compose/run.sh builds where no image
registry can be reached). The hub's own image (engagement-hub) is built each run, from Docker's
build cache when the sources have not changed; the image it replaces is removed. The times each
stage took are printed (pytest -s shows them).
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import secrets
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import requests
from sqlalchemy import URL

from connectors.sandbox import SandboxStore

REPO = Path(__file__).resolve().parents[2]
OVERRIDE = Path(__file__).with_name("compose") / "test-override.yaml"
#: the public images compose.yaml and the Dockerfile name
BASE_IMAGES = ("python:3.11-slim", "postgres:16", "nginx:1.27")
#: `ports: !override` in the override file needs this Compose
COMPOSE_MIN = (2, 24, 4)
#: the host name the test's requests give nginx (the certificate is made for it)
HOST = "hub.test"
REPLY = "Thanks for writing in! We're on it and will reply shortly."


def _load_cluster_helpers() -> ModuleType:
    """test_cluster.py's helpers and constants (_wait, _free_port, _brand_posts, BRAND, …):
    loaded from its file, as tests/ is no package."""
    spec = importlib.util.spec_from_file_location(
        "hub_deploy_test_cluster", Path(__file__).with_name("test_cluster.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


cluster = _load_cluster_helpers()


def _run(argv: list[str], timeout: float = 120, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, **kwargs)


def _docker_missing() -> str | None:
    """Why the stack cannot run here, or None."""
    if shutil.which("docker") is None:
        return "no docker command (tests/deploy/compose/run.sh installs and starts Docker)"
    try:
        if _run(["docker", "info"], timeout=20).returncode != 0:
            return "no Docker daemon answers (tests/deploy/compose/run.sh starts one)"
        version = _run(["docker", "compose", "version", "--short"], timeout=20)
    except subprocess.TimeoutExpired:
        return "the Docker daemon does not answer in time"
    found = re.match(r"v?(\d+)\.(\d+)\.(\d+)", version.stdout.strip())
    if version.returncode != 0 or not found:
        return "no Docker Compose v2 plugin (`docker compose`; tests/deploy/compose/run.sh)"
    if tuple(int(n) for n in found.groups()) < COMPOSE_MIN:
        return f"Docker Compose {version.stdout.strip()} is older than 2.24.4 (`!override`)"
    missing = [i for i in BASE_IMAGES if _run(["docker", "image", "inspect", i]).returncode]
    if missing:
        return (
            f"no {', '.join(missing)} image here (tests/deploy/compose/run.sh builds offline "
            "stand-ins)"
        )
    return None


def _image_id(tag: str) -> str | None:
    done = _run(["docker", "image", "inspect", "-f", "{{.Id}}", tag])
    return done.stdout.strip() if done.returncode == 0 else None


pytestmark = [
    pytest.mark.skipif(
        os.environ.get("HUB_TEST_DB") != "postgresql", reason="the compose stack needs PostgreSQL"
    ),
    pytest.mark.timeout(900),
]


def _make_certificate(cert: Path, key: Path) -> None:
    """A self-signed certificate for HOST and 127.0.0.1 (what the test's requests check)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, HOST)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName(HOST), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(private.public_key()), False)
        .sign(private, hashes.SHA256())
    )
    cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _project(root: Path) -> Path:
    """A fresh project folder as the compose file's header says to make one: the hub's sources
    (what the Dockerfile copies), `hub deploy-files deploy`, deploy/.env with a password and
    the certificate and key nginx-compose.conf names, in deploy/tls/. Returns deploy/."""
    root.mkdir()
    dockerfile = (REPO / "hub" / "deploy" / "Dockerfile").read_text()
    for line in dockerfile.splitlines():
        if line.startswith("COPY "):
            for name in line.split()[1:-1]:
                source = REPO / name
                if source.is_dir():
                    shutil.copytree(
                        source, root / name, ignore=shutil.ignore_patterns("__pycache__")
                    )
                else:
                    shutil.copy2(source, root / name)
    deploy = root / "deploy"
    done = _run([sys.executable, "-m", "hub.cli", "deploy-files", str(deploy)], cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    (deploy / ".env").write_text(f"POSTGRES_PASSWORD={secrets.token_urlsafe(18)}\n")
    conf = (deploy / "nginx-compose.conf").read_text()
    cert = re.search(r"ssl_certificate /etc/nginx/tls/(\S+);", conf)
    key = re.search(r"ssl_certificate_key /etc/nginx/tls/(\S+);", conf)
    assert cert and key, "nginx-compose.conf names no certificate in /etc/nginx/tls/"
    (deploy / "tls").mkdir()
    _make_certificate(deploy / "tls" / cert.group(1), deploy / "tls" / key.group(1))
    return deploy


@dataclass
class Stack:
    """One compose project of the shipped files, and what the test needs to reach it."""

    deploy: Path
    project: str
    env: dict[str, str]
    ports: dict[str, int]
    sandbox: Path
    times: dict[str, float] = field(default_factory=dict)

    @property
    def password(self) -> str:
        return (self.deploy / ".env").read_text().strip().split("=", 1)[1]

    @property
    def db_url(self) -> URL:
        return URL.create(
            "postgresql+psycopg",
            username="hub",
            password=self.password,
            host="127.0.0.1",
            port=self.ports["postgres"],
            database="hub",
        )

    @property
    def sandbox_url(self) -> str:
        return f"sqlite:///{self.sandbox / 'sandbox.db'}"

    def compose(self, *args: str, timeout: float = 300, check: bool = True) -> str:
        argv = ["docker", "compose", "-p", self.project, "-f", str(self.deploy / "compose.yaml")]
        done = _run(
            [*argv, "-f", str(OVERRIDE), *args],
            timeout=timeout,
            env=self.env,
            cwd=self.deploy.parent,
        )
        if check:
            assert done.returncode == 0, f"compose {' '.join(args)}:\n{done.stdout}{done.stderr}"
        return done.stdout + done.stderr

    def containers(self, service: str) -> list[dict[str, Any]]:
        """`compose ps -a` of one service, by replica number."""
        out = self.compose("ps", "-a", "--format", "json", service)
        rows: list[dict[str, Any]] = []
        for line in out.splitlines():
            line = line.strip()
            if line.startswith("["):  # Compose before 2.21 printed one array
                rows.extend(json.loads(line))
            elif line.startswith("{"):
                rows.append(json.loads(line))
        return sorted(rows, key=lambda r: int(r["Name"].rsplit("-", 1)[1]))

    def container(self, service: str, number: int) -> str:
        """The container name of replica ``number`` (1-based) of ``service``."""
        return f"{self.project}-{service}-{number}"

    def logs(self, container: str) -> str:
        done = _run(["docker", "logs", container], timeout=60)
        return done.stdout + done.stderr

    def hub(self, *args: str) -> str:
        """`hub ARGS` in the first web container (as an operator runs the CLI in the stack)."""
        return self.compose("exec", "-T", "--index", "1", "web", "hub", *args, timeout=120)

    def url(self, path: str, scheme: str = "https") -> str:
        return f"{scheme}://127.0.0.1:{self.ports[scheme]}{path}"

    def http(self) -> requests.Session:
        """A client of nginx as a browser at https://hub.test/ would be: the Host header and the
        certificate checked (callers give each POST a Referer, as the CSRF check over https
        wants)."""
        session = requests.Session()
        session.trust_env = False  # else REQUESTS_CA_BUNDLE wins over session.verify
        session.headers["Host"] = HOST
        session.verify = str(self.deploy / "tls" / "fullchain.pem")
        return session

    def scalar(self, sql: str, **params: Any) -> Any:
        return cluster._scalar(self.db_url, sql, **params)

    def execute(self, sql: str, **params: Any) -> None:
        cluster._execute(self.db_url, sql, **params)

    def ingested(self) -> dict[str, int]:
        return cluster._ingested(self.db_url)  # type: ignore[no-any-return]

    def address(self, container: str) -> str:
        """``container``'s address on the project's network (while it runs)."""
        done = _run(
            [
                "docker",
                "inspect",
                "-f",
                "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}",
                container,
            ]
        )
        found = done.stdout.split()
        assert done.returncode == 0 and found, done.stdout + done.stderr
        return found[0]

    def sessions_from(self, address: str) -> int:
        """PostgreSQL sessions open from ``address``."""
        return int(
            self.scalar(
                "SELECT count(*) FROM pg_stat_activity WHERE host(client_addr) = :a", a=address
            )
        )


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    problem = _docker_missing()
    if problem:
        pytest.skip(problem)
    deploy = _project(tmp_path / "src")
    sandbox = tmp_path / "sandbox"
    sandbox.mkdir()
    ports = {name: cluster._free_port() for name in ("postgres", "http", "https")}
    env = {
        **os.environ,
        "HUB_TEST_SANDBOX_DIR": str(sandbox),
        "HUB_TEST_PG_PORT": str(ports["postgres"]),
        "HUB_TEST_HTTP_PORT": str(ports["http"]),
        "HUB_TEST_HTTPS_PORT": str(ports["https"]),
    }
    env.pop("POSTGRES_PASSWORD", None)  # deploy/.env's is the one
    running = Stack(deploy, f"hubtest{uuid.uuid4().hex[:10]}", env, ports, sandbox)
    # The sandbox's store, created here (root) and writable by the containers' `hub` user:
    # SQLite gives its -wal and -shm files the database file's mode.
    store = SandboxStore(running.sandbox_url)
    store.engine.dispose()
    sandbox.chmod(0o777)
    for path in sandbox.iterdir():
        path.chmod(0o666)
    try:
        yield running
    finally:
        logs = running.compose("logs", "--no-color", "--timestamps", check=False, timeout=120)
        print(logs[-20000:])  # shown when the test failed
        started = time.monotonic()
        running.compose("down", "-v", "--remove-orphans", "-t", "10", check=False)
        running.times["down"] = time.monotonic() - started
        SandboxStore._engines.pop(running.sandbox_url).dispose()
        times = ", ".join(f"{k} {v:.1f}" for k, v in running.times.items())
        print(f"compose stack times (s): {times}")


def _sign_in(s: Stack) -> requests.Session:
    http = s.http()
    page = http.get(s.url("/login"), timeout=30)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text)
    assert page.status_code == 200 and token, page.text[:500]
    done = http.post(
        s.url("/login"),
        data={"csrf_token": token.group(1), "email": cluster.EMAIL, "password": cluster.PASSWORD},
        headers={"Referer": f"https://{HOST}/login"},
        timeout=30,
    )
    assert done.status_code == 200 and "/login" not in done.url, done.text[:500]
    return http


def _queue_in(s: Stack, number: int, http: requests.Session) -> set[str]:
    """The queue page as web container ``number`` serves it to ``http``'s session, asked inside
    that container past nginx (with the headers nginx would add), so each replica is seen."""
    script = (
        "import sys, urllib.request\n"
        "r = urllib.request.Request('http://127.0.0.1:8000/queue', headers={"
        "'Cookie': sys.argv[1], 'Host': sys.argv[2], 'X-Forwarded-Host': sys.argv[2], "
        "'X-Forwarded-Proto': 'https', 'X-Forwarded-For': '127.0.0.1'})\n"
        "print(urllib.request.urlopen(r, timeout=30).read().decode())\n"
    )
    cookie = "; ".join(f"{c.name}={c.value}" for c in http.cookies)
    page = s.compose(
        "exec", "-T", "--index", str(number), "web", "python", "-c", script, cookie, HOST
    )
    return set(re.findall(r'href="(/mentions/[^"/]+)"', page))


def test_the_compose_stack_shares_the_work_and_survives_a_killed_worker(stack: Stack) -> None:
    s = stack
    started = time.monotonic()
    before = _image_id("engagement-hub")
    # init, web and worker build the same image (the x-hub anchor): build it once, not thrice
    s.compose("build", "web", timeout=900)
    s.times["build"] = time.monotonic() - started
    if before and before != _image_id("engagement-hub"):
        _run(["docker", "image", "rm", before])  # the last run's build; kept if still in use

    started = time.monotonic()
    s.compose("up", "-d", "--no-build", timeout=300)

    def nginx_answers() -> bool:
        try:
            with s.http() as http:
                # the first answers wait for the web processes' warm-up
                return http.get(s.url("/login"), timeout=60).status_code == 200
        except requests.RequestException:
            return False

    cluster._wait("the hub through nginx", nginx_answers, timeout=120)
    s.times["up"] = time.monotonic() - started

    # the shape: init done, postgres healthy, 2 web, 2 workers, nginx
    init = s.containers("init")
    assert [(c["State"], c["ExitCode"]) for c in init] == [("exited", 0)], init
    assert "database ready" in s.logs(s.container("init", 1))
    assert [c["Health"] for c in s.containers("postgres")] == ["healthy"]
    for service in ("web", "worker"):
        states = [c["State"] for c in s.containers(service)]
        assert states == ["running", "running"], (service, states)
    assert [c["State"] for c in s.containers("nginx")] == ["running"]

    # nginx-compose.conf: http goes to https, https says HSTS
    with s.http() as http:
        plain = http.get(s.url("/login", "http"), allow_redirects=False, timeout=30)
        assert plain.status_code == 301, plain.text[:500]
        assert plain.headers["Location"] == f"https://{HOST}/login"
    with s.http() as http:
        assert (
            "max-age" in http.get(s.url("/login"), timeout=30).headers["Strict-Transport-Security"]
        )

    # the account and a manager, with the hub's CLI in a web container
    assert "connected sandbox account" in s.hub(
        "add-account", "--platform", "sandbox", "--handle", cluster.BRAND
    )
    s.hub(
        "create-user", "--email", cluster.EMAIL, "--name", "Lead", "--role", "manager",
        "--password", cluster.PASSWORD,
    )  # fmt: skip
    store = SandboxStore(s.sandbox_url)

    # each mention is ingested once, whichever worker polled
    first = [
        store.create_post(f"fan{i}", f"@{cluster.BRAND} question number {i}")["id"]
        for i in range(6)
    ]
    cluster._wait("the first mentions", lambda: len(s.ingested()) == len(first))
    assert set(s.ingested().values()) == {1}

    # `docker kill` a worker container: its database sessions (and so its leases) end with it,
    # and the other worker polls the account within TAKEOVER_SECONDS
    killed = s.container("worker", 1)
    killed_address = s.address(killed)
    assert s.sessions_from(killed_address) > 0
    assert _run(["docker", "kill", killed]).returncode == 0
    killed_at = time.monotonic()
    later = [
        store.create_post(f"late{i}", f"@{cluster.BRAND} after the crash {i}")["id"]
        for i in range(3)
    ]
    cluster._wait(
        "the survivor to ingest",
        lambda: len(s.ingested()) == len(first) + len(later),
        timeout=cluster.TAKEOVER_SECONDS,
    )
    s.times["takeover"] = time.monotonic() - killed_at
    assert s.times["takeover"] < cluster.TAKEOVER_SECONDS
    assert set(s.ingested().values()) == {1}
    assert [c["State"] for c in s.containers("worker")] == ["exited", "running"]
    cluster._wait(
        "the killed worker's sessions to end",
        lambda: s.sessions_from(killed_address) == 0,
        timeout=10,
    )

    # both web containers show the same queue, to a session signed in through nginx
    http = _sign_in(s)
    seen1 = _queue_in(s, 1, http)
    seen2 = _queue_in(s, 2, http)
    assert len(seen1) == len(first) + len(later)
    assert seen1 == seen2
    with_nginx = http.get(s.url("/queue"), timeout=30)
    assert set(re.findall(r'href="(/mentions/[^"/]+)"', with_nginx.text)) == seen1

    # two workers again, as an operator would start the dead one
    s.compose("start", "worker")
    cluster._wait(
        "the killed worker to run again",
        lambda: s.logs(killed).count("scheduler running") == 2,
        timeout=60,
    )

    # A reply through nginx while the sandbox cannot take a post (its store is locked): one
    # worker claims it ("sending") and blocks in publish. Kill that worker's container mid-send.
    blocker = sqlite3.connect(s.sandbox / "sandbox.db", timeout=30)
    blocker.isolation_level = None
    blocker.execute("BEGIN IMMEDIATE")
    try:
        target = sorted(seen1)[0]
        page = http.get(s.url(target), timeout=30)
        action = re.search(r'action="(/mentions/[^"]+/reply)"', page.text)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert action and token, page.text[:500]
        sent = http.post(
            s.url(action.group(1)),
            data={
                "csrf_token": token.group(1),
                "text": REPLY,
                "seen_outbound": "",
                "confirm": "yes",
            },
            headers={"Referer": f"https://{HOST}{target}"},
            timeout=30,
        )
        assert sent.status_code == 200, sent.text[:500]
        item_id = cluster._wait(
            "the reply to be claimed",
            lambda: s.scalar("SELECT id FROM outbound_items WHERE state = 'sending'"),
            timeout=30,
        )

        def claimer() -> str | None:
            for number in (1, 2):
                name = s.container("worker", number)
                if f"sending outbound item {item_id}" in s.logs(name):
                    return name
            return None

        stuck = cluster._wait("the claiming worker", claimer, timeout=20)
        assert _run(["docker", "kill", stuck]).returncode == 0
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    # it was the claimer: with the store free again nobody publishes, the row stays "sending"
    time.sleep(3)
    assert s.scalar("SELECT state FROM outbound_items WHERE id = :id", id=item_id) == "sending"
    assert cluster._brand_posts(store) == 0
    # the interrupted send is reconciled once it is stale (SENDING_STALE); make it stale now
    s.execute(
        "UPDATE outbound_items SET updated_at = now() - interval '1 hour' WHERE id = :id",
        id=item_id,
    )
    cluster._sent_once_by_the_survivor(s.scalar, store, item_id)

    for name in (s.container("web", 1), s.container("web", 2), s.container("worker", 1),
                 s.container("worker", 2)):  # fmt: skip
        if name != stuck:
            assert "Traceback" not in s.logs(name), s.logs(name)

    # Web containers come and go on new addresses: an upgrade's `docker compose up -d`
    # recreates them (a new image), a scale adds some. nginx must send the requests to the
    # ones that run now. Made certain here: a third replica starts, the first two stop, and
    # nginx must reach the third, which it never saw at its own start; the session holds there
    # too (the keys live in the instance volume).
    queued = http.get(s.url("/queue"), timeout=30).text
    started = time.monotonic()
    s.compose("up", "-d", "--no-build", "--no-deps", "--scale", "web=3", "web")
    cluster._wait(
        "the third web container",
        lambda: "Booting worker" in s.logs(s.container("web", 3)),
        timeout=60,
    )
    assert _run(["docker", "stop", s.container("web", 1), s.container("web", 2)]).returncode == 0
    cluster._wait("the third web container through nginx", nginx_answers, timeout=120)
    s.times["new replica"] = time.monotonic() - started
    again = http.get(s.url("/queue"), timeout=30)
    assert again.status_code == 200 and "/login" not in again.url
    assert set(re.findall(r'href="(/mentions/[^"/]+)"', again.text)) == set(
        re.findall(r'href="(/mentions/[^"/]+)"', queued)
    )
