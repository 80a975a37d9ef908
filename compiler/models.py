"""Value types shared by the compiler library: configuration, inputs and results."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Resource caps applied to every sandboxed toolchain run and to sketch uploads."""

    cpu_seconds: float = 120
    wall_seconds: float = 180
    memory_bytes: int = 1536 * MIB
    max_processes: int = 64
    max_output_bytes: int = 4 * MIB
    max_disk_bytes: int = 512 * MIB  # build and temporary files of one run together
    max_files: int = 32
    max_sketch_bytes: int = 512 * 1024


@dataclass(frozen=True)
class CompilerConfig:
    """Everything the compiler needs to know; built once by the service from its own configuration."""

    work_root: Path
    cache_root: Path
    toolchain: str = "auto"
    arduino_cli: str = "arduino-cli"
    arduino_builder: str = "arduino-builder"
    arduino_hardware_dirs: tuple[Path, ...] = ()
    sandbox: bool = True
    limits: Limits = field(default_factory=Limits)
    build_cache_bytes: int = 2 * 1024**3
    core_cache_bytes: int = 1 * 1024**3
    agent_library: Path | None = None
    agent_version: str = ""
    warnings: str = "default"
    # Free space a build must leave on the work and cache file systems (on top of its own disk limit), so the
    # service's database, saves and firmware downloads keep working whatever builds do.
    min_free_bytes: int = 1024 * MIB


@dataclass(frozen=True)
class SketchFile:
    """One tab of a sketch: a bare file name and its text."""

    name: str
    content: str


@dataclass(frozen=True)
class Board:
    """A board a toolchain can build for; ``mcu`` is its ``build.mcu`` (e.g. esp32s3), "" when unknown."""

    fqbn: str
    name: str
    mcu: str = ""


@dataclass(frozen=True)
class ToolchainInfo:
    """An installed toolchain, its version and the boards it can build."""

    name: str
    version: str
    path: str
    boards: list[Board]


@dataclass
class Diagnostic:
    """One compiler message pinned to a sketch file position."""

    file: str
    line: int | None
    column: int | None
    severity: str
    message: str
    context: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (used by the API and by the build cache)."""
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "severity": self.severity,
            "message": self.message,
            "context": list(self.context),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Diagnostic:
        """Rebuild a diagnostic stored by :meth:`to_dict`."""
        return cls(
            file=data["file"],
            line=data["line"],
            column=data["column"],
            severity=data["severity"],
            message=data["message"],
            context=list(data.get("context", [])),
        )


@dataclass
class BuildResult:
    """The outcome of one build; compile errors and killed runs are results, not exceptions."""

    status: str
    message: str
    diagnostics: list[Diagnostic] = field(default_factory=list)
    sizes: dict[str, Any] | None = None
    artifacts: dict[str, Path] = field(default_factory=dict)
    md5: str = ""
    sha256: str = ""
    size: int = 0
    cache_hit: bool = False
    core_cache_hit: bool = False
    mcu: str = ""
    cache_key: str = ""
    toolchain: str = ""
    duration_s: float = 0.0
    log: str = ""

    @property
    def ok(self) -> bool:
        """True when the build produced an application image."""
        return self.status == "success"
