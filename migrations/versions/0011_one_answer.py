"""one answer per customer: who is writing a reply to which mention (mention_presence)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = "0011"
down_revision: Union[str, Sequence[str], None] = "0010"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table(
        "mention_presence",
        sa.Column(
            "mention_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.ForeignKey("mentions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("staff_id", sa.Integer(), sa.ForeignKey("staff.id"), nullable=False),
        sa.Column("since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("mention_id", "staff_id"),
    )
    op.create_index("ix_mention_presence_seen", "mention_presence", ["mention_id", "last_seen"])


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_index("ix_mention_presence_seen", table_name="mention_presence")
    op.drop_table("mention_presence")
