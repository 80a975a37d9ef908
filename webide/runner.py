"""Process supervision for `webide run`, and the exec entry points of `webide web` / `webide worker`.

The web server and the workers are started as fresh interpreters (gunicorn, celery) rather than forks of this one,
so the async library of the web server (eventlet or gevent) patches the standard library before anything else is
imported, and the worker never carries the web server's async machinery.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import redis

from .config import Settings, load_or_create_secret
from .core.broker import BRIDGE_USERNAME, CONFIG_FILE, BrokerFiles

log = logging.getLogger(__name__)

STOP_GRACE_S = 15.0
READY_TIMEOUT_S = 60.0
LOG_ROTATE_BYTES = 16 * 1024**2
REDIS_MAX_MEMORY = "512mb"  # the replay history of 30 bots at their 4 MB cap is 120 MB
GUNICORN_WORKER_CLASS = {
    "eventlet": ["-k", "eventlet"],
    "gevent": ["-k", "gevent"],
    "threading": ["-k", "gthread", "--threads", "200"],
}


def web_argv(settings: Settings, host: str, port: int) -> list[str]:
    """gunicorn with one worker: Socket.IO keeps connection state in that process."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        *GUNICORN_WORKER_CLASS[settings.async_mode],
        "-w",
        "1",
        "--bind",
        f"{host}:{port}",
        "--graceful-timeout",
        "10",
        "--timeout",
        "120",
        "--access-logfile",
        "-",
        "--forwarded-allow-ips",
        "127.0.0.1",
        "webide.wsgi:app",
    ]


def worker_argv(concurrency: int, hostname: str | None = None) -> list[str]:
    argv = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "webide.worker",
        "worker",
        "--loglevel",
        "INFO",
        "--concurrency",
        str(concurrency),
        "--without-gossip",
        "--without-mingle",
    ]
    return argv + (["--hostname", hostname] if hostname else [])


def web_env(env: dict[str, str]) -> dict[str, str]:
    """The web server's environment: eventlet's own deprecation notice, printed on import, is left out of its log."""
    quiet = "ignore::Warning:gunicorn.workers.geventlet"
    return dict(env, PYTHONWARNINGS=",".join(filter(None, [env.get("PYTHONWARNINGS"), quiet])))


def serve_web(settings: Settings, host: str, port: int) -> None:
    os.execve(sys.executable, web_argv(settings, host, port), web_env(dict(os.environ)))


def serve_worker(settings: Settings, concurrency: int, hostname: str | None) -> None:
    os.execv(sys.executable, worker_argv(concurrency, hostname))


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@dataclass
class RestartPolicy:
    """Exponential backoff between restarts; ``max_deaths`` deaths within ``window_s`` stop the whole service."""

    first_delay_s: float = 1.0
    max_delay_s: float = 30.0
    max_deaths: int = 5
    window_s: float = 120.0
    stable_after_s: float = 60.0  # a child that ran this long starts again from the first delay


@dataclass
class Child:
    """One supervised process; its output goes to ``log_path`` (appended), its standard input gets ``stdin_text``."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path | None = None
    stdin_text: str | None = None
    process: subprocess.Popen | None = field(default=None, repr=False)
    started_at: float = 0.0
    deaths: list[float] = field(default_factory=list)
    delay_s: float = 0.0
    restart_at: float | None = None

    def start(self) -> None:
        # A session of its own: Ctrl+C reaches only the supervisor, which stops children in order.
        output = open_log(self.log_path) if self.log_path else None
        try:
            self.process = subprocess.Popen(
                self.argv,
                env=self.env,
                start_new_session=True,
                stdout=output,
                stderr=subprocess.STDOUT if output else None,
                text=True,
                stdin=subprocess.PIPE if self.stdin_text is not None else None,
            )
        finally:
            if output:
                output.close()
        if self.stdin_text is not None:
            self.process.stdin.write(self.stdin_text)
            self.process.stdin.close()
        self.started_at, self.restart_at = time.monotonic(), None

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

    def schedule_restart(self, policy: RestartPolicy, now: float) -> bool:
        """Note a death and when to start again; False when the child keeps dying (too many deaths too fast)."""
        self.deaths = [t for t in self.deaths if now - t < policy.window_s] + [now]
        if len(self.deaths) >= policy.max_deaths:
            return False
        ran_for = now - self.started_at
        self.delay_s = (
            policy.first_delay_s
            if ran_for >= policy.stable_after_s or not self.delay_s
            else min(self.delay_s * 2, policy.max_delay_s)
        )
        self.restart_at = now + self.delay_s
        return True


def open_log(path: Path):  # type: ignore[no-untyped-def]
    """Append to a child's log; a log grown past LOG_ROTATE_BYTES is kept as ``<name>.1`` and started afresh."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.stat().st_size > LOG_ROTATE_BYTES:
        os.replace(path, path.with_name(path.name + ".1"))
    return path.open("a")


