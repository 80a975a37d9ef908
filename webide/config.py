"""The one place where webide reads its configuration from the environment.

Every setting has a ``WEBIDE_`` prefixed variable (``REDIS_URL`` and ``DATABASE_URL`` are also accepted without the
prefix, as most hosting platforms set them that way).  Everything else in the package receives a :class:`Settings`
object instead of looking at ``os.environ`` itself.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

ASYNC_MODES = ("eventlet", "gevent", "threading")
TOOLCHAINS = ("auto", "arduino-cli", "arduino-builder")
# A broker address a bot accepts (the agent's validBrokerUrl in bootstrap_firmware/WebideAgent/src/core/
# live_session.cpp): mqtt[s]://host[:port][/], no credentials or path, at most 128 bytes.
BOT_BROKER_URL_RE = re.compile(r"mqtts?://(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::(\d{1,5}))?/?")
MAX_BOT_BROKER_URL_BYTES = 128


def is_bot_broker_url(url: str) -> bool:
    match = BOT_BROKER_URL_RE.fullmatch(url)
    port = match.group(1) if match else None
    return bool(match) and len(url.encode()) <= MAX_BOT_BROKER_URL_BYTES and (port is None or 0 < int(port) < 65536)


class ConfigError(ValueError):
    """A configuration value is present but unusable; the message names the variable."""


@dataclass(frozen=True)
class S3Access:
    """How to reach an S3-compatible store; empty values leave boto3's own defaults (AWS, instance credentials)."""

    endpoint_url: str
    region: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str = field(repr=False)
    timeout_s: int


# Settings also read from the variable names hosting platforms and the AWS tools use (after the WEBIDE_ name).
FALLBACK_VARIABLES = {
    "redis_url": ("REDIS_URL",),
    "database_url": ("DATABASE_URL",),
    "s3_endpoint_url": ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
    "s3_region": ("AWS_REGION", "AWS_DEFAULT_REGION"),
    "s3_access_key_id": ("AWS_ACCESS_KEY_ID",),
    "s3_secret_access_key": ("AWS_SECRET_ACCESS_KEY",),
    "s3_session_token": ("AWS_SESSION_TOKEN",),
}


