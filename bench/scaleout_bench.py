"""Scale-out benchmarks: builds per minute with one worker vs two, and firmware downloads from an S3 store vs the
local folder, each pair side by side in one run (medians and ratios, no assertions).

Run: `python -m bench scaleout` (both), `python -m bench workers` or `python -m bench store`.

(a) Workers: web server plus one or two Celery workers (one build at a time each), every worker with its own data
    folder — as on separate machines — sharing Redis, one database and an S3 artifact store. The burst: BURST
    different classroom sketches submitted at once on the real AVR toolchain, after a warm-up that gave every worker
    one build (its own core cache). Builds per minute = BURST / (first submit → last build complete). On a 2-core
    machine the ideal ratio is 2.0; the web server, Redis, the database and the sandbox share those cores.
(b) Store: two services at once, one with the local folder store, one with the S3 store; a bot pulls a 1 MiB image
    through each web server DOWNLOADS times in total, CLIENTS at a time, with the stock HTTPUpdate request, in
    ROUNDS rounds alternating between the two; latency per download (median, p95) and aggregate MB/s. The S3 side is moto's server mode on loopback, a stand-in for S3 (a Python server, slower than S3 or
    MinIO): the figure shows what serving through an object store costs here, not S3's own speed.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.live import ApiClient
from tests.ota_support import esp32_image
from tests.s3_standin import S3StandIn, moto_s3_server
from webide.config import Settings
from webide.core.builds.queue import RUN_BUILD_TASK
from webide.runner import Child, free_port, start_private_redis, web_argv, worker_argv
from webide.simulator import SimulatorError, http_exchange

from .compile_bench import SKETCH
from .ota_bench import percentile, prepare_bots
from .service import AVR_FQBN, bench_service, create_bots, scratch_dir

Row = tuple[str, str, str]
BURST = 16
IMAGE_BYTES = 1024 * 1024
DOWNLOADS = 100
ROUNDS = 5
CLIENTS = 4
BUCKET = "bench-firmware"
BUILD_DONE = re.compile(rf"Task {re.escape(RUN_BUILD_TASK)}\[[0-9a-f-]+\] succeeded in")


def s3_settings(s3: S3StandIn) -> dict[str, object]:
    access = s3.access()
    return {
        "artifact_store": f"s3://{BUCKET}/webide",
        "s3_endpoint_url": access.endpoint_url,
        "s3_region": access.region,
        "s3_access_key_id": access.access_key_id,
        "s3_secret_access_key": access.secret_access_key,
    }


@contextmanager
def s3_standin(folder: Path) -> Iterator[S3StandIn]:
    with moto_s3_server(folder / "moto.log") as s3:
        s3.create_bucket(BUCKET)
        yield s3


# (a) builds per minute with 1 vs 2 workers


@contextmanager
def workers_apart(folder: Path, workers: int, bots: int, s3: S3StandIn) -> Iterator[tuple[str, list[Path]]]:
    """Web server and ``workers`` workers, each with its own data folder; yields the URL and the worker logs."""
    web_data = folder / "web" / "instance"
    base = Settings(data_dir=web_data, async_mode="threading", toolchain="arduino-builder", default_fqbn=AVR_FQBN)
    base.log_dir.mkdir(parents=True)
    redis_child, redis_url = start_private_redis(base)
    settings = base.with_overrides(redis_url=redis_url, database_url=base.database_uri)
    create_bots(settings, bots)
    shared = {
        "REDIS_URL": redis_url,
        "DATABASE_URL": settings.database_url,
        "WEBIDE_TOOLCHAIN": "arduino-builder",
        "WEBIDE_DEFAULT_FQBN": AVR_FQBN,
        "WEBIDE_ARTIFACT_STORE": f"s3://{BUCKET}/webide",
        **s3.environment(),
    }
    port = free_port()
    web = Child("web", web_argv(Settings(), "127.0.0.1", port), machine_env(shared, web_data), folder / "web.log")
    logs = [folder / f"worker-{n}.log" for n in range(workers)]
    children = [web] + [
        Child(f"worker-{n}", worker_argv(1, f"w{n}@%h"), machine_env(shared, folder / f"w{n}" / "instance"), logs[n])
        for n in range(workers)
    ]
    try:
        for child in children:
            child.start()
        wait_for_page(f"http://127.0.0.1:{port}/login", folder / "web.log")
        for log in logs:
            wait_for_text(log, "ready.")
        yield f"http://127.0.0.1:{port}", logs
    except BaseException:
        for log in [folder / "web.log", *logs]:
            print(log.read_text()[-3000:], file=sys.stderr)
        raise
    finally:
        deadline = time.monotonic() + 15
        for child in [*children, redis_child]:
            child.terminate()
        for child in [*children, redis_child]:
            child.wait_or_kill(deadline)


def machine_env(shared: dict[str, str], data_dir: Path) -> dict[str, str]:
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.parent.chmod(0o711)
    return dict(os.environ, WEBIDE_DATA_DIR=str(data_dir), PYTHONUNBUFFERED="1", **shared)


def wait_for_page(url: str, log_path: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=5).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    sys.exit(f"web server did not start:\n{log_path.read_text()[-3000:]}")


def wait_for_text(path: Path, text: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text():
            return
        time.sleep(0.2)
    sys.exit(f"{path.name} did not show {text!r}:\n{path.read_text()[-3000:] if path.exists() else ''}")


def build_all(clients: dict[str, ApiClient], variant: int) -> float:
    """Submit one build per bot at once; seconds until the last one is complete."""
    started = time.perf_counter()
    submitted = {
        pid: client.submit(pid, [{"name": f"{pid}.ino", "content": SKETCH.format(n=variant + n)}])
        for n, (pid, client) in enumerate(clients.items())
    }
    for pid, update_id in submitted.items():
        result = clients[pid].wait(update_id, timeout=900)
        if result["status"] != "complete":
            sys.exit(f"build {update_id} failed:\n{result['log'][-2000:]}")
    return time.perf_counter() - started


def builds_done(logs: list[Path]) -> list[int]:
    return [len(BUILD_DONE.findall(log.read_text())) for log in logs]


def builds_per_minute(workers: int, s3: S3StandIn, burst: int) -> tuple[float, list[int]]:
    """Warm every worker's core cache, then time a burst; returns builds/min and the builds each worker ran."""
    folder = scratch_dir()
    try:
        with workers_apart(folder, workers, bots=burst + 2 * workers, s3=s3) as (base_url, logs):
            names = [f"bench_{n}" for n in range(1, burst + 2 * workers + 1)]
            clients = {pid: ApiClient(base_url, product_id=pid, password="12345") for pid in names}
            warm_up = dict(list(clients.items())[:workers])
            for round_number in range(10):  # until every worker built once (who takes a build is up to Celery)
                build_all(warm_up, 10_000 + 100 * round_number)
                if all(builds_done(logs)):
                    break
            before = builds_done(logs)
            seconds = build_all(dict(list(clients.items())[2 * workers :]), 20_000)
            time.sleep(1)  # Celery logs a task's end just after the build is recorded
            ran = [after - earlier for after, earlier in zip(builds_done(logs), before, strict=True)]
            return burst / seconds * 60, ran
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_workers(burst: int = BURST) -> list[Row]:
    folder = scratch_dir()
    try:
        with s3_standin(folder) as s3:
            one, ran_one = builds_per_minute(1, s3, burst)
            two, ran_two = builds_per_minute(2, s3, burst)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return [
        (f"Scale-out: {burst} AVR builds, 1 worker (builds/min)", f"{one:.1f}", f"builds per worker: {ran_one}"),
        (f"Scale-out: {burst} AVR builds, 2 workers (builds/min)", f"{two:.1f}", f"builds per worker: {ran_two}"),
        ("Scale-out: 2 workers / 1 worker", f"{two / one:.2f}", "2 cores: ideal 2.0"),
    ]


