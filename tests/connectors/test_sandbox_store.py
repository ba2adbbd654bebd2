"""Opening the sandbox platform's store: safe when another process creates it at the same time."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy.dialects.sqlite.base import SQLiteDialect

from connectors.sandbox import SandboxStore, metadata


def test_a_store_another_process_just_created_opens(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes open a new store at once: both look, see no table, and create. Here the
    other process has won (the tables exist) while this one's look still says "none"."""
    url = f"sqlite:///{tmp_path / 'sandbox.db'}"
    SandboxStore(url).create_post("fan", "first post")
    monkeypatch.setattr(SandboxStore, "_engines", {})  # as a fresh process
    monkeypatch.setattr(SQLiteDialect, "has_table", lambda self, *a, **k: False)
    monkeypatch.setattr(SQLiteDialect, "has_index", lambda self, *a, **k: False)
    store = SandboxStore(url)
    assert [p["text"] for p in store.recent_roots()] == ["first post"]


def test_a_new_store_has_every_table_and_index(tmp_path: Path) -> None:
    store = SandboxStore(f"sqlite:///{tmp_path / 'sandbox.db'}")
    found = inspect(store.engine)
    for table in metadata.sorted_tables:
        assert found.has_table(table.name)
        assert {i["name"] for i in found.get_indexes(table.name)} >= {i.name for i in table.indexes}
