"""The Alembic migrations build exactly the schema hub/models.py describes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Integer,
    String,
    Text,
    column,
    create_engine,
    insert,
    select,
    table,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from hub.migrate import alembic_config, include_name
from hub.models import Base, Mention


def test_models_match_the_migrated_database(database_url):  # type: ignore[no-untyped-def]
    engine = create_engine(database_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"include_name": include_name}),
                Base.metadata,
            )
    finally:
        engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"


def _store_the_same_mention_twice(engine: Engine) -> None:
    """Insert two mentions with one (platform, external_id) and roll back; raises
    IntegrityError where the unique key holds."""
    row = {
        "platform": "sandbox",
        "external_id": "uq-probe-1",
        "author_handle": "dana",
        "text": "where is my order?",
        "created_at": datetime.now(UTC),
    }
    with engine.connect() as conn:
        trans = conn.begin()
        try:
            conn.execute(insert(Mention.__table__).values(**row))
            conn.execute(insert(Mention.__table__).values(**row))
        finally:
            trans.rollback()


@pytest.mark.parametrize("schema", ["model", "migrations"])
def test_a_mention_is_stored_once_per_platform_and_external_id(database_url, schema):  # type: ignore[no-untyped-def]
    """Ingest's dedupe relies on uq_mentions_platform_external when a poll and the push stream
    store the same post at once. test_models_match_the_migrated_database cannot see the key
    removed from both the model and the migration (they still agree), so each is checked on
    its own: the model's schema, and the schema the migrations built."""
    if schema == "model":
        engine = create_engine("sqlite://")
        Base.metadata.create_all(engine)
    else:
        engine = create_engine(database_url)
    try:
        with pytest.raises(IntegrityError):
            _store_the_same_mention_twice(engine)
    finally:
        engine.dispose()


def _utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def test_0004_moves_the_push_status_between_config_and_columns(database_url):  # type: ignore[no-untyped-def]
    """Upgrade moves config["push_status"] into the push columns; downgrade moves it back."""
    accounts = table(
        "platform_accounts",
        column("id", Integer),
        column("platform", String),
        column("handle", String),
        column("active", Boolean),
        column("config", JSON),
        column("error_count", Integer),
    )
    status = {
        "state": "disconnected",
        "since": "2026-03-04T05:06:07.123456+00:00",
        "error": "The Bluesky firehose disconnected",
    }
    before = {
        "migration-probe-a": {"handle": "a", "push": "false", "push_status": status},
        "migration-probe-b": {"handle": "b"},
    }
    engine = create_engine(database_url)
    cfg = alembic_config(database_url)

    def migrate(step, revision):  # type: ignore[no-untyped-def]
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            step(cfg, revision)

    def configs() -> dict[str, object]:
        with engine.connect() as conn:
            found = conn.execute(select(accounts.c.handle, accounts.c.config)).all()
        return {handle: config for handle, config in found if handle in before}

    try:
        migrate(command.downgrade, "0003")
        with engine.begin() as conn:
            for handle, config in before.items():
                conn.execute(
                    accounts.insert().values(
                        platform="bluesky", handle=handle, active=True, config=config, error_count=0
                    )
                )
        migrate(command.upgrade, "0004")
        assert configs() == {
            "migration-probe-a": {"handle": "a", "push": "false"},
            "migration-probe-b": {"handle": "b"},
        }
        pushed = table(
            "platform_accounts",
            column("handle", String),
            column("push_state", String),
            column("push_since", DateTime(timezone=True)),
            column("push_error", Text),
        )
        with engine.connect() as conn:
            moved = {
                handle: (state, _utc(since), error)
                for handle, state, since, error in conn.execute(select(pushed)).all()
                if handle in before
            }
        assert moved == {
            "migration-probe-a": (
                "disconnected",
                datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=UTC),
                "The Bluesky firehose disconnected",
            ),
            "migration-probe-b": (None, None, None),
        }
        migrate(command.downgrade, "0003")
        assert configs() == before
    finally:
        migrate(command.upgrade, "head")
        with engine.begin() as conn:
            conn.execute(accounts.delete().where(accounts.c.handle.in_(list(before))))
        engine.dispose()