# (b) download throughput: S3 store vs local folder


def timed_downloads(base_url: str, path: str, headers: dict[str, str], md5: str, count: int, clients: int):  # type: ignore[no-untyped-def]
    """``count`` downloads, ``clients`` at a time; returns (latencies in ms, wall seconds, bytes, failures)."""
    latencies: list[float] = []
    failures: list[str] = []
    received = [0]
    lock = threading.Lock()

    def download(_index: int) -> None:
        started = time.perf_counter()
        try:
            reply = http_exchange(base_url, "GET", path, headers, timeout=120)
        except SimulatorError as error:
            failures.append(str(error))
            return
        elapsed = (time.perf_counter() - started) * 1000
        if reply.status != 200 or hashlib.md5(reply.body).hexdigest() != md5:
            failures.append(f"HTTP {reply.status}")
            return
        with lock:
            latencies.append(elapsed)
            received[0] += len(reply.body)

    begin = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(download, range(count)))
    return latencies, time.perf_counter() - begin, received[0], len(failures)


@dataclass
class DownloadTarget:
    base_url: str
    path: str
    headers: dict[str, str]
    md5: str
    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    received: int = 0
    failed: int = 0

    def measure(self, count: int, clients: int) -> None:
        latencies, seconds, received, failed = timed_downloads(
            self.base_url, self.path, self.headers, self.md5, count, clients
        )
        self.latencies += latencies
        self.seconds += seconds
        self.received += received
        self.failed += failed


