"""The agent's ESP32 layer, as far as it can be checked without an ESP32 core.

* ``g++ -fsyntax-only`` over the platform files that are covered by the stand-in headers in
  ``bootstrap_firmware/tests/esp32_stand_in/`` (declarations of Arduino-ESP32 3.x / ESP-IDF 5, each naming the real
  header it mirrors): the agent task, the live link's MQTT client and the serial tee. The real-toolchain job compiles
  them against the real core.
* The serial tee, linked on the host the way an ESP32 build links it: a stand-in HardwareSerial in one object file
  calls a stand-in UART layer in another, and the shipped flags route those calls through the tee. What the sketch
  prints on Serial still reaches its UART and is also queued as lines; another UART is left alone; lines pushed for
  the sketch are read (available/peek/read) before what arrives on the cable.
"""

from __future__ import annotations

import re
from pathlib import Path

from .toolchain import AGENT_SRC, FIRMWARE_TESTS, require_success, run_tool

STAND_IN = FIRMWARE_TESTS / "esp32_stand_in"
HOST_TEE = FIRMWARE_TESTS / "host_tee"
SERIAL_TEE = AGENT_SRC / "platform" / "serial_tee.cpp"
CHECKED_PLATFORM_FILES = ("agent.cpp", "live_link_client.cpp", "serial_tee.cpp")
SETUP_LOOP = {"_Z5setupv", "_Z4loopv"}


def test_platform_files_compile_against_the_stand_in_headers() -> None:
    sources = [str(AGENT_SRC / "platform" / name) for name in CHECKED_PLATFORM_FILES]
    command = ["g++", "-std=gnu++17", "-Wall", "-Wextra", "-Werror", "-fsyntax-only", f"-I{STAND_IN}"]
    require_success(run_tool([*command, *sources]))


def test_the_flags_wrap_exactly_the_uart_functions_the_tee_defines(esp32_link_flags: list[str]) -> None:
    wrapped = {flag.split("--wrap=", 1)[1] for flag in esp32_link_flags}
    defined = set(re.findall(r"^\S[^(]*\b__wrap_(\w+)\(", SERIAL_TEE.read_text(), re.MULTILINE))
    assert wrapped >= SETUP_LOOP
    assert wrapped - SETUP_LOOP == defined
    declared = (STAND_IN / "esp32-hal-uart.h").read_text()
    assert all(re.search(rf"\b{name}\(uart_t\* uart", declared) for name in defined)


def link_tee_program(tmp_path: Path, flags: list[str]):
    program = tmp_path / "tee"
    core = [AGENT_SRC / "core" / name for name in ("live_link.cpp", "flat_json.cpp", "reports.cpp")]
    result = run_tool(
        [
            "g++",
            "-std=gnu++17",
            "-Wall",
            "-Wextra",
            "-Werror",
            f"-I{STAND_IN}",
            f"-I{AGENT_SRC}",
            *(str(path) for path in sorted(HOST_TEE.glob("*.cpp"))),
            str(SERIAL_TEE),
            *(str(path) for path in core),
            *flags,
            "-o",
            str(program),
        ]
    )
    return result, program


def test_the_tee_copies_serial_lines_and_feeds_serial_input(tmp_path: Path, esp32_link_flags: list[str]) -> None:
    result, program = link_tee_program(tmp_path, esp32_link_flags)
    require_success(result)
    output = run_tool([str(program)]).stdout.splitlines()
    assert output == [
        "uart0 bytes:35 uart1 bytes:13",  # every byte still reaches the UARTs
        "tee:22:hello|distance 42 cm|x",  # whole lines of Serial only; "half a line" waits for its newline
        "available:12",  # "speed 7\n" from the server plus "usb\n" from the cable
        "peek:s",
        "read:speed 7",
        "usb",
        "after:-1",
    ]


def test_without_the_flags_the_tee_does_not_link(tmp_path: Path) -> None:
    result, _ = link_tee_program(tmp_path, [])
    assert result.returncode != 0
    assert "__real_uartWrite" in result.stderr
