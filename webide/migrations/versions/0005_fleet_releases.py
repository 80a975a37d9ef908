"""fleet updates: firmware releases and image signatures

Revision ID: 0005
Revises: 0003
Create Date: 2026-11-30 15:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0003'
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


def downgrade() -> None:
    op.drop_table('image_signatures')
    op.drop_index('ix_releases_artifact_id', 'releases')
    op.drop_index('ix_releases_channel', 'releases')
    op.drop_table('releases')
