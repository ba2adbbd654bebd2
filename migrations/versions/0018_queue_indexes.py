"""the queue's indexes in the queue's order: a partial index of active mentions, a status
index ordered as the queue is, the blocked customers, and each person's load by status

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06

At a million mentions the queue read every active row and sorted it (the old index ordered by
received_at, the page by priority and deadline), and counted every mention by status. See
hub.engagement.queue for the queries these serve.
"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = "0018"
down_revision: Union[str, Sequence[str], None] = "0017"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

ACTIVE = sa.text("status IN ('new', 'open', 'escalated')")


def upgrade() -> None:
    """Upgrade schema."""
    op.drop_index("ix_mentions_queue", table_name="mentions")
    op.drop_index("ix_mentions_assignee_id", table_name="mentions")
    op.create_index("ix_mentions_assignee_status", "mentions", ["assignee_id", "status"])
    op.create_index(
        "ix_mentions_status_order",
        "mentions",
        [
            "status",
            "priority",
            "first_response_due_at",
            "id",
            "team_id",
            "customer_id",
            "assignee_id",
            "language",
        ],
    )
    op.create_index(
        "ix_mentions_active",
        "mentions",
        [
            "priority",
            "first_response_due_at",
            "id",
            "status",
            "team_id",
            "customer_id",
            "assignee_id",
            "language",
        ],
        sqlite_where=ACTIVE,
        postgresql_where=ACTIVE,
    )
    op.create_index(
        "ix_customers_blocked",
        "customers",
        ["id"],
        sqlite_where=sa.text("blocked = 1"),
        postgresql_where=sa.text("blocked"),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_customers_blocked", table_name="customers")
    op.drop_index("ix_mentions_active", table_name="mentions")
    op.drop_index("ix_mentions_status_order", table_name="mentions")
    op.create_index("ix_mentions_queue", "mentions", ["status", "priority", "received_at", "id"])
    op.drop_index("ix_mentions_assignee_status", table_name="mentions")
    op.create_index("ix_mentions_assignee_id", "mentions", ["assignee_id"])
