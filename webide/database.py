"""Schema migrations (Alembic), run on every start so the database always matches the code."""

from __future__ import annotations

import fcntl
from pathlib import Path

from alembic import command
from alembic.config import Config
from flask import Flask

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def migrate_database(app: Flask) -> None:
    """Upgrade to the newest schema; a lock file keeps concurrent starters from racing."""
    settings = app.config["SETTINGS"]
    with open(settings.data_dir / "migrate.lock", "w") as lock, app.app_context():
        fcntl.flock(lock, fcntl.LOCK_EX)
        command.upgrade(alembic_config(), "head")
    make_sqlite_files_private(app.config["SQLALCHEMY_DATABASE_URI"])


def make_sqlite_files_private(uri: str) -> None:
    if uri.startswith("sqlite:///"):
        database = Path(uri.removeprefix("sqlite:///"))
        for path in (database, database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")):
            if path.exists():
                path.chmod(0o600)


def new_migration(app: Flask, message: str) -> None:
    """Developer helper: write a migration for model changes (`webide db revision -m ...`)."""
    with app.app_context():
        command.revision(alembic_config(), message=message, autogenerate=True)
