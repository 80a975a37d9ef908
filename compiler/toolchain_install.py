"""Installing the ESP32 toolchain into a folder the service owns: arduino-cli and the ``esp32:esp32`` core, pinned.

Layout of that folder (``<data folder>/toolchain``)::

    arduino-cli/arduino-cli           wrapper: runs the pinned release with the configuration below
    arduino-cli/arduino-cli.yaml      directories in this folder, the Espressif board index, no update checks
    arduino-cli/release-<version>/    the release archive's content (its ``arduino-cli`` binary)
    arduino15/  sketchbook/  downloads/   arduino-cli's data (cores, tools), user and download folders

The build sandbox mounts the wrapper's folder read-only, so the wrapper, the configuration and the binary travel
together; the sandbox's ``ARDUINO_DIRECTORIES_*`` variables override the configured folders (flags, then environment,
then configuration file, as arduino-cli documents).
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from compiler.download import DEFAULT_LIMITS, Limits, install_archive

logger = logging.getLogger(__name__)

ARDUINO_CLI_VERSION = "1.1.1"
ESP32_CORE = "esp32:esp32"
ESP32_CORE_VERSION = "3.0.7"
ESP32_INDEX_URL = "https://espressif.github.io/arduino-esp32/package_esp32_index.json"
RELEASES = "https://downloads.arduino.cc/arduino-cli"
ARCHIVE_NAME = "arduino-cli_{version}_{platform}.tar.gz"

# SHA-256 of each pinned release archive. To move to another version: set ARDUINO_CLI_VERSION and copy the lines for
# Linux_64bit and Linux_ARM64 from that release's `arduino-cli_<version>_checksums.txt` (published next to the
# archives). A machine whose archive has no pin here is told so and nothing is downloaded.
ARCHIVE_SHA256 = {
    ("1.1.1", "Linux_64bit"): "2b807add5c3a518861bfd4d3e78de9e02b0a2723df3d90386df2200a767349c4",
}
MACHINE_PLATFORMS = {"x86_64": "Linux_64bit", "amd64": "Linux_64bit", "aarch64": "Linux_ARM64", "arm64": "Linux_ARM64"}

QUERY_TIMEOUT_S = 60
CORE_INSTALL_TIMEOUT_S = 3600


class ToolchainInstallError(Exception):
    """The toolchain could not be installed; the message says why (one line)."""


@dataclass(frozen=True)
class Pins:
    """What to install: arduino-cli's version and archive checksums, the core and its board index."""

    arduino_cli_version: str = ARDUINO_CLI_VERSION
    core: str = ESP32_CORE
    core_version: str = ESP32_CORE_VERSION
    index_url: str = ESP32_INDEX_URL
    releases: str = RELEASES  # base URL of the release archives (the official one, or a mirror)
    checksums: dict[tuple[str, str], str] = field(default_factory=lambda: dict(ARCHIVE_SHA256))

    def archive(self, machine: str | None = None) -> tuple[str, str]:
        """(URL, SHA-256) of the release archive for this machine."""
        machine = machine or platform.machine()
        release_platform = MACHINE_PLATFORMS.get(machine.lower())
        if release_platform is None:
            raise ToolchainInstallError(f"arduino-cli has no Linux release for this machine ({machine})")
        checksum = self.checksums.get((self.arduino_cli_version, release_platform))
        if checksum is None:
            raise ToolchainInstallError(
                f"no SHA-256 is pinned for arduino-cli {self.arduino_cli_version} {release_platform}; "
                "add it to ARCHIVE_SHA256 in compiler/toolchain_install.py"
            )
        name = ARCHIVE_NAME.format(version=self.arduino_cli_version, platform=release_platform)
        return f"{self.releases.rstrip('/')}/{name}", checksum


DEFAULT_PINS = Pins()


@dataclass(frozen=True)
class Layout:
    """Where everything lives inside the service's toolchain folder."""

    root: Path

    @property
    def cli_dir(self) -> Path:
        return self.root / "arduino-cli"

    @property
    def wrapper(self) -> Path:
        return self.cli_dir / "arduino-cli"

    @property
    def config_file(self) -> Path:
        return self.cli_dir / "arduino-cli.yaml"

    def release_dir(self, version: str) -> Path:
        return self.cli_dir / f"release-{version}"

    def directories(self) -> dict[str, Path]:
        return {"data": self.root / "arduino15", "user": self.root / "sketchbook", "downloads": self.root / "downloads"}


@dataclass(frozen=True)
class Status:
    """What is installed in the toolchain folder (``None``: not installed)."""

    arduino_cli: Path | None
    arduino_cli_version: str | None
    core_version: str | None

    @property
    def complete(self) -> bool:
        return self.arduino_cli_version is not None and self.core_version is not None


def installed_arduino_cli(root: Path) -> Path | None:
    """The wrapper of an installed arduino-cli under ``root``, if there is one."""
    wrapper = Layout(root).wrapper
    return wrapper if wrapper.is_file() and os.access(wrapper, os.X_OK) else None


def version_argv(wrapper: Path) -> list[str]:
    return [str(wrapper), "version", "--json"]


def core_list_argv(wrapper: Path) -> list[str]:
    return [str(wrapper), "core", "list", "--json"]


def update_index_argv(wrapper: Path) -> list[str]:
    return [str(wrapper), "core", "update-index"]


def core_install_argv(wrapper: Path, pins: Pins) -> list[str]:
    return [str(wrapper), "core", "install", f"{pins.core}@{pins.core_version}"]


