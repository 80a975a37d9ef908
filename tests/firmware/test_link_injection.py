"""Proof of the link-time injection of the OTA agent, on real toolchains.

AVR (Debian's arduino-builder + avr-gcc, run in simavr): an unchanged student sketch, the generated
sketch file the compile service adds, and an AVR stand-in of the agent library that contains the real
AgentLinkWrap.cpp. The simulated UART shows the agent's hook running before the student's setup and loop.

Host g++: Arduino-ESP32 declares setup/loop as C++ functions, so the flags shipped in
extras/esp32_link_flags.txt name the mangled symbols; linking an ESP32-style main with the real wrapper
source under exactly those flags must route both calls through the agent.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from .toolchain import (
    AGENT_EXTRAS,
    AGENT_SRC,
    FIRMWARE_TESTS,
    require_success,
    run_tool,
)

AVR_LINK_DIR = FIRMWARE_TESTS / "avr_link"
HOST_LINK_DIR = FIRMWARE_TESTS / "host_link"
GENERATED_SKETCH_FILE = AGENT_EXTRAS / "webide_ota_agent.cpp"
AVR_WRAP_FLAGS = "-Wl,--wrap=setup -Wl,--wrap=loop"
# Debian's binutils-avr ignores --wrap for calls resolved inside an LTO link, so the proof builds without LTO
# (the ESP32 core does not use LTO either).
AVR_NO_LTO = "-fno-lto"
EXPECTED_RUN = [
    "agent hook: before setup",
    "student setup",
    "agent hook: before loop",
    "student loop",
    "agent hook: before loop",
    "student loop",
    "agent hook: before loop",
    "student loop",
]
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def assemble_avr_project(root: Path, *, with_generated_file: bool = True) -> tuple[Path, Path]:
    """Lays out what the compile service would: a build copy of the sketch and the agent library."""
    sketch = root / "StudentSketch"
    shutil.copytree(AVR_LINK_DIR / "StudentSketch", sketch)
    if with_generated_file:
        shutil.copy(GENERATED_SKETCH_FILE, sketch / GENERATED_SKETCH_FILE.name)
    library = root / "libraries" / "WebideAgent"
    shutil.copytree(AVR_LINK_DIR / "AgentStandIn", library)
    for name in ("AgentLinkWrap.cpp", "link_hooks.h"):
        shutil.copy(AGENT_SRC / name, library / "src" / name)
    return sketch, root / "libraries"


def build_avr(root: Path, sketch: Path, libraries: Path, link_flags: str):
    """Runs Debian's arduino-builder for an Uno with the given extra linker flags."""
    build = root / "build"
    build.mkdir()
    result = run_tool(
        [
            "arduino-builder",
            "-compile",
            "-hardware",
            "/usr/share/arduino/hardware",
            "-hardware",
            "/usr/share/arduino-builder",
            "-tools",
            "/usr/bin",
            "-libraries",
            str(libraries),
            "-fqbn",
            "arduino:avr:uno",
            "-build-path",
            str(build),
            "-prefs",
            f"compiler.cpp.extra_flags=-DDECIMAL_DIG=17 {AVR_NO_LTO}",
            "-prefs",
            f"compiler.c.extra_flags={AVR_NO_LTO}",
            "-prefs",
            f"compiler.c.elf.extra_flags={AVR_NO_LTO} {link_flags}".strip(),
            str(sketch / "StudentSketch.ino"),
        ]
    )
    return result, build / "StudentSketch.ino.elf"


def uart_lines(simavr_stderr: str) -> list[str]:
    """simavr prints each UART line in colour with CR/LF shown as two dots."""
    lines = ANSI_ESCAPE.sub("", simavr_stderr).splitlines()
    return [line[:-2] for line in lines if line.endswith("..")]


def function_body(disassembly: str, name: str) -> str:
    match = re.search(rf"^[0-9a-f]+ <{re.escape(name)}>:\n(.*?)(?:\n\n|\Z)", disassembly, re.MULTILINE | re.DOTALL)
    assert match, f"{name} not found in the disassembly"
    return match.group(1)


def calls_in(body: str) -> list[str]:
    return re.findall(r"\b(?:call|rcall|jmp|rjmp)\b.*<([^>+]+)>", body)


