"""The one place where webide reads its configuration from the environment.

Every setting has a ``WEBIDE_`` prefixed variable (``REDIS_URL`` and ``DATABASE_URL`` are also accepted without the
prefix, as most hosting platforms set them that way).  Everything else in the package receives a :class:`Settings`
object instead of looking at ``os.environ`` itself.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

ASYNC_MODES = ("eventlet", "gevent", "threading")
TOOLCHAINS = ("auto", "arduino-cli", "arduino-builder")


class ConfigError(ValueError):
    """A configuration value is present but unusable; the message names the variable."""


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
    firmware_signing_key: str = ""  # PEM of the ECDSA P-256 image signing key (default: created in the data folder)
    # classroom console
    audit_retention_days: int = 365  # audit entries older than this are deleted by the worker (0 = keep forever)
    max_roster_rows: int = 2000  # rows of one roster CSV import
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
    def toolchain_dir(self) -> Path:
        return self.data_dir / "toolchain"

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
        if raw is None and f.name in ("redis_url", "database_url"):
            raw = environ.get(f.name.upper())
        if raw is not None and raw != "":
            values[f.name] = _parse(str(f.type), name, raw)
    settings = Settings(**values)
    if settings.async_mode not in ASYNC_MODES:
        raise ConfigError(f"WEBIDE_ASYNC_MODE must be one of {', '.join(ASYNC_MODES)}")
    if settings.toolchain not in TOOLCHAINS:
        raise ConfigError(f"WEBIDE_TOOLCHAIN must be one of {', '.join(TOOLCHAINS)}")
    return settings


def load_or_create_secret(data_dir: Path, name: str = "secret_key") -> str:
    """Return the secret stored in ``data_dir/name``, creating it (mode 0600) on first use.

    The key is generated once and kept, so sessions survive restarts; it is never a built-in default.
    """
    path = data_dir / name
    data_dir.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        # Write a private temp file, then link it into place: concurrent starters agree on one key.
        temp = data_dir / f".{name}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
        try:
            os.link(temp, path)
        except FileExistsError:
            pass
        finally:
            temp.unlink()
    return path.read_text().strip()


def settings_table() -> list[tuple[str, str]]:
    """(variable, default) pairs, used by `webide doctor` and the README."""
    defaults = Settings()
    return [(env_name(f.name), str(getattr(defaults, f.name))) for f in fields(Settings) if f.name != "extra"]
