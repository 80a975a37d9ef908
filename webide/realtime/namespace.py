"""The `/ota-update` namespace: authenticated connects, per-bot rooms, replay of missed events.

The client contract (the editor page's ``EventSequencer`` and the tests' ``RoomListener`` implement it):

1. After every (re)connect, send ``join {product_id, since}`` with ``since`` = the last sequence number applied
   (0 on a fresh page). The server joins the room *first* and then reads the log, so every event is in the answer,
   or arrives live, or both — never neither.
2. The ack is ``{success, after, head, events, more, reset, now}``: ``events`` are the stored events with
   ``seq > after`` in order (one page). ``after`` equals ``since`` unless the page starts elsewhere: at the newest
   build for a fresh page, after events that are no longer stored, or — with ``reset`` — on a log that was started
   anew. Move the cursor to ``max(cursor, after)`` (to ``after`` on ``reset``), then apply ``events``.
   With ``more``, ask again with ``join {since: cursor}``. ``now`` is the server clock (ms) for timers.
3. Live ``ota_event`` messages carry ``seq`` and ``ts``. Apply events strictly by ``seq``: drop any with
   ``seq <= cursor`` (duplicates of the replay), hold later ones until the ones before them are applied.
4. A gap that stays open (an event held for longer than a short wait, e.g. 0.5 s) is fetched with
   ``join {since: cursor}``; the room is joined again harmlessly.
5. Both join answers also carry ``link`` (online/offline/unknown: whether the bridge has the MQTT broker); after
   that, ``device_link`` messages ``{state}`` (unnumbered, to every page) tell each change.
"""

from __future__ import annotations

import time
from typing import Any

from flask import current_app, request
from flask_login import current_user
from flask_socketio import Namespace, emit, join_room

from ..core.accounts import Principal, accessible_device, principal_for_api_token, require_staff
from ..core.classes import visible_classroom
from ..core.errors import ApiError
from ..core.events import EventLog, class_room_for, fleet_room_for, rollout_room_for, room_for
from ..core.linkstatus import device_link_state
from ..core.rollouts import managed_rollout
from ..core.rules import MAX_ROW_ID
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
        join_room(room_for(device.product_id))  # before reading the log: see the contract above
        event_log: EventLog | None = current_app.extensions.get("webide_events")
        if event_log is None:
            return {
                "link": "unknown",
                "success": True,
                "product_id": device.product_id,
                "after": since,
                "head": since,
                "events": [],
                "more": False,
                "reset": False,
                "now": None,
                "replayed": 0,
            }
        return {**event_log.replay(device.product_id, since).ack(device.product_id), "link": device_link_state()}

    def on_join_class(self, data: Any = None) -> dict[str, Any]:
        """Staff join a class room: its dashboards' live changes (heartbeats, compiles, flash states, saves).

        Nothing is replayed; after every (re)join the page loads the class's state once, then applies changes.
        """
        principal = _connection_principal()
        if principal is None:
            return _refuse("unauthorized")
        name = data.get("class_name") if isinstance(data, dict) else None
        if not isinstance(name, str):
            return _refuse("join_class needs {class_name: string}")
        try:
            classroom = visible_classroom(principal, name)
        except ApiError as error:
            return _refuse(error.message)
        join_room(class_room_for(classroom.id))
        return {
            "success": True,
            "class_name": classroom.name,
            "now": int(time.time() * 1000),
            "link": device_link_state(),
        }

    def on_join_fleet(self, _data: Any = None) -> dict[str, Any]:
        """Staff join their fleet room: ``rollout_created`` ``{"id"}`` for each new rollout they may see."""
        principal = _connection_principal()
        if principal is None:
            return _refuse("unauthorized")
        try:
            user = require_staff(principal)
        except ApiError as error:
            return _refuse(error.message)
        join_room(fleet_room_for(None if user.is_admin else user.id))
        return {"success": True, "now": int(time.time() * 1000)}

    def on_join_rollout(self, data: Any = None) -> dict[str, Any]:
        """Staff join a rollout's room: its summary (state, open group, each group's counts) after every change.

        Nothing is replayed; after every (re)join the page loads the rollout once, then applies summaries.
        """
        principal = _connection_principal()
        if principal is None:
            return _refuse("unauthorized")
        rollout_id = data.get("rollout_id") if isinstance(data, dict) else None
        if not isinstance(rollout_id, int) or isinstance(rollout_id, bool) or not 1 <= rollout_id <= MAX_ROW_ID:
            return _refuse("join_rollout needs {rollout_id: positive integer}")
        try:
            rollout = managed_rollout(require_staff(principal), rollout_id)
        except ApiError as error:
            return _refuse(error.message)
        join_room(rollout_room_for(rollout.id))
        return {"success": True, "rollout_id": rollout.id, "now": int(time.time() * 1000)}


def _refuse(message: str) -> dict[str, Any]:
    emit("error", {"error": message})
    return {"success": False, "error": message}