@dataclass(frozen=True)
class Settings:
    """Typed, validated service settings. Field docs double as the README's configuration table."""

    data_dir: Path = Path("instance")  # everything the service writes lives here
    database_url: str = ""  # default: sqlite:///<data_dir>/webide.sqlite3
    redis_url: str = ""  # default: `webide run` starts a private redis-server
    async_mode: str = "eventlet"  # eventlet | gevent | threading
    max_request_bytes: int = 2 * 1024 * 1024
    secure_cookies: bool = False  # set true behind HTTPS
    proxy_count: int = 0  # reverse proxies in front of the app whose X-Forwarded-* headers are trusted
    public_url: str = ""  # base URL devices use, e.g. http://192.168.1.10:5000 (default: from the request)
    # login throttling
    login_free_attempts: int = 5  # per account and address, or per account and device cookie
    login_unknown_free_attempts: int = 10  # per account, all clients without a device cookie together
    login_ip_free_attempts: int = 100  # distinct accounts failed from one address by clients without a device cookie
    login_max_lockout_s: int = 900
    api_token_ttl_s: int = 30 * 24 * 3600
    # compile service
    toolchain: str = "auto"
    arduino_cli: str = ""  # default: the one `webide toolchain install` put in the data folder, else PATH
    arduino_builder: str = "arduino-builder"
    arduino_cli_releases: str = ""  # where `webide toolchain install` gets arduino-cli (a mirror; default: official)
    sandbox: bool = True
    agent_library: str = ""  # OTA agent linked into ESP32 builds (default: bootstrap_firmware/WebideAgent)
    build_cpu_s: int = 120
    build_wall_s: int = 180
    build_memory_bytes: int = 1536 * 1024 * 1024
    build_max_processes: int = 64
    build_max_output_bytes: int = 4 * 1024 * 1024
    build_max_disk_bytes: int = 512 * 1024 * 1024  # build folder and temporary files of one build together
    min_free_bytes: int = 1024**3  # builds are refused unless this much disk stays free after one more build
    sketch_max_files: int = 32
    sketch_max_bytes: int = 512 * 1024
    build_cache_bytes: int = 2 * 1024**3
    core_cache_bytes: int = 1024**3
    builds_global_limit: int = 8
    builds_per_class_limit: int = 4
    build_stale_s: int = 60  # a running build whose worker is silent this long is marked failed
    default_fqbn: str = "esp32:esp32:esp32"
    # editor
    sketch_keep_autosaves: int = 200  # older autosaves are pruned; saves, builds, restores and imports stay
    clang_format: str = "clang-format"  # Auto Format (Ctrl+T)
    # devices
    device_offline_s: int = 120
    signed_url_ttl_s: int = 600
    x_accel_redirect_prefix: str = ""  # e.g. /protected-artifacts: nginx serves firmware bytes (empty = the app does)
    # artifact store (shared by web servers and workers)
    artifact_store: str = ""  # s3://bucket/prefix, or a folder (default: <data_dir>/artifacts)
    artifact_store_timeout_s: int = 5  # connect and read timeout of each S3 request (two attempts at most)
    s3_endpoint_url: str = ""  # also AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL (default: AWS itself)
    s3_region: str = ""  # also AWS_REGION or AWS_DEFAULT_REGION
    s3_access_key_id: str = field(default="", repr=False)  # also AWS_ACCESS_KEY_ID
    s3_secret_access_key: str = field(default="", repr=False)  # also AWS_SECRET_ACCESS_KEY
    s3_session_token: str = field(default="", repr=False)  # also AWS_SESSION_TOKEN
    # operations
    metrics_token: str = ""  # bearer token for /metrics (empty: only loopback clients not behind a proxy may scrape)
    # live device link (MQTT)
    mqtt_url: str = ""  # an existing broker, with the bridge's credentials (default: `webide run` starts mosquitto)
    mqtt_host: str = "127.0.0.1"  # address the private broker listens on (0.0.0.0 lets bots on the LAN reach it)
    mqtt_port: int = 1884  # port of the private broker (1883 is left to a system Mosquitto, which Debian starts)
    mqtt_reload_s: int = 2  # how often the bridge brings the broker's password and ACL files up to date
    # the broker as bots reach it, mqtt[s]://host:port, told in heartbeat replies (default: derived, see broker.py)
    mqtt_public_url: str = ""
    device_command_ttl_s: int = 300  # a command the bot has not acknowledged by then is timed out
    device_log_lines_per_s: int = 20  # serial lines taken from one bot per second (a burst of 4× that is allowed)
    device_log_line_bytes: int = 512  # longer serial lines are cut
    firmware_signing_key: str = ""  # PEM of the ECDSA P-256 image signing key (default: created in the data folder)
    # classroom console
    audit_retention_days: int = 365  # audit entries older than this are deleted by the worker (0 = keep forever)
    max_roster_rows: int = 2000  # rows of one roster CSV import
    # class dashboard: each bot's sensor series (numeric heartbeat fields), kept in Redis, oldest dropped first
    sensor_retention_s: int = 3600  # samples older than this are dropped
    sensor_max_samples: int = 720  # per bot (an hour of heartbeats every 5 s)
    sensor_max_bytes: int = 256 * 1024  # per bot
    # set by tests and `webide run`; not an environment setting
    extra: Mapping[str, object] = field(default_factory=dict)

    @property
    def database_uri(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'webide.sqlite3').resolve()}"

    @property
    def artifacts_dir(self) -> Path:
        return self.data_dir / "artifacts"

    @property
    def work_dir(self) -> Path:
        return self.data_dir / "work"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    @property
    def mqtt_dir(self) -> Path:
        """The broker's generated configuration, password and ACL files."""
        return self.data_dir / "mosquitto"

    @property
    def toolchain_dir(self) -> Path:
        return self.data_dir / "toolchain"

    def s3_access(self) -> S3Access:
        return S3Access(
            endpoint_url=self.s3_endpoint_url,
            region=self.s3_region,
            access_key_id=self.s3_access_key_id,
            secret_access_key=self.s3_secret_access_key,
            session_token=self.s3_session_token,
            timeout_s=self.artifact_store_timeout_s,
        )

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)