def _signal_group(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signum)


def say(message: str) -> None:
    """One line on the console of `webide run` (the children's own output goes to their log files)."""
    print(f"webide: {message}", file=sys.stderr, flush=True)


def private_redis(settings: Settings) -> tuple[Child, str]:
    """A redis-server bound to loopback with a random password, given its configuration on stdin.

    It keeps an append-only file, so a Redis that dies and is restarted by the supervisor still has the queued
    builds and the event log; each `webide run` starts with an empty one (interrupted builds are failed at start).
    """
    executable = shutil.which("redis-server")
    if executable is None:
        raise SystemExit("redis-server is not installed (apt-get install redis-server) and REDIS_URL is not set")
    port, password = free_port(), secrets.token_hex(16)
    folder = settings.data_dir / "redis"
    folder.mkdir(exist_ok=True)
    for leftover in ("appendonlydir", "appendonly.aof"):
        shutil.rmtree(folder / leftover, ignore_errors=True) if (folder / leftover).is_dir() else (
            folder / leftover
        ).unlink(missing_ok=True)
    config = "\n".join(
        [
            f"port {port}",
            "bind 127.0.0.1",
            f"requirepass {password}",
            'save ""',
            "appendonly yes",
            "appendfsync everysec",
            f"dir {folder.resolve()}",
            "protected-mode yes",
            "loglevel warning",
            f"logfile {(settings.log_dir / 'redis.log').resolve()}",
            # Bounded memory: only keys with a lifetime (the replay history of the live terminal) may
            # be evicted, never the build queue.
            f"maxmemory {REDIS_MAX_MEMORY}",
            "maxmemory-policy volatile-lru",
        ]
    )
    child = Child("redis", [executable, "-"], dict(os.environ), settings.log_dir / "redis.log", config + "\n")
    return child, f"redis://:{password}@127.0.0.1:{port}/0"


def start_private_redis(settings: Settings) -> tuple[Child, str]:
    """Start :func:`private_redis` and wait until it answers."""
    child, url = private_redis(settings)
    child.start()
    wait_for_redis(url, child)
    return child, url


def wait_for_redis(url: str, child: Child, timeout: float = 15.0) -> None:
    client = redis.Redis.from_url(url, socket_connect_timeout=1)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if child.exit_code() is not None:
            raise SystemExit(f"redis-server exited with code {child.exit_code()} (see {child.log_path})")
        try:
            client.ping()
            return
        except redis.exceptions.ConnectionError:
            time.sleep(0.1)
    raise SystemExit(f"redis-server did not start within {timeout:.0f} s")


def bridge_argv() -> list[str]:
    return [sys.executable, "-m", "webide", "bridge"]


def bridge_password(settings: Settings) -> str:
    """The bridge's broker password, generated once and kept in the data folder (like the secret key)."""
    return load_or_create_secret(settings.data_dir, "mqtt_bridge_password")


def private_mosquitto(settings: Settings) -> tuple[Child, str]:
    """A Mosquitto of its own on ``WEBIDE_MQTT_HOST``:``WEBIDE_MQTT_PORT`` with the generated configuration.

    The password and ACL files must already be written (:meth:`BrokerFiles.write`, which needs the database); the
    bridge keeps them up to date and makes the broker reread them. Returns the child and the bridge's broker URL.
    """
    executable = shutil.which("mosquitto") or next(
        (path for path in ("/usr/sbin/mosquitto", "/sbin/mosquitto") if os.access(path, os.X_OK)), None
    )
    if executable is None:
        raise SystemExit("mosquitto is not installed (apt-get install mosquitto) and WEBIDE_MQTT_URL is not set")
    files = BrokerFiles(settings.mqtt_dir)
    config = files.config_text(settings.mqtt_host, settings.mqtt_port)
    # Started as root, Mosquitto would switch to its own system user, which cannot read the 0600 files.
    config += f"user {pwd.getpwuid(os.getuid()).pw_name}\n"
    settings.mqtt_dir.mkdir(parents=True, exist_ok=True)
    config_path = settings.mqtt_dir / CONFIG_FILE
    config_path.write_text(config)
    argv = [executable, "-c", str(config_path.resolve())]
    child = Child("mosquitto", argv, dict(os.environ), settings.log_dir / "mosquitto.log")
    local = "127.0.0.1" if settings.mqtt_host in ("0.0.0.0", "::", "") else settings.mqtt_host
    return child, f"mqtt://{BRIDGE_USERNAME}:{bridge_password(settings)}@{local}:{settings.mqtt_port}"


