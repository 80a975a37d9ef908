"""classroom console: the audit log, blocked users, archived classes

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30 12:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'audit_log',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor_kind', sa.String(length=16), nullable=False),
        sa.Column('actor_name', sa.String(length=64), nullable=False),
        sa.Column('action', sa.String(length=48), nullable=False),
        sa.Column('target_kind', sa.String(length=16), nullable=False),
        sa.Column('target_name', sa.String(length=64), nullable=False),
        sa.Column('classroom_id', sa.Integer(), nullable=True),
        sa.Column('client_address', sa.String(length=64), nullable=True),
        sa.Column('details', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    for column in ('created_at', 'actor_name', 'action', 'target_name', 'classroom_id'):
        op.create_index(f'ix_audit_log_{column}', 'audit_log', [column])
    with op.batch_alter_table('users') as users:
        users.add_column(sa.Column('blocked', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('classrooms') as classrooms:
        classrooms.add_column(sa.Column('archived', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table('classrooms') as classrooms:
        classrooms.drop_column('archived')
    with op.batch_alter_table('users') as users:
        users.drop_column('blocked')
    op.drop_table('audit_log')
