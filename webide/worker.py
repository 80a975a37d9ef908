"""Celery entry point: `celery -A webide.worker worker`."""

from . import create_app

flask_app = create_app(realtime_server=False)
celery = flask_app.extensions["celery"]
