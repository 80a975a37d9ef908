"""A small MQTT test client (paho-mqtt 2.x) that records what the real broker tells it."""

from __future__ import annotations

import itertools
import queue
import threading
import time
from typing import Any

import paho.mqtt.client as mqtt

_ids = itertools.count()
WAIT_S = 10.0


class Probe:
    """Connects at once; ``connected()`` waits for the broker's answer."""

    def __init__(self, port: int, username: str | None, password: str | None, will: tuple[str, str] | None = None):
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"probe-{next(_ids)}", protocol=mqtt.MQTTv311
        )
        if username is not None:
            self.client.username_pw_set(username, password)
        self.answers: queue.Queue[Any] = queue.Queue()
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.granted: queue.Queue[list[Any]] = queue.Queue()
        self.lost = threading.Event()
        self.client.on_connect = lambda _c, _u, _f, code, _p: self.answers.put(code)
        self.client.on_message = lambda _c, _u, message: self.messages.put((message.topic, message.payload))
        self.client.on_subscribe = lambda _c, _u, _m, codes, _p: self.granted.put(codes)
        self.client.on_disconnect = lambda _c, _u, _f, _code, _p: self.lost.set()
        if will is not None:
            self.client.will_set(will[0], will[1], qos=1, retain=True)
        self.client.reconnect_delay_set(60, 60)  # a refused probe stays refused; tests make new ones
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()

    def connected(self) -> bool:
        return not self.answers.get(timeout=WAIT_S).is_failure

    def subscribe(self, topic: str) -> bool:
        """Whether the broker granted the subscription (SUBACK)."""
        self.client.subscribe(topic, qos=1)
        return not self.granted.get(timeout=WAIT_S)[0].is_failure

    def publish(self, topic: str, payload: str | bytes, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(WAIT_S)

    def drop(self) -> None:
        """Vanish without a DISCONNECT (a bot losing power): the broker publishes the last will."""
        self.client.loop_stop()
        self.client.socket().close()

    def next_message(self, timeout: float = WAIT_S) -> tuple[str, bytes]:
        return self.messages.get(timeout=timeout)

    def messages_until(self, marker_topic: str) -> list[tuple[str, bytes]]:
        """Every message up to and including the first on ``marker_topic`` (a fence: the broker keeps order)."""
        seen = []
        while True:
            message = self.next_message()
            seen.append(message)
            if message[0] == marker_topic:
                return seen

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def wait_until(condition, timeout: float = 15.0, interval: float = 0.05) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(interval)
    return condition()
