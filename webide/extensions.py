"""Flask extensions, created unbound at import time and bound to an app in :func:`webide.create_app`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app, has_request_context, request
from flask_login import LoginManager
from flask_socketio import SocketIO
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase

if TYPE_CHECKING:
    from celery import Celery

    from .config import Settings
    from .core.events import EventLog


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
login_manager = LoginManager()
csrf = CSRFProtect()
socketio = SocketIO()


def csrf_exempt(view):  # type: ignore[no-untyped-def]
    """Mark a view that authenticates in a way a cross-site page cannot forge (e.g. a JSON-only login)."""
    view.csrf_exempt = True
    return view


def current_settings() -> Settings:
    """The running app's :class:`webide.config.Settings` (request, task and Socket.IO handler code)."""
    return current_app.config["SETTINGS"]


def current_event_log() -> EventLog | None:
    """The running app's event log (None when no Redis is configured)."""
    return current_app.extensions.get("webide_events")


def current_celery() -> Celery:
    """The running app's Celery instance, for enqueueing tasks by name."""
    return current_app.extensions["celery"]


def public_base_url(settings: Settings) -> str:
    """The base URL bots and browsers reach this server at: WEBIDE_PUBLIC_URL, else the current request's."""
    if settings.public_url:
        return settings.public_url.rstrip("/")
    return request.host_url.rstrip("/") if has_request_context() else ""


def current_secret_key() -> str:
    """The running app's secret key, from which purpose-specific keys are derived."""
    return current_app.config["SECRET_KEY"]
