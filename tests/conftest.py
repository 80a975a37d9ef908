"""Shared fixtures: a real Redis, a real database file per test, the app, clients, accounts, live processes."""

from __future__ import annotations

import gc
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
import redis
import requests

from webide import create_app
from webide.config import Settings
from webide.core.registry import (
    NewDevice,
    create_device,
    create_user,
    get_or_create_class,
)
from webide.database import migrate_database
from webide.extensions import db
from webide.runner import Child, bridge_password, free_port, private_mosquitto

ROOT = Path(__file__).resolve().parent.parent
AVR_FQBN = "arduino:avr:uno"
ESP32_FQBN = "esp32:esp32:esp32"
CSRF_RE = re.compile(r'name="csrf-token" content="([^"]+)"')


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """REDIS_URL when set (it must point at a scratch database: tests flush it); else a private redis-server."""
    if os.environ.get("REDIS_URL"):
        yield os.environ["REDIS_URL"]
        return
    with private_redis(tmp_path_factory.mktemp("redis")) as (_process, url):
        yield url


@contextmanager
def private_redis(folder: Path) -> Iterator[tuple[subprocess.Popen, str]]:
    """A redis-server of the caller's own on a free loopback port, stopped (even if it was paused) afterwards."""
    executable = shutil.which("redis-server")
    assert executable, "redis-server is not installed (the README's test command installs it)"
    port = free_port()
    argv = [executable, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = subprocess.Popen([*argv, "--dir", str(folder)], stdout=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1)
        for _ in range(200):
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
        yield process, url
    finally:
        os.kill(process.pid, signal.SIGCONT)
        process.terminate()
        process.wait(10)


class PostgresServer:
    """A private PostgreSQL from Debian's packages: its own cluster in a temp folder, reachable on a unix socket only.

    initdb refuses to run as root, so under root the cluster belongs to the `postgres` system user (Debian's package
    creates it). Durability settings are off: a test database never needs to survive a crash.
    """

    def __init__(self, bin_dir: Path, folder: Path):
        self.bin_dir, self.folder, self.port = bin_dir, folder, free_port()
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            shutil.chown(folder, self.user, self.user)
        self.run("initdb", "-D", str(folder / "data"), "-U", "webide", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = (
            f"-k {folder} -p {self.port} -c listen_addresses='' -c fsync=off -c synchronous_commit=off "
            "-c full_page_writes=off -c max_connections=200"
        )
        self.run("pg_ctl", "-D", str(folder / "data"), "-l", str(folder / "server.log"), "-o", options, "-w", "start")

    def run(self, program: str, *args: str) -> None:
        subprocess.run(
            [str(self.bin_dir / program), *args],
            check=True,
            user=self.user,
            cwd=self.folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            timeout=60,
        )

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://webide@/{database}?host={self.folder}&port={self.port}"

    def admin(self, statement: str) -> None:
        import psycopg

        with psycopg.connect(
            host=str(self.folder), port=self.port, user="webide", dbname="postgres", autocommit=True
        ) as connection:
            connection.execute(statement)

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop")


def postgres_bin_dir() -> Path | None:
    """The newest installed PostgreSQL's programs (Debian keeps them in /usr/lib/postgresql/<major>/bin)."""
    found = [path.parent for path in Path("/usr/lib/postgresql").glob("*/bin/initdb")]
    return max(found, key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0, default=None)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """Started only when a test asks for PostgreSQL (see ``db_backend``)."""
    bin_dir = postgres_bin_dir()
    assert bin_dir, "PostgreSQL is not installed (the README's test command installs Debian's postgresql package)"
    folder = Path(tempfile.mkdtemp(prefix="webide-pg-"))
    server = PostgresServer(bin_dir, folder)
    yield server
    close_dropped_connections()
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Every test that uses the database runs once on SQLite and once on a private PostgreSQL, unless it chose its
    backend itself or is marked ``sqlite_only`` (it looks inside the SQLite file)."""
    if "db_backend" not in metafunc.fixturenames or metafunc.definition.get_closest_marker("sqlite_only"):
        return
    chosen = any("db_backend" in str(mark.args[:1]) for mark in metafunc.definition.iter_markers("parametrize"))
    if not chosen:
        metafunc.parametrize("db_backend", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def db_backend(request: pytest.FixtureRequest) -> str:
    return getattr(request, "param", "sqlite")


@pytest.fixture
def database_url(db_backend: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """ "" (SQLite in the test's data folder) or a fresh, empty PostgreSQL database dropped after the test."""
    if db_backend == "sqlite":
        yield ""
        return
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = f"test_{os.urandom(6).hex()}"
    server.admin(f"CREATE DATABASE {name}")
    yield server.url(name)
    close_dropped_connections()
    server.admin(f"DROP DATABASE {name} WITH (FORCE)")


def close_dropped_connections() -> None:
    """Close now the pooled connections of apps the test made and let go, before their database is dropped.

    psycopg warns when it closes a connection during garbage collection; those apps are gone, so that is expected
    here, and it must not turn up later as an error in whichever test the collector happens to run in."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def traversable(path: Path) -> Path:
    """Let the unprivileged sandbox user walk down to ``path`` (pytest makes its temp folders 0700)."""
    for folder in [path, *path.parents]:
        if folder == Path(tempfile.gettempdir()):
            break
        folder.chmod(folder.stat().st_mode | 0o111)
    return path


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return traversable(tmp_path) / "instance"


@pytest.fixture
def settings(data_dir: Path, redis_url: str, database_url: str) -> Settings:
    redis.Redis.from_url(redis_url).flushdb()
    return Settings(
        data_dir=data_dir,
        redis_url=redis_url,
        database_url=database_url,
        async_mode="threading",
        toolchain="arduino-builder",
        default_fqbn=AVR_FQBN,
        login_max_lockout_s=60,
        mqtt_port=free_port(),
        mqtt_reload_s=1,
    )


@pytest.fixture
def app(settings: Settings):  # type: ignore[no-untyped-def]
    application = create_app(settings)
    application.config["TESTING"] = True
    migrate_database(application)
    # No app context is held across requests: each request gets its own, as in production.
    yield application
    with application.app_context():
        db.engine.dispose()


@pytest.fixture
def client(app):  # type: ignore[no-untyped-def]
    return app.test_client()


def csrf_token(client) -> str:  # type: ignore[no-untyped-def]
    response = client.get("/api/auth/csrf")
    assert response.status_code == 200
    return response.get_json()["csrf_token"]


class Accounts:
    """Creates principals and logs clients in, the way a person or a script would."""

    def __init__(self, app):  # type: ignore[no-untyped-def]
        self.app = app

    def instructor(
        self, username: str = "teacher", password: str = "correct horse", classes: tuple[str, ...] = ()
    ) -> None:
        with self.app.app_context():
            user = create_user(username, password, "instructor")
            for name in classes:
                get_or_create_class(name, user)
            db.session.commit()

    def admin(self, username: str = "admin", password: str = "admin secret") -> None:
        with self.app.app_context():
            create_user(username, password, "admin")
            db.session.commit()

    def bot(
        self, product_id: str = "bot_001", password: str = "12345", class_name: str | None = None, fqbn: str = AVR_FQBN
    ) -> NewDevice:
        with self.app.app_context():
            created = create_device(product_id, password, "", fqbn, class_name)
            db.session.commit()
            return created

    def browser_login(self, client, identifier: str, password: str, mode: str = "device"):  # type: ignore[no-untyped-def]
        return client.post(
            "/login",
            data={"mode": mode, "identifier": identifier, "password": password, "csrf_token": csrf_token(client)},
        )

    def api_token(self, client, **credentials: str) -> str:  # type: ignore[no-untyped-def]
        response = client.post("/api/auth/login", json=credentials)
        assert response.status_code == 200, response.get_json()
        return response.get_json()["token"]


@pytest.fixture
def accounts(app) -> Accounts:  # type: ignore[no-untyped-def]
    return Accounts(app)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def service_env(settings: Settings) -> dict[str, str]:
    """The environment a separately started web server or worker needs to share this test's data."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEBIDE_")}
    env.update(
        WEBIDE_DATA_DIR=str(settings.data_dir),
        REDIS_URL=settings.redis_url,
        DATABASE_URL=settings.database_url,
        WEBIDE_ASYNC_MODE="eventlet",
        WEBIDE_TOOLCHAIN=settings.toolchain,
        WEBIDE_DEFAULT_FQBN=settings.default_fqbn,
        PYTHONUNBUFFERED="1",
    )
    return env


@contextmanager
def running(argv: list[str], env: dict[str, str], log_path: Path) -> Iterator[subprocess.Popen]:
    """A child process in its own session, stopped (and its whole group killed) afterwards."""
    with log_path.open("w") as log:
        process = subprocess.Popen(
            argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            with suppress(subprocess.TimeoutExpired):
                process.wait(20)
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_for_http(url: str, process: subprocess.Popen, log_path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"server exited early:\n{log_path.read_text()[-3000:]}"
        try:
            requests.get(url, timeout=5)
            return
        except requests.RequestException:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout} s:\n{log_path.read_text()[-3000:]}")


def scratch_app(tmp_path_factory: pytest.TempPathFactory, redis_url: str, redis_db: int, name: str):  # type: ignore[no-untyped-def]
    """A migrated app on a fresh data folder and its own Redis database, for a module- or session-wide service."""
    folder = traversable(tmp_path_factory.mktemp(name))
    url = redis_url.rsplit("/", 1)[0] + f"/{redis_db}"
    redis.Redis.from_url(url).flushdb()
    settings = Settings(
        data_dir=folder / "instance",
        redis_url=url,
        async_mode="threading",
        toolchain="arduino-builder",
        default_fqbn=AVR_FQBN,
    )
    application = create_app(settings)
    migrate_database(application)
    return folder, settings, application


@pytest.fixture
def bot_session(app, accounts):  # type: ignore[no-untyped-def]
    """A browser session of bot_001 (password 12345) that sends its CSRF token like the editor page does."""
    accounts.bot("bot_001", "12345")
    client = app.test_client()
    accounts.browser_login(client, "bot_001", "12345")
    client.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token(client)
    return client


class LiveService:
    def __init__(self, base_url: str, settings: Settings, worker: subprocess.Popen, log_dir: Path):
        self.base_url = base_url
        self.settings = settings
        self.worker = worker
        self.log_dir = log_dir


@contextmanager
def live_processes(settings: Settings, log_dir: Path, **env_overrides: str) -> Iterator[LiveService]:
    """The real thing: gunicorn (eventlet) and a Celery worker as separate processes on the given data."""
    env = dict(service_env(settings), **env_overrides)
    port = free_port()
    web = [sys.executable, "-m", "webide.cli", "web", "--port", str(port)]
    worker = [sys.executable, "-m", "webide.cli", "worker", "--concurrency", "2"]
    with (
        running(web, env, log_dir / "web.log") as web_process,
        running(worker, env, log_dir / "worker.log") as worker_process,
    ):
        base_url = f"http://127.0.0.1:{port}"
        wait_for_http(base_url + "/login", web_process, log_dir / "web.log")
        wait_for_worker(worker_process, log_dir / "worker.log")
        yield LiveService(base_url, settings, worker_process, log_dir)


@pytest.fixture
def live_service(app, settings: Settings, tmp_path: Path) -> Iterator[LiveService]:  # type: ignore[no-untyped-def]
    with live_processes(settings, tmp_path) as service:
        yield service


def wait_for_worker(process: subprocess.Popen, log_path: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"worker exited early:\n{log_path.read_text()[-3000:]}"
        if "ready." in log_path.read_text():
            return
        time.sleep(0.2)
    raise AssertionError(f"worker not ready within {timeout} s:\n{log_path.read_text()[-3000:]}")


class Broker:
    """A real Mosquitto started the way `webide run` starts it (generated configuration, password and ACL files)."""

    def __init__(self, app, settings: Settings):  # type: ignore[no-untyped-def]
        self.app, self.settings = app, settings
        self.child: Child | None = None
        self.bridge_url = ""

    @property
    def port(self) -> int:
        return self.settings.mqtt_port

    def start(self) -> None:
        from webide.core.broker import BrokerFiles

        with self.app.app_context():
            BrokerFiles(self.settings.mqtt_dir).write(bridge_password(self.settings))
        self.settings.log_dir.mkdir(parents=True, exist_ok=True)
        self.child, self.bridge_url = private_mosquitto(self.settings)
        self.child.start()
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            assert self.child.exit_code() is None, (self.settings.log_dir / "mosquitto.log").read_text()
            with suppress(OSError):
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            time.sleep(0.05)
        raise AssertionError("mosquitto did not start")

    def stop(self) -> None:
        if self.child is not None:
            self.child.terminate()
            self.child.wait_or_kill(time.monotonic() + 10)
            self.child = None


@pytest.fixture
def broker(app, settings: Settings) -> Iterator[Broker]:  # type: ignore[no-untyped-def]
    """A private Mosquitto for this test, holding the test database's bots."""
    running_broker = Broker(app, settings)
    running_broker.start()
    try:
        yield running_broker
    finally:
        running_broker.stop()
