"""The arduino-cli driver's own rules (argv, environment, detection) and the stand-in rules they rely on.

What every arduino-cli must do for the service is in test_arduino_cli_contract.py; this file checks the pieces
around it with the stand-in: where the folders come from, what detection refuses, and how the stand-in models
arduino-cli where the contract suite cannot look.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from compiler import Compiler, Limits, ToolchainNotFound
from compiler.drivers import ArduinoCliDriver, CompileJob
from compiler.drivers.base import AGENT_LINK_PROPERTY
from compiler.sandbox import Mount, Sandbox, SandboxSpec
from compiler.service import compile_jobs
from tests.compiler.conftest import BLINK, sketch
from tests.fake_arduino_cli import FAKE_ARDUINO_CLI, install_platform

REPO = Path(__file__).resolve().parents[2]
AGENT_FLAGS = (REPO / "bootstrap_firmware/WebideAgent/extras/esp32_link_flags.txt").read_text().strip()
ESP32 = "esp32:esp32:esp32"


@pytest.fixture
def arduino_data(shared_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The stand-in platform installed in a data folder named by ARDUINO_DIRECTORIES_DATA."""
    data = install_platform(shared_tmp / "arduino-data")
    monkeypatch.setenv("ARDUINO_DIRECTORIES_DATA", str(data))
    monkeypatch.setenv("ARDUINO_DIRECTORIES_USER", str(shared_tmp / "sketchbook"))
    return data


def job(**overrides: object) -> CompileJob:
    values: dict[str, object] = {
        "sketch_name": "Blink",
        "sketch_dir": "/sandbox/sketch/Blink",
        "build_dir": "/sandbox/build",
        "output_dir": "/sandbox/out",
        "cache_dir": "/sandbox/cache",
        "fqbn": ESP32,
        "warnings": "all",
        "libraries": ["/sandbox/libraries/WebideAgent"],
        "build_properties": {AGENT_LINK_PROPERTY: AGENT_FLAGS},
        "jobs": 4,
    }
    values.update(overrides)
    return CompileJob(**values)  # type: ignore[arg-type]


def test_compile_argv_has_no_build_path_and_bounded_jobs() -> None:
    driver = ArduinoCliDriver(str(FAKE_ARDUINO_CLI))
    assert driver.compile_argv(job()) == [
        "/opt/arduino-cli/arduino-cli",
        "compile",
        "--no-color",
        "--fqbn",
        ESP32,
        "--output-dir",
        "/sandbox/out",
        "--warnings",
        "all",
        "--jobs",
        "4",
        "--library",
        "/sandbox/libraries/WebideAgent",
        "--build-property",
        "compiler.libraries.ldflags=-Wl,--wrap=_Z5setupv -Wl,--wrap=_Z4loopv -Wl,--wrap=uartWrite "
        "-Wl,--wrap=uartWriteBuf -Wl,--wrap=uartAvailable -Wl,--wrap=uartReadBytes -Wl,--wrap=uartPeek "
        "-Wl,--wrap=uartRead",
        "/sandbox/sketch/Blink",
    ]


def test_the_build_cache_is_private_and_the_shared_core_cache_is_an_extra_path() -> None:
    env = ArduinoCliDriver(str(FAKE_ARDUINO_CLI)).sandbox_env(job())
    assert env["ARDUINO_BUILD_CACHE_PATH"] == "/sandbox/build"
    assert env["ARDUINO_BUILD_CACHE_EXTRA_PATHS"] == "/sandbox/cache"
    assert env["GOMAXPROCS"] == "4"


