"""A live class dashboard while the class works.

Run: `python -m bench dashboard`. Against `webide web` (gunicorn + eventlet) and one Celery worker (2 build slots):
60 bots of one class heartbeat every 5 s (staggered, with two sensor readings) while 30 students log in and press
Verify once each (real AVR compiles, all queued at the start) and for 40 s after the last is queued. An
instructor's Socket.IO client sits in the class room, as the dashboard page does.

Measured: the lag of each class event from its server timestamp (Redis's clock, taken when it is published) to its
arrival at the client (median, p95; same machine, same clock); the web process's RSS; the time and the SQL queries
of one dashboard load (`GET /api/classes/<name>/dashboard`) for the 60 bots. It measures and prints; it asserts
nothing.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psutil
import requests
from sqlalchemy import event, select

from tests.live import ApiClient, InOrderClient
from webide import create_app
from webide.core.registry import create_user, reset_device_token
from webide.extensions import db
from webide.models import Classroom, Device

from .ota_bench import percentile
from .service import BenchService, bench_service

BOTS = 60
STUDENTS = 30
HEARTBEAT_EVERY_S = 5.0
SECONDS = 40.0
CLASS = "bench"
TEACHER = ("bench_teacher", "bench teacher pw")
Row = tuple[str, str, str]
SKETCH = "void setup() {{ Serial.begin(9600); }}\nvoid loop() {{ Serial.println({n}); delay(100); }}\n"


def prepare(service: BenchService) -> dict[str, str]:
    """The class's instructor, and a device token for every bot (the heartbeat authenticates with it)."""
    app = create_app(service.settings)
    with app.app_context():
        teacher = create_user(*TEACHER, "instructor")
        classroom = db.session.scalar(select(Classroom).where(Classroom.name == CLASS))
        classroom.instructor = teacher
        tokens = {device.product_id: reset_device_token(device) for device in db.session.scalars(select(Device))}
        db.session.commit()
    return tokens


class ClassListener:
    """An instructor's Socket.IO client in the class room; records each event's lag (arrival − server ts)."""

    def __init__(self, base_url: str, token: str):
        self.lags_ms: list[float] = []
        self.kinds: dict[str, int] = {}
        self.client = InOrderClient(reconnection=False)
        self.client.on("class_event", self.receive, namespace="/ota-update")
        self.client.connect(
            base_url, namespaces=["/ota-update"], auth={"token": token}, transports=["websocket"], wait_timeout=10
        )
        ack = self.client.call("join_class", {"class_name": CLASS}, namespace="/ota-update", timeout=10)
        assert ack["success"], ack

    def receive(self, payload: dict[str, Any]) -> None:
        self.lags_ms.append(time.time() * 1000 - payload["ts"])
        self.kinds[payload["type"]] = self.kinds.get(payload["type"], 0) + 1

    def close(self) -> None:
        self.client.disconnect()


def heartbeats(service: BenchService, tokens: dict[str, str], stop: threading.Event) -> list[float]:
    """Every bot heartbeats every 5 s, staggered over the period; returns the request times (ms)."""
    times: list[float] = []
    bots = sorted(tokens)

    def beat(index: int, product_id: str) -> None:
        session = requests.Session()
        next_at = time.monotonic() + index * HEARTBEAT_EVERY_S / len(bots)
        count = 0
        while not stop.wait(max(0.0, next_at - time.monotonic())):
            started = time.perf_counter()
            body = {"heap": 180_000 - count, "uptime": count * 5, "rssi": -50 - index % 30, "light": index + count}
            body["temperature"] = 20.0 + index / 10
            session.post(
                f"{service.base_url}/api/devices/{product_id}/heartbeat",
                json=body,
                headers={"Authorization": f"Bearer {tokens[product_id]}"},
                timeout=10,
            )
            times.append((time.perf_counter() - started) * 1000)
            count += 1
            next_at += HEARTBEAT_EVERY_S

    threads = [threading.Thread(target=beat, args=(i, bot), daemon=True) for i, bot in enumerate(bots)]
    for thread in threads:
        thread.start()
    stop.wait()
    for thread in threads:
        thread.join(timeout=15)
    return times


