"""Schema migrations with Alembic, driven from code (``hub init``) so no alembic.ini is needed."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at the shipped migrations folder."""
    import migrations

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(migrations.__file__).parent))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


#: schema objects the migrations make that no model describes: the full-text search of mention
#: texts (SQLite's FTS5 table and its shadow tables; PostgreSQL's table of vectors)
UNMODELLED = ("mention_search",)


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """For Alembic's comparisons: leave out the objects in ``UNMODELLED``."""
    return not (name or "").startswith(UNMODELLED)


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the database to ``revision``."""
    cfg = alembic_config(engine.url.render_as_string(hide_password=False))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
