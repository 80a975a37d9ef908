"""Debian's arduino-builder: real Arduino compiles for the AVR boards installed from the distribution."""

from __future__ import annotations

import logging
import re
import shutil
import subprocess
from pathlib import Path

from compiler.drivers.base import CompileJob, Driver, boards_in, boards_sorted, fqbn_parts
from compiler.errors import ToolchainNotFound
from compiler.models import Board, ToolchainInfo
from compiler.sandbox import run_unconfined_query

logger = logging.getLogger(__name__)

DEFAULT_HARDWARE_DIRS = (Path("/usr/share/arduino/hardware"),)
BUILDER_SHARE_DIR = Path("/usr/share/arduino-builder")
# Debian's arduino-core-avr 1.8.7 with gcc-avr 5.4 lacks DECIMAL_DIG in <float.h> as the core expects it.
AVR_CPP_EXTRA_FLAGS = "-DDECIMAL_DIG=17"


class ArduinoBuilderDriver(Driver):
    """Drives ``arduino-builder -compile`` with the core cache given by ``-build-cache``."""

    name = "arduino-builder"

    def __init__(self, executable: str = "arduino-builder", hardware_dirs: tuple[Path, ...] = ()) -> None:
        self.executable = executable
        self.hardware_dirs = tuple(hardware_dirs) or tuple(d for d in DEFAULT_HARDWARE_DIRS if d.is_dir())

    def detect(self) -> ToolchainInfo:
        """Find the executable and read the boards of every platform in the hardware folders."""
        path = shutil.which(self.executable)
        if not path:
            raise ToolchainNotFound(f"{self.executable} not found on PATH")
        boards = boards_sorted([b for platform in self._platform_dirs() for b in _platform_boards(platform)])
        if not boards:
            raise ToolchainNotFound(f"{self.executable}: no boards in hardware folders {self.hardware_dirs}")
        return ToolchainInfo(name=self.name, version=self._version(path), path=path, boards=boards)

    def compile_argv(self, job: CompileJob) -> list[str]:
        """``arduino-builder -compile …`` for one sketch; properties become ``-prefs`` entries."""
        argv = [self.executable, "-compile", "-logger", "human"]
        for folder in (*self.hardware_dirs, BUILDER_SHARE_DIR):
            argv += ["-hardware", str(folder)]
        argv += ["-tools", str(BUILDER_SHARE_DIR)]
        for library in job.libraries:
            argv += ["-libraries", library]
        argv += [
            "-fqbn",
            job.fqbn,
            "-build-path",
            job.build_dir,
            "-build-cache",
            job.cache_dir,
            "-warnings",
            job.warnings,
        ]
        for key, value in job.build_properties.items():
            argv += ["-prefs", f"{key}={value}"]
        argv.append(f"{job.sketch_dir}/{job.sketch_name}.ino")
        return argv

    def server_properties(self, fqbn: str) -> dict[str, str]:
        """The Debian AVR core needs DECIMAL_DIG defined to build."""
        parts = fqbn_parts(fqbn)
        return {"compiler.cpp.extra_flags": AVR_CPP_EXTRA_FLAGS} if parts and parts["arch"] == "avr" else {}

    def cache_identity(self, fqbn: str) -> dict[str, str]:
        """Builder version, the platform.txt version of the board's platform and the gcc version it names."""
        parts = fqbn_parts(fqbn)
        platform = self._platform_dir(parts["vendor"], parts["arch"]) if parts else None
        identity = {"toolchain": self.name, "toolchain_version": self._version(shutil.which(self.executable) or "")}
        if platform:
            identity["platform_version"] = _platform_version(platform)
            identity["compiler_version"] = _compiler_version(platform)
        return identity

    def _platform_dirs(self) -> list[Path]:
        return sorted(p.parent for d in self.hardware_dirs for p in d.glob("*/*/boards.txt"))

    def _platform_dir(self, vendor: str, arch: str) -> Path | None:
        for folder in self.hardware_dirs:
            if (folder / vendor / arch / "boards.txt").is_file():
                return folder / vendor / arch
        return None

    def _version(self, path: str) -> str:
        try:
            first_line = run_unconfined_query([path, "-version"]).splitlines()[0]
        except (OSError, subprocess.SubprocessError, IndexError):
            return "unknown"
        match = re.search(r"(\d+(?:\.\d+)+)", first_line)
        return match.group(1) if match else first_line.strip()


def _platform_boards(platform: Path) -> list[Board]:
    return boards_in(platform / "boards.txt", f"{platform.parent.name}:{platform.name}")


def _platform_version(platform: Path) -> str:
    for line in (platform / "platform.txt").read_text(errors="replace").splitlines():
        if line.startswith("version="):
            return line.partition("=")[2].strip()
    return "unknown"


def _compiler_version(platform: Path) -> str:
    compiler = None
    for line in (platform / "platform.txt").read_text(errors="replace").splitlines():
        if line.startswith("compiler.c.cmd="):
            compiler = line.partition("=")[2].strip()
    if not compiler or not shutil.which(compiler):
        return "unknown"
    try:
        return run_unconfined_query([compiler, "-dumpversion"]).strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
