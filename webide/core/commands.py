"""Commands to bots: reboot, LED and relay, Wi-Fi reset, updates, identify — queued, delivered, acknowledged.

A command is stored first (``pending``); the bridge hands it to the bot on ``devices/<id>/command`` (``sent``), or a
bot without MQTT finds it in its heartbeat reply (``sent`` too). The bot answers on ``devices/<id>/result`` (or with
``POST /api/devices/<id>/results``; both go through :func:`apply_result`) with ``acked`` when it starts and ``done``
or ``failed`` when it finishes. A command not finished within ``WEBIDE_DEVICE_COMMAND_TTL_S`` is
``timed_out``: an offline bot gets it if it comes back in time, never later (a reboot an hour late is a surprise).
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from ..config import Settings
from ..extensions import db
from ..models import Classroom, Device, DeviceCommand, as_utc, iso, utcnow
from .errors import BadRequest, Conflict, NotFound
from .events import announce
from .rules import optional_int, optional_str

COMMANDS = ("led", "relay", "reboot", "reset_wifi", "test_update", "update_now", "identify", "serial")
SWITCH_STATES = ("on", "off", "toggle")
OPEN_STATES = ("pending", "sent", "acked")
FINAL_STATES = ("done", "failed", "timed_out")
RESULT_STATES = ("acked", "done", "failed")
# A later state never goes back to an earlier one (a late "acked" after "done" changes nothing).
STATE_ORDER = {"pending": 0, "sent": 1, "acked": 2, "done": 3, "failed": 3, "timed_out": 3}
MAX_IDENTIFY_S = 60
MAX_SERIAL_LINE_BYTES = 256  # the agent's SerialInput takes lines up to this many UTF-8 bytes (kMaxSerialInputBytes)
DELIVERY_BATCH = 200
MAX_HEARTBEAT_COMMANDS = 8
# The agent reads a heartbeat reply of at most 2048 bytes (kMaxServerReplyBytes, bootstrap_firmware/WebideAgent/src/
# core/flat_json.h) and a longer one not at all, which would count as a failed heartbeat; the commands get this much
# of it (json.dumps escapes as Flask does: ASCII only), the rest is for the other fields.
HEARTBEAT_COMMAND_BYTES = 1700


def parse_command(command: str, args: dict[str, Any]) -> dict[str, Any]:
    """The command's arguments, checked; raises BadRequest naming what is wrong."""
    if command not in COMMANDS:
        raise BadRequest(f"Unknown command {command[:40]!r}: use one of {', '.join(COMMANDS)}")
    if command in ("led", "relay"):
        return {"state": switch_state(args.get("state"))}
    if command == "identify":
        return {"seconds": optional_int(args, "seconds", 1, MAX_IDENTIFY_S, default=5)}
    if command == "serial":
        if set(args) != {"line"}:
            raise BadRequest("Command serial takes exactly one argument: args.line")
        return {"line": serial_line(args["line"])}
    if args:
        raise BadRequest(f"Command {command} takes no arguments")
    return {}


def serial_line(value: object) -> str:
    """One line for the bot's Serial input: text of at most MAX_SERIAL_LINE_BYTES bytes (UTF-8), without control
    characters (the newline that ends it is the bot's to add)."""
    if not isinstance(value, str):
        raise BadRequest("Field args.line must be a string")
    if len(value.encode("utf-8", "surrogatepass")) > MAX_SERIAL_LINE_BYTES:
        raise BadRequest(f"Field args.line is longer than {MAX_SERIAL_LINE_BYTES} bytes (UTF-8)")
    for position, char in enumerate(value):
        category = unicodedata.category(char)
        if category in ("Cc", "Cs", "Zl", "Zp"):
            name = "a lone surrogate" if category == "Cs" else f"control character U+{ord(char):04X}"
            raise BadRequest(f"Field args.line holds {name} at position {position}: send one line of plain text")
    return value


def switch_state(value: object) -> str:
    """on/off/toggle; ``"ON"``/``true`` as seed boards send them are accepted too."""
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, str) and value.lower() in SWITCH_STATES:
        return value.lower()
    raise BadRequest(f"Field args.state must be one of {', '.join(SWITCH_STATES)} (or true/false)")


def queue_command(
    device: Device, command: str, args: dict[str, Any], requested_by: str, settings: Settings
) -> DeviceCommand:
    """Store a command for delivery; a blocked bot cannot take any (409)."""
    if device.blocked:
        raise Conflict(f"Bot {device.product_id!r} is blocked; unblock it before sending commands")
    now = utcnow()
    entry = DeviceCommand(
        device=device,
        command=command,
        args=parse_command(command, args),
        state="pending",
        requested_by=requested_by[:64],
        created_at=now,
        updated_at=now,
        expires_at=now + timedelta(seconds=settings.device_command_ttl_s),
    )
    db.session.add(entry)
    db.session.flush()
    announce_command(entry)
    return entry