def _parse(field_type: str, name: str, raw: str) -> object:
    if field_type == "bool":
        lowered = raw.strip().lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{name} must be true or false, got {raw!r}")
    if field_type == "int":
        try:
            value = int(raw)
        except ValueError:
            raise ConfigError(f"{name} must be a whole number, got {raw!r}") from None
        if value < 0:
            raise ConfigError(f"{name} must not be negative, got {raw!r}")
        return value
    if field_type == "Path":
        return Path(raw)
    return raw


def env_name(field_name: str) -> str:
    return "WEBIDE_" + field_name.upper()


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from ``environ`` (default ``os.environ``), validating every value."""
    environ = os.environ if environ is None else environ
    values: dict[str, object] = {}
    for f in fields(Settings):
        if f.name == "extra":
            continue
        name = env_name(f.name)
        raw = environ.get(name)
        for fallback in FALLBACK_VARIABLES.get(f.name, ()):
            raw = environ.get(fallback) if raw is None else raw
        if raw is not None and raw != "":
            values[f.name] = _parse(str(f.type), name, raw)
    settings = Settings(**values)
    if settings.async_mode not in ASYNC_MODES:
        raise ConfigError(f"WEBIDE_ASYNC_MODE must be one of {', '.join(ASYNC_MODES)}")
    if settings.mqtt_url and not settings.mqtt_url.startswith(("mqtt://", "mqtts://")):
        raise ConfigError("WEBIDE_MQTT_URL must start with mqtt:// or mqtts:// (TLS)")
    if settings.mqtt_public_url and not is_bot_broker_url(settings.mqtt_public_url):
        raise ConfigError(
            "WEBIDE_MQTT_PUBLIC_URL must look like mqtt://host:1883 or mqtts://host:8883 (no user, password or path; "
            "at most 128 characters): bots log in with their own credentials"
        )
    if settings.toolchain not in TOOLCHAINS:
        raise ConfigError(f"WEBIDE_TOOLCHAIN must be one of {', '.join(TOOLCHAINS)}")
    check_artifact_store(settings)
    return settings


def check_artifact_store(settings: Settings) -> None:
    """An s3:// store needs a bucket; nginx's X-Accel-Redirect can only serve a local folder."""
    if not settings.artifact_store.startswith("s3://"):
        return
    if not settings.artifact_store.removeprefix("s3://").split("/", 1)[0]:
        raise ConfigError(
            f"WEBIDE_ARTIFACT_STORE must name a bucket: s3://bucket/prefix, got {settings.artifact_store!r}"
        )
    if settings.x_accel_redirect_prefix:
        raise ConfigError("WEBIDE_X_ACCEL_REDIRECT_PREFIX needs a local artifact store; unset it with an s3:// store")


def load_or_create_secret(data_dir: Path, name: str = "secret_key") -> str:
    """Return the secret stored in ``data_dir/name``, creating it (mode 0600) on first use.

    The key is generated once and kept, so sessions survive restarts; it is never a built-in default.
    """
    path = data_dir / name
    data_dir.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        write_private_once(path, secrets.token_hex(32).encode())
    return path.read_text().strip()


def write_private_once(path: Path, content: bytes) -> None:
    """Create ``path`` (mode 0600) holding ``content`` unless it exists: a private temp file is linked into place, so
    processes starting at once agree on one file and nobody ever reads a half-written one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}"
    descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(content)
    try:
        os.link(temp, path)
    except FileExistsError:
        pass
    finally:
        temp.unlink()


def settings_table() -> list[tuple[str, str]]:
    """(variable, default) pairs, used by `webide doctor` and the README."""
    defaults = Settings()
    return [(env_name(f.name), str(getattr(defaults, f.name))) for f in fields(Settings) if f.name != "extra"]
