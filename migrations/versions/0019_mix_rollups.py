"""mix_rollups: the content mix per day and month, so the reports page reads no raw posts

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = "0019"
down_revision: Union[str, Sequence[str], None] = "0018"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema, then count the posts already stored."""
    op.create_table(
        "mix_rollups",
        sa.Column("grain", sa.String(length=5), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("posts", sa.Integer(), nullable=False),
        sa.Column("product_posts", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("grain", "day", "author_id", "team_id", "platform"),
        sqlite_with_rowid=False,
    )
    # The hub's own counting, so the backfill and the live counts cannot differ.
    from hub.compliance.rollups import rebuild_mix

    rebuild_mix(op.get_bind())


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("mix_rollups")
