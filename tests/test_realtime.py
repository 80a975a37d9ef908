"""The per-bot event log behind the live terminal: numbering, replay windows, caps."""

from __future__ import annotations

from webide.core.events import EventLog, newest_build_start
from webide.realtime import NAMESPACE


def test_events_are_numbered_and_replayed_after_a_sequence_number(settings):
    log = EventLog(settings.redis_url, NAMESPACE)
    published = [log.publish("bot_1", "line", update_id="a", stream="compile", text=f"line {n}") for n in range(5)]
    assert [e["seq"] for e in published] == [1, 2, 3, 4, 5]
    assert [e["text"] for e in log.since("bot_1", 3)] == ["line 3", "line 4"]
    assert log.since("bot_2", 0) == []


def test_a_fresh_page_gets_the_newest_build_and_what_followed_it(settings):
    log = EventLog(settings.redis_url, NAMESPACE)
    for update_id in ("old", "new"):
        log.publish("bot_1", "progress", update_id=update_id, status="pending", progress=0, message="Queued")
        log.publish("bot_1", "line", update_id=update_id, stream="compile", text=f"{update_id} output")
    log.publish("bot_1", "flash", state="waiting_for_button", progress=0, message="", build_number=1)
    replay = log.since("bot_1", 0)
    assert [e.get("update_id") for e in replay] == ["new", "new", None]
    assert len(log.since("bot_1", 1)) == 4  # a reconnecting page still gets everything it missed


def test_without_builds_a_fresh_page_gets_the_latest_events_only():
    events = [{"seq": n, "type": "device"} for n in range(1, 1001)]
    assert newest_build_start(events) == 800


def test_the_stored_log_is_capped(settings, monkeypatch):
    from webide.core import events

    monkeypatch.setattr(events, "KEEP_EVENTS", 50)
    log = EventLog(settings.redis_url, NAMESPACE)
    for n in range(120):
        log.publish("bot_1", "line", update_id="a", stream="compile", text=f"line {n}")
    kept = log.since("bot_1", 1)
    assert len(kept) == 50 and kept[0]["text"] == "line 70" and kept[-1]["seq"] == 120
