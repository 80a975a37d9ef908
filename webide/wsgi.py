"""WSGI entry point for gunicorn: `gunicorn -k eventlet -w 1 webide.wsgi:app`."""

from . import create_app
from .database import migrate_database
from .tasks import start_stale_build_sweeper

app = create_app()
migrate_database(app)
# The web side fails builds whose worker died too: with every worker gone, nobody else would.
start_stale_build_sweeper(app)