def toolchain_status(root: Path, pins: Pins = DEFAULT_PINS) -> Status:
    """Ask the installed arduino-cli (if any) for its version and the installed version of the pinned core."""
    wrapper = installed_arduino_cli(root)
    if wrapper is None:
        return Status(None, None, None)
    try:
        version = _query(version_argv(wrapper))
        platforms = _query(core_list_argv(wrapper)).get("platforms") or []
    except ToolchainInstallError as error:
        logger.warning("%s", error)
        return Status(wrapper, None, None)
    cli_version = str(version.get("VersionString") or version.get("version") or "unknown")
    core = next((p for p in platforms if isinstance(p, dict) and p.get("id") == pins.core), None)
    return Status(wrapper, cli_version, str(core.get("installed_version")) if core else None)


def install_toolchain(
    root: Path,
    pins: Pins = DEFAULT_PINS,
    limits: Limits = DEFAULT_LIMITS,
    say: Callable[[str], None] = lambda _line: None,
    core_timeout_s: float = CORE_INSTALL_TIMEOUT_S,
) -> Status:
    """Install the pinned arduino-cli and core under ``root`` (what is already there at its pin is kept).

    Raises :class:`compiler.download.DownloadError` (including ``HostUnreachable`` and ``ChecksumMismatch``) or
    :class:`ToolchainInstallError`; a failed step leaves what was installed before untouched.
    """
    layout = Layout(root)
    for folder in (root, *layout.directories().values()):
        folder.mkdir(parents=True, exist_ok=True)
    binary = layout.release_dir(pins.arduino_cli_version) / "arduino-cli"
    changed = not binary.is_file()
    if changed:
        url, checksum = pins.archive()
        install_archive(url, checksum, layout.release_dir(pins.arduino_cli_version), limits)
        if not binary.is_file():
            raise ToolchainInstallError(f"{url} has no arduino-cli executable at its top level")
    write_configuration(layout, pins)
    remove_other_releases(layout, pins.arduino_cli_version)
    status = toolchain_status(root, pins)
    if status.core_version != pins.core_version:
        say(f"installing the {pins.core} core {pins.core_version} (several hundred MB; this takes a few minutes)")
        _run_step(update_index_argv(layout.wrapper), core_timeout_s)
        _run_step(core_install_argv(layout.wrapper, pins), core_timeout_s)
        status, changed = toolchain_status(root, pins), True
    if changed:
        make_readable(root)
    return status


def write_configuration(layout: Layout, pins: Pins) -> None:
    """The configuration file and the wrapper that always passes it (both replaced atomically)."""
    folders = layout.directories()
    config = "\n".join(
        [
            "# Written by `webide toolchain install`; rewritten on every install.",
            "board_manager:",
            "  additional_urls:",
            f"    - {json.dumps(pins.index_url)}",
            "directories:",
            *(f"  {role}: {json.dumps(str(folder.resolve()))}" for role, folder in folders.items()),
            "updater:",
            "  enable_notification: false",
            "",
        ]
    )
    _write_atomically(layout.config_file, config, 0o644)
    release = layout.release_dir(pins.arduino_cli_version).name
    wrapper = "\n".join(
        [
            "#!/bin/sh",
            "# arduino-cli with the service's own configuration (written by `webide toolchain install`).",
            'here=$(dirname "$0")',
            f'exec "$here/{release}/arduino-cli" --config-file "$here/arduino-cli.yaml" "$@"',
            "",
        ]
    )
    _write_atomically(layout.wrapper, wrapper, 0o755)


def remove_other_releases(layout: Layout, keep_version: str) -> None:
    keep = layout.release_dir(keep_version)
    for folder in layout.cli_dir.glob("release-*"):
        if folder != keep and folder.is_dir():
            shutil.rmtree(folder, ignore_errors=True)


def make_readable(root: Path) -> None:
    """The unprivileged sandbox user reads (never writes) everything installed here."""
    for folder, subfolders, files in os.walk(root):
        for name in [*subfolders, *files]:
            path = Path(folder, name)
            if not path.is_symlink():
                mode = path.stat().st_mode
                path.chmod(mode | 0o444 | (0o111 if mode & 0o100 or path.is_dir() else 0))
    root.chmod(root.stat().st_mode | 0o555)


def _write_atomically(path: Path, text: str, mode: int) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(text)
    temp.chmod(mode)
    os.replace(temp, path)


def _query(argv: list[str]) -> dict:
    try:
        completed = subprocess.run(argv, capture_output=True, text=True, timeout=QUERY_TIMEOUT_S, check=True)
        parsed = json.loads(completed.stdout or "{}")
    except subprocess.CalledProcessError as error:
        raise ToolchainInstallError(
            f"{' '.join(argv[1:])} failed: {_last_line(error.stderr or error.stdout)}"
        ) from None
    except (OSError, subprocess.TimeoutExpired, ValueError) as error:
        raise ToolchainInstallError(f"{' '.join(argv[1:])} failed: {error}") from None
    return parsed if isinstance(parsed, dict) else {}


def _run_step(argv: list[str], timeout_s: float) -> None:
    """One arduino-cli step whose own output is only needed when it fails (then its last line says why)."""
    logger.info("running %s", " ".join(argv))
    try:
        completed = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        raise ToolchainInstallError(f"arduino-cli {' '.join(argv[1:])} took longer than {timeout_s:.0f} s") from None
    if completed.returncode != 0:
        raise ToolchainInstallError(
            f"arduino-cli {' '.join(argv[1:])} failed: {_last_line(completed.stderr or completed.stdout)}"
        )


def _last_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no output"
