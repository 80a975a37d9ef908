"""Live terminal: the `/ota-update` Socket.IO namespace and the event log it replays from."""

from __future__ import annotations

from typing import Any

from flask import Flask
from socketio import RedisManager

from ..config import Settings
from ..core.events import CHANNEL, EventLog, configure_event_log
from ..extensions import socketio
from .namespace import OtaNamespace

NAMESPACE = "/ota-update"


def init_realtime(app: Flask, settings: Settings, serve: bool = True) -> None:
    app.extensions["webide_events"] = configure_event_log(settings.redis_url, NAMESPACE, serves_requests=serve)
    if not serve:
        return
    options: dict[str, Any] = {"async_mode": settings.async_mode, "cors_allowed_origins": [], "cookie": None}
    if settings.redis_url:
        # Always the Redis manager (also for unix:// URLs): events are published in its message format by a script.
        options["client_manager"] = RedisManager(settings.redis_url, channel=CHANNEL)
    socketio.init_app(app, **options)
    socketio.on_namespace(OtaNamespace(NAMESPACE))


__all__ = ["NAMESPACE", "EventLog", "init_realtime"]
