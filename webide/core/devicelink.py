"""What bots send on the live link (MQTT), handled exactly like the same reports over HTTP.

``devices/<id>/health`` is a heartbeat, ``ota/status`` an OTA status report, ``status`` the state of the bot's outputs
(LED, relay) and its presence on the link (``{"online": true}`` retained when it connects, ``{"online": false}`` as
its last will, which the broker publishes when the bot drops off), ``logs`` serial output lines, ``result`` the answer to a command. The broker's ACL already makes sure a
bot only publishes under its own ID. Serial lines are untrusted text: each is cut to
``WEBIDE_DEVICE_LOG_LINE_BYTES``, stripped of terminal control sequences, and a bot gets at most
``WEBIDE_DEVICE_LOG_LINES_PER_S`` lines a second (bursts of 4× that); the rest is counted and said once. Lines go to
the bot's Socket.IO room as ``line`` events of stream ``serial``, so the event log's bounded per-bot history is the
ring a late page replays from.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from compiler.text import safe_line

from ..config import Settings
from ..extensions import db
from ..models import Device, iso, utcnow
from .broker import TOPIC_ROOT
from .commands import apply_result
from .errors import BadRequest, NotFound
from .events import announce, announce_to_class, publish_many
from .reports import parse_heartbeat, parse_status_report, record_heartbeat, record_status_report

MAX_PAYLOAD_BYTES = 16384  # the broker's own packet limit; HTTP log batches have the same bound
MAX_LINES_PER_MESSAGE = 100
MAX_OUTPUTS = 8
OUTPUT_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,15}$")
BURST_FACTOR = 4
TRACKED_BOTS = 10000  # rate-limit buckets kept (least recently used dropped first): bounded memory
REPORT_LEAVES = ("health", "status", "ota/status", "logs", "result")
TOPIC_RE = re.compile(rf"^{TOPIC_ROOT}/([A-Za-z0-9][A-Za-z0-9_.-]{{0,63}})/(health|status|ota/status|logs|result)$")


def parse_topic(topic: str) -> tuple[str, str] | None:
    """(product ID, report kind) of a bot's report topic, or None for anything else."""
    match = TOPIC_RE.fullmatch(topic)
    return (match.group(1), match.group(2)) if match else None


def json_object(payload: bytes) -> dict[str, Any]:
    """A JSON object from an untrusted payload (bounded, strict: no NaN, no lone surrogates)."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise BadRequest(f"The message is larger than {MAX_PAYLOAD_BYTES} bytes")
    try:
        value = json.loads(payload.decode("utf-8"), parse_constant=_refuse_constant)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise BadRequest("The message is not valid JSON") from None
    if not isinstance(value, dict):
        raise BadRequest("The message must be a JSON object")
    return value


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


@dataclass
class LogLimiter:
    """Token buckets per bot: ``rate`` lines a second, bursts of ``BURST_FACTOR`` × that; counts what it drops."""

    rate: float
    buckets: OrderedDict[str, list[float]] = field(default_factory=OrderedDict)
    dropped: dict[str, int] = field(default_factory=dict)

    def take(self, product_id: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        capacity = self.rate * BURST_FACTOR
        tokens, last = self.buckets.pop(product_id, [capacity, now])
        tokens = min(capacity, tokens + (now - last) * self.rate)
        allowed = tokens >= 1
        self.buckets[product_id] = [tokens - 1 if allowed else tokens, now]
        while len(self.buckets) > TRACKED_BOTS:
            self.dropped.pop(self.buckets.popitem(last=False)[0], None)
        if not allowed:
            self.dropped[product_id] = self.dropped.get(product_id, 0) + 1
        return allowed

    def take_dropped(self, product_id: str) -> int:
        return self.dropped.pop(product_id, 0)


def log_lines(payload: bytes) -> list[bytes]:
    """The lines of a ``logs`` message: plain text, one line per newline (a JSON ``{"lines": [...]}`` also works)."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise BadRequest(f"The message is larger than {MAX_PAYLOAD_BYTES} bytes")
    if payload.startswith(b"{"):
        return [line.encode() for line in lines_field(json_object(payload))]
    return [line for line in payload.split(b"\n") if line.strip()][:MAX_LINES_PER_MESSAGE]


def lines_field(body: dict[str, Any]) -> list[str]:
    lines = body.get("lines")
    if not isinstance(lines, list) or not all(isinstance(line, str) for line in lines):
        raise BadRequest("Field lines must be a list of strings")
    if len(lines) > MAX_LINES_PER_MESSAGE:
        raise BadRequest(f"Field lines holds at most {MAX_LINES_PER_MESSAGE} lines per message")
    return lines


Outbox = list[tuple[str, str, dict[str, Any]]]


