"""What the compile service needs from arduino-cli and Arduino-ESP32, as one suite for two toolchains.

Every test runs against the arduino-cli stand-in (tests/fake_arduino_cli, which runs the platform's real recipes
with stand-in compilers) installed two ways — default folders under ``HOME``, and folders named by
``ARDUINO_DIRECTORIES_*`` as in the Docker image — and against a real arduino-cli with the esp32:esp32 core when
one is on PATH (``pytest -m real_arduino_cli``; elsewhere those cases are skipped with the reason). All builds run
in the real bubblewrap sandbox.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from esptool.bin_image import LoadFirmwareImage
from esptool.targets import CHIP_DEFS

from compiler import BuildResult, Compiler
from tests.compiler.conftest import sketch
from tests.fake_arduino_cli import FAKE_ARDUINO_CLI, REAL_AGENT, assemble_agent, install_platform
from webide.core.firmware.images import ImageRejected, check_app_image

# ESP32 Dev Module and an ESP32-S3 board whose ID does not name its chip
BOARDS = {"esp32:esp32:esp32": "esp32", "esp32:esp32:lolin_s3": "esp32s3"}
BLINK = """void setup() {
  pinMode(LED_BUILTIN, OUTPUT);
}

void loop() {
  digitalWrite(LED_BUILTIN, HIGH);
  delay(500);
  digitalWrite(LED_BUILTIN, LOW);
  delay(500);
}
"""
BROKEN = "void setup() {\n  undeclared();\n}\n\nvoid loop() {}\n"
ARTIFACTS = {"app_bin", "elf", "partitions_bin", "bootloader_bin", "merged_bin"}


@dataclass
class Toolchain:
    """An installed arduino-cli plus the agent library its builds link."""

    executable: str
    agent: Path
    make: Callable[..., Compiler]

    def compiler(self, with_agent: bool = False, **overrides: object) -> Compiler:
        extra = {"agent_library": self.agent, "agent_version": "contract"} if with_agent else {}
        return self.make(toolchain="arduino-cli", arduino_cli=self.executable, **extra, **overrides)


@pytest.fixture(params=["stand-in-home", "stand-in-env", pytest.param("real", marks=pytest.mark.real_arduino_cli)])
def toolchain(
    request: pytest.FixtureRequest,
    make_compiler: Callable[..., Compiler],
    shared_tmp: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Toolchain:
    if request.param == "real":
        return Toolchain(shutil.which("arduino-cli") or "arduino-cli", REAL_AGENT, make_compiler)
    for variable in [v for v in os.environ if v.startswith("ARDUINO_")]:
        monkeypatch.delenv(variable)
    if request.param == "stand-in-home":  # a default install: ~/.arduino15 and ~/Arduino
        home = shared_tmp / "home"
        monkeypatch.setenv("HOME", str(home))
        install_platform(home / ".arduino15")
    else:  # the Docker image's way: the folders named in the environment
        monkeypatch.setenv("ARDUINO_DIRECTORIES_DATA", str(install_platform(shared_tmp / "arduino-data")))
        monkeypatch.setenv("ARDUINO_DIRECTORIES_USER", str(shared_tmp / "sketchbook"))
        (shared_tmp / "sketchbook").mkdir(mode=0o755)
    agent = assemble_agent(shared_tmp / "agent" / "WebideAgent")
    (shared_tmp / "agent").chmod(0o755)
    return Toolchain(str(FAKE_ARDUINO_CLI), agent, make_compiler)


def built(result: BuildResult) -> BuildResult:
    assert result.status == "success", result.log
    return result


@pytest.mark.parametrize("fqbn", sorted(BOARDS))
def test_blink_produces_the_images_and_size_lines(toolchain: Toolchain, fqbn: str) -> None:
    compiler = toolchain.compiler()
    lines: list[str] = []
    result = built(compiler.build(*sketch(main=BLINK), fqbn, on_line=lines.append))
    assert set(result.artifacts) >= ARTIFACTS
    assert {path.name for path in result.artifacts.values()} >= {
        f"Blink.ino.{suffix}" for suffix in ("bin", "elf", "partitions.bin", "bootloader.bin", "merged.bin")
    }
    assert any(line.startswith("Sketch uses ") and "bytes" in line for line in lines)
    assert any(line.startswith("Global variables use ") for line in lines)
    assert 0 < result.sizes["flash_bytes"] <= result.sizes["flash_max"]
    if fqbn == "esp32:esp32:esp32":  # upload.maximum_size of the default partition scheme
        assert result.sizes["flash_max"] == 1310720
    assert not any("/sandbox/" in line or "/opt/arduino" in line for line in lines), "toolchain paths are hidden"


@pytest.mark.parametrize("fqbn", sorted(BOARDS))
def test_the_image_check_accepts_the_app_image_for_the_boards_chip(toolchain: Toolchain, fqbn: str) -> None:
    result = built(toolchain.compiler().build(*sketch(main=BLINK), fqbn))
    chip = BOARDS[fqbn]
    assert result.mcu == chip, "the chip comes from the board's build.mcu"
    app = result.artifacts["app_bin"]
    check_app_image(fqbn, app, result.mcu)
    image = LoadFirmwareImage(chip, str(app))
    assert image.chip_id == CHIP_DEFS[chip].IMAGE_CHIP_ID
    # Arduino-ESP32 runs elf2image with --elf-sha256-offset 0xb0: the ELF's SHA-256 sits in the app descriptor
    assert app.read_bytes()[0xB0:0xD0] == hashlib.sha256(result.artifacts["elf"].read_bytes()).digest()
    other = "esp32" if chip != "esp32" else "esp32s3"
    with pytest.raises(ImageRejected, match="chip id"):
        check_app_image(fqbn, app, other)


@pytest.mark.parametrize("fqbn", sorted(BOARDS))
def test_the_agent_wraps_setup_and_loop(toolchain: Toolchain, fqbn: str) -> None:
    result = built(toolchain.compiler(with_agent=True).build(*sketch(main=BLINK), fqbn))
    symbols = subprocess.run(
        ["nm", "-C", str(result.artifacts["elf"])], capture_output=True, text=True, check=True
    ).stdout
    defined = {line.split(" ", 2)[2] for line in symbols.splitlines() if line[:1] != " " and line.count(" ") >= 2}
    assert {"__wrap__Z5setupv", "__wrap__Z4loopv", "setup()", "loop()"} <= defined
    assert "webide::onSketchSetup()" in defined, "src/platform/ of the agent is compiled (recursive src/)"
    assert any(name.startswith("webide::buildEndpointUrl(") for name in defined), "src/core/ is compiled too"


def test_a_broken_sketch_reports_its_error_at_the_sketch_line(toolchain: Toolchain) -> None:
    result = toolchain.compiler().build(*sketch(main=BROKEN), "esp32:esp32:esp32")
    assert result.status == "compile_error"
    errors = [d for d in result.diagnostics if d.severity == "error"]
    assert [(d.file, d.line, d.column) for d in errors] == [("Blink.ino", 2, 3)]
    assert "undeclared" in errors[0].message
    assert result.message == "Compilation failed: 1 error"


def test_the_second_build_reuses_the_shared_core(toolchain: Toolchain, shared_tmp: Path) -> None:
    compiler = toolchain.compiler(cache_root=shared_tmp / "fresh-cache")
    first = built(compiler.build(*sketch(main=BLINK), "esp32:esp32:esp32"))
    published = list((shared_tmp / "fresh-cache" / "cores").glob("*/cores/*/core.a"))
    assert published, "the first build publishes its compiled core to the shared cache"
    second = built(compiler.build(*sketch(main=BLINK + "// another sketch\n"), "esp32:esp32:esp32"))
    assert not first.core_cache_hit and second.core_cache_hit
    assert not second.cache_hit, "a different sketch: compiled, only the core came from the cache"
