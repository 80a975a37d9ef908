"""The live device link under a classroom's load.

Run: `python -m bench link`. 1,000 simulated bots log in to a private Mosquitto (webide's generated configuration,
password and ACL files) and send health every 5 s (staggered); 100 of them also print 10 serial lines a second. The
bridge (`webide bridge`, its own process) handles it all; five browsers' worth of Socket.IO clients watch five of the
streaming bots through the web server. Each line carries the time it was published; the lag is measured from there
to the moment the Socket.IO client applied it. Also: health messages handled (the bots' last-seen times), and the
bridge's peak memory.

It measures and prints; it asserts nothing.
"""

from __future__ import annotations

import os
import statistics
import threading
import time

import paho.mqtt.client as mqtt
import psutil
import requests
from sqlalchemy import func, select

from tests.live import ApiClient, RoomListener
from webide import create_app
from webide.config import Settings
from webide.core.broker import BrokerFiles
from webide.core.registry import set_device_token
from webide.core.security import argon2_hash
from webide.database import migrate_database
from webide.extensions import db
from webide.models import Device
from webide.runner import (
    Child,
    bridge_argv,
    bridge_password,
    free_port,
    private_mosquitto,
    start_private_redis,
    web_argv,
    web_env,
)

from .ota_bench import percentile
from .service import scratch_dir

BOTS, STREAMERS, VIEWERS = 1000, 100, 5
HEALTH_EVERY_S, LINES_PER_S, SECONDS = 5.0, 10, 30.0
Row = tuple[str, str, str]


def create_link_bots(settings: Settings, count: int) -> dict[str, str]:
    """``count`` bots with device tokens (one shared password hash: Argon2 a thousand times is not the point)."""
    app = create_app(settings, realtime_server=False)
    migrate_database(app)
    tokens = {}
    with app.app_context():
        password_hash = argon2_hash("12345")
        for n in range(1, count + 1):
            device = Device(product_id=f"link_{n:04d}", fqbn="esp32:esp32:esp32", password_hash=password_hash)
            device.telemetry = {}
            tokens[device.product_id] = set_device_token(device)
            db.session.add(device)
        db.session.commit()
        BrokerFiles(settings.mqtt_dir).write(bridge_password(settings))
    return tokens


class Fleet:
    """Every bot's MQTT connection, driven by one thread (paho's loop(), no thread per bot)."""

    def __init__(self, port: int, tokens: dict[str, str]):
        self.clients: dict[str, mqtt.Client] = {}
        for product_id, token in tokens.items():
            client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=product_id, protocol=mqtt.MQTTv311)
            client.username_pw_set(product_id, token)
            client.connect("127.0.0.1", port, keepalive=60)
            self.clients[product_id] = client
        self.sent_lines = 0
        self.sent_health = 0

    def pump(self) -> None:
        for client in self.clients.values():
            client.loop(timeout=0)

    def run(self, streamers: list[str], seconds: float) -> None:
        bots = list(self.clients)
        start = time.monotonic()
        next_health = {bot: start + HEALTH_EVERY_S * n / len(bots) for n, bot in enumerate(bots)}
        next_line = start
        sequence = 0
        while time.monotonic() - start < seconds:
            now = time.monotonic()
            for bot, due in next_health.items():
                if now >= due:
                    self.clients[bot].publish(f"devices/{bot}/health", '{"heap": 180000, "uptime": 5}', qos=0)
                    next_health[bot] = due + HEALTH_EVERY_S
                    self.sent_health += 1
            if now >= next_line:
                sequence += 1
                for bot in streamers:
                    text = f"seq={sequence} t={time.time():.4f}"
                    self.clients[bot].publish(f"devices/{bot}/logs", text, qos=0)
                    self.sent_lines += 1
                next_line += 1 / LINES_PER_S
            self.pump()

    def close(self) -> None:
        for client in self.clients.values():
            client.disconnect()


