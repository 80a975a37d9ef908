"""File → Examples: starter sketches kept as real sketch folders next to this module (``sketch_examples/<id>/``).

Each example's main file is ``<id>.ino``. The API returns the files under those names; with ``?product_id=`` it
returns them ready for that bot, the main file renamed to the bot's main file (the editor opens an example as a copy
of the bot's own sketch).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import NotFound

EXAMPLES_DIR = Path(__file__).resolve().parent / "sketch_examples"
SOURCE_SUFFIXES = (".ino", ".h", ".hpp", ".c", ".cpp", ".S")


@dataclass(frozen=True)
class Example:
    id: str
    title: str
    description: str
    esp32_only: bool = False  # uses ESP32 APIs; on other boards it compiles but only prints a note


CATALOGUE = (
    Example("Blink", "Blink", "Switches the on-board LED on and off once a second."),
    Example(
        "SerialHello", "Serial hello", "Greets you on the serial monitor, counts seconds and echoes what you type."
    ),
    Example(
        "WiFiScan", "Wi-Fi scan", "Lists the Wi-Fi networks around the bot with their signal strength.", esp32_only=True
    ),
    Example("Button", "Button", "The LED follows a push button; presses are debounced and counted."),
    Example(
        "PwmMotor",
        "PWM motor",
        "Ramps a DC motor's speed up and down with PWM, in both directions; the motor driver lives in its own tab.",
    ),
)


def list_examples() -> list[dict[str, str]]:
    """The examples menu, in menu order."""
    return [{"id": e.id, "title": e.title, "description": e.description} for e in CATALOGUE]


def find_example(example_id: str) -> Example:
    """The catalogue entry for ``example_id``; 404 for anything else, so no path reaches the disk."""
    for example in CATALOGUE:
        if example.id == example_id:
            return example
    raise NotFound(f"No example named {example_id!r}")


def example_files(example_id: str, main_name: str | None = None) -> list[dict[str, str]]:
    """The example's files, main file first; renamed to ``main_name`` when given."""
    example = find_example(example_id)
    folder = EXAMPLES_DIR / example.id
    main = f"{example.id}.ino"
    paths = sorted(
        (p for p in folder.iterdir() if p.is_file() and p.suffix in SOURCE_SUFFIXES),
        key=lambda p: (p.name != main, p.name),
    )
    return [
        {"name": (main_name or main) if p.name == main else p.name, "content": p.read_text(encoding="utf-8")}
        for p in paths
    ]
