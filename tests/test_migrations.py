"""Schema migrations: every revision applies in order from an empty database, and the result is exactly the models."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from webide import create_app
from webide.database import alembic_config, migrate_database
from webide.extensions import db


def test_each_revision_upgrades_in_order_from_the_first_and_the_schema_matches_the_models(settings):
    app = create_app(settings)
    config = alembic_config()
    revisions = [script.revision for script in reversed(list(ScriptDirectory.from_config(config).walk_revisions()))]
    with app.app_context():
        for revision in revisions:
            command.upgrade(config, revision)
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert context.get_current_revision() == revisions[-1]
            assert compare_metadata(context, db.metadata) == []
        db.engine.dispose()
    migrate_database(app)  # what every start does: nothing left to apply
    with app.app_context():
        with db.engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() == revisions[-1]
        db.engine.dispose()
