"""The device path under the CPU-heavy work one classroom can cause.

Run: `python -m bench device`. A bot's "already up to date" check (304) and its firmware download (200, 256 KiB)
are paced at 10 requests/s each, open loop (latency counts from each request's scheduled start), against
`webide web` (gunicorn + eventlet):

1. idle;
2. while six browsers view a 500 KB revision over and over and twenty people log in over and over (Argon2);
3. the same, with Redis hung (SIGSTOP): the device path must not wait on it.

It measures and prints; it asserts nothing.
"""

from __future__ import annotations

import os
import signal
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import requests

from tests.ota_support import esp32_image
from webide.simulator import SimulatedBot, SimulatorError, http_exchange

from .ota_bench import percentile, prepare_bots
from .service import BenchService, bench_service

IMAGE_BYTES = 256 * 1024
REVISION_BYTES = 500 * 1000
PROBE_RATE = 10.0  # per kind and second
SECONDS = 10.0
VIEWERS, LOGINS = 6, 20
Row = tuple[str, str, str]
CODE_LINE = "  analogWrite(MOTOR_PIN, speed); // keep the motor turning at the chosen speed\n"


def large_revision(service: BenchService, product_id: str) -> tuple[requests.Session, int]:
    """Save a 500 KB sketch for ``product_id``; returns a logged-in API session and the revision number."""
    session = requests.Session()
    login = session.post(f"{service.base_url}/api/auth/login", json={"product_id": product_id, "password": "12345"})
    session.headers["Authorization"] = f"Bearer {login.json()['token']}"
    current = session.get(f"{service.base_url}/api/devices/{product_id}/sketch").json()
    main = current["files"][0]["name"]
    body = "void setup() {}\nvoid loop() {\n" + CODE_LINE * (REVISION_BYTES // len(CODE_LINE)) + "}\n"
    saved = session.put(
        f"{service.base_url}/api/devices/{product_id}/sketch",
        json={"files": [{"name": main, "content": body}], "base_revision": current["revision"], "explicit": True},
    )
    assert saved.status_code == 200, saved.text
    return session, saved.json()["revision"]


@contextmanager
def load(
    service: BenchService, viewer: requests.Session, product_id: str, revision: int, login_ids: list[str]
) -> Iterator[list[int]]:
    """Keep six revision views and twenty logins running until the block ends; yields completed counts."""
    stop = threading.Event()
    done = [0, 0]
    url = f"{service.base_url}/api/devices/{product_id}/sketch/revisions/{revision}"

    def view() -> None:
        while not stop.is_set():
            viewer.get(url, timeout=120).raise_for_status()
            done[0] += 1

    def log_in(login_id: str) -> None:
        while not stop.is_set():
            reply = requests.post(
                f"{service.base_url}/api/auth/login", timeout=120, json={"product_id": login_id, "password": "12345"}
            )
            reply.raise_for_status()
            done[1] += 1

    threads = [threading.Thread(target=view) for _ in range(VIEWERS)]
    threads += [threading.Thread(target=log_in, args=(login_id,)) for login_id in login_ids]
    for thread in threads:
        thread.start()
    time.sleep(2)  # let the load build up
    try:
        yield done
    finally:
        stop.set()
        for thread in threads:
            thread.join()


def probe(base_url: str, up_to_date: SimulatedBot, behind: SimulatedBot) -> dict[str, list[float]]:
    """304 checks and downloads at PROBE_RATE each for SECONDS; latencies (ms) from each scheduled start."""
    latencies: dict[str, list[float]] = {"304": [], "200": []}
    failures: list[str] = []
    total = int(PROBE_RATE * SECONDS)
    begin = time.perf_counter() + 0.2

    def request(index: int, kind: str, bot: SimulatedBot) -> None:
        scheduled = begin + index / PROBE_RATE + (0.5 / PROBE_RATE if kind == "200" else 0)
        delay = scheduled - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        try:
            reply = http_exchange(base_url, "GET", f"/{bot.product_id}.ino.bin", bot.update_headers(), timeout=120)
            status = str(reply.status)
        except SimulatorError as error:
            status = str(error)
        latencies[kind].append((time.perf_counter() - scheduled) * 1000)
        if status != kind:
            failures.append(status)

    jobs: list[Callable[[], None]] = []
    for index in range(total):
        jobs.append(lambda i=index: request(i, "304", up_to_date))
        jobs.append(lambda i=index: request(i, "200", behind))
    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(lambda job: job(), jobs))
    latencies["failures"] = [float(len(failures))]
    return latencies


def summary(label: str, latencies: dict[str, list[float]], note: str) -> list[Row]:
    rows = []
    for kind, name in (("304", "304 check"), ("200", f"{IMAGE_BYTES // 1024} KiB download")):
        values = latencies[kind]
        rows.append(
            (
                f"device path, {label}: {name} p50 / p99 / max (ms)",
                f"{statistics.median(values):.0f} / {percentile(values, 0.99):.0f} / {max(values):.0f}",
                f"target p99 ≤ 200 ms; {note}",
            )
        )
    return rows


def run() -> list[Row]:
    """Entry point of `python -m bench device`."""
    with bench_service(bots=2 + LOGINS) as service:
        image_path = service.settings.data_dir.parent / "bench-image.bin"
        image = esp32_image(image_path, IMAGE_BYTES, seed=5)
        viewer, revision = large_revision(service, "bench_1")
        bots = prepare_bots(service, image_path)
        up_to_date, behind = bots[0], bots[1]
        up_to_date.running = image
        http_exchange(service.base_url, "GET", f"/{up_to_date.product_id}.ino.bin", up_to_date.update_headers())
        login_ids = [bot.product_id for bot in bots[2 : 2 + LOGINS]]
        rows = summary("idle", probe(service.base_url, up_to_date, behind), "no other load")
        with load(service, viewer, "bench_1", revision, login_ids) as done:
            loaded = probe(service.base_url, up_to_date, behind)
        rows += summary(
            f"{VIEWERS} 500 KB revision views + {LOGINS} logins at once",
            loaded,
            f"{done[0]} views and {done[1]} logins completed meanwhile",
        )
        os.kill(service_redis_pid(service), signal.SIGSTOP)
        try:
            with load(service, viewer, "bench_1", revision, login_ids) as done:
                hung = probe(service.base_url, up_to_date, behind)
        finally:
            os.kill(service_redis_pid(service), signal.SIGCONT)
        rows += summary(
            "same load + Redis hung (SIGSTOP)", hung, f"{done[0]} views and {done[1]} logins completed meanwhile"
        )
    return rows


def service_redis_pid(service: BenchService) -> int:
    assert service.redis is not None and service.redis.process is not None
    return service.redis.process.pid


if __name__ == "__main__":
    for name, value, note in run():
        print(f"{name}  {value}  ({note})")
