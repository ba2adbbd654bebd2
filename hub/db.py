"""Engine and session handling: one session per request or job, one commit in one place.

Requests that only read (GET, HEAD, OPTIONS) get read-only transactions, which on SQLite take no
lock at all; every other request, and every job, writes in ``BEGIN IMMEDIATE`` transactions.
Slow work that needs no database (a password hash) runs in ``db.no_transaction()``, so it
holds no lock while it runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
from flask import Flask, Response, current_app, g, has_request_context, request
from sqlalchemy import Engine, Table, create_engine, event, func, select
from sqlalchemy.orm import Session, sessionmaker

from hub.models import Base

#: HTTP methods that only read: their requests' transactions are read-only
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: the execution option that marks an engine's SQLite transactions as read-only
_READ_ONLY = "hub_read_only"


def _json_dumps(value: Any) -> str:
    """JSON columns' text: orjson, five times faster than ``json.dumps`` (a new mention has six
    JSON values). Keys that are not strings become strings, as ``json.dumps`` makes them. What
    orjson refuses (an integer wider than 64 bits in a platform's payload) goes to
    ``json.dumps``, so a payload stored before is stored still; what neither can encode raises
    a TypeError."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value)


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout on every connection."""
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"timeout": 30, "check_same_thread": False},
            json_serializer=_json_dumps,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            # Python's sqlite3 opens transactions lazily; we want BEGIN at first statement
            # with SQLAlchemy in charge, so take over transaction control.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            # 32 MiB of page cache instead of SQLite's 2 MiB: the mentions' eight indexes and
            # full-text index outgrow 2 MiB within thousands of mentions, and every page read
            # back from the OS is a system call (the cache only grows as pages are read)
            cur.execute("PRAGMA cache_size=-32768")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # type: ignore[no-untyped-def]
            if conn.get_execution_options().get(_READ_ONLY):
                # A reader takes no lock (WAL readers neither wait nor make writers wait).
                # query_only makes a write fail at once: a DEFERRED read transaction that
                # later writes fails with SQLITE_BUSY_SNAPSHOT whenever someone committed
                # since it began, and the busy timeout does not cure that.
                conn.exec_driver_sql("PRAGMA query_only = ON")
                conn.exec_driver_sql("BEGIN DEFERRED")
            else:
                # IMMEDIATE takes the write lock up front, so two writers never deadlock on
                # upgrade (and never meet SQLITE_BUSY_SNAPSHOT).
                conn.exec_driver_sql("PRAGMA query_only = OFF")
                conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=10, json_serializer=_json_dumps
    )


def read_only(engine: Engine) -> Engine:
    """The same engine (same pool) whose transactions may only read."""
    if engine.dialect.name == "sqlite":
        return engine.execution_options(**{_READ_ONLY: True})
    if engine.dialect.name == "postgresql":
        return engine.execution_options(postgresql_readonly=True)
    return engine


def init_app(app: Flask) -> None:
    """Attach an engine and session factory; each request is one unit of work.

    The request's session commits once, after the view returned a response and before that
    response leaves (so a failing commit still becomes an error page, and the page after a
    redirect sees the change); any error discards it (``discard``, called by the error
    handlers, and the teardown for anything that escapes them). A request whose method only
    reads gets a read-only session (``READ_METHODS``); a write there fails at once.
    """
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["hub.engine"] = engine
    app.extensions["hub.sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    app.extensions["hub.readers"] = sessionmaker(read_only(engine), expire_on_commit=False)
    app.after_request(_commit_request)
    app.teardown_appcontext(_close_session)


def get_session() -> Session:
    """The request's session, created on first use (read-only for GET, HEAD and OPTIONS)."""
    if "db" not in g:
        reads = has_request_context() and request.method in READ_METHODS
        g.db = current_app.extensions["hub.readers" if reads else "hub.sessionmaker"]()
    return g.db  # type: ignore[no-any-return]


def _commit_request(response: Response) -> Response:
    """The one place a request's work is committed (see ``init_app``)."""
    session: Session | None = g.get("db")
    if session is not None:
        session.commit()
    return response


def discard() -> None:
    """Throw away the request's uncommitted work (an error page follows)."""
    session: Session | None = g.get("db")
    if session is not None:
        session.rollback()


@contextmanager
def attempt() -> Iterator[Session]:
    """Run one service call inside a savepoint of the request's unit of work.

    An exception undoes only the writes made inside the block and propagates, so a view can
    catch a ``UserError`` and show it in its form while what happened before stays in the
    request's commit.
    """
    session = get_session()
    with session.begin_nested():
        yield session


@contextmanager
def no_transaction() -> Iterator[None]:
    """Run slow work that needs no database (a password hash) with no transaction open.

    The request's work so far is committed first, so no lock, row lock or snapshot is held
    while the block runs; the session begins a new, short transaction at its next statement.
    A block that touches the database raises ``RuntimeError``.
    """
    session: Session | None = g.get("db")
    if session is not None:
        session.commit()
    yield
    if session is not None and session.in_transaction():
        raise RuntimeError("db.no_transaction(): the block used the database")


def _close_session(exc: BaseException | None) -> None:
    session = g.pop("db", None)
    if session is None:
        return
    if exc is not None:
        session.rollback()
    session.close()


@contextmanager
def job_session(app: Flask) -> Iterator[Session]:
    """A session for a scheduler job or CLI command: commit on success, roll back on error."""
    factory: sessionmaker[Session] = app.extensions["hub.sessionmaker"]
    with factory.begin() as session:
        yield session


def reserve_ids(session: Session, model: type[Any], n: int) -> list[int]:
    """``n`` fresh primary keys for the mapped class ``model``, handed out before its rows
    are inserted.

    With its keys known, the unit of work writes a batch's new rows in one multi-row INSERT;
    with keys from the database it must insert them one at a time on SQLite, to learn each
    key. PostgreSQL hands them out from the column's sequence (shared safely by every
    writer); SQLite has no sequence, but a write transaction here holds the database's write
    lock from its first statement (``BEGIN IMMEDIATE`` above), so nobody else can take
    max(id) + 1 ... + n before this transaction ends."""
    if n <= 0:
        return []
    table: Table = model.__table__
    column = table.c.id
    if session.get_bind().dialect.name == "postgresql":
        seq = session.scalar(select(func.pg_get_serial_sequence(table.name, "id")))
        return list(
            session.scalars(select(func.nextval(seq)).select_from(func.generate_series(1, n)))
        )
    top = session.scalar(select(func.max(column))) or 0
    return list(range(top + 1, top + n + 1))


#: a table's planner statistics are refreshed once it has grown or shrunk by this fraction
STATS_DRIFT = 0.2
#: per SQLite database, each table's size when this process last analysed it
_analysed: dict[str, dict[str, int]] = {}


def refresh_statistics(engine: Engine, force: bool = False) -> list[str]:
    """Give the query planner current statistics for every table that changed size since they
    were taken (all of them with ``force``); returns the tables analysed.

    Without statistics SQLite guesses, and at a million mentions its guesses read every row of
    the platform to find one thread, and sort every active mention for one queue page; with
    them the same queries are index lookups. SQLite never gathers statistics by itself, and
    PostgreSQL's autovacuum lags a bulk load (or is off), so the scheduler calls this every
    minute (the check is one index lookup per table) and ``hub init`` once. SQLite's ANALYZE reads
    every row (1.4 s for a million mentions, holding the write lock); a sampled one
    (``analysis_limit``) was measured to misjudge the status column by 200× and steer the
    queue back to sorting, so the whole one runs, only once a table changed size by a fifth.
    """
    tables = Base.metadata.tables
    done: list[str] = []
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            stats: dict[str, int] = {}
            covered: set[str] = set()
            if conn.exec_driver_sql(
                "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'"
            ).first():
                for tbl, idx, stat in conn.exec_driver_sql(
                    "SELECT tbl, idx, stat FROM sqlite_stat1"
                ):
                    stats[tbl] = max(stats.get(tbl, 0), int(str(stat).split()[0]))
                    covered.add(str(idx))
            indexes: dict[str, set[str]] = {}
            for tbl, idx in conn.exec_driver_sql(
                "SELECT tbl_name, name FROM sqlite_master WHERE type = 'index'"
            ):
                indexes.setdefault(str(tbl), set()).add(str(idx))
            no_rowid = {str(row[1]) for row in conn.exec_driver_sql("PRAGMA table_list") if row[4]}
            known = _analysed.setdefault(str(engine.url), {})
            sizes: dict[str, int] = {}
            for name in tables:
                # max(rowid) is one step down the table's b-tree; a count would read it all
                # (a WITHOUT ROWID table, such as the report rollups, has to be counted)
                size = "count(*)" if name in no_rowid else "max(rowid)"
                rows = sizes[name] = (
                    conn.exec_driver_sql(f'SELECT {size} FROM "{name}"').scalar() or 0
                )
                if name in known:
                    stale = _drifted(rows, known[name])
                else:
                    # An index made since the last ANALYZE (by a migration) has no figures,
                    # and the planner takes it for useless beside those it knows. (An empty
                    # partial index never gets a row: this process analyses it once.)
                    stale = (
                        (rows > 0 and name not in stats)
                        or bool(indexes.get(name, set()) - covered)
                        or _drifted(rows, stats.get(name, 0))
                    )
                if force or stale:
                    done.append(name)
            if done:
                for name in done:
                    conn.exec_driver_sql(f'ANALYZE "{name}"')
                conn.commit()
                known.update({name: sizes[name] for name in done})
        elif engine.dialect.name == "postgresql":
            for name, live, changed, inserted in conn.exec_driver_sql(
                "SELECT relname, n_live_tup, n_mod_since_analyze, n_ins_since_vacuum"
                " FROM pg_stat_user_tables"
            ):
                drift = STATS_DRIFT * max(live, 500)
                if name in tables and (force or changed > drift or inserted > drift):
                    done.append(name)
            conn.commit()
            ac = conn.execution_options(isolation_level="AUTOCOMMIT")
            for name in done:
                # VACUUM as well: the queue's counts are index-only scans, which read the
                # table itself for every row the visibility map has not marked (all rows
                # added since the last vacuum) — autovacuum does this when it is on
                ac.exec_driver_sql(f'VACUUM (ANALYZE) "{name}"')
    return done


def refresh_statistics_job(app: Flask) -> None:
    """The scheduler's ``statistics`` job (see :func:`refresh_statistics`)."""
    refresh_statistics(app.extensions["hub.engine"])


def _drifted(rows: int, seen: int) -> bool:
    return abs(rows - seen) > STATS_DRIFT * max(seen, 500)
