"""Celery entry point: `celery -A webide.worker worker`."""

from celery.signals import worker_ready

from . import create_app
from .tasks import start_stale_build_sweeper

flask_app = create_app(realtime_server=False)
celery = flask_app.extensions["celery"]


@worker_ready.connect
def sweep_stale_builds(**_: object) -> None:
    start_stale_build_sweeper(flask_app)
