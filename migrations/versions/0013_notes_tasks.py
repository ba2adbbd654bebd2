"""team work: internal notes on mentions (mention_notes) and follow-up tasks (follow_up_tasks)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = "0013"
down_revision: Union[str, Sequence[str], None] = "0012"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_MENTION_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_NOT_TOLD = "done_at IS NULL AND overdue_notified_at IS NULL"


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "mention_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mention_id", _MENTION_ID, nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("notified", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["mention_id"], ["mentions.id"]),
        sa.ForeignKeyConstraint(["author_id"], ["staff.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_mention_notes_mention", "mention_notes", ["mention_id", "id"])
    op.create_table(
        "follow_up_tasks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mention_id", _MENTION_ID, nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by", sa.Integer(), nullable=True),
        sa.Column("overdue_notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["mention_id"], ["mentions.id"]),
        sa.ForeignKeyConstraint(["owner_id"], ["staff.id"]),
        sa.ForeignKeyConstraint(["created_by"], ["staff.id"]),
        sa.ForeignKeyConstraint(["done_by"], ["staff.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_follow_up_tasks_mention_id", "follow_up_tasks", ["mention_id"])
    op.create_index(
        "ix_follow_up_tasks_owner", "follow_up_tasks", ["owner_id", "done_at", "due_at"]
    )
    op.create_index(
        "ix_follow_up_tasks_overdue",
        "follow_up_tasks",
        ["due_at"],
        sqlite_where=sa.text(_NOT_TOLD),
        postgresql_where=sa.text(_NOT_TOLD),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_follow_up_tasks_overdue", table_name="follow_up_tasks")
    op.drop_index("ix_follow_up_tasks_owner", table_name="follow_up_tasks")
    op.drop_index("ix_follow_up_tasks_mention_id", table_name="follow_up_tasks")
    op.drop_table("follow_up_tasks")
    op.drop_index("ix_mention_notes_mention", table_name="mention_notes")
    op.drop_table("mention_notes")
