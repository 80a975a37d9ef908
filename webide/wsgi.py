"""WSGI entry point for gunicorn: `gunicorn -k eventlet -w 1 webide.wsgi:app`."""

from . import create_app
from .database import migrate_database

app = create_app()
migrate_database(app)
