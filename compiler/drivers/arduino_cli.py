"""arduino-cli: the production toolchain (any installed core, e.g. ``esp32:esp32:esp32``).

Output: ``compile --json`` only prints its JSON document (with the diagnostics) when the process ends, so a
user would stare at a silent terminal for the whole build. The text output is what the compiler prints as
it goes, so it is streamed and gcc's messages are parsed from it (``compiler.diagnostics``). The daemon's
gRPC ``Compile`` stream would also work but needs a long-lived daemon per worker outside the sandbox.

Core cache: ``--build-cache-path`` is deprecated since 1.0.4; the ``build_cache.path`` setting is given via
its environment variable ``ARDUINO_BUILD_CACHE_PATH``. With ``--build-path`` set, arduino-cli only caches
compiled cores there (``cores/<hash>/core.a``), which is exactly the shared cache wanted.
"""
from __future__ import annotations

import json
import logging
import shutil
import subprocess
from pathlib import Path
from typing import Any

from compiler.drivers.base import CompileJob, Driver, board_id, boards_sorted, fqbn_parts
from compiler.errors import ToolchainNotFound
from compiler.models import Board, ToolchainInfo
from compiler.sandbox import Mount, run_unconfined_query

logger = logging.getLogger(__name__)

SANDBOX_CLI_DIR = "/opt/arduino-cli"
SANDBOX_DATA_DIR = "/opt/arduino-data"
SANDBOX_USER_DIR = "/opt/arduino-user"


class ArduinoCliDriver(Driver):
    """Drives ``arduino-cli compile`` with server-chosen build properties only."""

    name = "arduino-cli"

    def __init__(self, executable: str = "arduino-cli") -> None:
        self.executable = executable
        self._resolved: Path | None = None
        self._directories: dict[str, Path] = {}
        self._platform_versions: dict[str, str] = {}
        self._version = "unknown"

    def version_argv(self) -> list[str]:
        """``arduino-cli version --json``."""
        return [self._path(), "version", "--json"]

    def board_listall_argv(self) -> list[str]:
        """``arduino-cli board listall --json``: every board of every installed core."""
        return [self._path(), "board", "listall", "--json"]

    def core_list_argv(self) -> list[str]:
        """``arduino-cli core list --json``: installed platforms and their versions."""
        return [self._path(), "core", "list", "--json"]

    def config_dump_argv(self) -> list[str]:
        """``arduino-cli config dump --json``: where cores (data) and libraries (user) are installed."""
        return [self._path(), "config", "dump", "--json"]

    def detect(self) -> ToolchainInfo:
        """Query version, installed cores, their boards and data folders; require at least one core."""
        path = self._path()
        try:
            version = _json_query(self.version_argv())
            platforms = _json_query(self.core_list_argv()).get("platforms") or []
            listing = _json_query(self.board_listall_argv()).get("boards") or []
            config = _json_query(self.config_dump_argv()).get("config") or {}
        except (OSError, subprocess.SubprocessError, ValueError) as exc:
            raise ToolchainNotFound(f"{self.executable} is not usable: {exc}") from exc
        if not platforms:
            raise ToolchainNotFound(f"{self.executable}: no cores installed")
        self._version = str(version.get("VersionString") or version.get("version") or "unknown")
        self._platform_versions = {p["id"]: str(p.get("installed_version", "")) for p in platforms if "id" in p}
        self._directories = _directories(config)
        boards = boards_sorted([Board(fqbn=b["fqbn"], name=b.get("name", b["fqbn"])) for b in listing if "fqbn" in b])
        return ToolchainInfo(name=self.name, version=self._version, path=path, boards=boards)

    def compile_argv(self, job: CompileJob) -> list[str]:
        """``arduino-cli compile`` for one sketch folder."""
        argv = [self._executable_for(job), "compile", "--no-color", "--fqbn", job.fqbn,
                "--build-path", job.build_dir, "--output-dir", job.output_dir, "--warnings", job.warnings]
        for library in job.libraries:
            argv += ["--library", library]
        for key, value in job.build_properties.items():
            argv += ["--build-property", f"{key}={value}"]
        argv.append(job.sketch_dir)
        return argv

    def cache_identity(self, fqbn: str) -> dict[str, str]:
        """arduino-cli version and the installed version of the board's platform."""
        parts = fqbn_parts(fqbn)
        platform_id = f"{parts['vendor']}:{parts['arch']}" if parts else board_id(fqbn)
        return {"toolchain": self.name, "toolchain_version": self._version,
                "platform_version": self._platform_versions.get(platform_id, "unknown")}

    def sandbox_mounts(self) -> list[Mount]:
        """The executable's folder, the installed cores (data) and the sketchbook (user), all read-only."""
        mounts = [Mount(Path(self._path()).parent, SANDBOX_CLI_DIR)]
        if "data" in self._directories:
            mounts.append(Mount(self._directories["data"], SANDBOX_DATA_DIR))
        if "user" in self._directories:
            mounts.append(Mount(self._directories["user"], SANDBOX_USER_DIR))
        return mounts

    def sandbox_env(self, job: CompileJob) -> dict[str, str]:
        """Point arduino-cli at the mounted folders and at the core cache."""
        env = {"ARDUINO_BUILD_CACHE_PATH": job.cache_dir,
               "ARDUINO_DIRECTORIES_DOWNLOADS": f"{job.build_dir}/.downloads"}
        visible = {"data": SANDBOX_DATA_DIR, "user": SANDBOX_USER_DIR}
        for role, folder in self._directories.items():
            env[f"ARDUINO_DIRECTORIES_{role.upper()}"] = visible[role] if job.sandboxed else str(folder)
        return env

    def _path(self) -> str:
        if self._resolved is None:
            found = shutil.which(self.executable)
            if not found:
                raise ToolchainNotFound(f"{self.executable} not found on PATH")
            self._resolved = Path(found).resolve()
        return str(self._resolved)

    def _executable_for(self, job: CompileJob) -> str:
        return f"{SANDBOX_CLI_DIR}/{Path(self._path()).name}" if job.sandboxed else self._path()


def _json_query(argv: list[str]) -> dict[str, Any]:
    parsed = json.loads(run_unconfined_query(argv) or "{}")
    return parsed if isinstance(parsed, dict) else {}


def _directories(config: dict[str, Any]) -> dict[str, Path]:
    directories = config.get("directories") or {}
    found: dict[str, Path] = {}
    for role in ("data", "user"):
        value = directories.get(role)
        if value and Path(value).is_dir():
            found[role] = Path(value)
    return found
