"""push state in its own columns

The push stream's health moves out of ``platform_accounts.config["push_status"]`` (where every
status change altered the settings the connector is built from) into three columns.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05

"""
from datetime import UTC, datetime
from typing import Any, Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0004'
down_revision: Union[str, Sequence[str], None] = '0003'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

accounts = sa.table(
    'platform_accounts',
    sa.column('id', sa.Integer()),
    sa.column('config', sa.JSON()),
    sa.column('push_state', sa.String(20)),
    sa.column('push_since', sa.DateTime(timezone=True)),
    sa.column('push_error', sa.Text()),
)


def _utc(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; the hub stores UTC
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _parse_since(value: Any) -> datetime | None:
    try:
        return _utc(datetime.fromisoformat(value)) if isinstance(value, str) else None
    except ValueError:
        return None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('platform_accounts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('push_state', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('push_since', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('push_error', sa.Text(), nullable=True))
    conn = op.get_bind()
    for id_, config in conn.execute(sa.select(accounts.c.id, accounts.c.config)).all():
        if not isinstance(config, dict) or 'push_status' not in config:
            continue
        status = config['push_status']
        status = status if isinstance(status, dict) else {}
        conn.execute(
            accounts.update()
            .where(accounts.c.id == id_)
            .values(
                config={k: v for k, v in config.items() if k != 'push_status'},
                push_state=str(status['state'])[:20] if status.get('state') else None,
                push_since=_parse_since(status.get('since')),
                push_error=str(status['error']) if status.get('error') else None,
            )
        )


def downgrade() -> None:
    """Downgrade schema."""
    conn = op.get_bind()
    rows = conn.execute(
        sa.select(
            accounts.c.id,
            accounts.c.config,
            accounts.c.push_state,
            accounts.c.push_since,
            accounts.c.push_error,
        ).where(accounts.c.push_state.is_not(None))
    ).all()
    for id_, config, state, since, error in rows:
        since = _utc(since)
        status = {'state': state, 'since': since.isoformat() if since else None, 'error': error}
        conn.execute(
            accounts.update()
            .where(accounts.c.id == id_)
            .values(config={**(config or {}), 'push_status': status})
        )
    with op.batch_alter_table('platform_accounts', schema=None) as batch_op:
        batch_op.drop_column('push_error')
        batch_op.drop_column('push_since')
        batch_op.drop_column('push_state')
