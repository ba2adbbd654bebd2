"""Shared fixtures: the app on SQLite (default) or PostgreSQL (HUB_TEST_DB=postgresql).

On PostgreSQL the session creates its own database on 127.0.0.1:5432 and drops it at the end.
The schema is built once with the real Alembic migrations; each test starts from empty tables.
"""

from __future__ import annotations

import os
import re
import socket
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from jinja2.bccache import Bucket, BytecodeCache
from sqlalchemy import create_engine, select, text

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DATA = SHARED / "data"
PG_ADMIN_URL = os.environ.get(
    "HUB_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _reuse_url_builders() -> None:
    """Each test builds its own app, and Werkzeug compiles two URL-builder functions per route
    (an AST, compile(), exec) every time a route is added to an app: about 85% of
    create_app(), a quarter of a second for the hub's 150 routes. The builder depends only on
    the rule's parsed shape, its defaults and its converters' types, and takes the rule itself
    as its first argument, so the same function serves every app: compile each shape once per
    test process. Route matching (the regular expressions and the state machine) is untouched."""
    from werkzeug.routing.rules import Rule

    compile_builder = Rule._compile_builder
    builders: dict[Any, Any] = {}

    def cached(self: Rule, append_unknown: bool = True) -> Any:
        defaults = self.defaults or {}
        if any(dynamic and part in defaults for dynamic, part in self._trace):
            # a default for a variable part is resolved through the converter instance
            return compile_builder(self, append_unknown)
        try:
            key = (
                self.rule,
                tuple(self._trace),
                tuple(sorted(defaults.items())),
                tuple(sorted((name, type(c)) for name, c in self._converters.items())),
                append_unknown,
            )
            builder = builders.get(key)
        except TypeError:  # an unhashable default: compile as Werkzeug does
            return compile_builder(self, append_unknown)
        if builder is None:
            builder = builders[key] = compile_builder(self, append_unknown)
        return builder

    Rule._compile_builder = cached  # type: ignore[method-assign]


_reuse_url_builders()


def _share_compiled_sql() -> None:
    """Each test's app has its own engine, and an engine keeps the SQL it compiled in its own
    cache, keyed by its own dialect object: every test compiled every statement it ran
    again (a quarter of the role matrix's time). The engines hub.db.make_engine() builds in
    this test process now share one dialect object per database kind (its first engine's,
    initialised by a first connection opened here) and one compiled-statement cache, as the
    requests of one hub process share them. Each engine keeps its own pool, connections and
    event listeners (SQLite's pragmas and BEGIN IMMEDIATE); engines made in other ways
    (tests' own create_engine() calls) are untouched."""
    from sqlalchemy.util import LRUCache

    import hub.db

    make_engine = hub.db.make_engine
    shared: dict[tuple[Any, ...], tuple[Any, Any]] = {}

    def sharing(url: str) -> Any:
        engine = make_engine(url)
        kind = (
            type(engine.dialect),
            engine.url.drivername,
            engine.url.database in (None, "", ":memory:"),
        )
        if kind not in shared:
            with engine.connect():  # a dialect initialises itself on its first connection
                pass
            shared[kind] = (engine.dialect, LRUCache(5000))
        engine.dialect, engine._compiled_cache = shared[kind]
        return engine

    hub.db.make_engine = sharing


_share_compiled_sql()


@pytest.fixture(autouse=True, scope="session")
def _fast_password_hashing() -> Iterator[None]:
    """Tests hash hundreds of passwords: use argon2id at minimal cost. The hashes carry their
    parameters, so the hub verifies them as usual, here and in `hub run` subprocesses."""
    from argon2 import PasswordHasher

    import hub.auth

    real = hub.auth._hasher
    hub.auth._hasher = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1)
    yield
    hub.auth._hasher = real


