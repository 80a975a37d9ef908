"""The small interface every toolchain driver implements, plus helpers they share."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path

from compiler.models import Board, ToolchainInfo
from compiler.sandbox import Mount

FQBN_PATTERN = re.compile(
    r"^(?P<vendor>[A-Za-z0-9_.-]+):(?P<arch>[A-Za-z0-9_.-]+):(?P<board>[A-Za-z0-9_.-]+)"
    r"(?::(?P<options>[A-Za-z0-9_.-]+=[A-Za-z0-9_.-]*(?:,[A-Za-z0-9_.-]+=[A-Za-z0-9_.-]*)*))?$"
)
# The agent library says how it is linked in, so the flags live next to the code they must match:
# extras/esp32_link_flags.txt wraps the mangled setup()/loop() symbols (they have C++ linkage in every Arduino
# core), and extras/webide_ota_agent.cpp is the one-line sketch source that makes the builder compile the library.
AGENT_LINK_FLAGS_FILE = Path("extras/esp32_link_flags.txt")
AGENT_SOURCE = Path("extras/webide_ota_agent.cpp")
# The build property that carries the agent's link flags. A --build-property REPLACES a platform property
# (arduino-cli internal/arduino/builder/builder.go), and Arduino-ESP32 3.0.x's compiler.c.elf.extra_flags holds
# the map file, the -L paths of the SDK's libraries and linker scripts and --wrap=esp_panic_handler. The one
# property that is empty in the platform and still part of recipe.c.combine.pattern is compiler.libraries.ldflags
# (arduino-cli itself only appends to it, for precompiled libraries: builder/libraries.go).
AGENT_LINK_PROPERTY = "compiler.libraries.ldflags"


@dataclass
class CompileJob:
    """One compile as the toolchain sees it: every path is the one visible to the toolchain process."""

    sketch_name: str
    sketch_dir: str
    build_dir: str
    output_dir: str
    cache_dir: str
    fqbn: str
    warnings: str = "default"
    libraries: list[str] = field(default_factory=list)
    build_properties: dict[str, str] = field(default_factory=dict)
    sandboxed: bool = True
    jobs: int = 1


class Driver(ABC):
    """A toolchain: how to detect it, which boards it builds, and the argv of a compile."""

    name: str

    @abstractmethod
    def detect(self) -> ToolchainInfo:
        """Probe the installed toolchain; raise ToolchainNotFound when it is missing or has no boards."""

    @abstractmethod
    def compile_argv(self, job: CompileJob) -> list[str]:
        """The argv (never a shell string) that compiles ``job``."""

    @abstractmethod
    def cache_identity(self, fqbn: str) -> dict[str, str]:
        """Versions that change the output for ``fqbn`` (toolchain, core/platform, compiler)."""

    def server_properties(self, fqbn: str) -> dict[str, str]:
        """Build properties the server always sets for ``fqbn`` (never user-supplied)."""
        return {}

    def sandbox_mounts(self) -> list[Mount]:
        """Toolchain folders outside /usr that the sandbox must show read-only."""
        return []

    def sandbox_env(self, job: CompileJob) -> dict[str, str]:
        """Environment variables the toolchain needs inside the sandbox."""
        return {}

    def uses_core_cache(self) -> bool:
        """True when the toolchain reads/writes a compiled-core cache folder."""
        return True

    def harvest_core_cache(self, build_dir: Path, core_cache: Path | None) -> bool:
        """After a successful build: copy newly compiled cores from ``build_dir`` into ``core_cache`` (when given)
        and say whether the build reused a cached core. Toolchains that write the cache folder directly keep
        this default."""
        return False

    def hidden_folders(self) -> list[tuple[str, str]]:
        """(toolchain folder, placeholder) pairs rewritten in the output a user sees."""
        return []

    def build_folder(self, job: CompileJob) -> str:
        """The folder (as the toolchain sees it) where the build products land: ``job.build_dir`` or below it."""
        return job.build_dir


def read_properties(path: Path) -> dict[str, str]:
    """``key=value`` lines of an Arduino properties file (boards.txt, platform.txt); comments skipped."""
    properties: dict[str, str] = {}
    for line in path.read_text(errors="replace").splitlines():
        key, sep, value = line.strip().partition("=")
        if sep and key and not key.startswith("#"):
            properties[key] = value.strip()
    return properties


def boards_in(boards_txt: Path, platform_id: str) -> list[Board]:
    """The boards of one boards.txt, each with its name and ``build.mcu``.

    A board whose chip is chosen by a menu (the Mega's ``cpu`` menu) is listed with that menu's first option in its
    FQBN, as the IDE preselects it: arduino-builder has no default and fails without it (``-mmcu=`` empty).
    """
    properties = read_properties(boards_txt)
    boards = []
    for key, name in properties.items():
        if key.count(".") != 1 or not key.endswith(".name"):
            continue
        board = key[:-5]
        mcu, options = properties.get(f"{board}.build.mcu", ""), ""
        choice = first_option_setting(properties, board, "build.mcu")
        if choice is not None:  # the menu decides the chip (the board-level value may be a placeholder)
            menu, option, mcu = choice
            options = f":{menu}={option}"
        boards.append(Board(fqbn=f"{platform_id}:{board}{options}", name=name, mcu=mcu))
    return boards


def first_option_setting(properties: dict[str, str], board: str, setting: str) -> tuple[str, str, str] | None:
    """(menu, option, value) of the first menu option of ``board`` that sets ``setting``, or None."""
    prefix = f"{board}.menu."
    for key, value in properties.items():
        if key.startswith(prefix) and key.endswith(f".{setting}"):
            menu, option = key[len(prefix) : -len(setting) - 1].split(".", 1)
            return menu, option, value
    return None


def fqbn_parts(fqbn: str) -> re.Match[str] | None:
    """Split an FQBN into vendor/arch/board/options, or None when it is malformed."""
    return FQBN_PATTERN.match(fqbn)


def board_id(fqbn: str) -> str:
    """The vendor:arch:board part of an FQBN (menu options removed)."""
    return ":".join(fqbn.split(":")[:3])


def artifact_candidates(folder: Path, sketch_name: str) -> dict[str, Path]:
    """Map the files a toolchain leaves in ``folder`` to artifact roles (only those that exist)."""
    stem = f"{sketch_name}.ino"
    names = {
        "app_bin": f"{stem}.bin",
        "elf": f"{stem}.elf",
        "hex": f"{stem}.hex",
        "partitions_bin": f"{stem}.partitions.bin",
        "bootloader_bin": f"{stem}.bootloader.bin",
        "merged_bin": f"{stem}.merged.bin",
    }
    return {role: folder / name for role, name in names.items() if (folder / name).is_file()}


def boards_sorted(boards: list[Board]) -> list[Board]:
    """Boards in a stable display order."""
    return sorted(boards, key=lambda board: board.fqbn)