@contextmanager
def peak_rss(pid: int) -> Iterator[dict[str, float]]:
    """The peak RSS (MB) of the web server's worker process while the block runs."""
    web = next(iter(psutil.Process(pid).children(recursive=True)))
    figures = {"idle_mb": web.memory_info().rss / 2**20, "peak_mb": 0.0}
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.2):
            figures["peak_mb"] = max(figures["peak_mb"], web.memory_info().rss / 2**20)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield figures
    finally:
        done.set()
        thread.join()


def compile_burst(service: BenchService) -> list[tuple[ApiClient, str]]:
    clients = [ApiClient(service.base_url, product_id=f"bench_{n}", password="12345") for n in range(1, STUDENTS + 1)]
    return [
        (api, api.submit(f"bench_{n}", [{"name": f"bench_{n}.ino", "content": SKETCH.format(n=n)}]))
        for n, api in enumerate(clients, start=1)
    ]


def dashboard_queries(service: BenchService) -> int:
    """SQL statements of one dashboard load of the 60 bots (in process, on the benchmark's database)."""
    app = create_app(service.settings)
    client = app.test_client()
    token = client.post("/api/auth/login", json={"username": TEACHER[0], "password": TEACHER[1]}).get_json()["token"]
    statements: list[str] = []
    with app.app_context():
        engine = db.engine
    listener = lambda *_args: statements.append("")  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        response = client.get(f"/api/classes/{CLASS}/dashboard", headers={"Authorization": f"Bearer {token}"})
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert response.status_code == 200 and len(response.get_json()["bots"]) == BOTS
    return len(statements)


def dashboard_load_ms(teacher: ApiClient, runs: int = 10) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        assert teacher.get(f"/api/classes/{CLASS}/dashboard").status_code == 200
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def run() -> list[Row]:
    with bench_service(bots=BOTS) as service:
        tokens = prepare(service)
        teacher = ApiClient(service.base_url, username=TEACHER[0], password=TEACHER[1])
        listener = ClassListener(service.base_url, teacher.token)
        stop = threading.Event()
        results: dict[str, Any] = {}
        with peak_rss(service.web.process.pid) as memory:
            beating = threading.Thread(target=lambda: results.update(beats=heartbeats(service, tokens, stop)))
            started = time.monotonic()
            beating.start()
            builds = compile_burst(service)  # logging 30 students in and queueing their Verifies takes a while
            time.sleep(SECONDS)
            stop.set()
            beating.join()
            window_s = time.monotonic() - started
            load_ms = dashboard_load_ms(teacher)
        finished = [api.wait(update_id, timeout=900)["status"] for api, update_id in builds]
        listener.close()
        queries = dashboard_queries(service)
    lags = listener.lags_ms
    beats = results["beats"]
    return [
        (
            f"class dashboard: {BOTS} bots heartbeating every 5 s while {STUDENTS} students Verify (2 at a time): "
            "class events to a Socket.IO client, median / p95 lag",
            f"{len(lags)} events in {window_s:.0f} s ({listener.kinds}); "
            f"{statistics.median(lags):.0f} / {percentile(lags, 0.95):.0f} ms",
            "p95 ≤ 500 ms",
        ),
        (
            "  same: heartbeat request median / p95",
            f"{statistics.median(beats):.0f} / {percentile(beats, 0.95):.0f} ms ({len(beats)} heartbeats)",
            "",
        ),
        (
            "  same: web process RSS idle → peak",
            f"{memory['idle_mb']:.0f} → {memory['peak_mb']:.0f} MB",
            "≤ 150 MB",
        ),
        (
            f"  same: one dashboard load of {BOTS} bots (after the window): median time, SQL queries",
            f"{load_ms:.0f} ms, {queries} queries; builds: {finished.count('complete')}/{STUDENTS} complete",
            "constant queries",
        ),
    ]