def queue_class_command(
    classroom: Classroom, command: str, args: dict[str, Any], requested_by: str, settings: Settings
) -> list[DeviceCommand]:
    """The same command for every bot of the class that is not blocked (e.g. "update now" after a push)."""
    parse_command(command, args)  # a bad command is refused before anything is stored
    bots = sorted((bot for bot in classroom.devices if not bot.blocked), key=lambda bot: bot.product_id)
    return [queue_command(bot, command, args, requested_by, settings) for bot in bots]


def find_command(device: Device, command_id: str) -> DeviceCommand:
    entry = db.session.scalar(
        select(DeviceCommand).where(DeviceCommand.command_id == command_id, DeviceCommand.device_id == device.id)
    )
    if entry is None:
        raise NotFound(f"No command {command_id[:40]!r} for bot {device.product_id!r}")
    return entry


def effective_state(entry: DeviceCommand, now: datetime | None = None) -> str:
    """The stored state, or timed_out for an open command past its expiry the sweep has not reached yet."""
    expired = as_utc(entry.expires_at) <= (now or utcnow())  # type: ignore[operator]
    return "timed_out" if entry.state in OPEN_STATES and expired else entry.state


def command_view(entry: DeviceCommand) -> dict[str, Any]:
    return {
        "id": entry.command_id,
        "product_id": entry.device.product_id,
        "command": entry.command,
        "args": entry.args,
        "state": effective_state(entry),
        "message": entry.message,
        "requested_by": entry.requested_by,
        "created_at": iso(entry.created_at),
        "updated_at": iso(entry.updated_at),
        "expires_at": iso(entry.expires_at),
    }


def wire_form(entry: DeviceCommand) -> dict[str, Any]:
    """What the bot receives (MQTT payload, or an entry of the heartbeat reply's ``commands``): one flat object, the
    arguments as top-level fields, so the agent's bounded, allocation-free JSON reader takes it in one pass."""
    return {**entry.args, "id": entry.command_id, "command": entry.command}


def move_to(entry: DeviceCommand, state: str, message: str = "") -> bool:
    """Advance the command (never backwards, never out of a final state); True when it changed."""
    if entry.state in FINAL_STATES or STATE_ORDER[state] <= STATE_ORDER[entry.state]:
        return False
    entry.state, entry.updated_at = state, utcnow()
    if message:
        entry.message = message
    announce_command(entry)
    return True


def announce_command(entry: DeviceCommand) -> None:
    product_id = entry.device.product_id
    announce(product_id, "command", id=entry.command_id, command=entry.command, state=entry.state)
    detail = f": {entry.message}" if entry.message else ""
    announce(product_id, "line", stream="device", text=f"command {entry.command} {entry.state}{detail}")


def commands_to_deliver(limit: int = DELIVERY_BATCH) -> Sequence[DeviceCommand]:
    """Pending commands still in time, oldest first (the bridge publishes them and marks them sent)."""
    return db.session.scalars(
        select(DeviceCommand)
        .where(DeviceCommand.state == "pending", DeviceCommand.expires_at > utcnow())
        .order_by(DeviceCommand.id)
        .limit(limit)
    ).all()


def commands_for_heartbeat(device: Device) -> list[dict[str, Any]]:
    """Commands a bot polling over HTTP should run: not yet acknowledged and still in time; they count as sent."""
    entries = db.session.scalars(
        select(DeviceCommand)
        .where(
            DeviceCommand.device_id == device.id,
            DeviceCommand.state.in_(("pending", "sent")),
            DeviceCommand.expires_at > utcnow(),
        )
        .order_by(DeviceCommand.id)
        .limit(MAX_HEARTBEAT_COMMANDS)
    ).all()
    wired: list[dict[str, Any]] = []
    size = 0
    for entry in entries:
        wire = wire_form(entry)
        size += len(json.dumps(wire)) + 2
        if wired and size > HEARTBEAT_COMMAND_BYTES:
            break  # the rest ride along in the next replies
        move_to(entry, "sent")
        wired.append(wire)
    return wired


def apply_result(device: Device, body: dict[str, Any]) -> DeviceCommand:
    """The bot's answer ``{"id", "state": acked|done|failed, "message"?}`` to one of its own commands."""
    command_id = optional_str(body, "id", 32)
    state = optional_str(body, "state", 8)
    if command_id is None:
        raise BadRequest("Field id is required")
    if state not in RESULT_STATES:
        raise BadRequest(f"Field state must be one of {', '.join(RESULT_STATES)}")
    entry = find_command(device, command_id)
    move_to(entry, state, (optional_str(body, "message", 300) or "").strip())
    return entry


def expire_commands(now: datetime | None = None) -> int:
    """Mark open commands past their expiry timed_out (the bridge's sweep); returns how many."""
    now = now or utcnow()
    entries = db.session.scalars(
        select(DeviceCommand)
        .where(DeviceCommand.state.in_(OPEN_STATES), DeviceCommand.expires_at <= now)
        .limit(DELIVERY_BATCH)
    ).all()
    for entry in entries:
        move_to(entry, "timed_out", "the bot did not finish it in time")
    return len(entries)