def private_broker_port_free(settings: Settings) -> bool:
    """Whether the private broker's port can be had; if not (e.g. Debian's own mosquitto service holds 1883), say so
    and go on without the live link: the bots' HTTP path does not need it."""
    try:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as mosquitto does: TIME_WAIT is no owner
            probe.bind((settings.mqtt_host, settings.mqtt_port))
        return True
    except OSError as error:
        say(
            f"port {settings.mqtt_port} on {settings.mqtt_host} is taken ({error.strerror}), so the live device link "
            "(MQTT) is off and bots use HTTP only; free the port (Debian's mosquitto service: systemctl disable --now "
            "mosquitto), or set WEBIDE_MQTT_PORT, or WEBIDE_MQTT_URL for an existing broker"
        )
        return False


def wait_for_port(host: str, port: int, server: Child, timeout: float, cancelled: Callable[[], bool]) -> bool:
    """True once ``port`` accepts connections; False if ``server`` exits first, on ``cancelled()`` or timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and server.exit_code() is None and not cancelled():
        try:
            socket.create_connection((host, port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.2)
    return False


class Supervisor:
    """Starts the children, restarts one that dies (with backoff), and stops them all when asked (SIGINT/SIGTERM)
    or when a child keeps dying."""

    def __init__(
        self, children: list[Child], policy: RestartPolicy | None = None, on_ready: Callable[[], None] | None = None
    ):
        self.children = children
        self.policy = policy or RestartPolicy()
        self.on_ready = on_ready
        self.stopping = False

    def request_stop(self, signum: int, _frame: object) -> None:
        say(f"received {signal.Signals(signum).name}, stopping")
        self.stopping = True

    def run(self) -> int:
        """Supervise until asked to stop (exit code 0) or until a child keeps dying (1)."""
        previous = {sig: signal.signal(sig, self.request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            for child in self.children:
                if child.process is None:
                    child.start()
                say(f"started {child.name} (pid {child.process.pid})")
            if self.on_ready:
                self.on_ready()
            while not self.stopping:
                if not self.heal(time.monotonic()):
                    return 1
                time.sleep(0.2)
            return 0
        finally:
            self.stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def heal(self, now: float) -> bool:
        """Restart the children that are due; report each death once. False: one keeps dying."""
        for child in self.children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    child.start()
                continue
            code = child.exit_code()
            if code is None:
                continue
            _signal_group(child.process.pid, signal.SIGKILL)  # its leftovers (pool processes) go with it
            where = f" (log: {child.log_path})" if child.log_path else ""
            if not child.schedule_restart(self.policy, now):
                say(
                    f"{child.name} exited with code {code} and keeps dying ({len(child.deaths)} times in "
                    f"{self.policy.window_s:.0f} s){where}; stopping"
                )
                return False
            say(f"{child.name} exited with code {code}; restarting it in {child.delay_s:g} s{where}")
        return True

    def stop_all(self) -> None:
        # Bridge, workers and web first, Mosquitto and Redis last, so nothing loses its broker while shutting down.
        for child in reversed(self.children):
            child.terminate()
        deadline = time.monotonic() + STOP_GRACE_S
        for child in reversed(self.children):
            child.wait_or_kill(deadline)


def run_all(settings: Settings, host: str, port: int, workers: int, concurrency: int, announce: str = "") -> int:
    """`webide run`: everything on one machine, until Ctrl+C or SIGTERM; ``announce`` is printed last, once serving."""
    env = dict(os.environ, WEBIDE_DATA_DIR=str(Path(settings.data_dir).resolve()))
    children: list[Child] = []
    if not settings.redis_url:
        redis_child, url = start_private_redis(settings)
        children.append(redis_child)
        env.update(WEBIDE_REDIS_URL=url, REDIS_URL=url)
    live_link = bool(settings.mqtt_url) or private_broker_port_free(settings)
    if not settings.mqtt_url and live_link:
        mosquitto, mqtt_url = private_mosquitto(settings)
        children.append(mosquitto)
        env.update(WEBIDE_MQTT_URL=mqtt_url)
    logs = settings.log_dir
    web = Child("web", web_argv(settings, host, port), web_env(env), logs / "web.log")
    children.append(web)
    children += [
        Child(f"worker-{n}", worker_argv(concurrency, f"worker{n}@%h"), env, logs / f"worker-{n}.log")
        for n in range(1, workers + 1)
    ]
    if live_link:
        children.append(Child("bridge", bridge_argv(), env, logs / "bridge.log"))

    supervisor = Supervisor(children)

    def ready() -> None:
        local = host if host not in ("0.0.0.0", "::") else "127.0.0.1"
        if wait_for_port(local, port, web, READY_TIMEOUT_S, lambda: supervisor.stopping):
            say(f"serving on http://{host}:{port}/ (data in {settings.data_dir}, logs in {logs})")
        elif not supervisor.stopping:
            say(f"the web server does not answer on port {port} yet (log: {logs / 'web.log'})")
        if announce and not supervisor.stopping:
            print(announce, flush=True)

    supervisor.on_ready = ready
    return supervisor.run()
