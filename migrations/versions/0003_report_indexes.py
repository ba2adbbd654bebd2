"""indexes for the compliance reports

Covering indexes so each report table is a GROUP BY over an index range of the period.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23

"""
from typing import Sequence, Union

from alembic import op


# revision identifiers, used by Alembic.
revision: str = '0003'
down_revision: Union[str, Sequence[str], None] = '0002'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('policy_decisions', schema=None) as batch_op:
        batch_op.create_index(
            'ix_decisions_report',
            ['created_at', 'verdict', 'platform', 'team_id', 'author_id'],
            unique=False,
        )
    with op.batch_alter_table('decision_findings', schema=None) as batch_op:
        batch_op.create_index(
            'ix_findings_report',
            ['created_at', 'rule_id', 'guideline', 'severity', 'decision_id'],
            unique=False,
        )
    with op.batch_alter_table('outbound_items', schema=None) as batch_op:
        batch_op.create_index(
            'ix_outbound_report',
            ['kind', 'created_at', 'state', 'author_id', 'decision_id'],
            unique=False,
        )
    with op.batch_alter_table('review_actions', schema=None) as batch_op:
        batch_op.create_index(
            'ix_review_actions_report', ['at', 'action', 'outbound_id'], unique=False
        )


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('review_actions', schema=None) as batch_op:
        batch_op.drop_index('ix_review_actions_report')
    with op.batch_alter_table('outbound_items', schema=None) as batch_op:
        batch_op.drop_index('ix_outbound_report')
    with op.batch_alter_table('decision_findings', schema=None) as batch_op:
        batch_op.drop_index('ix_findings_report')
    with op.batch_alter_table('policy_decisions', schema=None) as batch_op:
        batch_op.drop_index('ix_decisions_report')
