"""The arduino-cli driver: argv shape, and real sandboxed runs against the arduino-cli stand-in."""
from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from esptool.bin_image import LoadFirmwareImage

from compiler import Compiler
from compiler.drivers import ArduinoCliDriver, CompileJob
from tests.compiler.conftest import BLINK, sketch
from tests.fake_arduino_cli import FAKE_ARDUINO_CLI

REPO = Path(__file__).resolve().parents[2]
# The flags the real agent library asks for; the stand-in agent below is linked with exactly these.
REAL_AGENT_FLAGS = (REPO / "bootstrap_firmware/WebideAgent/extras/esp32_link_flags.txt").read_text().strip()

ESP32 = "esp32:esp32:esp32"
ESP32_SKETCH = "void setup() {\n  Serial.begin(115200);\n}\n\nvoid loop() {\n  digitalWrite(LED_BUILTIN, HIGH);\n}\n"
AGENT_SOURCE = """#include <Arduino.h>
extern "C" void __real__Z5setupv();
extern "C" void __real__Z4loopv();
int agent_started = 0;
extern "C" void __wrap__Z5setupv() { agent_started = 1; __real__Z5setupv(); }
extern "C" void __wrap__Z4loopv() { __real__Z4loopv(); }
"""


def test_compile_argv_shape() -> None:
    driver = ArduinoCliDriver(str(FAKE_ARDUINO_CLI))
    job = CompileJob(sketch_name="Blink", sketch_dir="/sandbox/sketch/Blink", build_dir="/sandbox/build",
                     output_dir="/sandbox/out", cache_dir="/sandbox/cache", fqbn=ESP32, warnings="all",
                     libraries=["/sandbox/libraries/Agent"],
                     build_properties={"compiler.c.elf.extra_flags": REAL_AGENT_FLAGS})
    assert driver.compile_argv(job) == [
        "/opt/arduino-cli/arduino-cli", "compile", "--no-color", "--fqbn", ESP32,
        "--build-path", "/sandbox/build", "--output-dir", "/sandbox/out", "--warnings", "all",
        "--library", "/sandbox/libraries/Agent",
        "--build-property", "compiler.c.elf.extra_flags=-Wl,--wrap=_Z5setupv -Wl,--wrap=_Z4loopv",
        "/sandbox/sketch/Blink",
    ]
    assert driver.sandbox_env(job)["ARDUINO_BUILD_CACHE_PATH"] == "/sandbox/cache"
    assert driver.board_listall_argv()[1:] == ["board", "listall", "--json"]
    assert driver.version_argv()[1:] == ["version", "--json"]


def test_detection_lists_the_stand_in_boards(fake_cli: Compiler) -> None:
    (info,) = fake_cli.toolchains()
    expected = json.loads(subprocess.run([str(FAKE_ARDUINO_CLI), "board", "listall", "--json"],
                                         capture_output=True, text=True, check=True).stdout)["boards"]
    assert info.name == "arduino-cli"
    assert info.version == json.loads(subprocess.run([str(FAKE_ARDUINO_CLI), "version", "--json"],
                                                     capture_output=True, text=True).stdout)["VersionString"]
    assert [(b.fqbn, b.name) for b in info.boards] == sorted((b["fqbn"], b["name"]) for b in expected)


def test_esp32_build_streams_and_produces_a_valid_app_image(fake_cli: Compiler) -> None:
    lines: list[str] = []
    result = fake_cli.build(*sketch(main=ESP32_SKETCH), ESP32, on_line=lines.append)
    assert result.status == "success", result.log
    assert result.toolchain == "arduino-cli"
    assert set(result.artifacts) >= {"app_bin", "elf", "partitions_bin", "bootloader_bin", "merged_bin"}
    assert result.artifacts["app_bin"].name == "Blink.ino.bin"
    image = LoadFirmwareImage("esp32", str(result.artifacts["app_bin"]))
    assert image.checksum == image.calculate_checksum()
    assert image.stored_digest == image.calc_digest
    assert result.sizes["flash_bytes"] == result.size and result.sizes["flash_max"] == 1310720
    assert lines[0] == "Compiling core..." and any(line.startswith("Sketch uses") for line in lines)
    assert not any("/sandbox/" in line for line in lines), "sandbox paths are rewritten"


