"""Stand-in for arduino-cli used by the test suite (the real one and its ESP32 core cannot be installed here)."""
from pathlib import Path

FAKE_ARDUINO_CLI: Path = Path(__file__).resolve().parent / "arduino-cli"
