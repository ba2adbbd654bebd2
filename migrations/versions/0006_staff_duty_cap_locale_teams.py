"""people admin: on duty, open-mention cap, UI language, team leads, extra teams

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05

"""

from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = "0006"
down_revision: Union[str, Sequence[str], None] = "0005"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.add_column(sa.Column("on_duty", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch_op.add_column(sa.Column("open_cap", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("locale", sa.String(length=10), nullable=True))
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lead_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key("fk_teams_lead_id_staff", "staff", ["lead_id"], ["id"])
    op.create_table(
        "staff_teams",
        sa.Column("staff_id", sa.Integer(), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["staff_id"], ["staff.id"]),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"]),
        sa.PrimaryKeyConstraint("staff_id", "team_id"),
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table("staff_teams")
    with op.batch_alter_table("teams", schema=None) as batch_op:
        batch_op.drop_constraint("fk_teams_lead_id_staff", type_="foreignkey")
        batch_op.drop_column("lead_id")
    with op.batch_alter_table("staff", schema=None) as batch_op:
        batch_op.drop_column("locale")
        batch_op.drop_column("open_cap")
        batch_op.drop_column("on_duty")
