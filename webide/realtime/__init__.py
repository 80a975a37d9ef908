"""Live terminal: the `/ota-update` Socket.IO namespace and the event log it replays from."""

from __future__ import annotations

from flask import Flask

from ..config import Settings
from ..core.events import EventLog, configure_event_log
from ..extensions import socketio
from .namespace import OtaNamespace

NAMESPACE = "/ota-update"


def init_realtime(app: Flask, settings: Settings, serve: bool = True) -> None:
    app.extensions["webide_events"] = configure_event_log(settings.redis_url, NAMESPACE)
    if not serve:
        return
    options = {"async_mode": settings.async_mode, "cors_allowed_origins": [], "cookie": None}
    if settings.redis_url:
        options.update(message_queue=settings.redis_url, channel="webide-socketio")
    socketio.init_app(app, **options)
    socketio.on_namespace(OtaNamespace(NAMESPACE))


__all__ = ["EventLog", "NAMESPACE", "init_realtime"]
