"""The real Mosquitto with webide's generated credentials and ACL: who may log in, publish and subscribe."""

from __future__ import annotations

import pytest

from tests.conftest import Broker
from tests.mqtt_probe import Probe, wait_until
from webide.bridge import BrokerAddress, sync_broker_files
from webide.config import ConfigError, Settings, load_settings
from webide.core.accounts import set_blocked
from webide.core.broker import (
    BRIDGE_USERNAME,
    BrokerFiles,
    acl_text,
    bot_broker_url,
    mosquitto_password_hash,
    mosquitto_password_matches,
)
from webide.core.registry import reset_device_token
from webide.extensions import db
from webide.models import Device
from webide.runner import bridge_password


@pytest.fixture
def bots(accounts, broker) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Two bots, known to the running broker."""
    tokens = {pid: accounts.bot(pid).device_token for pid in ("bot_a", "bot_b")}
    reload_broker(broker)
    assert connects_eventually(broker, "bot_b", tokens["bot_b"]), "the broker did not reread its files"
    return tokens


def connects_eventually(broker: Broker, username: str, password: str) -> bool:
    """The broker rereads its files soon after SIGHUP, not at once: try until it lets the client in."""

    def connects() -> bool:
        probe = Probe(broker.port, username, password)
        try:
            return probe.connected()
        finally:
            probe.close()

    return wait_until(connects)


@pytest.fixture
def probes():  # type: ignore[no-untyped-def]
    opened: list[Probe] = []

    def open_probe(port: int, username: str | None, password: str | None) -> Probe:
        probe = Probe(port, username, password)
        opened.append(probe)
        return probe

    yield open_probe
    for probe in opened:
        probe.close()


def bridge_probe(broker: Broker, probes) -> Probe:  # type: ignore[no-untyped-def]
    probe = probes(broker.port, BRIDGE_USERNAME, bridge_password(broker.settings))
    assert probe.connected()
    return probe


def reload_broker(broker: Broker) -> None:
    """What the bridge does every few seconds: rewrite the files from the database and SIGHUP the broker."""
    assert sync_broker_files(broker.app, BrokerFiles(broker.settings.mqtt_dir), bridge_password(broker.settings))


def test_the_password_file_uses_mosquittos_pbkdf2_form():
    stored = mosquitto_password_hash("s3cret token")
    assert stored.startswith("$7$101$")
    assert mosquitto_password_matches(stored, "s3cret token")
    assert not mosquitto_password_matches(stored, "s3cret tokem")
    assert not mosquitto_password_matches("garbage", "s3cret token")


def test_the_acl_gives_bots_only_their_own_topics():
    lines = acl_text().splitlines()
    assert lines[:2] == [f"user {BRIDGE_USERNAME}", "topic readwrite #"]
    assert sorted(line for line in lines if line.startswith("pattern")) == sorted(
        [
            *(f"pattern write devices/%u/{leaf}" for leaf in ("health", "status", "ota/status", "logs", "result")),
            "pattern read devices/%u/command",
            "pattern read devices/%u/ota",
        ]
    )


def test_a_bot_logs_in_with_its_product_id_and_device_token_only(broker, bots, probes):
    assert probes(broker.port, "bot_a", bots["bot_a"]).connected()
    assert not probes(broker.port, "bot_a", "wrong token").connected()
    assert not probes(broker.port, "bot_a", bots["bot_b"]).connected()
    assert not probes(broker.port, None, None).connected()
    assert not probes(broker.port, "nobody", bots["bot_a"]).connected()
    assert not probes(broker.port, BRIDGE_USERNAME, bots["bot_a"]).connected()


def test_a_bot_publishes_only_its_own_reports(broker, bots, probes):
    server = bridge_probe(broker, probes)
    assert server.subscribe("devices/#")
    bot = probes(broker.port, "bot_a", bots["bot_a"])
    assert bot.connected()
    forbidden = ["devices/bot_b/health", "devices/bot_a/command", "devices/bot_a/ota", "devices/bot_a/other", "x/y"]
    for topic in forbidden:
        bot.publish(topic, b"{}")
    allowed = ["devices/bot_a/health", "devices/bot_a/status", "devices/bot_a/ota/status", "devices/bot_a/logs"]
    for topic in allowed:
        bot.publish(topic, b"{}")
    bot.publish("devices/bot_a/result", b"fence")
    seen = [topic for topic, _ in server.messages_until("devices/bot_a/result")]
    assert seen == [*allowed, "devices/bot_a/result"]


@pytest.mark.parametrize("pattern", ["#", "devices/#", "devices/+/command", "devices/bot_b/command", "+/+/+"])
def test_a_bot_cannot_listen_to_other_bots(broker, bots, probes, pattern):
    server = bridge_probe(broker, probes)
    bot = probes(broker.port, "bot_a", bots["bot_a"])
    assert bot.connected()
    assert bot.subscribe("devices/bot_a/command")  # its own
    bot.subscribe(pattern)  # granted or not, nothing of another bot may arrive
    server.publish("devices/bot_b/command", b"secret for b")
    server.publish("devices/bot_b/ota", b"secret for b")
    server.publish("devices/bot_a/command", b"fence")
    received = bot.messages_until("devices/bot_a/command")
    assert received == [("devices/bot_a/command", b"fence")]


def test_a_bot_receives_its_commands_from_the_bridge(broker, bots, probes):
    server = bridge_probe(broker, probes)
    bot = probes(broker.port, "bot_a", bots["bot_a"])
    assert bot.connected() and bot.subscribe("devices/bot_a/command") and bot.subscribe("devices/bot_a/ota")
    server.publish("devices/bot_a/ota", b'{"url": "x"}')
    server.publish("devices/bot_a/command", b'{"id": "1"}')
    assert bot.messages_until("devices/bot_a/command") == [
        ("devices/bot_a/ota", b'{"url": "x"}'),
        ("devices/bot_a/command", b'{"id": "1"}'),
    ]


def test_a_rotated_token_is_cut_off_and_the_new_one_works(app, broker, bots, probes):
    connected = probes(broker.port, "bot_a", bots["bot_a"])
    assert connected.connected()
    with app.app_context():
        new_token = reset_device_token(db.session.query(Device).filter_by(product_id="bot_a").one())
        db.session.commit()
    reload_broker(broker)
    assert wait_until(connected.lost.is_set), "the broker kept the old credential's connection"
    assert not probes(broker.port, "bot_a", bots["bot_a"]).connected()
    assert probes(broker.port, "bot_a", new_token).connected()
    assert probes(broker.port, "bot_b", bots["bot_b"]).connected()


def test_a_blocked_bot_cannot_connect_until_unblocked(app, broker, bots, probes):
    connected = probes(broker.port, "bot_b", bots["bot_b"])
    assert connected.connected()
    with app.app_context():
        set_blocked(db.session.query(Device).filter_by(product_id="bot_b").one(), True)
        db.session.commit()
    reload_broker(broker)
    assert wait_until(connected.lost.is_set)
    assert not probes(broker.port, "bot_b", bots["bot_b"]).connected()
    with app.app_context():
        set_blocked(db.session.query(Device).filter_by(product_id="bot_b").one(), False)
        db.session.commit()
    reload_broker(broker)
    assert connects_eventually(broker, "bot_b", bots["bot_b"])


def test_unchanged_credentials_do_not_reload_the_broker(broker, bots):
    assert not sync_broker_files(broker.app, BrokerFiles(broker.settings.mqtt_dir), bridge_password(broker.settings))


def test_broker_urls_name_the_bridges_credentials_and_tls():
    plain = BrokerAddress.from_url("mqtt://_webide_bridge:p%40ss@broker.example")
    assert (plain.host, plain.port, plain.username, plain.password, plain.tls) == (
        "broker.example",
        1883,
        "_webide_bridge",
        "p@ss",
        False,
    )
    secure = BrokerAddress.from_url("mqtts://bridge:secret@broker.example")
    assert (secure.port, secure.tls) == (8883, True)
    with pytest.raises(ValueError):
        BrokerAddress.from_url("http://broker.example")
    with pytest.raises(ConfigError, match="WEBIDE_MQTT_URL"):
        load_settings({"WEBIDE_MQTT_URL": "tcp://broker.example:1883"})


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({}, ""),  # no broker: bots stay on HTTP
        ({"WEBIDE_MQTT_PUBLIC_URL": "mqtts://link.example:8883"}, "mqtts://link.example:8883"),
        ({"WEBIDE_MQTT_URL": "mqtt://_webide_bridge:secret@broker.example:1883"}, "mqtt://broker.example:1883"),
        ({"WEBIDE_MQTT_URL": "mqtts://_webide_bridge:secret@broker.example"}, "mqtts://broker.example:8883"),
        (  # the private broker of `webide run`, listening on every address: the address bots use for the server
            {
                "WEBIDE_MQTT_URL": "mqtt://_webide_bridge:secret@127.0.0.1:1884",
                "WEBIDE_MQTT_HOST": "0.0.0.0",
                "WEBIDE_PUBLIC_URL": "http://10.0.0.2:5000",
            },
            "mqtt://10.0.0.2:1884",
        ),
        (
            {"WEBIDE_MQTT_URL": "mqtt://_webide_bridge:secret@127.0.0.1:1885", "WEBIDE_MQTT_HOST": "192.168.4.10"},
            "mqtt://192.168.4.10:1885",
        ),
        (
            {"WEBIDE_MQTT_URL": "mqtt://_webide_bridge:secret@127.0.0.1:1884", "WEBIDE_MQTT_HOST": "fd00::2"},
            "mqtt://[fd00::2]:1884",
        ),
        # listening on loopback only, or on every address without a public URL: no bot could reach it
        ({"WEBIDE_MQTT_URL": "mqtt://_webide_bridge:secret@127.0.0.1:1884"}, ""),
        ({"WEBIDE_MQTT_URL": "mqtt://_webide_bridge:secret@localhost:1884", "WEBIDE_MQTT_HOST": "0.0.0.0"}, ""),
        (
            {
                "WEBIDE_MQTT_URL": "mqtt://_webide_bridge:secret@127.0.0.1:1884",
                "WEBIDE_MQTT_HOST": "0.0.0.0",
                "WEBIDE_PUBLIC_URL": "http://localhost:5000",
            },
            "",
        ),
    ],
)
def test_bots_are_told_the_broker_they_can_reach_never_the_bridges_credentials(environment, expected):
    url = bot_broker_url(load_settings(environment))
    assert url == expected
    assert "secret" not in url and "@" not in url


@pytest.mark.parametrize(
    "url",
    [
        "http://link.example:1883",
        "mqtt://user:password@link.example:1883",
        "mqtt://link.example:1883/path",
        "mqtt://link.example:70000",
        "mqtt://" + "a" * 130,
    ],
)
def test_a_public_broker_url_a_bot_would_refuse_is_a_configuration_error(url):
    with pytest.raises(ConfigError, match="WEBIDE_MQTT_PUBLIC_URL"):
        load_settings({"WEBIDE_MQTT_PUBLIC_URL": url})


def test_a_broker_url_too_long_for_the_bot_is_not_told():
    host = "b" * 120 + ".example"
    assert bot_broker_url(Settings(mqtt_url=f"mqtt://bridge:secret@{host}:1883")) == ""
