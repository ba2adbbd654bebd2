"""saved replies, and the full-text index of mention texts for similar past answers

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06

SQLite: an external-content FTS5 table (``mention_search``) over ``mentions.text`` with the
unicode61 tokenizer, diacritics folded (measured against trigram in bench/eval_similar_answers.py:
better on English and Spanish; neither serves Chinese, see hub.answers.similar), kept in sync by
triggers, so every writer of ``mentions`` (ingest,
retention, a test's DELETE) keeps it right without knowing it exists. A later migration that
rebuilds ``mentions`` in batch mode drops these triggers with the old table: recreate them.

PostgreSQL: a table ``mention_search`` of each mention's ``hub_search_vector(text)`` (the
'simple' configuration, no stemming: the texts are en/es/zh; each CJK character spaced out, so
Chinese is searched by adjacent characters, ``a <-> b``, i.e. bigrams), GIN-indexed, kept by a
trigger (deletes cascade). Stored rather than an expression index because ``ts_rank_cd`` needs
the vector of every match: recomputing it per match made a lookup 85 ms instead of under 30.
"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = "0012"
down_revision: Union[str, Sequence[str], None] = "0011"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

SQLITE_UP = [
    "CREATE VIRTUAL TABLE mention_search USING fts5("
    "text, content='mentions', content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER mention_search_ai AFTER INSERT ON mentions BEGIN "
    "INSERT INTO mention_search(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER mention_search_ad AFTER DELETE ON mentions BEGIN "
    "INSERT INTO mention_search(mention_search, rowid, text) VALUES ('delete', old.id, old.text); "
    "END",
    "CREATE TRIGGER mention_search_au AFTER UPDATE OF text ON mentions BEGIN "
    "INSERT INTO mention_search(mention_search, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO mention_search(rowid, text) VALUES (new.id, new.text); END",
    "INSERT INTO mention_search(mention_search) VALUES ('rebuild')",
]
SQLITE_DOWN = [
    "DROP TRIGGER IF EXISTS mention_search_au",
    "DROP TRIGGER IF EXISTS mention_search_ad",
    "DROP TRIGGER IF EXISTS mention_search_ai",
    "DROP TABLE IF EXISTS mention_search",
]
POSTGRESQL_UP = [
    "CREATE FUNCTION hub_search_vector(body text) RETURNS tsvector "
    "LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ "
    "SELECT to_tsvector('simple'::regconfig, "
    "regexp_replace(body, '([\\u3400-\\u9fff\\uf900-\\ufaff])', ' \\1 ', 'g')) $$",
    "CREATE TABLE mention_search ("
    "mention_id bigint PRIMARY KEY REFERENCES mentions (id) ON DELETE CASCADE, "
    "vector tsvector NOT NULL)",
    "CREATE INDEX mention_search_vector ON mention_search USING gin (vector)",
    "CREATE FUNCTION hub_mention_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "INSERT INTO mention_search (mention_id, vector) VALUES (NEW.id, hub_search_vector(NEW.text)) "
    "ON CONFLICT (mention_id) DO UPDATE SET vector = EXCLUDED.vector; RETURN NULL; END $$",
    "CREATE TRIGGER mention_search_sync AFTER INSERT OR UPDATE OF text ON mentions "
    "FOR EACH ROW EXECUTE FUNCTION hub_mention_search_sync()",
    "INSERT INTO mention_search (mention_id, vector) "
    "SELECT id, hub_search_vector(text) FROM mentions",
]
POSTGRESQL_DOWN = [
    "DROP TRIGGER IF EXISTS mention_search_sync ON mentions",
    "DROP FUNCTION IF EXISTS hub_mention_search_sync()",
    "DROP TABLE IF EXISTS mention_search",
    "DROP FUNCTION IF EXISTS hub_search_vector(text)",
]


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "saved_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("staff_id", sa.Integer(), nullable=True),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("title", sa.String(length=120), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("use_count", sa.Integer(), server_default="0", nullable=False),
        sa.CheckConstraint(
            "(team_id IS NULL) <> (staff_id IS NULL)", name="ck_saved_replies_one_owner"
        ),
        sa.ForeignKeyConstraint(["created_by"], ["staff.id"]),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"]),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_saved_replies_team", "saved_replies", ["team_id", "language"])
    op.create_index("ix_saved_replies_staff", "saved_replies", ["staff_id", "language"])
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_UP, "postgresql": POSTGRESQL_UP}.get(dialect, []):
        op.execute(sa.text(statement))


def downgrade() -> None:
    """Downgrade schema."""
    dialect = op.get_bind().dialect.name
    for statement in {"sqlite": SQLITE_DOWN, "postgresql": POSTGRESQL_DOWN}.get(dialect, []):
        op.execute(sa.text(statement))
    op.drop_index("ix_saved_replies_staff", table_name="saved_replies")
    op.drop_index("ix_saved_replies_team", table_name="saved_replies")
    op.drop_table("saved_replies")
