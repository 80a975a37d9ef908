"""OTA delivery benchmarks with the device simulator on loopback: `python -m bench ota` (or `python -m bench.ota_bench`).

1. N bots (default 200) pull a 1 MiB firmware image at once from `webide web` (gunicorn + eventlet), with the stock
   HTTPUpdate request; aggregate throughput, compared with a private nginx serving the same file on the same machine
   (target: webide ≥ 0.5 × nginx).
2. The "already up to date" check — the firmware URL answering 304 to the running image's MD5 — paced at a fixed
   rate (default 500 requests/s for 10 s), open loop: latency counts from each request's scheduled start, so a
   server that falls behind shows it (target p99 ≤ 20 ms).

It measures and prints; it asserts nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import select

from tests.ota_support import ESP32_FQBN, esp32_image
from webide import create_app
from webide.builds.artifacts import APP_IMAGE, publish_artifact
from webide.devices.registry import reset_device_token
from webide.devices.simulator import SimulatedBot, SimulatorError, http_exchange
from webide.extensions import db
from webide.models import Device
from webide.ota.deployments import deploy_artifact
from webide.runner import free_port

from .service import BenchService, bench_service

IMAGE_BYTES = 1024 * 1024
Row = tuple[str, str, str]


def prepare_bots(service: BenchService, image_path: Path) -> list[SimulatedBot]:
    """Give every bench bot a fresh device token and the image as its target (one artifact, one deploy each)."""
    app = create_app(service.settings)
    bots = []
    with app.app_context():
        artifact = publish_artifact(service.settings.artifacts_dir, ESP32_FQBN, {APP_IMAGE: image_path})
        for device in db.session.scalars(select(Device).order_by(Device.id)).all():
            device.fqbn = ESP32_FQBN
            token = reset_device_token(device)
            deploy_artifact(device, artifact, None)
            bots.append(SimulatedBot(service.base_url, device.product_id, token, say=lambda _line: None))
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


NGINX_CONFIG = """daemon off;
worker_processes {workers};
pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    server {{
        listen 127.0.0.1:{port};
        root {folder}/www;
        default_type application/octet-stream;
        location / {{ try_files /firmware.bin =404; }}
    }}
}}
"""


@contextmanager
def private_nginx(image_path: Path, workers: int) -> Iterator[str]:
    """nginx on a free loopback port serving the image for every path; stopped afterwards."""
    executable = shutil.which("nginx") or "/usr/sbin/nginx"
    folder = Path(tempfile.mkdtemp(prefix="webide-nginx-"))
    folder.chmod(0o755)
    (folder / "www").mkdir(mode=0o755)
    shutil.copyfile(image_path, folder / "www" / "firmware.bin")
    (folder / "www" / "firmware.bin").chmod(0o644)
    port = free_port()
    config = folder / "nginx.conf"
    config.write_text(NGINX_CONFIG.format(workers=workers, folder=folder, port=port))
    process = subprocess.Popen([executable, "-c", str(config), "-p", str(folder)], stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(15)
        shutil.rmtree(folder, ignore_errors=True)


def wait_for_port(port: int, process: subprocess.Popen, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"nginx exited with code {process.returncode}")
        try:
            http_exchange(f"http://127.0.0.1:{port}", "HEAD", "/", {}, timeout=1)
            return
        except SimulatorError:
            time.sleep(0.1)
    raise SystemExit("nginx did not start")


def paced_not_modified(base_url: str, bots: list[SimulatedBot], rate: float,
                       seconds: float) -> tuple[list[float], int]:
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
            status = http_exchange(base_url, "GET", f"/{bot.product_id}.ino.bin", headers[index % len(bots)],
                                   timeout=30).status
        except SimulatorError:
            status = 0
        latencies.append((time.perf_counter() - scheduled) * 1000)
        if status != 304:
            errors.append(status)

    with ThreadPoolExecutor(max_workers=64) as pool:
        list(pool.map(check, range(total)))
    return latencies, len(errors)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def measure(bot_count: int, image_bytes: int, rate: float, seconds: float, rounds: int,
            nginx_workers: int) -> list[Row]:
    with bench_service(bots=bot_count) as service:
        image_path = service.settings.data_dir.parent / "bench-image.bin"
        image = esp32_image(image_path, image_bytes, seed=1)
        md5 = hashlib.md5(image).hexdigest()
        bots = prepare_bots(service, image_path)
        webide_rate, webide_failed = best_throughput(service.base_url, bots, md5, rounds)
        with private_nginx(image_path, nginx_workers) as nginx_url:
            nginx_rate, nginx_failed = best_throughput(nginx_url, bots, md5, rounds)
        for bot in bots:
            bot.running = image  # every bot now runs the target: each check is answered with 304
        paced_not_modified(service.base_url, bots, rate, len(bots) / rate)  # confirms each deployment once
        latencies, errors = paced_not_modified(service.base_url, bots, rate, seconds)
    size = f"{len(image) / 2**20:.1f} MiB"
    return [
        (f"OTA: {bot_count} bots pull {size} at once, webide (MiB/s)", f"{webide_rate:.0f}",
         f"failed pulls: {webide_failed}"),
        (f"OTA: same from nginx, {nginx_workers} worker(s) (MiB/s)", f"{nginx_rate:.0f}",
         f"failed pulls: {nginx_failed}"),
        ("OTA: webide / nginx throughput", f"{webide_rate / nginx_rate:.2f}", "target ≥ 0.5"),
        (f"OTA: 304 check at {rate:.0f}/s for {seconds:.0f} s, p50 (ms)", f"{statistics.median(latencies):.1f}",
         f"{len(latencies)} requests, {errors} not 304"),
        (f"OTA: 304 check at {rate:.0f}/s, p99 (ms)", f"{percentile(latencies, 0.99):.1f}", "target ≤ 20 ms"),
        ("OTA: 304 check, max (ms)", f"{max(latencies):.1f}", "-"),
    ]


def run() -> list[Row]:
    """Entry point of `python -m bench ota`: the issue's figures with their default sizes."""
    return measure(bot_count=200, image_bytes=IMAGE_BYTES, rate=500, seconds=10, rounds=2, nginx_workers=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
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
