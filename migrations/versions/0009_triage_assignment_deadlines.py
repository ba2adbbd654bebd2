"""triage attributes, routing rule tags and assignment, team assignment and breach policy,
customer VIP, notifications

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = "0009"
down_revision: Union[str, Sequence[str], None] = "0008"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

_OPEN = "first_response_at IS NULL AND sla_breached_at IS NULL"


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("assignment_policy", sa.String(length=20), server_default="manual", nullable=False)
        )
        batch_op.add_column(
            sa.Column("breach_action", sa.String(length=20), server_default="notify", nullable=False)
        )
        batch_op.add_column(sa.Column("rr_last_staff_id", sa.Integer(), nullable=True))
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("vip", sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table("routing_rules", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tags", sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
        batch_op.add_column(sa.Column("assignment", sa.String(length=20), nullable=True))
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sla_breached_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("attributes", sa.JSON(), server_default=sa.text("'{}'"), nullable=False))
        batch_op.add_column(sa.Column("tags", sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
        batch_op.add_column(sa.Column("routing_why", sa.JSON(), server_default=sa.text("'{}'"), nullable=False))
        batch_op.create_index(
            "ix_mentions_sla_open",
            ["first_response_due_at"],
            unique=False,
            sqlite_where=sa.text(_OPEN),
            postgresql_where=sa.text(_OPEN),
        )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("mention_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["mention_id"], ["mentions.id"]),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index("ix_notifications_staff", ["staff_id", "read_at", "id"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notifications_staff")
    op.drop_table("notifications")
    with op.batch_alter_table("mentions", schema=None) as batch_op:
        batch_op.drop_index("ix_mentions_sla_open")
        batch_op.drop_column("routing_why")
        batch_op.drop_column("tags")
        batch_op.drop_column("attributes")
        batch_op.drop_column("sla_breached_at")
    with op.batch_alter_table("routing_rules", schema=None) as batch_op:
        batch_op.drop_column("assignment")
        batch_op.drop_column("tags")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_column("vip")
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.drop_column("rr_last_staff_id")
        batch_op.drop_column("breach_action")
        batch_op.drop_column("assignment_policy")
