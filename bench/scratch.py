"""A throwaway database for a benchmark: SQLite in a directory, or a fresh PostgreSQL database on
127.0.0.1:5432 (``HUB_TEST_PG_ADMIN`` overrides the admin URL) that is dropped afterwards."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

PG_ADMIN_URL = os.environ.get(
    "HUB_TEST_PG_ADMIN", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@contextmanager
def scratch_database(postgresql: bool, tmp: Path) -> Iterator[str]:
    """A fresh database URL, dropped afterwards."""
    if not postgresql:
        yield f"sqlite:///{tmp / 'bench.db'}"
        return
    name = f"hub_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


#: a fixed key, so a database a bench keeps (``--keep``) stays readable on the next run
BENCH_KEY = "LxzcBdvt2Zy0l3Qc3C4o5VfI9Z0r8n1qYQ0b2K0n5mE="


def scratch_app(url: str, tmp: Path, **config: Any) -> Any:
    """The hub on ``url``, migrated, with its sandbox and instance folder in ``tmp``;
    ``config`` adds or overrides settings (``WTF_CSRF_ENABLED=False`` for test clients)."""
    from hub import create_app
    from hub.migrate import upgrade

    app = create_app(
        {
            "DATABASE_URL": url,
            "SANDBOX_URL": f"sqlite:///{tmp / 'sandbox.db'}",
            "SECRET_KEY": "bench",
            "ENCRYPTION_KEY": BENCH_KEY,
            **config,
        }
    )
    app.instance_path = str(tmp)
    upgrade(app.extensions["hub.engine"])
    return app


#: the 5,000-mention stream the ingest benches read (../shared/data/mentions/README.md)
STREAM = Path(__file__).resolve().parents[2] / "shared" / "data" / "mentions" / "stream.jsonl"


def stream_rows(n: int | None = None) -> list[dict[str, Any]]:
    """The first ``n`` rows of the stream (all of them when ``n`` is None)."""
    lines = STREAM.read_text(encoding="utf-8").splitlines()
    return [json.loads(x) for x in lines[:n]]


def as_mentions(rows: list[dict[str, Any]], prefix: str = "") -> list[Any]:
    """Stream rows as a poll delivers them; ``prefix`` makes their ids (and the ids their
    replies point at) new, for a hub that already holds them."""
    from connectors.base import Author, IncomingMention

    out = []
    for r in rows:
        a = r["author"]
        parent = r.get("in_reply_to_external_id")
        out.append(
            IncomingMention(
                platform="sandbox",
                external_id=prefix + r["external_id"],
                author=Author(a["handle"], a["handle"], a.get("display_name", ""), a["followers"]),
                text=r["text"],
                created_at=datetime.fromisoformat(r["created_at"].replace("Z", "+00:00")),
                in_reply_to_external_id=prefix + parent if parent else None,
            )
        )
    return out
