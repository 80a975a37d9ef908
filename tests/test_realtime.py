"""The per-bot event log behind the live terminal: numbering, atomic publishing, replay pages, caps."""

from __future__ import annotations

import json
import socket
import threading
import time

import redis

from webide.core.events import CHANNEL, EVENT_NAME, EventLog, room_for
from webide.realtime import NAMESPACE


def test_events_are_numbered_timestamped_and_replayed_after_a_sequence_number(settings):
    log = EventLog(settings.redis_url, NAMESPACE)
    published = [log.publish("bot_1", "line", update_id="a", stream="compile", text=f"line {n}") for n in range(5)]
    assert [e["seq"] for e in published] == [1, 2, 3, 4, 5]
    stamps = [e["ts"] for e in published]
    assert stamps == sorted(stamps) and all(isinstance(ts, int) and ts > 1_600_000_000_000 for ts in stamps)
    replay = log.replay("bot_1", 3)
    assert (replay.after, replay.head, replay.more, replay.reset) == (3, 5, False, False)
    assert replay.events == published[3:]
    assert log.replay("bot_2", 0).events == []


def test_a_fresh_page_gets_the_newest_build_and_what_followed_it(settings):
    log = EventLog(settings.redis_url, NAMESPACE)
    for update_id in ("old", "new"):
        log.publish("bot_1", "progress", update_id=update_id, status="pending", progress=0, message="Queued")
        log.publish("bot_1", "line", update_id=update_id, stream="compile", text=f"{update_id} output")
    log.publish("bot_1", "progress", update_id="old", status="error", progress=100, message="Superseded")
    log.publish("bot_1", "flash", state="waiting_for_button", progress=0, message="", build_number=1)
    replay = log.replay("bot_1", 0)
    # A late event of an older build does not make that build the newest one.
    assert replay.after == 2 and [e.get("update_id") for e in replay.events] == ["new", "new", "old", None]
    assert len(log.since("bot_1", 1)) == 5  # a reconnecting page still gets everything it missed


def test_without_builds_a_fresh_page_gets_the_latest_events_only(settings, monkeypatch):
    from webide.core import events

    monkeypatch.setattr(events, "FRESH_PAGE_EVENTS", 20)
    log = EventLog(settings.redis_url, NAMESPACE)
    for _ in range(50):
        log.publish("bot_1", "device", online=True, last_seen=None)
    replay = log.replay("bot_1", 0)
    assert replay.after == 30 and [e["seq"] for e in replay.events] == list(range(31, 51))


def test_the_stored_log_is_capped_and_the_answer_says_where_it_starts(settings, monkeypatch):
    from webide.core import events

    monkeypatch.setattr(events, "KEEP_EVENTS", 50)
    log = EventLog(settings.redis_url, NAMESPACE)
    for n in range(120):
        log.publish("bot_1", "line", update_id="a", stream="compile", text=f"line {n}")
    replay = log.replay("bot_1", 1)
    assert replay.after == 70  # events 2…70 are gone: the client moves on instead of asking for them forever
    assert len(replay.events) == 50 and replay.events[0]["text"] == "line 70" and replay.events[-1]["seq"] == 120


def test_long_replays_come_in_pages(settings):
    log = EventLog(settings.redis_url, NAMESPACE)
    for n in range(25):
        log.publish("bot_1", "line", update_id="a", stream="compile", text=f"line {n}")
    first = log.replay("bot_1", 0, page=10)
    assert first.after == 0 and first.more and [e["seq"] for e in first.events] == list(range(1, 11))
    last = log.replay("bot_1", 20, page=10)
    assert not last.more and [e["seq"] for e in last.events] == [21, 22, 23, 24, 25]
    assert [e["seq"] for e in log.since("bot_1", 0)] == list(range(1, 26))


