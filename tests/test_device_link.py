"""The live device link against a real Mosquitto: the bridge's inbound handling, commands both ways, broker outages."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from itertools import pairwise

import pytest
import redis
from sqlalchemy import select

from tests.conftest import ESP32_FQBN, Broker, bearer
from tests.mqtt_probe import Probe, wait_until
from tests.ota_support import deploy_image, flash_state
from webide.bridge import Bridge, BrokerAddress, sync_broker_files
from webide.core.broker import BrokerFiles
from webide.core.commands import expire_commands
from webide.core.devicelink import LogLimiter, record_log_lines
from webide.core.events import CHANNEL, LINK_EVENT_NAME
from webide.core.linkstatus import LINK_RENEW_S, device_link_state, link_key, mark_device_link
from webide.core.presenters import device_summary
from webide.extensions import current_event_log, db
from webide.models import Device, utcnow
from webide.runner import bridge_password, free_port
from webide.tasks import sweep_once


@pytest.fixture
def bot(accounts, broker: Broker) -> dict[str, str]:  # type: ignore[no-untyped-def]
    created = accounts.bot("bot_001", class_name="lab-1")
    sync_broker_files(broker.app, BrokerFiles(broker.settings.mqtt_dir), bridge_password(broker.settings))
    return {"product_id": created.product_id, "token": created.device_token}


@pytest.fixture
def bridge(app, broker: Broker) -> Iterator[Bridge]:  # type: ignore[no-untyped-def]
    running = Bridge(app, BrokerAddress.from_url(broker.bridge_url))
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    assert wait_until(lambda: running.connected), "the bridge did not connect"
    yield running
    running.stopping = True
    thread.join(10)


@pytest.fixture
def device_probe(broker: Broker, bot) -> Iterator[Probe]:  # type: ignore[no-untyped-def]
    """The bot on MQTT, once the broker has reread its files."""
    probe = None

    def connects() -> bool:
        nonlocal probe
        probe = Probe(broker.port, bot["product_id"], bot["token"])
        if probe.connected():
            return True
        probe.close()
        return False

    assert wait_until(connects)
    assert probe.subscribe("devices/bot_001/command")
    yield probe
    probe.close()


def events(app, product_id: str = "bot_001", kind: str | None = None) -> list[dict]:  # type: ignore[no-untyped-def]
    with app.app_context():
        found = current_event_log().since(product_id, 0)
    return [event for event in found if kind is None or event["type"] == kind]


def serial_lines(app) -> list[str]:  # type: ignore[no-untyped-def]
    return [e["text"] for e in events(app, kind="line") if e.get("stream") == "serial"]


def device_row(app) -> Device:  # type: ignore[no-untyped-def]
    with app.app_context():
        device = db.session.query(Device).filter_by(product_id="bot_001").one()
        db.session.expunge(device)
        return device


def test_health_over_mqtt_is_a_heartbeat_with_its_sensors(app, bridge, device_probe):
    device_probe.publish(
        "devices/bot_001/health", json.dumps({"fw": "1.2", "heap": 1000, "uptime": 5, "temperature": 21.5})
    )
    assert wait_until(lambda: device_row(app).last_seen_at is not None)
    telemetry = device_row(app).telemetry
    assert telemetry["heap"] == 1000 and telemetry["sensors"] == {"temperature": 21.5}
    assert device_row(app).running_version == "1.2"
    assert wait_until(lambda: any(e["type"] == "device" and e["online"] for e in events(app)))  # after the commit


def test_output_state_is_recorded_announced_and_kept_by_heartbeats(app, bridge, device_probe):
    device_probe.publish("devices/bot_001/status", json.dumps({"led": "ON", "relay": False}))
    assert wait_until(lambda: "outputs" in (device_row(app).telemetry or {}))
    assert device_row(app).telemetry["outputs"] == {"led": True, "relay": False}
    assert wait_until(lambda: [e["outputs"] for e in events(app, kind="outputs")] == [{"led": True, "relay": False}])
    device_probe.publish("devices/bot_001/health", json.dumps({"heap": 7}))
    assert wait_until(lambda: device_row(app).telemetry.get("heap") == 7)
    assert device_row(app).telemetry["outputs"] == {"led": True, "relay": False}


def test_serial_lines_arrive_in_order_stripped_and_cut(app, bridge, device_probe, settings):
    device_probe.publish("devices/bot_001/logs", b"hello\r\n\x1b[2J\x1b]8;;http://evil\x07click\x1b]8;;\x07\nthird")
    device_probe.publish("devices/bot_001/logs", b"x" * 2000)
    assert wait_until(lambda: len(serial_lines(app)) == 4)
    lines = serial_lines(app)
    assert lines[:3] == ["hello", "click", "third"]
    assert lines[3].startswith("x" * settings.device_log_line_bytes)
    assert lines[3].endswith(f"[… line cut: {2000 - settings.device_log_line_bytes} more bytes]")


def test_a_flood_of_lines_is_rate_limited_and_said_once(app, bridge, device_probe, settings):
    burst = settings.device_log_lines_per_s * 4
    for start in range(0, 3 * burst, 50):
        device_probe.publish("devices/bot_001/logs", "\n".join(f"line {n}" for n in range(start, start + 50)))
    device_probe.publish("devices/bot_001/health", b"{}")  # handled after every log message before it
    assert wait_until(lambda: device_row(app).last_seen_at is not None)
    lines = serial_lines(app)
    assert lines[:burst] == [f"line {n}" for n in range(burst)]
    assert len(lines) < 3 * burst


def test_the_line_budget_refills_and_says_what_it_dropped(app, settings):
    limiter = LogLimiter(rate=2.0)
    assert [limiter.take("bot", now=0.0) for _ in range(9)] == [True] * 8 + [False]
    assert not limiter.take("bot", now=0.1) and limiter.take("bot", now=0.6)
    assert limiter.take("other", now=0.6)
    assert limiter.take_dropped("bot") == 2 and limiter.take_dropped("bot") == 0
    flood = LogLimiter(rate=1.0)
    with app.app_context():
        assert record_log_lines("bot_001", [b"a", b"b", b"c", b"d", b"e", b"f"], flood, settings) == 4
        flood.buckets["bot_001"][0] = 1.0  # a second later
        assert record_log_lines("bot_001", [b"g"], flood, settings) == 1
    assert serial_lines(app) == ["a", "b", "c", "d", "[… 2 lines dropped: too many per second]", "g"]


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        ("health", b"not json"),
        ("health", b"[1, 2]"),
        ("health", b'{"heap": "lots"}'),
        ("health", b'{"temperature": NaN}'),
        ("health", b"\xff\xfe"),
        ("status", b'{"LED": 1}'),
        ("status", b'{"led": 1e9}'),
        ("ota/status", b'{"status": "DANCING"}'),
        ("result", b'{"id": "nope", "state": "done"}'),
        ("result", b'{"id": 5}'),
        ("logs", b'{"lines": "not a list"}'),
        ("health", b"{" + b" " * 15000 + b"}" + b"x" * 1000),
    ],
)
def test_malformed_reports_are_counted_and_the_bridge_carries_on(app, bridge, device_probe, kind, payload):
    device_probe.publish(f"devices/bot_001/{kind}", payload)
    device_probe.publish("devices/bot_001/health", json.dumps({"heap": 42}))
    assert wait_until(lambda: (device_row(app).telemetry or {}).get("heap") == 42)
    assert bridge.counters["refused"] == 1 and bridge.counters["failed"] == 0


def test_a_command_goes_out_and_its_acks_come_back(app, client, accounts, bridge, device_probe):
    token = accounts.api_token(client, product_id="bot_001", password="12345")
    sent = client.post(
        "/api/devices/bot_001/commands", json={"command": "led", "args": {"state": "ON"}}, headers=bearer(token)
    )
    assert sent.status_code == 202, sent.get_json()
    command_id = sent.get_json()["command"]["id"]
    topic, payload = device_probe.next_message()
    assert topic == "devices/bot_001/command"
    assert json.loads(payload) == {"id": command_id, "command": "led", "state": "on"}

    def state() -> str:
        return client.get(f"/api/devices/bot_001/commands/{command_id}", headers=bearer(token)).get_json()["command"][
            "state"
        ]

    assert wait_until(lambda: state() == "sent")
    device_probe.publish("devices/bot_001/result", json.dumps({"id": command_id, "state": "acked"}))
    assert wait_until(lambda: state() == "acked")
    device_probe.publish("devices/bot_001/result", json.dumps({"id": command_id, "state": "done", "message": "LED on"}))
    assert wait_until(lambda: state() == "done")
    device_probe.publish("devices/bot_001/result", json.dumps({"id": command_id, "state": "acked"}))  # late, ignored
    device_probe.publish("devices/bot_001/health", b"{}")
    assert wait_until(lambda: device_row(app).last_seen_at is not None)
    assert state() == "done"
    expected = ["pending", "sent", "acked", "done"]
    assert wait_until(lambda: [e["state"] for e in events(app, kind="command")] == expected), events(
        app, kind="command"
    )


def test_broker_down_keeps_http_working_and_the_bridge_catches_up(app, client, accounts, broker, bridge, bot):
    token = accounts.api_token(client, product_id="bot_001", password="12345")
    broker.stop()
    assert wait_until(lambda: not bridge.connected)
    device_auth = bearer(bot["token"])
    assert client.post("/api/devices/bot_001/heartbeat", json={"heap": 3}, headers=device_auth).status_code == 200
    queued = client.post("/api/devices/bot_001/commands", json={"command": "reboot"}, headers=bearer(token))
    command_id = queued.get_json()["command"]["id"]
    broker.start()
    probe = Probe(broker.port, "bot_001", bot["token"])
    assert probe.connected() and probe.subscribe("devices/bot_001/command")
    try:
        assert wait_until(lambda: bridge.connected, timeout=45)
        topic, payload = probe.next_message(timeout=30)
        assert (topic, json.loads(payload)["id"]) == ("devices/bot_001/command", command_id)
    finally:
        probe.close()


def test_a_batch_of_reports_is_recorded_together_and_a_refused_one_alone(app, accounts, settings):  # type: ignore[no-untyped-def]
    accounts.bot("bot_001", class_name="lab-1")
    accounts.bot("bot_002", class_name="lab-1")
    bridge = Bridge(app, BrokerAddress.from_url("mqtt://_webide_bridge:unused@127.0.0.1:1"))  # never connects
    batch = [
        ("devices/bot_001/health", b'{"heap": 1}'),
        ("devices/bot_002/health", b'{"heap": 2}'),
        ("devices/bot_009/health", b'{"heap": 9}'),  # no such bot: refused, the rest are kept
        ("devices/bot_001/logs", b"hello"),
        ("devices/bot_001/health", b'{"heap": 3}'),  # the same bot twice in one batch: the later one wins
    ]
    with app.app_context():
        assert bridge.handle_together(batch) == len(batch)
        heaps = {d.product_id: d.telemetry["heap"] for d in db.session.scalars(select(Device)) if d.telemetry}
    assert heaps == {"bot_001": 3, "bot_002": 2}
    assert (bridge.counters["handled"], bridge.counters["refused"]) == (4, 1)
    assert serial_lines(app) == ["hello"]


def test_the_pages_know_when_the_link_is_down(app, broker, bridge):  # type: ignore[no-untyped-def]
    def state() -> str:
        with app.app_context():
            return device_link_state()

    assert wait_until(lambda: state() == "online")
    broker.stop()
    assert wait_until(lambda: state() == "offline")
    broker.start()
    assert wait_until(lambda: state() == "online", timeout=45)
    bridge.stopping = True
    assert wait_until(lambda: state() == "offline")


class ChannelListener:
    """What the web servers hear on the Socket.IO message-queue channel: the ``device_link`` broadcasts."""

    def __init__(self, app):  # type: ignore[no-untyped-def]
        with app.app_context():
            event_log = current_event_log()
        self.namespace = event_log.namespace
        self.pubsub = event_log.redis.pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(CHANNEL)
        self.states: list[str] = []

    def link_states(self) -> list[str]:
        while (message := self.pubsub.get_message(timeout=0.05)) is not None:
            envelope = json.loads(message["data"])
            if envelope["event"] == LINK_EVENT_NAME:
                assert envelope["room"] is None and envelope["namespace"] == self.namespace  # every page
                self.states.append(envelope["data"][0]["state"])
        return self.states

    def close(self) -> None:
        self.pubsub.close()


def test_open_pages_hear_the_link_go_down_and_come_back(app, broker):  # type: ignore[no-untyped-def]
    listener = ChannelListener(app)
    running = Bridge(app, BrokerAddress.from_url(broker.bridge_url))
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    try:
        assert wait_until(lambda: listener.link_states()[-1:] == ["online"], timeout=30)
        broker.stop()
        assert wait_until(lambda: listener.link_states()[-1:] == ["offline"])
        broker.start()
        assert wait_until(lambda: listener.link_states()[-1:] == ["online"], timeout=45)
        renewals = len(listener.link_states())
        assert not wait_until(lambda: len(listener.link_states()) > renewals, timeout=2 * LINK_RENEW_S + 0.5)
        running.stopping = True
        thread.join(10)
        assert wait_until(lambda: listener.link_states()[-1:] == ["offline"])
    finally:
        running.stopping = True
        thread.join(10)
        listener.close()
    states = listener.states
    assert all(before != after for before, after in pairwise(states)), states  # changes only


def test_a_bridge_that_dies_without_a_word_is_told_offline_once_by_the_housekeeping(app):  # type: ignore[no-untyped-def]
    listener = ChannelListener(app)
    try:
        with app.app_context():
            assert mark_device_link(True, changed=True)  # a bridge connected, and said so
            sweep_once(purge_audit=False)  # its key is alive: nothing to tell
            assert wait_until(lambda: listener.link_states() == ["online"])
            event_log = current_event_log()
            event_log.publisher.delete(link_key(event_log.namespace))  # killed: its key expires, nobody says so
            assert device_link_state() == "offline"
            sweep_once(purge_audit=False)
            sweep_once(purge_audit=False)  # a second sweep (or another process's) tells nothing more
            assert wait_until(lambda: listener.link_states() == ["online", "offline"])
            assert not wait_until(lambda: len(listener.link_states()) > 2, timeout=1)
            assert mark_device_link(True, changed=True)  # a new bridge comes up: "online" again, and so on
            event_log.publisher.delete(link_key(event_log.namespace))
            sweep_once(purge_audit=False)
        assert wait_until(lambda: listener.link_states() == ["online", "offline", "online", "offline"])
    finally:
        listener.close()


def test_a_bots_presence_and_last_will_are_told_to_its_room_and_class(app, broker, bridge, bot):  # type: ignore[no-untyped-def]
    will = json.dumps({"online": False})

    probe: Probe | None = None

    def connects() -> bool:  # once the broker has reread its files
        nonlocal probe
        probe = Probe(broker.port, bot["product_id"], bot["token"], will=("devices/bot_001/status", will))
        if probe.connected():
            return True
        probe.close()
        return False

    assert wait_until(connects) and probe is not None
    probe.publish("devices/bot_001/status", json.dumps({"online": True}), retain=True)
    assert wait_until(lambda: device_row(app).telemetry.get("live_link") is True)
    probe.drop()  # no DISCONNECT: the broker publishes the last will
    assert wait_until(lambda: device_row(app).telemetry.get("live_link") is False)
    assert wait_until(lambda: [e["live_link"] for e in events(app, kind="presence")] == [True, False])
    lines = [e["text"] for e in events(app, kind="line") if e.get("stream") == "device"]
    assert lines[-2:] == ["live link connected", "live link lost"]
    with app.app_context():
        device = db.session.query(Device).filter_by(product_id="bot_001").one()
        assert device_summary(device, broker.settings)["live_link"] is False


def test_a_presence_that_is_no_news_is_not_told_again_and_a_bad_one_is_refused(app, accounts, settings):  # type: ignore[no-untyped-def]
    accounts.bot("bot_001", class_name="lab-1")
    bridge = Bridge(app, BrokerAddress.from_url("mqtt://_webide_bridge:unused@127.0.0.1:1"))  # never connects
    batch = [
        ("devices/bot_001/status", b'{"online": true}'),
        ("devices/bot_001/status", b'{"online": true}'),  # the retained copy a reconnecting bridge gets again
        ("devices/bot_001/status", b'{"online": "yes"}'),
        ("devices/bot_001/status", b'{"online": true, "led": "ON"}'),
    ]
    with app.app_context():
        assert bridge.handle_together(batch) == len(batch)
    assert (bridge.counters["handled"], bridge.counters["refused"]) == (3, 1)
    assert [e["live_link"] for e in events(app, kind="presence")] == [True]
    assert [e["outputs"] for e in events(app, kind="outputs")] == [{"led": True}]


def test_the_link_state_is_unknown_without_redis(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        event_log = current_event_log()
        event_log.publisher = redis.Redis(port=free_port(), socket_connect_timeout=0.5)  # nothing listens there
        assert device_link_state() == "unknown"
        assert event_log.quiet_until > 0  # the next pages do not ask again for a few seconds


# --- the HTTP fallback and who may send what (no broker needed) -----------------------------------------------------


@pytest.fixture
def http_bot(accounts) -> dict[str, str]:  # type: ignore[no-untyped-def]
    accounts.instructor("teacher", classes=("lab-1",))
    accounts.instructor("other", classes=("lab-2",))
    created = accounts.bot("bot_001", class_name="lab-1")
    accounts.bot("bot_002", class_name="lab-1")
    accounts.bot("bot_003", class_name="lab-2")
    return {"product_id": created.product_id, "token": created.device_token}


def test_a_bot_without_mqtt_gets_its_commands_in_the_heartbeat_reply_and_answers_over_http(
    app, client, accounts, http_bot
):
    student = accounts.api_token(client, product_id="bot_001", password="12345")
    queued = client.post("/api/devices/bot_001/commands", json={"command": "identify"}, headers=bearer(student))
    assert queued.status_code == 202
    command = queued.get_json()["command"]
    assert (command["state"], command["args"], command["requested_by"]) == ("pending", {"seconds": 5}, "bot_001")
    device_auth = bearer(http_bot["token"])
    reply = client.post("/api/devices/bot_001/heartbeat", json={"heap": 1}, headers=device_auth).get_json()
    assert reply["commands"] == [{"id": command["id"], "command": "identify", "seconds": 5}]
    answer = client.post(
        "/api/devices/bot_001/results", json={"id": command["id"], "state": "done"}, headers=device_auth
    )
    assert answer.status_code == 200 and answer.get_json()["command"]["state"] == "done"
    assert client.post("/api/devices/bot_001/heartbeat", json={}, headers=device_auth).get_json()["commands"] == []
    unknown = client.post("/api/devices/bot_001/results", json={"id": "f" * 32, "state": "done"}, headers=device_auth)
    assert unknown.status_code == 404


def test_the_heartbeat_reply_names_the_broker_when_bots_can_reach_one(app, client, http_bot):
    device_auth = bearer(http_bot["token"])
    reply = client.post("/api/devices/bot_001/heartbeat", json={}, headers=device_auth).get_json()
    assert "mqtt" not in reply  # the test app's broker settings name none a bot could reach
    app.config["SETTINGS"] = app.config["SETTINGS"].with_overrides(mqtt_public_url="mqtt://10.0.0.2:1884")
    reply = client.post("/api/devices/bot_001/heartbeat", json={}, headers=device_auth).get_json()
    assert reply["mqtt"] == "mqtt://10.0.0.2:1884"


def test_heartbeat_replies_keep_within_what_the_agent_reads(app, client, accounts, http_bot):
    """The agent reads at most 2048 bytes of a reply; commands that would not fit wait for the next replies."""
    student = accounts.api_token(client, product_id="bot_001", password="12345")
    line = "\u00e9" * 128  # 256 bytes of UTF-8, 768 once JSON escapes it
    queued = [
        client.post(
            "/api/devices/bot_001/commands", json={"command": "serial", "args": {"line": line}}, headers=bearer(student)
        ).get_json()["command"]["id"]
        for _ in range(4)
    ]
    app.config["SETTINGS"] = app.config["SETTINGS"].with_overrides(mqtt_public_url="mqtts://" + "b" * 100 + ":8883")
    device_auth = bearer(http_bot["token"])
    received: list[str] = []
    for _ in range(4):
        response = client.post("/api/devices/bot_001/heartbeat", json={}, headers=device_auth)
        assert len(response.get_data()) <= 2048
        commands = response.get_json()["commands"]
        assert commands, "every reply carries at least one open command"
        for command in commands:
            assert command["line"] == line
            client.post(
                "/api/devices/bot_001/results", json={"id": command["id"], "state": "done"}, headers=device_auth
            )
            received.append(command["id"])
        if len(received) == len(queued):
            break
    assert received == queued
    assert len(queued) > 2  # so they needed more than one reply


def test_log_batches_over_http_take_the_same_path(app, client, http_bot):
    device_auth = bearer(http_bot["token"])
    sent = client.post("/api/devices/bot_001/logs", json={"lines": ["boot", "\x1b[31mred\x1b[0m"]}, headers=device_auth)
    assert sent.get_json() == {"success": True, "accepted": 2}
    assert serial_lines(app) == ["boot", "red"]
    for body in ({"lines": "x"}, {"lines": [1]}, {"lines": ["x"] * 101}, {}):
        assert client.post("/api/devices/bot_001/logs", json=body, headers=device_auth).status_code == 400
    assert client.post("/api/devices/bot_001/logs", json={"lines": ["x"]}).status_code == 401
    too_big = client.post(
        "/api/devices/bot_001/logs", data=b'{"lines": ["' + b"x" * 20000 + b'"]}', headers=device_auth
    )
    assert too_big.status_code == 413


def test_an_unfinished_command_times_out(app, client, accounts, http_bot, settings):
    student = accounts.api_token(client, product_id="bot_001", password="12345")
    command = client.post("/api/devices/bot_001/commands", json={"command": "reboot"}, headers=bearer(student))
    command_id = command.get_json()["command"]["id"]
    with app.app_context():
        assert expire_commands(utcnow() + timedelta(seconds=settings.device_command_ttl_s - 5)) == 0
        assert expire_commands(utcnow() + timedelta(seconds=settings.device_command_ttl_s + 1)) == 1
        db.session.commit()
    shown = client.get(f"/api/devices/bot_001/commands/{command_id}", headers=bearer(student)).get_json()["command"]
    assert (shown["state"], shown["message"]) == ("timed_out", "the bot did not finish it in time")
    device_auth = bearer(http_bot["token"])
    assert client.post("/api/devices/bot_001/heartbeat", json={}, headers=device_auth).get_json()["commands"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"command": "selfdestruct"},
        {"command": "led"},
        {"command": "led", "args": {"state": "blue"}},
        {"command": "identify", "args": {"seconds": 600}},
        {"command": "reboot", "args": {"now": True}},
        {"command": "led", "args": "on"},
        {},
    ],
)
def test_bad_commands_are_refused_and_nothing_is_stored(app, client, accounts, http_bot, body):
    student = accounts.api_token(client, product_id="bot_001", password="12345")
    assert client.post("/api/devices/bot_001/commands", json=body, headers=bearer(student)).status_code == 400
    device_auth = bearer(http_bot["token"])
    assert client.post("/api/devices/bot_001/heartbeat", json={}, headers=device_auth).get_json()["commands"] == []


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({"line": "x" * 257}, "longer than 256 bytes"),
        ({"line": "é" * 129}, "longer than 256 bytes"),  # 258 bytes of UTF-8 in 129 characters
        ({"line": "speed 4\n2"}, "control character U+000A at position 7"),
        ({"line": "a\rb"}, "control character U+000D"),
        ({"line": "tab\there"}, "control character U+0009"),
        ({"line": "\x1b[2J"}, "control character U+001B"),
        ({"line": "nul\x00"}, "control character U+0000"),
        ({"line": "del\x7f"}, "control character U+007F"),
        ({"line": "c1\x85"}, "control character U+0085"),
        ({"line": "sep\u2028"}, "control character U+2028"),
        ({"line": 42}, "must be a string"),
        ({"line": ["a"]}, "must be a string"),
        ({"line": None}, "must be a string"),
        ({}, "exactly one argument"),
        ({"line": "a", "newline": True}, "exactly one argument"),
    ],
)
def test_a_bad_serial_line_is_refused_clearly_and_nothing_is_stored(app, client, accounts, http_bot, args, error):
    student = accounts.api_token(client, product_id="bot_001", password="12345")
    body = {"command": "serial", "args": args}
    answer = client.post("/api/devices/bot_001/commands", json=body, headers=bearer(student))
    assert answer.status_code == 400 and error in answer.get_json()["error"], answer.get_json()
    device_auth = bearer(http_bot["token"])
    assert client.post("/api/devices/bot_001/heartbeat", json={}, headers=device_auth).get_json()["commands"] == []


def test_a_serial_line_goes_to_the_bots_owner_and_staff_only_and_over_http_too(app, client, accounts, http_bot):
    student = bearer(accounts.api_token(client, product_id="bot_001", password="12345"))
    teacher = bearer(accounts.api_token(client, username="teacher", password="correct horse"))
    other = bearer(accounts.api_token(client, username="other", password="correct horse"))
    longest = "é" * 128  # exactly 256 bytes
    line = {"command": "serial", "args": {"line": longest}}
    assert client.post("/api/devices/bot_002/commands", json=line, headers=student).status_code == 404
    assert client.post("/api/devices/bot_001/commands", json=line, headers=other).status_code == 404
    assert client.post("/api/devices/bot_002/commands", json=line, headers=teacher).status_code == 202
    sent = client.post("/api/devices/bot_001/commands", json=line, headers=student)
    assert sent.status_code == 202 and sent.get_json()["command"]["args"] == {"line": longest}
    reply = client.post("/api/devices/bot_001/heartbeat", json={}, headers=bearer(http_bot["token"])).get_json()
    assert reply["commands"] == [{"id": sent.get_json()["command"]["id"], "command": "serial", "line": longest}]


def test_who_may_command_which_bot(app, client, accounts, http_bot):
    student = bearer(accounts.api_token(client, product_id="bot_001", password="12345"))
    teacher = bearer(accounts.api_token(client, username="teacher", password="correct horse"))
    other = bearer(accounts.api_token(client, username="other", password="correct horse"))
    reboot = {"command": "reboot"}
    assert client.post("/api/devices/bot_001/commands", json=reboot, headers=student).status_code == 202
    assert client.post("/api/devices/bot_002/commands", json=reboot, headers=student).status_code == 404
    assert client.post("/api/devices/bot_002/commands", json=reboot, headers=teacher).status_code == 202
    assert client.post("/api/devices/bot_001/commands", json=reboot, headers=other).status_code == 404
    assert client.post("/api/classes/lab-1/commands", json=reboot, headers=student).status_code == 404
    assert client.post("/api/classes/lab-1/commands", json=reboot, headers=other).status_code == 404
    whole = client.post("/api/classes/lab-1/commands", json={"command": "update_now"}, headers=teacher)
    assert whole.status_code == 202
    assert [c["product_id"] for c in whole.get_json()["commands"]] == ["bot_001", "bot_002"]
    command_id = whole.get_json()["commands"][1]["id"]
    assert client.get(f"/api/devices/bot_002/commands/{command_id}", headers=student).status_code == 404
    assert client.get(f"/api/devices/bot_001/commands/{command_id}", headers=student).status_code == 404


def test_a_blocked_bot_takes_no_commands(app, client, accounts, http_bot):
    teacher = bearer(accounts.api_token(client, username="teacher", password="correct horse"))
    assert client.post("/api/devices/bot_001/block", json={"blocked": True}, headers=teacher).status_code == 200
    refused = client.post("/api/devices/bot_001/commands", json={"command": "reboot"}, headers=teacher)
    assert refused.status_code == 409 and "blocked" in refused.get_json()["error"]
    whole = client.post("/api/classes/lab-1/commands", json={"command": "reboot"}, headers=teacher)
    assert [c["product_id"] for c in whole.get_json()["commands"]] == ["bot_002"]


def test_ota_status_over_mqtt_moves_the_flash_state_like_the_http_report(app, accounts, broker, bridge):
    token = accounts.bot("bot_esp", fqbn=ESP32_FQBN).device_token
    sync_broker_files(app, BrokerFiles(broker.settings.mqtt_dir), bridge_password(broker.settings))
    deploy_image(app, "bot_esp")
    probe = None

    def connects() -> bool:
        nonlocal probe
        probe = Probe(broker.port, "bot_esp", token)
        return probe.connected() or probe.close() is not None

    assert wait_until(connects)
    try:
        probe.publish("devices/bot_esp/ota/status", json.dumps({"status": "IN_PROGRESS", "progress": 40}))
        assert wait_until(lambda: flash_state(app, "bot_esp")[:2] == ("downloading", 40)), flash_state(app, "bot_esp")
    finally:
        probe.close()
