"""hand-out revisions keep the starter they were made from (the teacher's diff base)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 00:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('sketch_revisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('starter', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('sketch_revisions', schema=None) as batch_op:
        batch_op.drop_column('starter')