def wait_for_web(url: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit(f"the web server did not answer at {url}")


def line_lags_ms(listener: RoomListener, part: str = "whole") -> list[float]:
    """Each serial line's lag: ``whole`` = publish → Socket.IO client, ``bridge`` = publish → stored in the event log
    (the event's ``ts``, Redis's clock, the same machine's), ``delivery`` = event log → Socket.IO client."""
    lags = []
    with listener.arrived:
        for event, applied in zip(listener.events, listener.applied_at):
            if event.get("type") == "line" and event.get("stream") == "serial" and " t=" in event["text"]:
                published, stored = float(event["text"].rsplit("t=", 1)[1]), event["ts"] / 1000
                start, end = {"whole": (published, applied), "bridge": (published, stored)}.get(part, (stored, applied))
                lags.append((end - start) * 1000)
    return lags


def lag_figures(lags: list[float]) -> str:
    if not lags:
        return "none"
    return (
        f"{statistics.median(lags):.0f} / {percentile(lags, 0.95):.0f} / {percentile(lags, 0.99):.0f} / "
        f"{max(lags):.0f} ms"
    )


def run() -> list[Row]:
    folder = scratch_dir()
    base = Settings(data_dir=folder / "instance", async_mode="threading", mqtt_port=free_port())
    base.log_dir.mkdir(parents=True)
    redis_child, redis_url = start_private_redis(base)
    settings = base.with_overrides(redis_url=redis_url)
    print(f"  creating {BOTS} bots…", flush=True)
    tokens = create_link_bots(settings, BOTS)
    mosquitto, bridge_url = private_mosquitto(settings)
    env = dict(os.environ, WEBIDE_DATA_DIR=str(settings.data_dir), REDIS_URL=redis_url, WEBIDE_MQTT_URL=bridge_url)
    port = free_port()
    web = Child("web", web_argv(Settings(), "127.0.0.1", port), web_env(env), settings.log_dir / "web.log")
    bridge = Child("bridge", bridge_argv(), env, settings.log_dir / "bridge.log")
    children = [redis_child, mosquitto, web, bridge]
    try:
        for child in children[1:]:
            child.start()
        wait_for_web(f"http://127.0.0.1:{port}/login")
        return measure(f"http://127.0.0.1:{port}", settings, tokens, bridge)
    finally:
        deadline = time.monotonic() + 15
        for child in reversed(children):
            child.terminate()
        for child in reversed(children):
            child.wait_or_kill(deadline)


def measure(base_url: str, settings: Settings, tokens: dict[str, str], bridge: Child) -> list[Row]:
    bots = sorted(tokens)
    streamers = bots[:STREAMERS]
    print(f"  connecting {len(bots)} bots…", flush=True)
    fleet = Fleet(settings.mqtt_port, tokens)
    for _ in range(50):
        fleet.pump()
    viewers = [
        RoomListener(base_url, ApiClient(base_url, product_id=bot, password="12345").token, bot)
        for bot in streamers[:VIEWERS]
    ]
    bridge_process = psutil.Process(bridge.process.pid)  # type: ignore[union-attr]
    peak = [bridge_process.memory_info().rss]
    stop = threading.Event()

    def watch_memory() -> None:
        while not stop.wait(0.5):
            peak.append(bridge_process.memory_info().rss)

    threading.Thread(target=watch_memory, daemon=True).start()
    print(f"  {SECONDS:.0f} s of health and serial lines…", flush=True)
    cpu_before = sum(bridge_process.cpu_times()[:2])
    fleet.run(streamers, SECONDS)
    time.sleep(3)  # let the last lines through before counting
    stop.set()
    bridge_cpu_s = sum(bridge_process.cpu_times()[:2]) - cpu_before
    lags = [lag for viewer in viewers for lag in line_lags_ms(viewer)]
    expected_per_viewer = fleet.sent_lines / STREAMERS
    received = [len(line_lags_ms(viewer)) for viewer in viewers]
    in_order = sum(1 for viewer in viewers if in_sequence(viewer))
    for viewer in viewers:
        viewer.close()
    fleet.close()
    seen = bots_seen(settings)
    return [
        (
            f"link: {BOTS} bots, health every {HEALTH_EVERY_S:g} s ({fleet.sent_health} sent): bots whose health was handled",
            f"{seen}/{BOTS}",
            f"{BOTS}/{BOTS}",
        ),
        (
            f"link: {STREAMERS} bots × {LINES_PER_S} serial lines/s, lines reaching {VIEWERS} Socket.IO viewers",
            f"{sum(received)}/{round(expected_per_viewer * VIEWERS)}, {in_order}/{VIEWERS} viewers in order",
            "all, in order",
        ),
        ("link: serial line lag, publish → Socket.IO client, p50 / p95 / p99 / max", lag_figures(lags), "p99 ≤ 200 ms"),
        (
            "link: of which publish → event log (broker + bridge), p50 / p95 / p99 / max",
            lag_figures([lag for viewer in viewers for lag in line_lags_ms(viewer, "bridge")]),
            "",
        ),
        (
            "link: of which event log → Socket.IO client (web server + client), p50 / p95 / p99 / max",
            lag_figures([lag for viewer in viewers for lag in line_lags_ms(viewer, "delivery")]),
            "",
        ),
        ("link: load average (1 min) at the end", f"{os.getloadavg()[0]:.1f}", ""),
        ("link: bridge process peak RSS", f"{max(peak) / 2**20:.0f} MB", "bounded"),
        ("link: bridge CPU time (user + system) for the run", f"{bridge_cpu_s:.1f} s in {SECONDS + 3:.0f} s", ""),
    ]


def in_sequence(listener: RoomListener) -> bool:
    with listener.arrived:
        numbers = [
            int(event["text"].split()[0].removeprefix("seq="))
            for event in listener.events
            if event.get("stream") == "serial" and event["text"].startswith("seq=")
        ]
    return numbers == sorted(numbers) and len(numbers) == len(set(numbers))


def bots_seen(settings: Settings) -> int:
    app = create_app(settings, realtime_server=False)
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Device).where(Device.last_seen_at.is_not(None))) or 0
