"""assignments, class freeze and golden builds, shared class-flash compiles

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30 15:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'assignments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('classroom_id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=80), nullable=False),
        sa.Column('files', sa.JSON(), nullable=False),
        sa.Column('main', sa.String(length=64), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('created_by', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['classroom_id'], ['classrooms.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('classroom_id', 'title'),
    )
    op.create_index('ix_assignments_classroom_id', 'assignments', ['classroom_id'])
    with op.batch_alter_table('classrooms') as classrooms:
        classrooms.add_column(sa.Column('freeze', sa.String(length=8), nullable=False, server_default='open'))
        classrooms.add_column(sa.Column('golden_build_id', sa.String(length=32), nullable=True))
    with op.batch_alter_table('builds') as builds:
        builds.add_column(sa.Column('compiled_by', sa.String(length=32), nullable=True))
        builds.create_index('ix_builds_compiled_by', ['compiled_by'])


def downgrade() -> None:
    with op.batch_alter_table('builds') as builds:
        builds.drop_index('ix_builds_compiled_by')
        builds.drop_column('compiled_by')
    with op.batch_alter_table('classrooms') as classrooms:
        classrooms.drop_column('golden_build_id')
        classrooms.drop_column('freeze')
    op.drop_index('ix_assignments_classroom_id', table_name='assignments')
    op.drop_table('assignments')