def test_images_are_derived_from_the_sketch(fake_cli: Compiler, make_compiler: Callable[..., Compiler],
                                            shared_tmp: Path) -> None:
    first = fake_cli.build(*sketch(main=ESP32_SKETCH), ESP32)
    other = fake_cli.build(*sketch(main=ESP32_SKETCH + "// v2\n"), ESP32)
    fresh = make_compiler(toolchain="arduino-cli", arduino_cli=str(FAKE_ARDUINO_CLI),
                          cache_root=shared_tmp / "other-cache")
    again = fresh.build(*sketch(main=ESP32_SKETCH), ESP32)
    assert not again.cache_hit
    assert first.sha256 == again.sha256
    assert other.sha256 != first.sha256


def test_compile_errors_from_the_stand_in_are_parsed(fake_cli: Compiler) -> None:
    result = fake_cli.build(*sketch(main="void setup() {\n  undeclared();\n}\nvoid loop() {}\n"), ESP32)
    assert result.status == "compile_error"
    errors = [d for d in result.diagnostics if d.severity == "error"]
    assert [(d.file, d.line, d.column) for d in errors] == [("Blink.ino", 2, 3)]


def test_core_cache_is_reused_by_the_next_sketch(fake_cli: Compiler) -> None:
    first_lines: list[str] = []
    second_lines: list[str] = []
    fake_cli.build(*sketch(main=ESP32_SKETCH), ESP32, on_line=first_lines.append)
    fake_cli.build(*sketch(main=ESP32_SKETCH + "// other\n"), ESP32, on_line=second_lines.append)
    assert "Compiling core..." in first_lines
    assert "Compiling core..." not in second_lines
    assert any(line.startswith("Using precompiled core: <core-cache>/cores/") for line in second_lines)


def test_agent_library_is_linked_into_esp32_builds(make_compiler: Callable[..., Compiler],
                                                   shared_tmp: Path) -> None:
    agent = shared_tmp / "agent" / "WebideAgent"
    (agent / "src").mkdir(parents=True)
    (agent / "src" / "WebideAgent.cpp").write_text(AGENT_SOURCE)
    (agent / "library.properties").write_text("name=WebideAgent\nversion=1.0.0\n")
    (agent / "extras").mkdir()
    (agent / "extras" / "esp32_link_flags.txt").write_text(REAL_AGENT_FLAGS + "\n")
    (agent / "extras" / "webide_ota_agent.cpp").write_text("#include <WebideAgent.h>\n")
    (agent / "src" / "WebideAgent.h").write_text("#pragma once\n")
    for path in (shared_tmp / "agent", agent, agent / "src", agent / "extras"):
        path.chmod(0o755)
    with_agent = make_compiler(toolchain="arduino-cli", arduino_cli=str(FAKE_ARDUINO_CLI), agent_library=agent,
                               agent_version="1.0.0")
    result = with_agent.build(*sketch(main=ESP32_SKETCH), ESP32)
    assert result.status == "success", result.log
    symbols = subprocess.run(["nm", str(result.artifacts["elf"])], capture_output=True, text=True).stdout
    assert "__wrap__Z5setupv" in symbols and "agent_started" in symbols
    main_calls = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(result.artifacts["elf"])],
                                capture_output=True, text=True).stdout.split("<main>:")[1].split("\n\n")[0]
    assert "__wrap__Z5setupv" in main_calls, "main() must enter the agent, not the sketch, first"
    newer = make_compiler(toolchain="arduino-cli", arduino_cli=str(FAKE_ARDUINO_CLI), agent_library=agent,
                          agent_version="1.0.1")
    assert newer.build(*sketch(main=ESP32_SKETCH), ESP32).cache_key != result.cache_key


def test_auto_mode_picks_the_toolchain_per_board(make_compiler: Callable[..., Compiler], monkeypatch) -> None:
    monkeypatch.setenv("PATH", f"{FAKE_ARDUINO_CLI.parent}:/usr/bin:/bin")
    compiler = make_compiler(toolchain="auto")
    assert [info.name for info in compiler.toolchains()] == ["arduino-cli", "arduino-builder"]
    assert compiler.build(*sketch(main=ESP32_SKETCH), ESP32).toolchain == "arduino-cli"
    assert compiler.build(*sketch(main=BLINK), "arduino:avr:uno").toolchain == "arduino-builder"


@pytest.mark.real_arduino_cli
def test_real_arduino_cli_builds_for_esp32(make_compiler: Callable[..., Compiler]) -> None:
    compiler = make_compiler(toolchain="arduino-cli")
    result = compiler.build(*sketch(main=ESP32_SKETCH), ESP32)
    assert result.status == "success", result.log
    image = LoadFirmwareImage("esp32", str(result.artifacts["app_bin"]))
    assert image.checksum == image.calculate_checksum()
