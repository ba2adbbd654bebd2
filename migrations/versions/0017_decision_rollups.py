"""decision_rollups, verdict_rollups, finding_rollups: the policy reports' daily and monthly counts

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = "0017"
down_revision: Union[str, Sequence[str], None] = "0016"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema, then count the decisions and findings already stored."""
    op.create_table(
        "decision_rollups",
        sa.Column("grain", sa.String(length=5), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("verdict", sa.String(length=8), nullable=False),
        sa.Column("decisions", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("grain", "day", "author_id", "team_id", "platform", "verdict"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "verdict_rollups",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("verdict", sa.String(length=8), nullable=False),
        sa.Column("decisions", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "team_id", "platform", "verdict"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "finding_rollups",
        sa.Column("grain", sa.String(length=5), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(length=20), nullable=False),
        sa.Column("rule_id", sa.String(length=60), nullable=False),
        sa.Column("guideline", sa.String(length=10), nullable=False),
        sa.Column("severity", sa.String(length=8), nullable=False),
        sa.Column("findings", sa.Integer(), nullable=False),
        sa.Column("decisions", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "grain", "day", "team_id", "platform", "rule_id", "guideline", "severity"
        ),
        sqlite_with_rowid=False,
    )
    # The hub's own counting, so the backfill and the live counts cannot differ.
    from hub.compliance.rollups import rebuild_decisions

    rebuild_decisions(op.get_bind())


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("finding_rollups")
    op.drop_table("verdict_rollups")
    op.drop_table("decision_rollups")
