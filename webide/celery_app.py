"""Celery bound to the Flask app, the way Flask's documentation does it: every task runs in an app context."""

from __future__ import annotations

from celery import Celery, Task
from flask import Flask

from .config import Settings

BUILD_QUEUE = "builds"


def celery_init_app(app: Flask, settings: Settings) -> Celery:
    class FlaskTask(Task):
        def __call__(self, *args: object, **kwargs: object) -> object:
            with app.app_context():
                return self.run(*args, **kwargs)

    celery = Celery(app.name, task_cls=FlaskTask)
    celery.conf.update(
        broker_url=settings.redis_url or "memory://",
        task_ignore_result=True,
        task_default_queue=BUILD_QUEUE,
        # Acknowledge on receipt: a build whose worker dies is reported as failed (see builds.service),
        # never silently run twice.
        task_acks_late=False,
        worker_prefetch_multiplier=1,
        # Only late-acknowledged tasks are cancelled when the broker connection is lost, and ours acknowledge on
        # receipt: this opts into Celery 6's behaviour (and out of its warning) without changing ours.
        worker_cancel_long_running_tasks_on_connection_loss=True,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"socket_timeout": 5, "socket_connect_timeout": 5},
        include=["webide.tasks"],
    )
    celery.set_default()
    app.extensions["celery"] = celery
    return celery