@pytest.fixture(scope="module")
def wrapped_avr_elf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("avr_wrapped")
    sketch, libraries = assemble_avr_project(root)
    result, elf = build_avr(root, sketch, libraries, AVR_WRAP_FLAGS)
    require_success(result)
    return elf


@pytest.mark.slow
def test_simulated_uno_runs_agent_hooks_around_student_code(wrapped_avr_elf: Path) -> None:
    result = run_tool(["simavr", "-m", "atmega328p", "-f", "16000000", str(wrapped_avr_elf)], timeout=120)
    require_success(result)
    assert uart_lines(result.stderr) == EXPECTED_RUN


@pytest.mark.slow
def test_main_calls_the_wrapper_which_calls_the_student_setup(wrapped_avr_elf: Path) -> None:
    result = run_tool(["avr-objdump", "-d", str(wrapped_avr_elf)])
    require_success(result)
    main_calls = calls_in(function_body(result.stdout, "main"))
    assert "__wrap_setup" in main_calls and "__wrap_loop" in main_calls
    assert "setup" not in main_calls and "loop" not in main_calls
    wrapper_calls = calls_in(function_body(result.stdout, "__wrap_setup"))
    assert wrapper_calls.index("_ZN6webide13onSketchSetupEv") < wrapper_calls.index("setup")


@pytest.mark.slow
def test_avr_link_fails_without_wrap_flags(tmp_path: Path) -> None:
    """Without the flags the firmware must not build at all, rather than build without the agent."""
    sketch, libraries = assemble_avr_project(tmp_path)
    result, _ = build_avr(tmp_path, sketch, libraries, "")
    assert result.returncode != 0
    assert "__real_setup" in result.stdout + result.stderr


@pytest.mark.slow
def test_generated_sketch_file_is_what_pulls_the_library_in(tmp_path: Path) -> None:
    """The builder compiles only included libraries: without the generated file the wrapper is missing."""
    sketch, libraries = assemble_avr_project(tmp_path, with_generated_file=False)
    result, _ = build_avr(tmp_path, sketch, libraries, AVR_WRAP_FLAGS)
    assert result.returncode != 0
    assert "__wrap_setup" in result.stdout + result.stderr


def test_cpp_setup_and_loop_are_mangled_as_the_esp32_flags_expect(tmp_path: Path, esp32_link_flags: list[str]) -> None:
    obj = tmp_path / "student.o"
    require_success(run_tool(["g++", "-c", str(HOST_LINK_DIR / "student_sketch.cpp"), "-o", str(obj)]))
    defined = set(re.findall(r"^\S+ T (\S+)$", run_tool(["nm", str(obj)]).stdout, re.MULTILINE))
    wrapped = {flag.split("--wrap=", 1)[1] for flag in esp32_link_flags}
    assert {"_Z5setupv", "_Z4loopv"} <= wrapped & defined  # the others are the serial tee's (test_platform_layer.py)


def link_host_program(tmp_path: Path, flags: list[str]):
    program = tmp_path / "esp32_style"
    result = run_tool(
        [
            "g++",
            "-std=c++17",
            "-Wall",
            "-Wextra",
            "-Werror",
            f"-I{AGENT_SRC}",
            str(HOST_LINK_DIR / "esp32_style_main.cpp"),
            str(HOST_LINK_DIR / "student_sketch.cpp"),
            str(HOST_LINK_DIR / "host_hooks.cpp"),
            str(AGENT_SRC / "AgentLinkWrap.cpp"),
            *flags,
            "-o",
            str(program),
        ]
    )
    return result, program


def test_esp32_flags_route_setup_and_loop_through_the_agent(tmp_path: Path, esp32_link_flags: list[str]) -> None:
    result, program = link_host_program(tmp_path, esp32_link_flags)
    require_success(result)
    output = run_tool([str(program)]).stdout.splitlines()
    assert output == EXPECTED_RUN[:6]


def test_esp32_link_fails_without_the_flags(tmp_path: Path) -> None:
    result, _ = link_host_program(tmp_path, [])
    assert result.returncode != 0
    assert "__real__Z5setupv" in result.stderr
