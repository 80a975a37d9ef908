"""The `/ota-update` namespace: authenticated connects, per-bot rooms, replay of missed events."""

from __future__ import annotations

from typing import Any

from flask import current_app, request
from flask_login import current_user
from flask_socketio import Namespace, emit, join_room

from ..core.accounts import Principal, accessible_device, principal_for_api_token
from ..core.errors import ApiError
from ..core.events import EVENT_NAME, room_for
from ..extensions import db
from ..models import Device, User

# Principal per connection (sid → (kind, id)); the Socket.IO server keeps one process's connections.
_connections: dict[str, tuple[str, int]] = {}


def _connection_principal() -> Principal | None:
    entry = _connections.get(request.sid)
    if entry is None:
        return None
    model = Device if entry[0] == "device" else User
    principal = db.session.get(model, entry[1])
    return principal if principal is not None and principal.is_active else None


class OtaNamespace(Namespace):
    def on_connect(self, auth: Any = None) -> None:
        principal: Principal | None = None
        if isinstance(auth, dict) and isinstance(auth.get("token"), str):
            principal = principal_for_api_token(auth["token"])
        elif current_user.is_authenticated:
            principal = current_user._get_current_object()
        if principal is None:
            raise ConnectionRefusedError("unauthorized")
        _connections[request.sid] = (principal.kind, principal.id)
        if isinstance(principal, Device):
            join_room(room_for(principal.product_id))

    def on_disconnect(self, *_args: Any) -> None:
        _connections.pop(request.sid, None)

    def on_join(self, data: Any = None) -> dict[str, Any]:
        """Join a bot's room and receive what was missed since ``since``; returns an ack for the client."""
        principal = _connection_principal()
        if principal is None:
            return _refuse("unauthorized")
        data = data if isinstance(data, dict) else {}
        product_id = data.get("product_id") or getattr(principal, "product_id", None)
        since = data.get("since", 0)
        if not isinstance(product_id, str) or not isinstance(since, int) or isinstance(since, bool):
            return _refuse("join needs {product_id: string, since: integer}")
        try:
            device = accessible_device(principal, product_id)
        except ApiError as error:
            return _refuse(error.message)
        join_room(room_for(device.product_id))
        event_log = current_app.extensions.get("webide_events")
        missed = event_log.since(device.product_id, since) if event_log else []
        for event in missed:
            emit(EVENT_NAME, event)
        return {"success": True, "product_id": device.product_id, "replayed": len(missed)}


def _refuse(message: str) -> dict[str, Any]:
    emit("error", {"error": message})
    return {"success": False, "error": message}
