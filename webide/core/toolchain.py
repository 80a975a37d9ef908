"""The compiler library configured from the service's settings (one instance per process)."""

from __future__ import annotations

from pathlib import Path

from compiler import Board, Compiler, CompilerConfig, Limits
from compiler.toolchain_install import installed_arduino_cli

from ..config import Settings
from .errors import BadRequest
from .firmware.images import esp_chip

BUNDLED_AGENT = Path(__file__).resolve().parents[2] / "bootstrap_firmware" / "WebideAgent"

_compilers: dict[CompilerConfig, Compiler] = {}


def compiler_config(settings: Settings) -> CompilerConfig:
    return CompilerConfig(
        work_root=settings.work_dir,
        cache_root=settings.cache_dir,
        toolchain=settings.toolchain,
        arduino_cli=arduino_cli_command(settings),
        arduino_builder=settings.arduino_builder,
        sandbox=settings.sandbox,
        limits=Limits(
            cpu_seconds=settings.build_cpu_s,
            wall_seconds=settings.build_wall_s,
            memory_bytes=settings.build_memory_bytes,
            max_processes=settings.build_max_processes,
            max_output_bytes=settings.build_max_output_bytes,
            max_disk_bytes=settings.build_max_disk_bytes,
            max_files=settings.sketch_max_files,
            max_sketch_bytes=settings.sketch_max_bytes,
        ),
        build_cache_bytes=settings.build_cache_bytes,
        core_cache_bytes=settings.core_cache_bytes,
        min_free_bytes=settings.min_free_bytes,
        agent_library=agent_library(settings),
        agent_version=agent_version(agent_library(settings)),
    )


def arduino_cli_command(settings: Settings) -> str:
    """WEBIDE_ARDUINO_CLI if set, else the one `webide toolchain install` put in the data folder, else the PATH's."""
    if settings.arduino_cli:
        return settings.arduino_cli
    installed = installed_arduino_cli(settings.toolchain_dir)
    return str(installed.resolve()) if installed else "arduino-cli"


def agent_library(settings: Settings) -> Path | None:
    library = Path(settings.agent_library) if settings.agent_library else BUNDLED_AGENT
    return library.resolve() if library.is_dir() else None


def agent_version(library: Path | None) -> str:
    """The agent library's version (library.properties), part of every ESP32 build's cache key."""
    if library is None:
        return ""
    properties = library / "library.properties"
    if not properties.is_file():
        return ""
    for line in properties.read_text().splitlines():
        if line.startswith("version="):
            return line.partition("=")[2].strip()
    return ""


def get_compiler(settings: Settings) -> Compiler:
    """One Compiler per configuration and process (it caches toolchain detection)."""
    config = compiler_config(settings)
    if config not in _compilers:
        _compilers[config] = Compiler(config)
    return _compilers[config]


def available_boards(settings: Settings) -> list[Board]:
    return get_compiler(settings).boards()


def check_board(fqbn: str, settings: Settings) -> str:
    """The FQBN to build ``fqbn`` with, if an installed toolchain can; else 400 naming the installed boards.

    A board whose chip is picked by a menu gets that menu's default option when none is given
    (``arduino:avr:mega`` → ``arduino:avr:mega:cpu=atmega2560``).
    """
    board = get_compiler(settings).board(fqbn)
    if board is None:
        installed = [board.fqbn for board in available_boards(settings)]
        raise BadRequest(
            f"No installed toolchain can build {fqbn!r}. Installed boards: {', '.join(installed) or 'none'}",
            installed=installed,
        )
    return board.fqbn if fqbn.count(":") < board.fqbn.count(":") else fqbn


def default_board(settings: Settings) -> str:
    """The board of a new bot: WEBIDE_DEFAULT_FQBN when installed, else the first installed board that updates over
    the air, else an Uno or any installed board (so a new bot can always compile)."""
    installed = available_boards(settings)
    if get_compiler(settings).board(settings.default_fqbn) is not None or not installed:
        return settings.default_fqbn
    over_the_air = [board for board in installed if esp_chip(board.mcu)]
    common = [board for board in installed if board.fqbn.endswith(":uno")]  # the classroom classic
    return (over_the_air or common or installed)[0].fqbn
