"""fleet updates: firmware releases, image signatures and staged rollouts

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 15:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'releases',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version', sa.String(length=64), nullable=False),
        sa.Column('chip', sa.String(length=16), nullable=False),
        sa.Column('board', sa.String(length=120), nullable=False),
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('notes', sa.Text(), nullable=False),
        sa.Column('artifact_id', sa.Integer(), nullable=False),
        sa.Column('build_id', sa.String(length=32), nullable=True),
        sa.Column('build_number', sa.Integer(), nullable=True),
        sa.Column('source_revision', sa.String(length=64), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('blocked', sa.Boolean(), nullable=False),
        sa.Column('blocked_reason', sa.String(length=300), nullable=False),
        sa.Column('blocked_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['artifact_id'], ['artifacts.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('version'),
    )
    op.create_index('ix_releases_channel', 'releases', ['channel'])
    op.create_index('ix_releases_artifact_id', 'releases', ['artifact_id'])
    op.create_table(
        'image_signatures',
        sa.Column('artifact_id', sa.Integer(), nullable=False),
        sa.Column('key_id', sa.String(length=16), nullable=False),
        sa.Column('signature', sa.String(length=128), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['artifact_id'], ['artifacts.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('artifact_id'),
    )
    op.create_table(
        'rollouts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('artifact_id', sa.Integer(), nullable=False),
        sa.Column('release_id', sa.Integer(), nullable=True),
        sa.Column('build_id', sa.String(length=32), nullable=True),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('current_group', sa.Integer(), nullable=False),
        sa.Column('group_count', sa.Integer(), nullable=False),
        sa.Column('success_percent', sa.Integer(), nullable=False),
        sa.Column('error_count', sa.Integer(), nullable=True),
        sa.Column('error_percent', sa.Integer(), nullable=True),
        sa.Column('silence_s', sa.Integer(), nullable=False),
        sa.Column('paused_reason', sa.String(length=300), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['artifact_id'], ['artifacts.id']),
        sa.ForeignKeyConstraint(['release_id'], ['releases.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_rollouts_state', 'rollouts', ['state'])
    op.create_table(
        'rollout_targets',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('rollout_id', sa.Integer(), nullable=False),
        sa.Column('device_id', sa.Integer(), nullable=False),
        sa.Column('group_number', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('deployment_id', sa.Integer(), nullable=True),
        sa.Column('reason', sa.String(length=300), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['rollout_id'], ['rollouts.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['device_id'], ['devices.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('rollout_id', 'device_id'),
    )
    op.create_index('ix_rollout_targets_rollout_id', 'rollout_targets', ['rollout_id'])
    op.create_index('ix_rollout_targets_device_id', 'rollout_targets', ['device_id'])


def downgrade() -> None:
    op.drop_table('rollout_targets')
    op.drop_index('ix_rollouts_state', 'rollouts')
    op.drop_table('rollouts')
    op.drop_table('image_signatures')
    op.drop_index('ix_releases_artifact_id', 'releases')
    op.drop_index('ix_releases_channel', 'releases')
    op.drop_table('releases')
