"""`webide bridge`: the server's side of the live device link, a privileged MQTT client of the broker.

It takes the bots' reports (``devices/+/health|status|ota/status|logs|result``) and hands each to the domain function
its HTTP twin uses, delivers queued commands on ``devices/<id>/command``, times out the ones nobody finished, and
keeps the broker's password and ACL files in step with the database (SIGHUP to the broker when they change). paho's
network thread only queues messages (a bounded queue: past it messages are dropped and counted); this process's main
thread handles them in batches (one transaction and one event-log round trip per batch); a bad message is refused
alone and never stops the bridge. When the broker is down the HTTP path carries on by itself and paho reconnects with backoff (1 s doubling up to 30 s).
"""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import socket
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as mqtt
from flask import Flask

from .config import Settings
from .core.broker import BRIDGE_USERNAME, BrokerFiles, topic
from .core.commands import commands_to_deliver, expire_commands, move_to, wire_form
from .core.devicelink import REPORT_LEAVES, LogLimiter, Outbox, handle_report, load_devices, parse_topic
from .core.errors import ApiError
from .core.events import publish_many
from .core.linkstatus import LINK_RENEW_S, mark_device_link
from .extensions import db
from .models import Device

log = logging.getLogger(__name__)

INBOX_LIMIT = 10000
COMMAND_SWEEP_S = 0.25
MESSAGES_PER_TURN = 500
RECONNECT_MIN_S, RECONNECT_MAX_S = 1, 30


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    username: str
    password: str
    tls: bool

    @classmethod
    def from_url(cls, url: str) -> BrokerAddress:
        """``mqtt://user:password@host:port`` (``mqtts://`` for TLS, port 8883 by default)."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise ValueError("WEBIDE_MQTT_URL must look like mqtt://user:password@host:1883 or mqtts://…:8883")
        tls = parts.scheme == "mqtts"
        return cls(
            host=parts.hostname,
            port=parts.port or (8883 if tls else 1883),
            username=unquote(parts.username or BRIDGE_USERNAME),
            password=unquote(parts.password or ""),
            tls=tls,
        )


def mqtt_client(address: BrokerAddress, client_id: str) -> mqtt.Client:
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311)
    client.username_pw_set(address.username, address.password)
    if address.tls:
        client.tls_set()
    client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
    return client


@dataclass
class Bridge:
    app: Flask
    address: BrokerAddress
    inbox: queue.Queue = field(default_factory=lambda: queue.Queue(INBOX_LIMIT))
    counters: Counter = field(default_factory=Counter)
    connected: bool = False
    stopping: bool = False
    marked_connected: bool = False
    link_told: bool = False

    def __post_init__(self) -> None:
        self.settings: Settings = self.app.config["SETTINGS"]
        self.limiter = LogLimiter(float(self.settings.device_log_lines_per_s))
        self.files = BrokerFiles(self.settings.mqtt_dir)
        self.client = mqtt_client(self.address, f"webide-bridge-{socket.gethostname()}-{os.getpid()}")
        self.client.on_connect = self.on_connect
        self.client.on_disconnect = self.on_disconnect
        self.client.on_message = self.on_message

    # paho's network thread: only flags and the queue
    def on_connect(self, client, _userdata, _flags, reason_code, _properties) -> None:  # type: ignore[no-untyped-def]
        if reason_code.is_failure:
            log.warning("The broker refused the bridge: %s", reason_code)
            return
        client.subscribe([(topic("+", leaf), 1) for leaf in REPORT_LEAVES])
        self.connected = True
        log.info("Connected to the broker at %s:%s", self.address.host, self.address.port)

    def on_disconnect(self, _client, _userdata, _flags, reason_code, _properties) -> None:  # type: ignore[no-untyped-def]
        if self.connected:
            log.warning("Lost the broker (%s); reconnecting with backoff", reason_code)
        self.connected = False

    def on_message(self, _client, _userdata, message) -> None:  # type: ignore[no-untyped-def]
        try:
            self.inbox.put_nowait((message.topic, message.payload))
        except queue.Full:
            self.counters["dropped_full"] += 1

    # the main thread
    def run(self) -> None:
        self.sync_broker_files()
        self.client.connect_async(self.address.host, self.address.port, keepalive=30)
        self.client.loop_start()
        next_sweep = next_sync = next_mark = 0.0
        try:
            while not self.stopping:
                self.handle_waiting_messages(timeout=COMMAND_SWEEP_S)
                now = time.monotonic()
                if now >= next_sweep:
                    next_sweep = now + COMMAND_SWEEP_S
                    self.sweep_commands()
                if now >= next_sync:
                    next_sync = now + self.settings.mqtt_reload_s
                    self.sync_broker_files()
                if now >= next_mark or self.connected != self.marked_connected or not self.link_told:
                    next_mark = now + LINK_RENEW_S
                    self.mark_link(self.connected)
        finally:
            self.mark_link(False)
            self.client.disconnect()
            self.client.loop_stop()

    def handle_waiting_messages(self, timeout: float) -> None:
        """Handle what has arrived, up to MESSAGES_PER_TURN messages in one transaction (one commit for a classroom's
        heartbeats instead of one each). A refused message stages nothing (reports are checked before anything is
        recorded); should one fail unexpectedly, the batch is rolled back and its messages handled one by one."""
        try:
            batch = [self.inbox.get(timeout=timeout)]
        except queue.Empty:
            return
        while len(batch) < MESSAGES_PER_TURN:
            try:
                batch.append(self.inbox.get_nowait())
            except queue.Empty:
                break
        with self.app.app_context():
            done = self.handle_together(batch)
            if done < len(batch):
                # Serial lines before the failure went out already (they are not part of the transaction).
                for topic_name, payload in batch[:done]:
                    if not topic_name.endswith("/logs"):
                        self.handle_alone(topic_name, payload)
                for topic_name, payload in batch[done:]:
                    self.handle_alone(topic_name, payload)

    def handle_together(self, batch: list[tuple[str, bytes]]) -> int:
        """Handle the batch in one transaction; returns len(batch) once committed, else how far it got. Serial
        lines are published together too, in one round trip to the event log."""
        outbox: Outbox = []
        # One SELECT for the batch's bots, and no flush before each lookup: the changes go out once, at the commit.
        with db.session.no_autoflush:
            devices = load_devices(bots_needing_the_database(batch))
            for index, (topic_name, payload) in enumerate(batch):
                try:
                    self.handle(topic_name, payload, outbox, devices)
                except Exception:
                    db.session.rollback()
                    publish_many(outbox)
                    return index
        publish_many(outbox)
        try:
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("Could not record %s messages together; recording them one by one", len(batch))
            return 0
        return len(batch)

    def handle_alone(self, topic_name: str, payload: bytes) -> None:
        """One message in its own transaction; an unexpected failure is counted and logged, never raised."""
        try:
            self.handle(topic_name, payload)
            db.session.commit()
        except Exception:
            db.session.rollback()
            self.counters["failed"] += 1
            log.exception("Could not handle a message on %s", topic_name[:120])

    def handle(
        self, topic_name: str, payload: bytes, outbox: Outbox | None = None, devices: Mapping[str, Device] | None = None
    ) -> None:
        """Stage one report; a refused one is counted and logged. Unexpected errors go to the caller."""
        parsed = parse_topic(topic_name)
        if parsed is None:
            self.counters["ignored"] += 1
            return
        try:
            handle_report(*parsed, payload, self.limiter, self.settings, outbox, devices)
            self.counters["handled"] += 1
        except ApiError as error:
            self.counters["refused"] += 1
            log.info("Refused %s from %s: %s", parsed[1], parsed[0], error.message)

    def sweep_commands(self) -> None:
        """Publish pending commands (while connected) and time out the expired ones."""
        with self.app.app_context():
            try:
                if self.connected:
                    for entry in commands_to_deliver():
                        payload = json.dumps(wire_form(entry))
                        info = self.client.publish(topic(entry.device.product_id, "command"), payload, qos=1)
                        if info.rc == mqtt.MQTT_ERR_SUCCESS:
                            move_to(entry, "sent")
                expire_commands()
                db.session.commit()
            except Exception:
                db.session.rollback()
                log.exception("Could not deliver or expire commands")

    def mark_link(self, connected: bool) -> None:
        """Tell the pages whether the link is up (renewed every LINK_RENEW_S while connected); open pages hear of a
        change at once. Should Redis miss a change, it is told again on the next try."""
        with self.app.app_context():
            taken = mark_device_link(connected, changed=connected != self.marked_connected or not self.link_told)
        self.link_told = taken
        self.marked_connected = connected

    def sync_broker_files(self) -> None:
        sync_broker_files(self.app, self.files, self.address.password)

    def request_stop(self, _signum: int, _frame: object) -> None:
        self.stopping = True


def bots_needing_the_database(batch: list[tuple[str, bytes]]) -> set[str]:
    """The bots with reports in the batch other than serial lines (those need no database)."""
    bots = set()
    for topic_name, _payload in batch:
        parsed = parse_topic(topic_name)
        if parsed is not None and parsed[1] != "logs":
            bots.add(parsed[0])
    return bots


def sync_broker_files(app: Flask, files: BrokerFiles, bridge_password: str) -> bool:
    """Rewrite the password and ACL files when bots, tokens or blocks changed, and make the broker reread them
    (SIGHUP to the pid in its pid file: a broker on another machine must be reloaded by its own means)."""
    with app.app_context():
        try:
            changed = files.write(bridge_password)
        except Exception:
            log.exception("Could not write the broker's password and ACL files")
            return False
        finally:
            db.session.rollback()  # read only
    pid = files.broker_pid()
    if changed and pid is not None:
        try:
            os.kill(pid, signal.SIGHUP)
            log.info("The broker rereads its password and ACL files")
        except OSError as error:
            log.warning("Could not signal the broker (pid %s): %s", pid, error)
    return changed


def serve_bridge(app: Flask) -> None:
    """Run the bridge until SIGTERM or SIGINT."""
    settings: Settings = app.config["SETTINGS"]
    bridge = Bridge(app, BrokerAddress.from_url(settings.mqtt_url))
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, bridge.request_stop)
    bridge.run()
    log.info("Bridge stopped: %s", dict(bridge.counters))
