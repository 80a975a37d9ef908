"""The arduino-cli stand-in used by the test suite (the real one and its ESP32 core cannot be installed here).

``install_platform`` lays out an arduino-cli data folder with the stand-in ``esp32:esp32`` platform and tools (a
copy, so arduino-cli may write its inventory.yaml and the tests never touch the repository), and
``assemble_agent`` builds the agent library a stand-in build links: the real WebideAgent library with its ESP32
layer (src/platform/) replaced by a stand-in that the stand-in core can compile.
"""

from __future__ import annotations

import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
FAKE_ARDUINO_CLI: Path = HERE / "arduino-cli"
STAND_IN_PACKAGES: Path = HERE / "data" / "packages"
REAL_AGENT: Path = HERE.parents[1] / "bootstrap_firmware" / "WebideAgent"


def install_platform(data_dir: Path) -> Path:
    """Copy the stand-in packages into ``data_dir`` (file times kept, as arduino-cli's core cache compares them)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    shutil.copytree(STAND_IN_PACKAGES, data_dir / "packages", symlinks=True)
    _open_for_sandbox(data_dir)
    return data_dir


def assemble_agent(target: Path) -> Path:
    """The real agent library with the stand-in ESP32 layer, as a library folder at ``target``."""
    shutil.copytree(REAL_AGENT, target, ignore=shutil.ignore_patterns("platform"))
    shutil.copytree(HERE / "agent_platform", target / "src" / "platform")
    _open_for_sandbox(target)
    return target


def service_environment(folder: Path) -> dict[str, str]:
    """What a webide service needs to build ESP32 boards with the stand-in (installed under ``folder``, which the
    sandbox user must be able to traverse) and AVR boards with Debian's toolchain."""
    return {
        "WEBIDE_TOOLCHAIN": "auto",
        "WEBIDE_ARDUINO_CLI": str(FAKE_ARDUINO_CLI),
        "WEBIDE_AGENT_LIBRARY": str(assemble_agent(folder / "WebideAgent")),
        "ARDUINO_DIRECTORIES_DATA": str(install_platform(folder / "arduino-data")),
    }


def _open_for_sandbox(folder: Path) -> None:
    """The sandbox runs as another uid: folders traversable, files readable (tools executable)."""
    for path in [folder, *folder.rglob("*")]:
        if not path.is_symlink():
            path.chmod(path.stat().st_mode | (0o755 if path.is_dir() or path.stat().st_mode & 0o100 else 0o644))
