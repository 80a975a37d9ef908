"""Alembic environment: migrations run against the app's engine and metadata."""

from alembic import context
from flask import current_app

from webide.extensions import db

config = context.config


def run_migrations() -> None:
    connectable = db.engine
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=db.metadata, render_as_batch=True, compare_type=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    context.configure(
        url=current_app.config["SQLALCHEMY_DATABASE_URI"], target_metadata=db.metadata, literal_binds=True
    )
    with context.begin_transaction():
        context.run_migrations()
else:
    run_migrations()