def _backend() -> str:
    return os.environ.get("HUB_TEST_DB", "sqlite")


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated, empty database for this test session."""
    from hub.db import make_engine
    from hub.migrate import upgrade

    if _backend() == "postgresql":
        name = f"hub_test_{uuid.uuid4().hex[:10]}"
        admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'hub.db'}"
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    yield url
    if _backend() == "postgresql":
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


def _empty_tables(engine: Any) -> None:
    """Every table empty and, on PostgreSQL, every table's id sequence restarted (as after
    ``TRUNCATE ... RESTART IDENTITY``; SQLite's next id is max(id) + 1, so 1 again).

    On PostgreSQL one query finds the tables that hold rows and the id sequences that handed
    out a number since their restart (a rolled-back insert takes one too); only those are
    emptied (DELETE, children first) and restarted. A test touches a handful of the tables, and
    TRUNCATE swaps every table's and index's files whether it holds rows or not: a third of a
    second per test for all of them, a few milliseconds for what one test wrote."""
    from hub.models import Base

    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            held: set[str] = set()
            restart: list[str] = []
            for used in conn.execute(text(_pg_used_query(conn, tables))).scalars():
                kind, name = used.split(":", 1)
                if kind == "table":
                    held.add(name)
                else:
                    restart.append(name)
            if {"teams", "staff"} <= held:
                # teams.lead_id and staff.team_id point at each other: break the loop first
                conn.execute(text("UPDATE teams SET lead_id = NULL"))
            for t in tables:  # children before parents
                if t in held:
                    conn.execute(text(f"DELETE FROM {t}"))
            for seq in restart:
                conn.execute(text(f'ALTER SEQUENCE "{seq}" RESTART'))
        else:
            # teams.lead_id and staff.team_id point at each other: break the loop first
            conn.execute(text("UPDATE teams SET lead_id = NULL"))
            for t in tables:
                conn.execute(text(f"DELETE FROM {t}"))


_pg_used: dict[str, str] = {}


def _pg_used_query(conn: Any, tables: list[str]) -> str:
    """One query naming the tables that hold a row ("table:name") and the sequences owned by
    their columns that were used since their last restart ("sequence:name"). Built once per
    database: the owned sequences come from the catalogue (what RESTART IDENTITY restarts)."""
    key = str(conn.engine.url)
    if key not in _pg_used:
        owned = (
            conn.execute(
                text(
                    "SELECT s.relname FROM pg_class s"
                    " JOIN pg_depend d ON d.objid = s.oid AND d.deptype IN ('a', 'i')"
                    " JOIN pg_class t ON t.oid = d.refobjid"
                    " WHERE s.relkind = 'S' AND t.relname = ANY(:tables)"
                    " AND t.relnamespace = to_regnamespace(current_schema())::oid"
                ),
                {"tables": tables},
            )
            .scalars()
            .all()
        )
        parts = [f"SELECT 'table:{t}' WHERE EXISTS (SELECT 1 FROM {t})" for t in tables]
        if owned:
            names = ", ".join(f"'{name}'" for name in owned)
            parts.append(
                "SELECT 'sequence:' || sequencename FROM pg_sequences"
                " WHERE schemaname = current_schema() AND last_value IS NOT NULL"
                f" AND sequencename IN ({names})"
            )
        _pg_used[key] = " UNION ALL ".join(parts)
    return _pg_used[key]


class _CompiledTemplates(BytecodeCache):
    """Jinja's compiled templates, kept in memory for every app of this test process.

    Each test's app has its own Jinja environment, which parses and compiles each template
    it renders again (a fifth of a short page test's time). Jinja's bytecode cache is its own
    mechanism for sharing that work between environments configured alike (as every
    create_app() is): an entry is keyed by the template's name and checked against a hash of
    its source, so an edited template is compiled afresh."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


_TEMPLATE_CODE = _CompiledTemplates()


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Any]:
    """A hub app on the session's database, emptied for this test."""
    from hub import create_app

    app = create_app(
        {
            "TESTING": True,
            "DATABASE_URL": database_url,
            "SANDBOX_URL": f"sqlite:///{tmp_path / 'sandbox.db'}",
            "SECRET_KEY": "test-secret",
            "ENCRYPTION_KEY": "UPAOHjJek0vHHZhQ_uMolDu_2sP75d8Om3cbsZsjy-Q=",
            "WTF_CSRF_ENABLED": False,
        }
    )
    app.instance_path = str(tmp_path)
    app.jinja_env.bytecode_cache = _TEMPLATE_CODE
    _empty_tables(app.extensions["hub.engine"])
    yield app
    app.extensions["hub.engine"].dispose()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def session(app: Any) -> Iterator[Any]:
    """A session for arranging and asserting; commit explicitly to make rows visible."""
    factory = app.extensions["hub.sessionmaker"]
    with factory() as s:
        yield s