def test_a_page_ahead_of_a_restarted_log_is_told_to_start_over(settings):
    log = EventLog(settings.redis_url, NAMESPACE)
    log.publish("bot_1", "line", update_id="a", stream="compile", text="after the restart")
    replay = log.replay("bot_1", 5000)
    assert replay.reset and replay.after == 0 and [e["text"] for e in replay.events] == ["after the restart"]
    assert replay.ack("bot_1")["reset"] is True


def test_concurrent_publishers_reach_the_channel_in_number_order(settings):
    """Eight publishers (own connections, like worker slots and the web process) race on one room: the Socket.IO
    queue channel must carry the events in exactly their number order, in python-socketio's emit message format.
    Numbering and publishing in two calls fails this within a few hundred events."""
    subscriber = redis.Redis.from_url(settings.redis_url).pubsub(ignore_subscribe_messages=True)
    subscriber.subscribe(CHANNEL)
    publishers, per_publisher = 8, 250

    def publish_many(number: int) -> None:
        log = EventLog(settings.redis_url, NAMESPACE)
        for n in range(per_publisher):
            log.publish("bot_1", "line", update_id="a", stream="compile", text=f"{number}:{n}")

    threads = [threading.Thread(target=publish_many, args=(n,)) for n in range(publishers)]
    for thread in threads:
        thread.start()
    received: list[dict] = []
    deadline = time.monotonic() + 60
    while len(received) < publishers * per_publisher and time.monotonic() < deadline:
        message = subscriber.get_message(timeout=1)  # None also for the subscription's own confirmation
        if message is not None:
            received.append(json.loads(message["data"]))
    for thread in threads:
        thread.join()
    subscriber.close()
    assert {(m["method"], m["event"], m["namespace"], m["room"]) for m in received} == {
        ("emit", EVENT_NAME, NAMESPACE, room_for("bot_1"))
    }
    seqs = [m["data"][0]["seq"] for m in received]
    assert seqs == list(range(1, publishers * per_publisher + 1))
    stored = EventLog(settings.redis_url, NAMESPACE).since("bot_1", 0)
    assert [m["data"][0] for m in received] == stored


def test_the_stored_log_is_capped_in_bytes_too(settings, monkeypatch):
    from webide.core import events

    monkeypatch.setattr(events, "KEEP_BYTES", 20_000)
    log = EventLog(settings.redis_url, NAMESPACE)
    for n in range(100):  # about 1.1 KB each: 110 KB published
        log.publish("bot_big", "line", update_id="a", stream="compile", text=f"{n:04d}" + "x" * 1000)
    stored = log.redis.lrange(events.keys_for("bot_big")["log"], 0, -1)
    assert sum(len(item) for item in stored) <= 20_000
    assert int(log.redis.get(events.keys_for("bot_big")["bytes"])) == sum(len(item) for item in stored)
    replay = log.replay("bot_big", 1)
    assert replay.events[-1]["seq"] == 100 and replay.after == 100 - len(stored)


class SilentServer:
    """Accepts connections and never answers: a hung Redis, as the kernel sees it."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.connections: list[socket.socket] = []
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            self.connections.append(connection)

    def close(self) -> None:
        self.listener.close()
        for connection in self.connections:
            connection.close()


def test_a_hung_redis_costs_one_short_timeout_then_events_are_dropped_for_a_while(app, caplog):
    from webide.core import events

    hung = SilentServer()
    try:
        with app.app_context():
            app.extensions["webide_events"] = EventLog(
                f"redis://127.0.0.1:{hung.port}/0", NAMESPACE, publish_timeout_s=events.REQUEST_PUBLISH_TIMEOUT_S
            )
            events.publish("bot_1", "line", text="first")  # waits for the publish timeout, then gives up
            assert len(hung.connections) == 1
            assert "events paused" in caplog.text
            for n in range(20):
                events.publish("bot_1", "line", text=f"dropped {n}")
            assert len(hung.connections) == 1, "no new attempt while the log is quiet"
    finally:
        hung.close()
