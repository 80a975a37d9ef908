"""Helpers for the OTA tests: real ESP32 app images built with esptool, published and deployed like an Upload."""

from __future__ import annotations

import hashlib
import json
import random
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import redis
from esptool.bin_image import ELFSection, ESP32FirmwareImage
from sqlalchemy import select

from webide.core.deployments import deploy_artifact
from webide.core.firmware.images import check_app_image
from webide.core.firmware.store import APP_IMAGE, artifact_store, publish_artifact
from webide.extensions import db
from webide.models import Deployment, Device
from webide.runner import free_port

ESP32_FQBN = "esp32:esp32:esp32"
SEGMENT_OVERHEAD = 128


def esp32_image(path: Path, size: int, seed: int) -> bytes:
    """A valid ESP32 app image of about ``size`` bytes (two segments, checksum, appended SHA-256)."""
    rng = random.Random(seed)
    first = (size // 2) // 4 * 4
    second = (size - first - SEGMENT_OVERHEAD) // 4 * 4
    image = ESP32FirmwareImage()
    image.entrypoint = 0x40080000
    image.segments = [
        ELFSection(b".flash.rodata", 0x3F400020, rng.randbytes(first), 0),
        ELFSection(b".iram0.text", 0x40080000, rng.randbytes(second), 0),
    ]
    image.append_digest = True
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(str(path))
    check_app_image(ESP32_FQBN, path, "esp32")
    return path.read_bytes()


@dataclass(frozen=True)
class Firmware:
    data: bytes
    md5: str
    sha256: str
    build_number: int

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def embedded_sha256(self) -> str:
        return self.data[-32:].hex()


def deploy_image(
    app,
    product_id: str,
    size: int = 64 * 1024,  # type: ignore[no-untyped-def]
    seed: int = 1,
) -> Firmware:
    """Publish a fresh image and make it the bot's target, exactly as an Upload build does."""
    settings = app.config["SETTINGS"]
    source = settings.data_dir.parent / "images" / f"{product_id}-{seed}-{size}.bin"
    data = esp32_image(source, size, seed)
    with app.app_context():
        device = db.session.scalar(select(Device).where(Device.product_id == product_id))
        artifact = publish_artifact(artifact_store(settings), ESP32_FQBN, {APP_IMAGE: source})
        deployment = deploy_artifact(device, artifact, None)
        db.session.commit()
        return Firmware(data, hashlib.md5(data).hexdigest(), hashlib.sha256(data).hexdigest(), deployment.number)


def flash_state(app, product_id: str) -> tuple[str, int, str]:  # type: ignore[no-untyped-def]
    with app.app_context():
        device = db.session.scalar(select(Device).where(Device.product_id == product_id))
        deployment = db.session.scalar(
            select(Deployment).where(Deployment.device_id == device.id).order_by(Deployment.id.desc()).limit(1)
        )
        return deployment.state, deployment.progress, deployment.message


def device_row(app, product_id: str) -> dict:  # type: ignore[no-untyped-def]
    with app.app_context():
        device = db.session.scalar(select(Device).where(Device.product_id == product_id))
        return {
            "last_seen_at": device.last_seen_at,
            "running_md5": device.running_md5,
            "running_sha256": device.running_sha256,
            "running_version": device.running_version,
            "telemetry": dict(device.telemetry or {}),
        }


def logged_events(redis_url: str, product_id: str, event_type: str | None = None) -> list[dict]:
    """The room's event log in Redis, in order (what a browser joining late would be replayed)."""
    raw = redis.Redis.from_url(redis_url).lrange(f"webide:events:{product_id}", 0, -1)
    events = [json.loads(item) for item in raw]
    return [e for e in events if event_type is None or e["type"] == event_type]


def flash_states(redis_url: str, product_id: str) -> list[str]:
    """Distinct consecutive flash states as published."""
    states: list[str] = []
    for event in logged_events(redis_url, product_id, "flash"):
        if not states or states[-1] != event["state"]:
            states.append(event["state"])
    return states


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
    default_type application/octet-stream;
    {http}
}}
"""
SERVER_BLOCK = """server {{
        listen 127.0.0.1:{port};
        {server}
    }}"""


def nginx_executable() -> str:
    return shutil.which("nginx") or "/usr/sbin/nginx"


def nginx_config(folder: Path, http_block: str, workers: int = 1) -> Path:
    """A complete nginx.conf around ``http_block`` (the contents of the http block), with every scratch path in
    ``folder``; nginx's own arguments then are ``-c <config> -p <folder> -e <folder>/error.log``."""
    config = folder / "nginx.conf"
    config.write_text(NGINX_CONFIG.format(workers=workers, folder=folder, http=http_block))
    return config


@contextmanager
def private_nginx(server_block: str, workers: int = 1) -> Iterator[str]:
    """A throwaway nginx (Debian's nginx-light) on a free loopback port; yields its base URL.

    ``server_block`` is the body of the server block; ``{folder}`` in it names nginx's own scratch folder.
    """
    with private_nginx_http(lambda port: SERVER_BLOCK.format(port=port, server=server_block), workers) as url:
        yield url


@contextmanager
def private_nginx_http(http_block: Callable[[int], str], workers: int = 1) -> Iterator[str]:
    """Like :func:`private_nginx`, for a whole http block; ``http_block(port)`` must listen on 127.0.0.1:port."""
    folder = Path(tempfile.mkdtemp(prefix="webide-nginx-"))
    folder.chmod(0o755)
    port = free_port()
    config = nginx_config(folder, http_block(port).replace("{folder}", str(folder)), workers)
    process = subprocess.Popen(
        [nginx_executable(), "-c", str(config), "-p", str(folder), "-e", str(folder / "error.log")],
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_listener(port, process, folder / "error.log")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(15)
        shutil.rmtree(folder, ignore_errors=True)


def wait_for_listener(port: int, process: subprocess.Popen, log: Path, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited with code {process.returncode}: {log.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("nginx did not start listening")