class Tripwire:
    """Outgoing TCP connections of this process: each one is recorded, and refused
    (ConnectionRefusedError) unless its port was allowed with ``allow(port)`` on 127.0.0.1."""

    def __init__(self) -> None:
        #: every (host, port) a socket tried to connect to, allowed or not
        self.attempts: list[tuple[str, int]] = []
        self._allowed: set[int] = set()

    def allow(self, port: int) -> None:
        self._allowed.add(port)

    @property
    def refused(self) -> list[tuple[str, int]]:
        return [a for a in self.attempts if not (a[0] == "127.0.0.1" and a[1] in self._allowed)]

    def check(self, address: Any) -> None:
        host, port = str(address[0]), int(address[1])
        self.attempts.append((host, port))
        if (host, port) in self.refused:
            raise ConnectionRefusedError(f"tripwire: no connection to {host}:{port} in this test")


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> Tripwire:
    """Record (and refuse) every outgoing TCP connection, to prove none was made."""
    import socket

    wire = Tripwire()
    real_connect, real_connect_ex = socket.socket.connect, socket.socket.connect_ex

    def connect(sock: socket.socket, address: Any) -> None:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            wire.check(address)
        real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> int:
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            wire.check(address)
        return int(real_connect_ex(sock, address))

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    return wire


class Listener(socket.socket):
    """A socket listening on 127.0.0.1 that nobody should reach: a connection would sit in its
    accept queue the moment connect() returned, so an empty queue proves none was made."""

    def nobody_came(self) -> bool:
        try:
            self.accept()[0].close()
        except BlockingIOError:
            return True
        return False


@pytest.fixture
def listener() -> Iterator[Listener]:
    """A :class:`Listener` on a free port."""
    with Listener() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        sock.setblocking(False)
        yield sock


@pytest.fixture
def make_staff(app: Any) -> Callable[..., Any]:
    """make_staff(role="manager", **overrides) -> Staff (committed); password is "password123"."""
    from hub.auth import create_staff
    from hub.db import job_session

    counter = iter(range(1, 10_000))

    def make(role: str = "manager", **kw: Any) -> Any:
        n = next(counter)
        with job_session(app) as s:
            staff = create_staff(
                s,
                kw.pop("email", f"{role}{n}@example.test"),
                kw.pop("name", f"{role.title()} {n}"),
                role,
                kw.pop("password", "password123"),
                kw.pop("languages", ["en"]),
                check_strength=False,
            )
            s.expunge(staff)
        return staff

    return make


@pytest.fixture
def sent_posts(app: Any) -> Callable[..., None]:
    """sent_posts(author_id, account_id, personal, product): the author's earlier sent posts, one
    a day back from yesterday, the first ``product`` of them product posts (for the content mix)."""
    from hub.db import job_session
    from hub.models import OutboundItem, PolicyDecision

    def seed(author_id: int, account_id: int, personal: int, product: int) -> None:
        with job_session(app) as s:
            for i in range(personal + product):
                when = datetime.now(UTC) - timedelta(days=i + 1)
                d = PolicyDecision(
                    author_id=author_id,
                    text=f"earlier post {i}",
                    verdict="allow",
                    pack_version="earlier",
                    findings=[],
                    platform="sandbox",
                    kind="post",
                    is_product=i < product,
                )
                s.add(d)
                s.flush()
                s.add(
                    OutboundItem(
                        kind="post",
                        account_id=account_id,
                        author_id=author_id,
                        text=d.text,
                        state="sent",
                        idempotency_key=f"history-{author_id}-{i}",
                        decision_id=d.id,
                        created_at=when,
                        sent_at=when,
                    )
                )

    return seed


