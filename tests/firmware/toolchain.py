"""Paths and a subprocess helper shared by the firmware tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

FIRMWARE_DIR = Path(__file__).resolve().parents[2] / "bootstrap_firmware"
AGENT_SRC = FIRMWARE_DIR / "WebideAgent" / "src"
AGENT_EXTRAS = FIRMWARE_DIR / "WebideAgent" / "extras"
FIRMWARE_TESTS = FIRMWARE_DIR / "tests"


def run_tool(argv: list[str], *, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run a toolchain command and capture its text output (never raises on a non-zero exit)."""
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def require_success(result: subprocess.CompletedProcess[str]) -> None:
    """Fail the test with the tool's own output when it exited non-zero."""
    assert result.returncode == 0, f"{result.args}\n{result.stdout}\n{result.stderr}"
