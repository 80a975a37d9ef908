"""Host tests of the OTA agent's portable C++ core.

The core is compiled with the system g++ (-Wall -Wextra -Werror, C++17, AddressSanitizer and
UndefinedBehaviorSanitizer) together with bootstrap_firmware/tests/agent_tests.cpp; every C++ TEST case
runs as its own pytest test so a failure names the case.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .toolchain import AGENT_SRC, FIRMWARE_TESTS, require_success, run_tool

CORE_DIR = AGENT_SRC / "core"
TEST_SOURCE = FIRMWARE_TESTS / "agent_tests.cpp"
STRICT_WARNINGS = ["-Wall", "-Wextra", "-Werror"]
ALLOWED_CORE_INCLUDES = {"<stddef.h>", "<stdint.h>", "<string.h>", "<stdio.h>", "<math.h>"}


def declared_cases() -> list[str]:
    """Names of the TEST cases in the C++ test source, in declaration order."""
    return re.findall(r"^TEST\((\w+)\)", TEST_SOURCE.read_text(), re.MULTILINE)


def core_sources() -> list[str]:
    return sorted(str(path) for path in CORE_DIR.glob("*.cpp"))


@pytest.fixture(scope="module")
def agent_tests(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sanitizer-instrumented test program, built once for this module."""
    binary = tmp_path_factory.mktemp("agent_host") / "agent_tests"
    result = run_tool(
        [
            "g++",
            "-std=c++17",
            *STRICT_WARNINGS,
            "-g",
            "-O1",
            "-fsanitize=address,undefined",
            "-fno-sanitize-recover=all",
            f"-I{AGENT_SRC}",
            f"-I{FIRMWARE_TESTS}",
            *core_sources(),
            str(TEST_SOURCE),
            "-o",
            str(binary),
        ]
    )
    require_success(result)
    return binary


@pytest.mark.parametrize("case", declared_cases())
def test_cpp_case(agent_tests: Path, case: str) -> None:
    result = run_tool([str(agent_tests), case], timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"PASS {case}" in result.stdout
    assert "1 passed, 0 failed" in result.stdout


def test_every_declared_case_is_registered(agent_tests: Path) -> None:
    listed = run_tool([str(agent_tests), "--list"]).stdout.split()
    assert listed == declared_cases()
    assert len(listed) >= 40


def test_runner_fails_when_nothing_ran(agent_tests: Path) -> None:
    result = run_tool([str(agent_tests), "no_such_case"])
    assert result.returncode == 1
    assert "0 passed, 0 failed" in result.stdout


def test_core_builds_as_cxx11() -> None:
    """Arduino-ESP32 2.x compiles libraries as gnu++11, so the core must not need anything newer."""
    require_success(run_tool(["g++", "-std=c++11", "-pedantic", *STRICT_WARNINGS, "-fsyntax-only", *core_sources()]))


def test_core_builds_with_an_embedded_gcc(tmp_path: Path) -> None:
    """avr-g++ (16-bit int, old GCC) catches host-only assumptions in the portable core."""
    for source in core_sources():
        result = run_tool(
            [
                "avr-g++",
                "-std=gnu++11",
                "-Os",
                *STRICT_WARNINGS,
                "-mmcu=atmega328p",
                "-c",
                source,
                "-o",
                str(tmp_path / (Path(source).stem + ".o")),
            ]
        )
        require_success(result)


def test_core_uses_no_platform_headers() -> None:
    for path in sorted(CORE_DIR.glob("*")):
        for include in re.findall(r"^#include\s+(\S+)", path.read_text(), re.MULTILINE):
            assert include.startswith('"') or include in ALLOWED_CORE_INCLUDES, f"{path.name}: {include}"
