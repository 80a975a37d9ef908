"""arduino-cli: the production toolchain (any installed core, e.g. ``esp32:esp32:esp32``).

What the driver relies on is read from arduino-cli 1.1.1's source, not assumed:

* Output: ``compile --json`` prints its document only when the process ends, so the text output is streamed and
  gcc's messages are parsed from it (``compiler.diagnostics``).
* Folders: the queries run with the service's own ``ARDUINO_*`` variables and ``HOME`` (``run_unconfined_query``),
  and the effective data/sketchbook folders come from ``config get directories.data|user`` — ``config dump``
  prints only keys set in a file or the environment (internal/go-configmap/json.go), nothing on a default
  install. Inside the sandbox the same folders are mounted read-only and named through the environment.
* ``inventory.yaml``: every command reads it from the data folder and exits with code 10 when it cannot create
  it (internal/inventory/inventory.go, internal/cli/cli.go); detection makes sure it exists and is readable,
  because the sandbox sees the data folder read-only.
* Core cache: with ``--build-path`` arduino-cli ignores the core cache entirely (commands/service_compile.go), so
  no build path is given. ``build_cache.path`` is a private per-build folder (the build lands in its
  ``sketches/<hash>``, a newly compiled core is archived in its ``cores/``) and the shared cache is a read-only
  ``build_cache.extra_paths`` entry, looked up after it (internal/arduino/builder/core.go).
* ``--jobs``: the default is one compiler per CPU, which on a large host exceeds the sandbox's process cap.
* ``python3``: Arduino-ESP32 3.x recipes run ``python3 esptool.py`` and ``python3 gen_esp32part.py`` on Linux
  (platform.txt ``*.pattern.linux``), and esptool imports pyserial. Inside the sandbox ``python3`` is the system's
  (``/usr/bin``), so detection checks that it can import ``serial`` whenever an installed platform's recipes call
  ``python3`` (Debian: python3-serial).
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import subprocess
from pathlib import Path
from typing import Any

from compiler.drivers.base import CompileJob, Driver, board_id, boards_sorted, fqbn_parts, read_properties
from compiler.errors import ToolchainNotFound
from compiler.models import Board, ToolchainInfo
from compiler.sandbox import SANDBOX_PATH, Mount, run_unconfined_query

logger = logging.getLogger(__name__)

SANDBOX_CLI_DIR = "/opt/arduino-cli"
SANDBOX_DATA_DIR = "/opt/arduino-data"
SANDBOX_USER_DIR = "/opt/arduino-user"
INVENTORY = "inventory.yaml"
# The compiled cores a build archived in its private build cache folder (core.go: <build_cache.path>/cores/<name>).
NEW_CORES = "cores"


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

    def config_get_argv(self, key: str) -> list[str]:
        """``arduino-cli config get <key> --json``: the effective value, defaults included."""
        return [self._path(), "config", "get", key, "--json"]

    def detect(self) -> ToolchainInfo:
        """Query version, folders, installed cores and their boards; require at least one core."""
        path = self._path()
        try:
            version = _json_query(self.version_argv())
            self._directories = {
                role: Path(_json_query(self.config_get_argv(f"directories.{role}"))) for role in ("data", "user")
            }
            platforms = _json_query(self.core_list_argv()).get("platforms") or []
            listing = _json_query(self.board_listall_argv()).get("boards") or []
        except (OSError, subprocess.SubprocessError, ValueError, AttributeError) as exc:
            raise ToolchainNotFound(f"{self.executable} is not usable: {_reason(exc)}") from exc
        if not platforms:
            raise ToolchainNotFound(f"{self.executable}: no cores installed in {self._directories['data']}")
        _require_readable_inventory(self._directories["data"])
        self._platform_versions = {p["id"]: str(p.get("installed_version", "")) for p in platforms if "id" in p}
        self._require_recipe_python()
        self._version = str(version.get("VersionString") or version.get("version") or "unknown")
        mcus = self._board_mcus()
        boards = boards_sorted(
            [
                Board(fqbn=b["fqbn"], name=b.get("name", b["fqbn"]), mcu=mcus.get(b["fqbn"], ""))
                for b in listing
                if "fqbn" in b
            ]
        )
        return ToolchainInfo(name=self.name, version=self._version, path=path, boards=boards)

    def compile_argv(self, job: CompileJob) -> list[str]:
        """``arduino-cli compile`` for one sketch folder (no ``--build-path``: see the module notes)."""
        argv = [
            self._executable_for(job),
            "compile",
            "--no-color",
            "--fqbn",
            job.fqbn,
            "--output-dir",
            job.output_dir,
            "--warnings",
            job.warnings,
            "--jobs",
            str(job.jobs),
        ]
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
        return {
            "toolchain": self.name,
            "toolchain_version": self._version,
            "platform_version": self._platform_versions.get(platform_id, "unknown"),
        }

    def sandbox_mounts(self) -> list[Mount]:
        """The executable's folder, the cores (data) and the sketchbook (user), all read-only."""
        mounts = [Mount(Path(self._path()).parent, SANDBOX_CLI_DIR)]
        visible = {"data": SANDBOX_DATA_DIR, "user": SANDBOX_USER_DIR}
        mounts += [Mount(folder, visible[role]) for role, folder in self._directories.items() if folder.is_dir()]
        return mounts

    def sandbox_env(self, job: CompileJob) -> dict[str, str]:
        """The folders as mounted, the private build cache, the shared core cache (read-only) and the parallelism."""
        env = {
            "ARDUINO_BUILD_CACHE_PATH": job.build_dir,
            "ARDUINO_BUILD_CACHE_EXTRA_PATHS": job.cache_dir,
            "ARDUINO_DIRECTORIES_DOWNLOADS": f"{job.build_dir}/downloads",
            "GOMAXPROCS": str(job.jobs),
            # without a build path every 10th compile counts itself in inventory.yaml and purges old caches
            # (service_compile.go maybePurgeBuildCache); the data folder is read-only and the cache private
            "ARDUINO_BUILD_CACHE_COMPILATIONS_BEFORE_PURGE": "0",
        }
        visible = {"data": SANDBOX_DATA_DIR, "user": SANDBOX_USER_DIR}
        for role, folder in self._directories.items():
            env[f"ARDUINO_DIRECTORIES_{role.upper()}"] = visible[role] if job.sandboxed else str(folder)
        return env

    def hidden_folders(self) -> list[tuple[str, str]]:
        """The cores and sketchbook folders, as the sandbox and the host name them."""
        pairs = [(SANDBOX_DATA_DIR, "<arduino-data>/"), (SANDBOX_USER_DIR, "<sketchbook>/")]
        placeholders = {"data": "<arduino-data>/", "user": "<sketchbook>/"}
        return pairs + [(str(folder), placeholders[role]) for role, folder in self._directories.items()]

    def harvest_core_cache(self, build_dir: Path, core_cache: Path | None) -> bool:
        """Move cores this build compiled into ``core_cache`` (when given); True when the shared core was reused.

        arduino-cli writes ``<build>/sketches/<hash>/core/core.a`` only when it compiled the core itself.
        """
        compiled = any(build_dir.glob("sketches/*/core/core.a"))
        if compiled and core_cache is not None:
            for archive in build_dir.glob(f"{NEW_CORES}/*/core.a"):
                target = core_cache / NEW_CORES / archive.parent.name
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(archive, target / "core.a")
        return not compiled

    def build_folder(self, job: CompileJob) -> str:
        """Without ``--build-path`` the build lands in ``<build_cache.path>/sketches/<MD5 of the sketch path, upper
        case>`` (commands/service_compile.go, internal/arduino/sketch/sketch.go Hash)."""
        return f"{job.build_dir}/sketches/{hashlib.md5(job.sketch_dir.encode()).hexdigest().upper()}"

    def _platform_folders(self) -> dict[str, Path]:
        """Installed platform ID -> its folder in the data folder (packages/<vendor>/hardware/<arch>/<version>)."""
        folders = {}
        for platform_id, version in self._platform_versions.items():
            vendor, _, arch = platform_id.partition(":")
            folders[platform_id] = self._directories["data"] / "packages" / vendor / "hardware" / arch / version
        return folders

    def _require_recipe_python(self) -> None:
        """Fail detection with the fix when a platform's recipes call python3 and the sandbox's has no pyserial."""
        users = [
            pid
            for pid, folder in self._platform_folders().items()
            if (folder / "platform.txt").is_file() and "python3 " in (folder / "platform.txt").read_text()
        ]
        if not users:
            return
        check = subprocess.run(
            ["python3", "-c", "import serial"],
            capture_output=True,
            text=True,
            timeout=60,
            env={"PATH": SANDBOX_PATH, "LANG": "C.UTF-8"},
        )
        if check.returncode != 0:
            raise ToolchainNotFound(
                f"the recipes of {', '.join(users)} run python3 with esptool, which needs "
                "pyserial, and the system python3 has none: apt-get install python3-serial"
            )

    def _board_mcus(self) -> dict[str, str]:
        """``build.mcu`` of every board of every installed platform, read from its boards.txt."""
        mcus: dict[str, str] = {}
        for platform_id, folder in self._platform_folders().items():
            boards_txt = folder / "boards.txt"
            if boards_txt.is_file():
                for key, value in read_properties(boards_txt).items():
                    board, _, rest = key.partition(".")
                    if rest == "build.mcu":
                        mcus[f"{platform_id}:{board}"] = value
        return mcus

    def _path(self) -> str:
        if self._resolved is None:
            found = shutil.which(self.executable)
            if not found:
                raise ToolchainNotFound(f"{self.executable} not found on PATH")
            self._resolved = Path(found).resolve()
        return str(self._resolved)

    def _executable_for(self, job: CompileJob) -> str:
        return f"{SANDBOX_CLI_DIR}/{Path(self._path()).name}" if job.sandboxed else self._path()


def _json_query(argv: list[str]) -> Any:
    return json.loads(run_unconfined_query(argv) or "{}")


def _reason(exc: Exception) -> str:
    """The tool's own message for a failed query (its stderr), else the exception."""
    stderr = getattr(exc, "stderr", None)
    return stderr.strip() if isinstance(stderr, str) and stderr.strip() else str(exc)


def _require_readable_inventory(data_dir: Path) -> None:
    """arduino-cli exits when it cannot read or create <data>/inventory.yaml; the sandbox cannot create it."""
    inventory = data_dir / INVENTORY
    if not inventory.is_file():
        raise ToolchainNotFound(
            f"arduino-cli has not created {inventory}: run any arduino-cli command once as a "
            f"user who may write to {data_dir}"
        )
    if not inventory.stat().st_mode & 0o004:
        raise ToolchainNotFound(f"{inventory} is not readable by the sandbox user: chmod a+r {inventory}")
