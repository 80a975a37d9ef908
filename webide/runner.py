"""Process supervision for `webide run`, and the exec entry points of `webide web` / `webide worker`.

The web server and the workers are started as fresh interpreters (gunicorn, celery) rather than forks of this one,
so the async library of the web server (eventlet or gevent) patches the standard library before anything else is
imported, and the worker never carries the web server's async machinery.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from .config import Settings

log = logging.getLogger(__name__)

STOP_GRACE_S = 15.0
GUNICORN_WORKER_CLASS = {"eventlet": ["-k", "eventlet"], "gevent": ["-k", "gevent"],
                         "threading": ["-k", "gthread", "--threads", "200"]}


def web_argv(settings: Settings, host: str, port: int) -> list[str]:
    """gunicorn with one worker: Socket.IO keeps connection state in that process."""
    return [sys.executable, "-m", "gunicorn", *GUNICORN_WORKER_CLASS[settings.async_mode], "-w", "1",
            "--bind", f"{host}:{port}", "--graceful-timeout", "10", "--timeout", "120",
            "--access-logfile", "-", "--forwarded-allow-ips", "127.0.0.1", "webide.wsgi:app"]


def worker_argv(concurrency: int, hostname: str | None = None) -> list[str]:
    argv = [sys.executable, "-m", "celery", "-A", "webide.worker", "worker", "--loglevel", "INFO",
            "--concurrency", str(concurrency), "--without-gossip", "--without-mingle"]
    return argv + (["--hostname", hostname] if hostname else [])


def serve_web(settings: Settings, host: str, port: int) -> None:
    os.execv(sys.executable, web_argv(settings, host, port))


def serve_worker(settings: Settings, concurrency: int, hostname: str | None) -> None:
    os.execv(sys.executable, worker_argv(concurrency, hostname))


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    process: subprocess.Popen | None = field(default=None, repr=False)

    def start(self) -> None:
        # A session of its own: Ctrl+C reaches only the supervisor, which stops children in order.
        self.process = subprocess.Popen(self.argv, env=self.env, start_new_session=True)
        log.info("started %s (pid %s)", self.name, self.process.pid)

    def exit_code(self) -> int | None:
        return self.process.poll() if self.process else None

    def terminate(self) -> None:
        if self.process and self.process.poll() is None:
            _signal_group(self.process.pid, signal.SIGTERM)

    def wait_or_kill(self, deadline: float) -> None:
        if self.process is None:
            return
        try:
            self.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            log.warning("%s did not stop in time; killing it", self.name)
        _signal_group(self.process.pid, signal.SIGKILL)  # leftovers of the group (e.g. pool children)
        self.process.wait()


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)
    except ProcessLookupError:
        pass


def start_private_redis(settings: Settings) -> tuple[Child, str]:
    """A redis-server bound to loopback with a random password, given its configuration on stdin."""
    executable = shutil.which("redis-server")
    if executable is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server) and REDIS_URL is not set")
    port, password = free_port(), secrets.token_hex(16)
    folder = settings.data_dir / "redis"
    folder.mkdir(exist_ok=True)
    config = "\n".join([f"port {port}", "bind 127.0.0.1", f"requirepass {password}", 'save ""',
                        "appendonly no", f"dir {folder.resolve()}", "protected-mode yes", "loglevel warning",
                        f"logfile {(settings.log_dir / 'redis.log').resolve()}"])
    child = Child("redis", [executable, "-"], dict(os.environ))
    child.process = subprocess.Popen(child.argv, stdin=subprocess.PIPE, env=child.env, start_new_session=True,
                                     text=True)
    child.process.stdin.write(config + "\n")
    child.process.stdin.close()
    url = f"redis://:{password}@127.0.0.1:{port}/0"
    wait_for_redis(url, child)
    return child, url


def wait_for_redis(url: str, child: Child, timeout: float = 15.0) -> None:
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.exit_code() is not None:
            raise SystemExit(f"redis-server exited with code {child.exit_code()}")
        try:
            client.ping()
            return
        except redis.exceptions.ConnectionError:
            time.sleep(0.1)
    raise SystemExit("redis-server did not start within 15 s")


class Supervisor:
    """Starts the children, stops them all on SIGINT/SIGTERM, and reports (then stops) when one dies."""

    def __init__(self, children: list[Child]):
        self.children = children
        self.stopping = False

    def request_stop(self, signum: int, _frame: object) -> None:
        log.info("received %s, stopping", signal.Signals(signum).name)
        self.stopping = True

    def run(self) -> int:
        previous = {sig: signal.signal(sig, self.request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        exit_code = 0
        try:
            for child in self.children:
                if child.process is None:
                    child.start()
            while not self.stopping:
                died = next((c for c in self.children if c.exit_code() is not None), None)
                if died is not None:
                    print(f"webide: {died.name} exited unexpectedly with code {died.exit_code()}; stopping",
                          file=sys.stderr, flush=True)
                    exit_code = 1
                    break
                time.sleep(0.2)
        finally:
            self.stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return exit_code

    def stop_all(self) -> None:
        # Web and workers first, Redis last, so nothing loses its broker while shutting down.
        for child in reversed(self.children):
            child.terminate()
        deadline = time.monotonic() + STOP_GRACE_S
        for child in reversed(self.children):
            child.wait_or_kill(deadline)


def run_all(settings: Settings, host: str, port: int, workers: int, concurrency: int) -> int:
    """`webide run`: everything on one machine, until Ctrl+C or SIGTERM."""
    env = dict(os.environ, WEBIDE_DATA_DIR=str(Path(settings.data_dir).resolve()))
    children: list[Child] = []
    if not settings.redis_url:
        redis_child, url = start_private_redis(settings)
        children.append(redis_child)
        env.update(WEBIDE_REDIS_URL=url, REDIS_URL=url)
    children.append(Child("web", web_argv(settings, host, port), env))
    children += [Child(f"worker-{n}", worker_argv(concurrency, f"worker{n}@%h"), env) for n in range(1, workers + 1)]
    print(f"webide: serving on http://{host}:{port}/ (data in {settings.data_dir})", flush=True)
    return Supervisor(children).run()
