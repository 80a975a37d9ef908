"""live device link: broker credentials of bots, device commands

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 15:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('devices') as devices:
        devices.add_column(sa.Column('mqtt_password_hash', sa.String(length=160), nullable=True))
    op.create_table(
        'device_commands',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('command_id', sa.String(length=32), nullable=False),
        sa.Column('device_id', sa.Integer(), nullable=False),
        sa.Column('command', sa.String(length=16), nullable=False),
        sa.Column('args', sa.JSON(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('message', sa.String(length=300), nullable=False),
        sa.Column('requested_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['device_id'], ['devices.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('command_id'),
    )
    op.create_index('ix_device_commands_device_id', 'device_commands', ['device_id'])
    op.create_index('ix_device_commands_state', 'device_commands', ['state'])


def downgrade() -> None:
    op.drop_index('ix_device_commands_state', 'device_commands')
    op.drop_index('ix_device_commands_device_id', 'device_commands')
    op.drop_table('device_commands')
    with op.batch_alter_table('devices') as devices:
        devices.drop_column('mqtt_password_hash')
