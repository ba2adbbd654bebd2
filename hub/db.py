"""Engine and session handling: one session per request or job, one commit in one place."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask, Response, current_app, g
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys and a busy timeout on every connection."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            # Python's sqlite3 opens transactions lazily; we want BEGIN at first statement
            # with SQLAlchemy in charge, so take over transaction control.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):  # type: ignore[no-untyped-def]
            # IMMEDIATE takes the write lock up front, so two writers never deadlock on upgrade.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def init_app(app: Flask) -> None:
    """Attach an engine and session factory; each request is one unit of work.

    The request's session commits once, after the view returned a response and before that
    response leaves (so a failing commit still becomes an error page, and the page after a
    redirect sees the change); any error discards it (``discard``, called by the error
    handlers, and the teardown for anything that escapes them).
    """
    engine = make_engine(app.config["DATABASE_URL"])
    app.extensions["hub.engine"] = engine
    app.extensions["hub.sessionmaker"] = sessionmaker(engine, expire_on_commit=False)
    app.after_request(_commit_request)
    app.teardown_appcontext(_close_session)


def get_session() -> Session:
    """The request's session, created on first use."""
    if "db" not in g:
        g.db = current_app.extensions["hub.sessionmaker"]()
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