@contextmanager
def download_target(store_settings: dict[str, object], store_env: dict[str, str]) -> Iterator[DownloadTarget]:
    """A service whose one bot has a 1 MiB image as its target, published to the given store."""
    with bench_service(bots=1, settings_overrides=store_settings, **store_env) as service:
        image_path = service.settings.data_dir.parent / "bench-image.bin"
        md5 = hashlib.md5(esp32_image(image_path, IMAGE_BYTES, seed=3)).hexdigest()
        bot = prepare_bots(service, image_path)[0]
        yield DownloadTarget(service.base_url, f"/{bot.product_id}.ino.bin", bot.update_headers(), md5)


def run_store(count: int = DOWNLOADS, clients: int = CLIENTS, rounds: int = ROUNDS) -> list[Row]:
    """Both services run at once; rounds alternate between them, so load on the machine hits both alike."""
    folder = scratch_dir()
    try:
        with ExitStack() as stack:
            s3 = stack.enter_context(s3_standin(folder))
            store_env = {"WEBIDE_ARTIFACT_STORE": f"s3://{BUCKET}/webide", **s3.environment()}
            targets = {
                "local folder": stack.enter_context(download_target({}, {})),
                "S3 (moto stand-in)": stack.enter_context(download_target(s3_settings(s3), store_env)),
            }
            for target in targets.values():
                timed_downloads(target.base_url, target.path, target.headers, target.md5, clients, clients)  # warm
            for _ in range(rounds):
                for target in targets.values():
                    target.measure(count // rounds, clients)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    rows: list[Row] = []
    rates = {name: target.received / target.seconds / 1e6 for name, target in targets.items()}
    for name, target in targets.items():
        rows.append(
            (
                f"Store: {len(target.latencies)} × 1 MiB downloads, {clients} at a time, {name}: median / p95 (ms)",
                f"{statistics.median(target.latencies):.0f} / {percentile(target.latencies, 0.95):.0f}",
                f"{rates[name]:.1f} MB/s; failed: {target.failed}",
            )
        )
    ratio = rates["S3 (moto stand-in)"] / rates["local folder"]
    rows.append(("Store: S3 stand-in / local folder throughput", f"{ratio:.2f}", f"{rounds} alternating rounds"))
    return rows


def run() -> list[Row]:
    return run_store() + run_workers()
