"""Publishing room events: numbered, kept in Redis for replay, and broadcast through the Socket.IO queue.

Every event for a bot gets the next sequence number of that bot's room, is appended to a capped Redis list (so a
browser that connects late, or reconnects, receives what it missed) and is emitted to the room through
python-socketio's Redis manager — the same path from the web process and from Celery workers.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import redis
from socketio import RedisManager
from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session

from ..extensions import current_event_log, db

log = logging.getLogger(__name__)

KEEP_EVENTS = 20_000
KEEP_SECONDS = 7 * 24 * 3600
FRESH_PAGE_EVENTS = 200
EVENT_NAME = "ota_event"
# Number and store an event in one round trip: ARGV[1] is the event's JSON without its opening brace.
APPEND_EVENT = """
local seq = redis.call('INCR', KEYS[1])
redis.call('RPUSH', KEYS[2], '{"seq": ' .. seq .. ', ' .. ARGV[1])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[2]), -1)
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return seq
"""


def room_for(product_id: str) -> str:
    return f"device:{product_id}"


class EventLog:
    def __init__(self, redis_url: str, namespace: str):
        self.redis = redis.Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=1)
        self.emitter = RedisManager(redis_url, channel="webide-socketio", write_only=True)
        self.namespace = namespace
        self.append = self.redis.register_script(APPEND_EVENT)

    def publish(self, product_id: str, event_type: str, **payload: Any) -> dict[str, Any]:
        """Number, store and broadcast one event; raises redis errors to the caller."""
        body = {"product_id": product_id, "type": event_type, **payload}
        seq = self.append(keys=[f"webide:events:{product_id}:seq", f"webide:events:{product_id}"],
                          args=[json.dumps(body)[1:], KEEP_EVENTS, KEEP_SECONDS])
        event = {"seq": seq, **body}
        self.emitter.emit(EVENT_NAME, event, namespace=self.namespace, room=room_for(product_id))
        return event

    def since(self, product_id: str, seq: int) -> list[dict[str, Any]]:
        """Stored events after ``seq``, in order; a fresh page (``seq`` 0) gets the newest build onwards."""
        events = sorted((json.loads(raw) for raw in self.redis.lrange(f"webide:events:{product_id}", 0, -1)),
                        key=lambda e: e["seq"])
        if seq <= 0:
            events = events[newest_build_start(events):]
        return [e for e in events if e["seq"] > seq]


def newest_build_start(events: list[dict[str, Any]]) -> int:
    """Index of the first event of the newest build (or of the last few events when there was no build)."""
    newest = next((e["update_id"] for e in reversed(events) if e.get("update_id")), None)
    if newest is None:
        return max(0, len(events) - FRESH_PAGE_EVENTS)
    return next(i for i, e in enumerate(events) if e.get("update_id") == newest)


def configure_event_log(redis_url: str, namespace: str) -> EventLog | None:
    return EventLog(redis_url, namespace) if redis_url else None


def publish(product_id: str, event_type: str, **payload: Any) -> None:
    """Best-effort publish from request or task code: a Redis outage must never fail the caller's real work."""
    event_log = current_event_log()
    if event_log is None:
        return
    try:
        event_log.publish(product_id, event_type, **payload)
    except redis.exceptions.RedisError as error:
        log.warning("Could not publish %s event for %s: %s", event_type, product_id, error)


def announce(product_id: str, event_type: str, **payload: Any) -> None:
    """Publish once the current transaction commits (and never if it rolls back).

    For events that report a database change, so a client that reacts to one always finds the change stored.
    """
    db.session.info.setdefault(PENDING_EVENTS, []).append((product_id, event_type, payload))


PENDING_EVENTS = "webide_pending_events"


@sa_event.listens_for(Session, "after_commit")
def _publish_announced(session: Session) -> None:
    for product_id, event_type, payload in session.info.pop(PENDING_EVENTS, []):
        publish(product_id, event_type, **payload)


@sa_event.listens_for(Session, "after_rollback")
def _drop_announced(session: Session) -> None:
    session.info.pop(PENDING_EVENTS, None)
