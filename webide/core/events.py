"""Room events: numbered, stored and broadcast in one atomic step, so every viewer gets them in number order.

Every event of a bot gets the next sequence number of that bot's room and a server timestamp (``ts``, milliseconds
of Redis's clock, so all publishers share one clock), is appended to a capped Redis list for replay, and is
PUBLISHed on the Socket.IO message-queue channel — all inside one Lua script. Redis runs scripts one at a time and
delivers a channel's messages in the order they were published, so the numbers and the delivery order can never
disagree, whoever publishes (worker slots on any machine, the web process). Numbering first and emitting afterwards
in a second call lets two publishers overtake each other between the two calls.

The published message is the one python-socketio's own ``PubSubManager.emit`` (5.x) sends to other hosts:
``{"method": "emit", "event", "data": [payload], "binary", "namespace", "room", "skip_sid", "callback",
"host_id"}``; the web server's ``RedisManager`` reads the channel in one loop and hands each message to the room's
sockets before reading the next, so the order survives up to each connection.

Replay (``EventLog.replay``) reads a page of the stored list after a sequence number, also in one script; the
client contract that joins replay and live delivery without loss or duplicates is in ``namespace.py``.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import redis
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from ..extensions import current_event_log, current_settings, db

log = logging.getLogger(__name__)

KEEP_EVENTS = 20_000
KEEP_BYTES = 4 * 1024 * 1024  # per bot: a 4 MB-output build still replays whole; 30 bots stay near 120 MB
# Publishing in a request (a bot's download, its heartbeat) may cost it little when Redis hangs; a worker streaming
# compiler lines waits longer rather than lose lines to a busy Redis.
REQUEST_PUBLISH_TIMEOUT_S = 0.15
WORKER_PUBLISH_TIMEOUT_S = 5.0
QUIET_AFTER_FAILURE_S = 5.0
KEEP_SECONDS = 7 * 24 * 3600
FRESH_PAGE_EVENTS = 200
REPLAY_PAGE = 1000
KEEP_BUILD_STARTS = 100
EVENT_NAME = "ota_event"
CHANNEL = "webide-socketio"

# KEYS: counter, list, build starts (hash update_id → first seq), newest build's first seq, stored bytes.
# ARGV: event JSON without its opening brace, list cap, TTL, channel, message head, message tail, update_id or "",
# how many build starts to remember, byte cap. The oldest events go first when either cap is passed.
APPEND_AND_PUBLISH = """
local seq = redis.call('INCR', KEYS[1])
local now = redis.call('TIME')
local ts = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local event = '{"seq": ' .. seq .. ', "ts": ' .. string.format('%d', ts) .. ', ' .. ARGV[1]
local length = redis.call('RPUSH', KEYS[2], event)
local size = redis.call('INCRBY', KEYS[5], #event)
while length > tonumber(ARGV[2]) or (size > tonumber(ARGV[9]) and length > 1) do
  local oldest = redis.call('LPOP', KEYS[2])
  if not oldest then break end
  size = redis.call('DECRBY', KEYS[5], #oldest)
  length = length - 1
end
if ARGV[7] ~= '' then
  if redis.call('HLEN', KEYS[3]) >= tonumber(ARGV[8]) then redis.call('DEL', KEYS[3]) end
  if redis.call('HSETNX', KEYS[3], ARGV[7], seq) == 1 then redis.call('SET', KEYS[4], seq) end
end
for _, key in ipairs(KEYS) do redis.call('EXPIRE', key, ARGV[3]) end
redis.call('PUBLISH', ARGV[4], ARGV[5] .. event .. ARGV[6])
return {seq, ts}
"""

# KEYS: counter, list, newest build's first seq. ARGV: since, page size, fresh-page tail.
# Returns {after, head, now_ms, events...}: the stored events with seq > after (at most a page), in order.
READ_AFTER = """
local head = tonumber(redis.call('GET', KEYS[1]) or '0')
local first = head - redis.call('LLEN', KEYS[2]) + 1
local since = tonumber(ARGV[1])
if since <= 0 or since > head then
  local newest = tonumber(redis.call('GET', KEYS[3]) or '0')
  if newest > 0 then since = newest - 1 else since = head - tonumber(ARGV[3]) end
end
local after = math.max(since, first - 1, 0)
local start = after + 1 - first
local events = redis.call('LRANGE', KEYS[2], start, start + tonumber(ARGV[2]) - 1)
local now = redis.call('TIME')
local reply = {after, head, tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)}
for _, event in ipairs(events) do reply[#reply + 1] = event end
return reply
"""


# Class rooms carry a dashboard's live changes (heartbeats, compile results, flash states, saves); they are not
# numbered or stored: a dashboard that (re)joins reloads the class's state once and then applies changes.
# A heartbeat's numeric readings are appended to the bot's sensor series in the same script.
# KEYS: series list, series bytes. ARGV: event JSON without its opening brace, channel, message head, message tail,
# sample JSON ("" for none) without its opening brace, sample cap, byte cap, retention seconds.
SAMPLE_AND_BROADCAST = """
local now = redis.call('TIME')
local ts = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local stamp = '{"ts": ' .. string.format('%d', ts) .. ', '
if ARGV[5] ~= '' then
  local sample = stamp .. ARGV[5]
  local length = redis.call('RPUSH', KEYS[1], sample)
  local size = redis.call('INCRBY', KEYS[2], #sample)
  while length > tonumber(ARGV[6]) or (size > tonumber(ARGV[7]) and length > 1) do
    local oldest = redis.call('LPOP', KEYS[1])
    if not oldest then break end
    size = redis.call('DECRBY', KEYS[2], #oldest)
    length = length - 1
  end
  redis.call('EXPIRE', KEYS[1], ARGV[8])
  redis.call('EXPIRE', KEYS[2], ARGV[8])
end
redis.call('PUBLISH', ARGV[2], ARGV[3] .. stamp .. ARGV[1] .. ARGV[4])
return ts
"""
CLASS_EVENT_NAME = "class_event"
# Rollout rooms carry a rollout's progress to the firmware page: one summary per rollout and transaction (the newest
# wins), neither numbered nor stored; a page that (re)joins loads the rollout once, then applies summaries.
ROLLOUT_EVENT_NAME = "rollout_event"
# Fleet rooms tell the firmware pages of those who may see it that a rollout was created ({"id"}): admins, and the
# instructor whose classes hold all its bots.
ROLLOUT_CREATED_EVENT_NAME = "rollout_created"
# Not stored, not numbered, to every page of the namespace: whether the bridge has the broker (see linkstatus.py).
LINK_EVENT_NAME = "device_link"


def room_for(product_id: str) -> str:
    return f"device:{product_id}"


def rollout_room_for(rollout_id: int) -> str:
    return f"rollout:{rollout_id}"


def fleet_room_for(instructor_id: int | None) -> str:
    """The firmware pages of one instructor, or (``None``) of every admin."""
    return "fleet:admins" if instructor_id is None else f"fleet:instructor:{instructor_id}"


def class_room_for(classroom_id: int) -> str:
    return f"class:{classroom_id}"


def series_keys(product_id: str) -> tuple[str, str]:
    base = f"webide:series:{product_id}"
    return base, f"{base}:bytes"


@dataclass(frozen=True)
class SeriesLimits:
    """How much of each bot's sensor history is kept: samples, bytes and age, whichever is reached first."""

    samples: int
    bytes: int
    seconds: int


def keys_for(product_id: str) -> dict[str, str]:
    base = f"webide:events:{product_id}"
    return {
        "seq": f"{base}:seq",
        "log": base,
        "builds": f"{base}:builds",
        "newest": f"{base}:newest",
        "bytes": f"{base}:bytes",
    }


@dataclass
class Replay:
    """A page of stored events after ``after`` (see the join contract in ``namespace.py``)."""

    after: int
    head: int
    now: int
    events: list[dict[str, Any]] = field(default_factory=list)
    reset: bool = False

    @property
    def more(self) -> bool:
        return bool(self.events) and self.events[-1]["seq"] < self.head

    def ack(self, product_id: str) -> dict[str, Any]:
        return {
            "success": True,
            "product_id": product_id,
            "after": self.after,
            "head": self.head,
            "events": self.events,
            "more": self.more,
            "reset": self.reset,
            "now": self.now,
            "replayed": len(self.events),
        }


class EventLog:
    def __init__(self, redis_url: str, namespace: str, publish_timeout_s: float = WORKER_PUBLISH_TIMEOUT_S):
        self.redis = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=1)
        self.publisher = redis.Redis.from_url(
            redis_url, socket_timeout=publish_timeout_s, socket_connect_timeout=min(publish_timeout_s, 1.0)
        )
        self.quiet_until = 0.0
        self.namespace = namespace
        self.host_id = uuid.uuid4().hex  # differs from every server's own id, so each server delivers the message
        self.append = self.publisher.register_script(APPEND_AND_PUBLISH)
        self.read_after = self.redis.register_script(READ_AFTER)
        self.sample_and_broadcast = self.publisher.register_script(SAMPLE_AND_BROADCAST)

    def message_frame(self, product_id: str, room: str | None = None, event: str = EVENT_NAME) -> tuple[str, str]:
        """The Socket.IO queue message around an event: (text before the event, text after it)."""
        envelope = {
            "method": "emit",
            "event": event,
            "binary": False,
            "namespace": self.namespace,
            "room": room or room_for(product_id),
            "skip_sid": None,
            "callback": None,
            "host_id": self.host_id,
            "data": [],
        }
        text = json.dumps(envelope)
        return text[:-2], text[-2:]  # split "[]}" between the brackets

    def broadcast(self, event: str, body: dict[str, Any], room: str | None = None) -> None:
        """Send one unnumbered, unstored event on every server: to a room's sockets, or with no room to every
        connection of the namespace; raises redis errors to the caller."""
        self.publisher.publish(CHANNEL, self.envelope(event, body, room))

    def envelope(self, event: str, body: dict[str, Any], room: str | None = None) -> str:
        """The Socket.IO message queue's emit message for :meth:`broadcast` (a Redis script may publish it too)."""
        return json.dumps(
            {
                "method": "emit",
                "event": event,
                "binary": False,
                "namespace": self.namespace,
                "room": room,
                "skip_sid": None,
                "callback": None,
                "host_id": self.host_id,
                "data": [body],
            }
        )

    def publish(self, product_id: str, event_type: str, **payload: Any) -> dict[str, Any]:
        """Number, timestamp, store and broadcast one event atomically; raises redis errors to the caller."""
        body = {"product_id": product_id, "type": event_type, **payload}
        seq, ts = self.append(**self.append_call(body))
        return {"seq": seq, "ts": ts, **body}

    def publish_many(self, events: list[tuple[str, str, dict[str, Any]]]) -> None:
        """Like :meth:`publish` for many events in one round trip (each still numbered and stored atomically)."""
        pipeline = self.publisher.pipeline(transaction=False)
        for product_id, event_type, payload in events:
            self.append(**self.append_call({"product_id": product_id, "type": event_type, **payload}), client=pipeline)
        pipeline.execute()

    def append_call(self, body: dict[str, Any]) -> dict[str, Any]:
        product_id = body["product_id"]
        keys = keys_for(product_id)
        head, tail = self.message_frame(product_id)
        update_id = body.get("update_id")
        return {
            "keys": [keys["seq"], keys["log"], keys["builds"], keys["newest"], keys["bytes"]],
            "args": [
                json.dumps(body)[1:],
                KEEP_EVENTS,
                KEEP_SECONDS,
                CHANNEL,
                head,
                tail,
                update_id if isinstance(update_id, str) else "",
                KEEP_BUILD_STARTS,
                KEEP_BYTES,
            ],
        }

    def publish_to_class(
        self,
        classroom_id: int,
        product_id: str,
        event_type: str,
        payload: dict[str, Any],
        sample: dict[str, float | int] | None,
        limits: SeriesLimits,
    ) -> int:
        """Broadcast one change to the class room (and keep the heartbeat's sample); returns the server time (ms)."""
        body = {"product_id": product_id, "type": event_type, **payload, **({"values": sample} if sample else {})}
        head, tail = self.message_frame(product_id, class_room_for(classroom_id), CLASS_EVENT_NAME)
        keys = series_keys(product_id)
        return int(
            self.sample_and_broadcast(
                keys=list(keys),
                args=[
                    json.dumps(body)[1:],
                    CHANNEL,
                    head,
                    tail,
                    json.dumps({"values": sample})[1:] if sample else "",
                    limits.samples,
                    limits.bytes,
                    limits.seconds,
                ],
            )
        )

    def series(self, product_ids: list[str], newest: int, retention_s: int) -> dict[str, list[dict[str, Any]]]:
        """The newest ``newest`` samples of each bot younger than the retention, oldest first (one round trip)."""
        pipe = self.redis.pipeline(transaction=False)
        for product_id in product_ids:
            pipe.lrange(series_keys(product_id)[0], -newest, -1)
        pipe.time()
        *lists, (seconds, micros) = pipe.execute()
        oldest_ms = seconds * 1000 + micros // 1000 - retention_s * 1000
        series: dict[str, list[dict[str, Any]]] = {}
        for product_id, raw in zip(product_ids, lists, strict=True):
            samples = [json.loads(item) for item in raw]
            series[product_id] = [sample for sample in samples if sample.get("ts", 0) >= oldest_ms]
        return series

    def replay(self, product_id: str, since: int, page: int = REPLAY_PAGE) -> Replay:
        """Stored events after ``since`` (one page). A fresh page (``since`` 0) starts at the newest build, or gets
        the last few events when there was none; a ``since`` beyond the newest event means the log was started
        anew (Redis lost or expired it), and the answer says so with ``reset``."""
        keys = keys_for(product_id)
        after, head, now, *raw = self.read_after(
            keys=[keys["seq"], keys["log"], keys["newest"]], args=[since, page, FRESH_PAGE_EVENTS]
        )
        return Replay(after=after, head=head, now=now, events=[json.loads(item) for item in raw], reset=since > head)

    def since(self, product_id: str, seq: int) -> list[dict[str, Any]]:
        """Every stored event after ``seq``, in order (all pages)."""
        events: list[dict[str, Any]] = []
        while True:
            replay = self.replay(product_id, events[-1]["seq"] if events else seq)
            events += replay.events
            if not replay.more:
                return events


def configure_event_log(redis_url: str, namespace: str, serves_requests: bool) -> EventLog | None:
    """The process's event log; the web server's publishes give up sooner than a worker's."""
    if not redis_url:
        return None
    timeout = REQUEST_PUBLISH_TIMEOUT_S if serves_requests else WORKER_PUBLISH_TIMEOUT_S
    return EventLog(redis_url, namespace, publish_timeout_s=timeout)


def publish(product_id: str, event_type: str, **payload: Any) -> None:
    """Best-effort publish from request or task code: a Redis outage must never fail or stall the caller's work.

    After a failure the process stays quiet for a few seconds (events are dropped, not queued), so during an outage
    one request pays at most the short publish timeout and the rest pay nothing; pages catch up by replay later.
    """
    event_log = current_event_log()
    if event_log is None or time.monotonic() < event_log.quiet_until:
        return
    try:
        event_log.publish(product_id, event_type, **payload)
    except redis.exceptions.RedisError as error:
        event_log.quiet_until = time.monotonic() + QUIET_AFTER_FAILURE_S
        log.warning(
            "Could not publish %s event for %s (events paused for %s s): %s",
            event_type,
            product_id,
            QUIET_AFTER_FAILURE_S,
            error,
        )


def publish_class_event(
    classroom_id: int,
    product_id: str,
    event_type: str,
    payload: dict[str, Any],
    sample: dict[str, float | int] | None = None,
) -> None:
    """Best-effort, like :func:`publish`: a Redis outage drops the change (and the sample), never stalls the caller."""
    event_log = current_event_log()
    if event_log is None or time.monotonic() < event_log.quiet_until:
        return
    try:
        event_log.publish_to_class(classroom_id, product_id, event_type, payload, sample, current_series_limits())
    except redis.exceptions.RedisError as error:
        event_log.quiet_until = time.monotonic() + QUIET_AFTER_FAILURE_S
        log.warning("Could not publish class %s event for %s (events paused): %s", event_type, product_id, error)


def current_series_limits() -> SeriesLimits:
    settings = current_settings()
    return SeriesLimits(
        samples=max(1, settings.sensor_max_samples),
        bytes=max(1024, settings.sensor_max_bytes),
        seconds=max(1, settings.sensor_retention_s),
    )


def announce_to_class(
    classroom_id: int | None,
    product_id: str,
    event_type: str,
    sample: dict[str, float | int] | None = None,
    **payload: Any,
) -> None:
    """Tell the bot's class dashboards about a change once the transaction commits (a bot without a class: no one)."""
    if classroom_id is not None:
        pending = db.session.info.setdefault(PENDING_CLASS_EVENTS, [])
        pending.append((classroom_id, product_id, event_type, payload, sample))


def announce_to_room(room: str, event: str, body: dict[str, Any]) -> None:
    """Broadcast ``body`` to ``room`` once the transaction commits; a later call for the same room and event in the
    same transaction replaces it, so a sweep that moves a thousand bots sends one summary, not a thousand."""
    db.session.info.setdefault(PENDING_ROOM_EVENTS, {})[(room, event)] = body


def broadcast_rooms(pending: dict[tuple[str, str], dict[str, Any]]) -> None:
    """Best-effort, like :func:`publish`: a Redis outage drops the summaries (pages catch up when they rejoin)."""
    event_log = current_event_log()
    if not pending or event_log is None or time.monotonic() < event_log.quiet_until:
        return
    try:
        for (room, event), body in pending.items():
            event_log.broadcast(event, body, room)
    except redis.exceptions.RedisError as error:
        event_log.quiet_until = time.monotonic() + QUIET_AFTER_FAILURE_S
        log.warning("Could not broadcast %s room events (events paused): %s", len(pending), error)


def publish_many(events: list[tuple[str, str, dict[str, Any]]]) -> None:
    """Best-effort publish of many events in one Redis round trip (the bridge's serial lines), like :func:`publish`."""
    event_log = current_event_log()
    if not events or event_log is None or time.monotonic() < event_log.quiet_until:
        return
    try:
        event_log.publish_many(events)
    except redis.exceptions.RedisError as error:
        event_log.quiet_until = time.monotonic() + QUIET_AFTER_FAILURE_S
        log.warning(
            "Could not publish %s events (events paused for %s s): %s", len(events), QUIET_AFTER_FAILURE_S, error
        )


def announce(product_id: str, event_type: str, **payload: Any) -> None:
    """Publish once the current transaction commits (and never if it rolls back).

    For events that report a database change, so a client that reacts to one always finds the change stored.
    """
    db.session.info.setdefault(PENDING_EVENTS, []).append((product_id, event_type, payload))


PENDING_EVENTS = "webide_pending_events"
PENDING_CLASS_EVENTS = "webide_pending_class_events"
PENDING_ROOM_EVENTS = "webide_pending_room_events"


@sa_event.listens_for(Session, "after_commit")
def _publish_announced(session: Session) -> None:
    publish_many(session.info.pop(PENDING_EVENTS, []))  # in order, one round trip for the whole transaction
    for classroom_id, product_id, event_type, payload, sample in session.info.pop(PENDING_CLASS_EVENTS, []):
        publish_class_event(classroom_id, product_id, event_type, payload, sample)
    broadcast_rooms(session.info.pop(PENDING_ROOM_EVENTS, {}))


@sa_event.listens_for(Session, "after_rollback")
def _drop_announced(session: Session) -> None:
    session.info.pop(PENDING_EVENTS, None)
    session.info.pop(PENDING_CLASS_EVENTS, None)
    session.info.pop(PENDING_ROOM_EVENTS, None)
