"""A throwaway webide service for benchmarks: private Redis, migrated database, web server and worker processes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from webide import create_app
from webide.config import Settings
from webide.core.registry import create_device
from webide.database import migrate_database
from webide.extensions import db
from webide.runner import Child, free_port, start_private_redis, web_argv, worker_argv

AVR_FQBN = "arduino:avr:uno"


@dataclass
class BenchService:
    base_url: str
    settings: Settings
    web: Child
    worker: Child
    redis: Child | None = None  # the private redis-server (benchmarks may stop it)


def scratch_dir() -> Path:
    """A temp folder the unprivileged sandbox user can traverse."""
    folder = Path(tempfile.mkdtemp(prefix="webide-bench-"))
    folder.chmod(0o711)
    return folder


def create_bots(settings: Settings, count: int, fqbn: str = AVR_FQBN) -> list[str]:
    app = create_app(settings)
    migrate_database(app)
    with app.app_context():
        bots = [create_device(f"bench_{n}", "12345", "", fqbn, "bench").product_id for n in range(1, count + 1)]
        db.session.commit()
        return bots


@contextmanager
def bench_service(
    bots: int = 30, concurrency: int = 2, settings_overrides: Mapping[str, object] | None = None, **env: str
) -> Iterator[BenchService]:
    """Start web + one worker (``concurrency`` builds at once) on a fresh data folder; stop everything after.

    ``env`` goes to the web server and worker; ``settings_overrides`` to the settings the benchmark itself uses
    (both must agree, e.g. on the artifact store).
    """
    folder = scratch_dir()
    base = Settings(
        data_dir=folder / "instance", async_mode="threading", toolchain="arduino-builder", default_fqbn=AVR_FQBN
    )
    base.log_dir.mkdir(parents=True)
    redis_child, redis_url = start_private_redis(base)
    settings = base.with_overrides(redis_url=redis_url, **(settings_overrides or {}))
    create_bots(settings, bots)
    child_env = dict(
        os.environ,
        WEBIDE_DATA_DIR=str(settings.data_dir),
        REDIS_URL=redis_url,
        WEBIDE_TOOLCHAIN="arduino-builder",
        WEBIDE_DEFAULT_FQBN=AVR_FQBN,
        **env,
    )
    port = free_port()
    log = (folder / "service.log").open("w")
    web = Child(
        "web",
        web_argv(Settings(async_mode=child_env.get("WEBIDE_ASYNC_MODE", "eventlet")), "127.0.0.1", port),
        child_env,
    )
    worker = Child("worker", worker_argv(concurrency), child_env)
    for child in (web, worker):
        child.process = subprocess.Popen(
            child.argv, env=child.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_until_ready(f"http://127.0.0.1:{port}/login", folder / "service.log")
        yield BenchService(f"http://127.0.0.1:{port}", settings, web, worker, redis_child)
    except BaseException:
        print((folder / "service.log").read_text()[-4000:], file=sys.stderr)
        raise
    finally:
        deadline = time.monotonic() + 15
        for child in (worker, web, redis_child):
            child.terminate()
        for child in (worker, web, redis_child):
            child.wait_or_kill(deadline)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


def wait_until_ready(url: str, log_path: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=5).status_code == 200 and "ready." in log_path.read_text():
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    sys.exit(f"benchmark service did not start:\n{log_path.read_text()[-3000:]}")
