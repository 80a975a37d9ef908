"""Fixtures for the firmware tests."""

from __future__ import annotations

import pytest

from .toolchain import AGENT_EXTRAS


@pytest.fixture(scope="session")
def esp32_link_flags() -> list[str]:
    """The linker flags the compile service adds to every ESP32 build, as shipped with the library."""
    return (AGENT_EXTRAS / "esp32_link_flags.txt").read_text().split()
