"""every bot has a sketch: bots created before starter sketches were stored at creation get theirs now

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30 12:00:00
"""
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

from webide.core.sketches import starter_files

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    connection = op.get_bind()
    devices = sa.table("devices", sa.column("id", sa.Integer), sa.column("product_id", sa.String))
    revisions = sa.table("sketch_revisions", sa.column("device_id", sa.Integer), sa.column("number", sa.Integer),
                         sa.column("files", sa.JSON), sa.column("kind", sa.String), sa.column("message", sa.String),
                         sa.column("author", sa.String), sa.column("created_at", sa.DateTime(timezone=True)))
    has_revision = sa.select(revisions.c.device_id).where(revisions.c.device_id == devices.c.id).exists()
    for device_id, product_id in connection.execute(sa.select(devices.c.id, devices.c.product_id)
                                                    .where(~has_revision)):
        connection.execute(revisions.insert().values(
            device_id=device_id, number=1, files=starter_files(product_id), kind="create", message="New sketch",
            author="", created_at=datetime.now(timezone.utc)))


def downgrade() -> None:
    pass  # the starter sketches are ordinary revisions; nothing to undo