@pytest.fixture
def sandbox_account(app: Any) -> Any:
    """The brand's sandbox account (handle KestrelFootwear)."""
    from hub.db import job_session
    from hub.platforms.accounts import create_account

    with job_session(app) as s:
        account = create_account(
            s, app, "sandbox", "KestrelFootwear", {"handle": "KestrelFootwear"}
        )
        s.expunge(account)
    return account


@pytest.fixture
def make_mention(app: Any, sandbox_account: Any) -> Callable[..., Any]:
    """make_mention(text=..., **overrides) -> Mention, ingested through the real ingest path."""
    from connectors.base import Author, Batch, IncomingMention
    from hub.db import job_session
    from hub.engagement.ingest import ingest_batch
    from hub.models import Mention, PlatformAccount

    counter = iter(range(1, 100_000))

    def make(text: str = "@KestrelFootwear where is my order?", **kw: Any) -> Any:
        n = next(counter)
        m = IncomingMention(
            platform="sandbox",
            external_id=kw.pop("external_id", f"t{n}"),
            author=Author(
                platform_id=kw.get("handle", f"cust{n}"), handle=kw.pop("handle", f"cust{n}")
            ),
            text=text,
            created_at=kw.pop("created_at", datetime.now(UTC)),
            **kw,
        )
        with job_session(app) as s:
            account = s.get(PlatformAccount, sandbox_account.id)
            ingest_batch(s, account, Batch([m], None))
        with job_session(app) as s:
            row = s.scalars(select(Mention).where(Mention.external_id == m.external_id)).one()
            s.expunge(row)
        return row

    return make


def _login(client: Any, staff: Any, password: str = "password123") -> None:
    resp = client.post("/login", data={"email": staff.email, "password": password})
    assert resp.status_code == 302, resp.text


@pytest.fixture
def login() -> Callable[..., None]:
    """login(client, staff): sign a test client in."""
    return _login


@pytest.fixture
def csrf_token() -> Callable[[str], str]:
    """csrf_token(html): the token of the first form in a page."""
    return _csrf_token


def _csrf_token(html: str) -> str:
    """The CSRF token of the first form in a page."""
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token in page"
    return match.group(1)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data, the labelled and stream data sets."""
    assert DATA.is_dir(), f"{DATA} is missing: the tests read the shared data by path"
    return DATA


#: seconds per test, roughly, measured on a two-core machine, for files whose tests start real
#: processes (a `hub run` and a browser, a cluster, a fresh venv, killed pollers, the Bluesky
#: servers); any other test takes about 0.3 s. Only the order of the files depends on these.
_SECONDS_PER_TEST = {
    "tests/e2e/": 20.0,
    "tests/packaging/test_wheel.py": 35.0,
    "tests/deploy/test_cluster.py": 23.0,
    "tests/hub/test_poller_faults.py": 21.0,
    "tests/hub/test_run_server.py": 6.0,
    "tests/hub/test_bluesky_hub.py": 4.0,
    "tests/connectors/test_bluesky.py": 1.0,
}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Longest files first, so that `make test`'s two workers (xdist, whole files each, run
    with --no-loadscope-reorder) do not end with one of them alone on a long file. xdist's
    own order is by number of tests, which put the browser files (one to three tests, up to a
    minute each) last. A file's length is estimated from its number of tests
    (``_SECONDS_PER_TEST``). Within a file the order is unchanged."""

    def path(item: pytest.Item) -> str:
        return item.nodeid.split("::", 1)[0]

    counts: dict[str, int] = {}
    for item in items:
        counts[path(item)] = counts.get(path(item), 0) + 1

    def estimate(file: str) -> float:
        each = next((s for p, s in _SECONDS_PER_TEST.items() if file.startswith(p)), 0.3)
        return counts[file] * each

    items.sort(key=lambda item: -estimate(path(item)))  # stable: a file's tests keep their order