def record_log_lines(
    product_id: str, lines: list[bytes], limiter: LogLimiter, settings: Settings, outbox: Outbox | None = None
) -> int:
    """Publish a bot's serial lines to its room (bounded, plain text, rate-limited); returns how many went out.

    With ``outbox`` the events are collected there instead, for the caller to publish many in one go.
    """
    events: Outbox = [] if outbox is None else outbox
    sent = 0
    for raw in lines:
        if not limiter.take(product_id):
            continue
        dropped = limiter.take_dropped(product_id)
        if dropped:
            notice = f"[… {dropped} lines dropped: too many per second]"
            events.append((product_id, "line", {"stream": "serial", "text": notice}))
        text = safe_line(raw.rstrip(b"\r"), limit=settings.device_log_line_bytes)
        events.append((product_id, "line", {"stream": "serial", "text": text}))
        sent += 1
    if outbox is None:
        publish_many(events)
    return sent


def parse_outputs(body: dict[str, Any]) -> dict[str, bool | int]:
    """The state of the bot's outputs: ``{"led": true, "relay": "OFF", "pwm": 128}`` → on/off and small numbers."""
    outputs: dict[str, bool | int] = {}
    for name, value in body.items():
        if not isinstance(name, str) or not OUTPUT_NAME_RE.fullmatch(name):
            raise BadRequest("Output names are lowercase letters, digits and _ (at most 16)")
        if len(outputs) >= MAX_OUTPUTS:
            raise BadRequest(f"At most {MAX_OUTPUTS} outputs")
        if isinstance(value, str) and value.lower() in ("on", "off"):
            value = value.lower() == "on"
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            value = int(value)
        if not isinstance(value, (bool, int)) or (not isinstance(value, bool) and not 0 <= value <= 65535):
            raise BadRequest(f"Output {name} must be on/off, true/false or a number from 0 to 65535")
        outputs[name] = value
    return outputs


def record_outputs(device: Device, outputs: dict[str, bool | int]) -> None:
    """Keep the outputs next to the heartbeat's telemetry and tell the bot's viewers."""
    device.telemetry = {**(device.telemetry or {}), "outputs": outputs, "outputs_at": iso(utcnow())}
    announce(device.product_id, "outputs", outputs=outputs)
    shown = " ".join(
        f"{name}={'on' if value is True else 'off' if value is False else value}" for name, value in outputs.items()
    )
    announce(device.product_id, "line", stream="device", text=f"outputs {shown}")


def parse_status(body: dict[str, Any]) -> tuple[bool | None, dict[str, bool | int]]:
    """A ``status`` message: (presence, or None when it does not say; the outputs it reports)."""
    body = dict(body)
    online = body.pop("online", None)
    if online is not None and not isinstance(online, bool):
        raise BadRequest("Field online must be true or false")
    return online, parse_outputs(body)


def record_presence(device: Device, online: bool) -> None:
    """Whether the bot is connected to the broker now; a change is told in its room and to its class's dashboards
    (the broker repeats a retained presence to a reconnecting bridge: no news, nothing told)."""
    telemetry = device.telemetry or {}
    if telemetry.get("live_link") is online:
        return
    device.telemetry = {**telemetry, "live_link": online, "live_link_at": iso(utcnow())}
    announce(device.product_id, "presence", live_link=online)
    announce(device.product_id, "line", stream="device", text=f"live link {'connected' if online else 'lost'}")
    announce_to_class(device.classroom_id, device.product_id, "presence", live_link=online)


def load_devices(product_ids: Iterable[str]) -> dict[str, Device]:
    """The bots of a batch of reports in one query (one SELECT for a classroom's heartbeats instead of one each)."""
    wanted = sorted(set(product_ids))
    if not wanted:
        return {}
    return {
        device.product_id: device for device in db.session.scalars(select(Device).where(Device.product_id.in_(wanted)))
    }


def reporting_device(product_id: str, devices: Mapping[str, Device] | None = None) -> Device:
    if devices is None:
        device = db.session.scalar(select(Device).where(Device.product_id == product_id))
    else:
        device = devices.get(product_id)
    if device is None or device.blocked:
        raise NotFound(f"No bot named {product_id!r}")
    return device


def handle_report(
    product_id: str,
    kind: str,
    payload: bytes,
    limiter: LogLimiter,
    settings: Settings,
    outbox: Outbox | None = None,
    devices: Mapping[str, Device] | None = None,
) -> None:
    """One message from a bot, handled as its HTTP twin would be; raises BadRequest/NotFound for a refused one.

    Stages changes only; the caller commits (or rolls back on an error). Serial lines need no database: the broker
    let only this bot publish on its topic; they go to ``outbox`` when given. ``devices`` are the batch's bots
    loaded beforehand (:func:`load_devices`); without it the bot is looked up alone.
    """
    if kind == "logs":
        record_log_lines(product_id, log_lines(payload), limiter, settings, outbox)
        return
    body = json_object(payload)
    device = reporting_device(product_id, devices)
    if kind == "health":
        record_heartbeat(device, parse_heartbeat(body), settings)
    elif kind == "ota/status":
        record_status_report(device, parse_status_report(body))
    elif kind == "status":
        online, outputs = parse_status(body)
        if online is not None:
            record_presence(device, online)
        if outputs:
            record_outputs(device, outputs)
    elif kind == "result":
        apply_result(device, body)