@pytest.mark.parametrize("cap,jobs", [(64, 4), (16, 1), (8, 1)])
def test_parallel_compiles_stay_within_the_process_cap(cap: int, jobs: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.cpu_count", lambda: 32)
    assert compile_jobs(Limits(max_processes=cap)) == jobs


def test_detection_reports_boards_with_their_mcu_and_mounts_the_effective_folders(arduino_data: Path) -> None:
    driver = ArduinoCliDriver(str(FAKE_ARDUINO_CLI))
    info = driver.detect()
    assert {(b.fqbn, b.mcu) for b in info.boards} == {(ESP32, "esp32"), ("esp32:esp32:lolin_s3", "esp32s3")}
    assert info.version == "1.1.1"
    assert Mount(arduino_data, "/opt/arduino-data") in driver.sandbox_mounts()


def test_folders_set_in_a_config_file_reach_the_build(
    make_compiler: Callable[..., Compiler], shared_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = install_platform(shared_tmp / "cores-from-config")
    config = shared_tmp / "arduino-cli.yaml"
    config.write_text(f"directories:\n  data: {data}\n  user: {shared_tmp / 'sketchbook'}\n")
    monkeypatch.setenv("ARDUINO_CONFIG_FILE", str(config))
    compiler = make_compiler(toolchain="arduino-cli", arduino_cli=str(FAKE_ARDUINO_CLI))
    result = compiler.build(*sketch(main=BLINK), ESP32)
    assert result.status == "success", result.log


def test_an_inventory_the_sandbox_cannot_read_stops_detection(arduino_data: Path) -> None:
    driver = ArduinoCliDriver(str(FAKE_ARDUINO_CLI))
    driver.detect()  # creates inventory.yaml, as the real tool does on its first run
    (arduino_data / "inventory.yaml").chmod(0o600)
    with pytest.raises(ToolchainNotFound, match=r"inventory.yaml is not readable by the sandbox user: chmod a\+r"):
        driver.detect()


def test_python_recipes_need_pyserial_in_the_sandbox_python(
    arduino_data: Path, shared_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bare = shared_tmp / "bare-python"
    bare.mkdir()
    (bare / "python3").write_text('#!/bin/sh\nexec /usr/bin/python3 -I -S "$@"\n')  # no site-packages
    (bare / "python3").chmod(0o755)
    monkeypatch.setattr("compiler.drivers.arduino_cli.SANDBOX_PATH", f"{bare}:/usr/bin:/bin")
    with pytest.raises(ToolchainNotFound, match=r"esp32:esp32 run python3 .*apt-get install python3-serial"):
        ArduinoCliDriver(str(FAKE_ARDUINO_CLI)).detect()


def test_auto_mode_picks_the_toolchain_per_board(
    make_compiler: Callable[..., Compiler], arduino_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", f"{FAKE_ARDUINO_CLI.parent}:/usr/bin:/bin")
    compiler = make_compiler(toolchain="auto")
    assert [info.name for info in compiler.toolchains()] == ["arduino-cli", "arduino-builder"]
    assert compiler.build(*sketch(main=BLINK), ESP32).toolchain == "arduino-cli"
    assert compiler.build(*sketch(main=BLINK), "arduino:avr:uno").toolchain == "arduino-builder"


def test_stand_in_exits_when_it_cannot_create_the_inventory(shared_tmp: Path) -> None:
    """internal/inventory/inventory.go: no inventory.yaml in a read-only data folder is fatal (exit code 10)."""
    data = install_platform(shared_tmp / "read-only-data")
    lines: list[str] = []
    outcome = Sandbox(True).run(
        ["/opt/arduino-cli/arduino-cli", "version"],
        SandboxSpec(
            mounts=[Mount(FAKE_ARDUINO_CLI.parent, "/opt/arduino-cli"), Mount(data, "/opt/data")],
            env={"ARDUINO_DIRECTORIES_DATA": "/opt/data"},
        ),
        Limits(wall_seconds=60),
        lines.append,
        lambda: False,
    )
    assert outcome.exit_code == 10
    assert lines[-1].startswith("Error: invalid path writing inventory file: /opt/data/inventory.yaml error:")


def test_stand_in_replaces_a_platform_property_given_with_build_property(shared_tmp: Path, arduino_data: Path) -> None:
    """internal/arduino/builder/builder.go: --build-property replaces; the 3.0.x link then loses the SDK's -L paths."""
    folder = shared_tmp / "Blink"
    folder.mkdir()
    (folder / "Blink.ino").write_text(BLINK)
    completed = subprocess.run(
        [
            str(FAKE_ARDUINO_CLI),
            "compile",
            "--fqbn",
            ESP32,
            "--build-property",
            f"compiler.c.elf.extra_flags={AGENT_FLAGS}",
            str(folder),
        ],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "HOME": str(shared_tmp), "ARDUINO_DIRECTORIES_DATA": str(arduino_data)},
    )
    assert completed.returncode == 1
    assert "cannot find -l:memory.ld" in completed.stderr


def test_menu_options_in_the_fqbn_select_board_properties(
    make_compiler: Callable[..., Compiler], arduino_data: Path
) -> None:
    """internal/arduino/cores/board.go GetBuildProperties: the chosen menu option's properties win."""
    compiler = make_compiler(toolchain="arduino-cli", arduino_cli=str(FAKE_ARDUINO_CLI))
    result = compiler.build(*sketch(main=BLINK), f"{ESP32}:PartitionScheme=min_spiffs")
    assert result.status == "success", result.log
    assert result.sizes["flash_max"] == 1966080  # min_spiffs' upload.maximum_size instead of 1310720
    wrong = compiler.build(*sketch(main=BLINK), f"{ESP32}:PartitionScheme=no_such_scheme")
    assert wrong.status == "compile_error"
    assert "invalid value 'no_such_scheme' for option 'PartitionScheme'" in wrong.log
