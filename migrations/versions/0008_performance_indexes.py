"""indexes for the performance pages

Replies sent in a period (outbound items by kind and sent time) and mention moves in a period
(audit events by action and time), so /performance reads index ranges, not whole tables.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05

"""

from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = "0008"
down_revision: Union[str, Sequence[str], None] = "0007"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("outbound_items", schema=None) as batch_op:
        batch_op.create_index("ix_outbound_sent", ["kind", "sent_at", "author_id"], unique=False)
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.create_index("ix_audit_action_at", ["action", "at"], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_action_at")
    with op.batch_alter_table("outbound_items", schema=None) as batch_op:
        batch_op.drop_index("ix_outbound_sent")
