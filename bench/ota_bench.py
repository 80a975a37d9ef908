"""OTA delivery benchmarks with the device simulator on loopback.

Run: `python -m bench ota` (all figures, defaults) or `python -m bench.ota_bench [--bots N --rate R ...]`.

1. N bots (default 200) pull a 1 MiB firmware image at once from `webide web` (gunicorn + eventlet), with the stock
   HTTPUpdate request; aggregate throughput, compared with a private nginx serving the same file on the same machine
   (target: webide ≥ 0.5 × nginx).
2. The "already up to date" check — the firmware URL answering 304 to the running image's MD5 — paced at a fixed
   rate (default 500 requests/s for 10 s), open loop: latency counts from each request's scheduled start, so a
   server that falls behind shows it (target p99 ≤ 20 ms).
3. The production setup: nginx in front of the app, which authenticates, answers 304s and hands the bytes to nginx
   with X-Accel-Redirect (WEBIDE_X_ACCEL_REDIRECT_PREFIX).

It measures and prints; it asserts nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import select

from tests.ota_support import ESP32_FQBN, esp32_image, private_nginx
from webide import create_app
from webide.core.deployments import deploy_artifact
from webide.core.firmware.store import APP_IMAGE, artifact_store, publish_artifact
from webide.core.registry import reset_device_token
from webide.extensions import db
from webide.models import Device
from webide.simulator import SimulatedBot, SimulatorError, http_exchange

from .service import BenchService, bench_service

IMAGE_BYTES = 1024 * 1024
Row = tuple[str, str, str]


def prepare_bots(service: BenchService, image_path: Path) -> list[SimulatedBot]:
    """Give every bench bot a fresh device token and the image as its target (one artifact, one deploy each)."""
    app = create_app(service.settings)
    bots = []
    with app.app_context():
        artifact = publish_artifact(artifact_store(service.settings), ESP32_FQBN, {APP_IMAGE: image_path})
        for device in db.session.scalars(select(Device).order_by(Device.id)).all():
            device.fqbn = ESP32_FQBN
            token = reset_device_token(device)
            deploy_artifact(device, artifact, None)
            bots.append(SimulatedBot(service.base_url, device.product_id, token, say=lambda _line: None))
        db.session.commit()
    return bots


def simultaneous_pulls(base_url: str, bots: list[SimulatedBot], expected_md5: str) -> tuple[float, int, int]:
    """Every bot requests its firmware at the same instant; returns (seconds, bytes received, failed pulls)."""
    received: list[int] = []
    failures: list[str] = []
    started = threading.Barrier(len(bots) + 1)

    def pull(bot: SimulatedBot) -> None:
        started.wait()
        try:
            reply = http_exchange(base_url, "GET", f"/{bot.product_id}.ino.bin", bot.update_headers(), timeout=300)
        except SimulatorError as error:
            failures.append(str(error))
            return
        if reply.status != 200 or hashlib.md5(reply.body).hexdigest() != expected_md5:
            failures.append(f"HTTP {reply.status}")
        received.append(len(reply.body))

    threads = [threading.Thread(target=pull, args=(bot,)) for bot in bots]
    for thread in threads:
        thread.start()
    started.wait()
    begin = time.perf_counter()
    for thread in threads:
        thread.join()
    return time.perf_counter() - begin, sum(received), len(failures)


def best_throughput(base_url: str, bots: list[SimulatedBot], md5: str, rounds: int) -> tuple[float, int]:
    """Best aggregate MiB/s over ``rounds`` runs, and the failed pulls of all runs."""
    best, failed = 0.0, 0
    for _ in range(rounds):
        seconds, total, failures = simultaneous_pulls(base_url, bots, md5)
        best, failed = max(best, total / seconds / 2**20), failed + failures
    return best, failed


@contextmanager
def nginx_serving(image_path: Path, workers: int) -> Iterator[str]:
    """A private nginx on loopback serving the image for every path."""
    with tempfile.TemporaryDirectory(prefix="webide-bench-www-") as www:
        Path(www).chmod(0o755)
        shutil.copyfile(image_path, Path(www) / "firmware.bin")
        (Path(www) / "firmware.bin").chmod(0o644)
        with private_nginx(f"root {www}; location / {{ try_files /firmware.bin =404; }}", workers) as url:
            yield url


def paced_not_modified(
    base_url: str, bots: list[SimulatedBot], rate: float, seconds: float, workers: int = 16
) -> tuple[list[float], int]:
    """Send 304 checks at ``rate`` per second, round robin over the bots; latencies in ms from scheduled start."""
    total = int(rate * seconds)
    latencies: list[float] = []
    errors: list[int] = []
    headers = [bot.update_headers() for bot in bots]
    begin = time.perf_counter() + 0.5

    def check(index: int) -> None:
        scheduled = begin + index / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        bot = bots[index % len(bots)]
        try:
            status = http_exchange(
                base_url, "GET", f"/{bot.product_id}.ino.bin", headers[index % len(bots)], timeout=30
            ).status
        except SimulatorError:
            status = 0
        latencies.append((time.perf_counter() - scheduled) * 1000)
        if status != 304:
            errors.append(status)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(check, range(total)))
    return latencies, len(errors)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


ACCEL_PREFIX = "/internal-firmware"
NGINX_IN_FRONT = """
location {prefix}/ {{ internal; alias {artifacts}/; add_header x-MD5 $upstream_http_x_md5 always; }}
location / {{ proxy_pass {app}; proxy_set_header Host $http_host; }}
"""


def behind_nginx_throughput(bot_count: int, image_bytes: int, rounds: int, nginx_workers: int) -> tuple[float, int]:
    """The production setup: nginx in front, the app authenticating and handing the bytes over (X-Accel-Redirect)."""
    with bench_service(bots=bot_count, WEBIDE_X_ACCEL_REDIRECT_PREFIX=ACCEL_PREFIX) as service:
        image_path = service.settings.data_dir.parent / "bench-image.bin"
        md5 = hashlib.md5(esp32_image(image_path, image_bytes, seed=1)).hexdigest()
        bots = prepare_bots(service, image_path)
        front = NGINX_IN_FRONT.format(
            prefix=ACCEL_PREFIX, artifacts=service.settings.artifacts_dir.resolve(), app=service.base_url
        )
        with private_nginx(front, nginx_workers) as url:
            return best_throughput(url, bots, md5, rounds)


def measure(
    bot_count: int, image_bytes: int, rate: float, seconds: float, rounds: int, nginx_workers: int
) -> list[Row]:
    with bench_service(bots=bot_count) as service:
        image_path = service.settings.data_dir.parent / "bench-image.bin"
        image = esp32_image(image_path, image_bytes, seed=1)
        md5 = hashlib.md5(image).hexdigest()
        bots = prepare_bots(service, image_path)
        webide_rate, webide_failed = best_throughput(service.base_url, bots, md5, rounds)
        with nginx_serving(image_path, nginx_workers) as nginx_url:
            nginx_rate, nginx_failed = best_throughput(nginx_url, bots, md5, rounds)
        for bot in bots:
            bot.running = image  # every bot now runs the target: each check is answered with 304
        paced_not_modified(service.base_url, bots, rate, len(bots) / rate)  # confirms each deployment once
        latencies, errors = paced_not_modified(service.base_url, bots, rate, seconds)
    accel_rate, accel_failed = behind_nginx_throughput(bot_count, image_bytes, rounds, nginx_workers)
    size = f"{len(image) / 2**20:.1f} MiB"
    return [
        (
            f"OTA: {bot_count} bots pull {size} at once, webide (MiB/s)",
            f"{webide_rate:.0f}",
            f"failed pulls: {webide_failed}",
        ),
        (
            f"OTA: same from nginx, {nginx_workers} worker(s) (MiB/s)",
            f"{nginx_rate:.0f}",
            f"failed pulls: {nginx_failed}",
        ),
        ("OTA: webide / nginx throughput", f"{webide_rate / nginx_rate:.2f}", "target ≥ 0.5"),
        (
            "OTA: webide behind nginx, X-Accel-Redirect (MiB/s)",
            f"{accel_rate:.0f}",
            f"{accel_rate / nginx_rate:.2f} × nginx alone; failed pulls: {accel_failed}",
        ),
        (
            f"OTA: 304 check at {rate:.0f}/s for {seconds:.0f} s, p50 (ms)",
            f"{statistics.median(latencies):.1f}",
            f"{len(latencies)} requests, {errors} not 304",
        ),
        (f"OTA: 304 check at {rate:.0f}/s, p99 (ms)", f"{percentile(latencies, 0.99):.1f}", "target ≤ 20 ms"),
        ("OTA: 304 check, max (ms)", f"{max(latencies):.1f}", "-"),
    ]


def run() -> list[Row]:
    """Entry point of `python -m bench ota`: the issue's figures with their default sizes."""
    return measure(bot_count=200, image_bytes=IMAGE_BYTES, rate=500, seconds=10, rounds=2, nginx_workers=1)


def main() -> None:
    parser = argparse.ArgumentParser(description="OTA delivery benchmarks with the device simulator on loopback")
    parser.add_argument("--bots", type=int, default=200)
    parser.add_argument("--image-bytes", type=int, default=IMAGE_BYTES)
    parser.add_argument("--rate", type=float, default=500, help="304 checks per second")
    parser.add_argument("--seconds", type=float, default=10, help="length of the paced 304 run")
    parser.add_argument("--rounds", type=int, default=2, help="throughput runs per server (best is kept)")
    parser.add_argument("--nginx-workers", type=int, default=1)
    args = parser.parse_args()
    rows = measure(args.bots, args.image_bytes, args.rate, args.seconds, args.rounds, args.nginx_workers)
    width = max(len(row[0]) for row in rows)
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>8}  ({note})")


if __name__ == "__main__":
    main()
