"""Whether the live device link is up, as the pages tell it ("device link online" / "device link offline").

The bridge renews a short-lived Redis key while it is connected to the broker and deletes it when it loses the
broker or stops; a bridge that dies without a word lets the key expire within ``LINK_ALIVE_TTL_S``. Pages read
the key with the web process's short publish timeout, so a hung Redis costs a page at most that and then says
"unknown" for a few seconds; the device path never reads it.

Open pages learn of a change without a reload: when the bridge gains or loses the broker it broadcasts a
``device_link`` event ``{"state": "online"|"offline"}`` to every page of the realtime namespace (one message,
not one per bot room: the state is the same for every bot and class), and a page that (re)joins its room gets the
current state in the join answer. A bridge that dies without a word cannot tell anyone: the housekeeping sweep of
every web process and worker notices its key expired while the pages were last told "online", and one of them
tells the pages "offline" (:func:`tell_if_the_bridge_fell_silent`, atomic in Redis, so exactly once). A bot's own presence on the link (its ``status`` topic and last will) is told in
its rooms by :func:`webide.core.devicelink.record_presence`.
"""

from __future__ import annotations

import logging
import time

import redis

from ..extensions import current_event_log
from .events import CHANNEL, LINK_EVENT_NAME, QUIET_AFTER_FAILURE_S

log = logging.getLogger(__name__)

LINK_ALIVE_TTL_S = 10
LINK_RENEW_S = 2.0
LINK_STATES = ("online", "offline", "unknown")


def link_key(namespace: str) -> str:
    return f"{namespace}:device-link:alive"


def told_key(namespace: str) -> str:
    """What the open pages were last told: ``online`` or ``offline``."""
    return f"{namespace}:device-link:told"


# KEYS: the bridge's key, what the pages were told, the Socket.IO channel; ARGV: the "offline" message.
TELL_SILENT_BRIDGE = """
if redis.call('exists', KEYS[1]) == 0 and redis.call('get', KEYS[2]) == 'online' then
  redis.call('set', KEYS[2], 'offline')
  redis.call('publish', KEYS[3], ARGV[1])
  return 1
end
return 0
"""


def mark_device_link(connected: bool, changed: bool = False) -> bool:
    """The bridge's side: renew the key while connected to the broker, delete it otherwise, and tell the open pages
    when the state ``changed`` (best effort). True when Redis took it (else the caller tries again later)."""
    event_log = current_event_log()
    if event_log is None or time.monotonic() < event_log.quiet_until:
        return False
    key, state = link_key(event_log.namespace), "online" if connected else "offline"
    try:
        if connected:
            event_log.publisher.set(key, "1", ex=LINK_ALIVE_TTL_S)
        else:
            event_log.publisher.delete(key)
        if changed:
            event_log.publisher.set(told_key(event_log.namespace), state)
            event_log.broadcast(LINK_EVENT_NAME, {"state": state})
        return True
    except redis.exceptions.RedisError as error:
        event_log.quiet_until = time.monotonic() + QUIET_AFTER_FAILURE_S
        log.warning("Could not record the device link's state: %s", error)
        return False


def device_link_state() -> str:
    """``online`` while a bridge is connected to the broker, ``offline`` when none is, ``unknown`` without Redis."""
    event_log = current_event_log()
    if event_log is None or time.monotonic() < event_log.quiet_until:
        return "unknown"
    try:
        return "online" if event_log.publisher.exists(link_key(event_log.namespace)) else "offline"
    except redis.exceptions.RedisError as error:
        event_log.quiet_until = time.monotonic() + QUIET_AFTER_FAILURE_S
        log.warning("Could not read the device link's state: %s", error)
        return "unknown"


def tell_if_the_bridge_fell_silent() -> bool:
    """Tell the open pages "device link offline" when the bridge's key expired while they were last told "online"
    (the bridge was killed or lost Redis for good). True when this call told them; best effort."""
    event_log = current_event_log()
    if event_log is None or time.monotonic() < event_log.quiet_until:
        return False
    namespace = event_log.namespace
    message = event_log.envelope(LINK_EVENT_NAME, {"state": "offline"})
    try:
        keys = (link_key(namespace), told_key(namespace), CHANNEL)
        return bool(event_log.publisher.eval(TELL_SILENT_BRIDGE, len(keys), *keys, message))
    except redis.exceptions.RedisError as error:
        event_log.quiet_until = time.monotonic() + QUIET_AFTER_FAILURE_S
        log.warning("Could not check the device link's state: %s", error)
        return False
