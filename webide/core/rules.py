"""Rules for names and values that every way in shares (forms, JSON, CSV rosters, device reports, the CLI)."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from .errors import BadRequest

PRODUCT_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
MIN_PASSWORD = 4
MAX_PASSWORD = 256
FQBN_PATTERN = r"^[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+(:[A-Za-z0-9_.=,-]+)?$"
FQBN_RE = re.compile(FQBN_PATTERN)
MAX_ROW_ID = 2**31 - 1  # the largest SQL INTEGER (PostgreSQL's int4): ids and revision numbers stay within it
MAX_REVISION = MAX_ROW_ID
# Class names appear in URLs, CSV files and pages: letters (any script), digits, spaces and _.()-, no slash or markup.
CLASS_NAME_RE = re.compile(r"^[^\W_][\w .()-]{0,63}$")
MAX_DISPLAY_NAME = 120
MARKUP_CHARACTERS = frozenset("<>")


def check_display_name(name: str, what: str = "name", max_length: int = MAX_DISPLAY_NAME) -> str:
    """A human name shown on pages and cards: bounded, no control or format characters, no markup brackets."""
    if len(name) > max_length:
        raise BadRequest(f"{what} is longer than {max_length} characters")
    for character in name:
        if unicodedata.category(character) in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
            raise BadRequest(f"{what} contains an invisible control character (U+{ord(character):04X})")
        if character in MARKUP_CHARACTERS:
            raise BadRequest(f"{what} must not contain < or >")
    return name


def check_class_name(name: str) -> str:
    if not CLASS_NAME_RE.fullmatch(name) or name != name.strip():
        raise BadRequest(
            f"invalid class name {name[:80]!r}: use 1 to 64 letters, digits, spaces and _.()- "
            f"(starting with a letter or digit)"
        )
    return name


def required_str(body: dict[str, Any], name: str, max_length: int = 256, pattern: re.Pattern[str] | None = None) -> str:
    value = body.get(name)
    if value is None or value == "":
        raise BadRequest(f"Missing field: {name}")
    return checked_str(name, value, max_length, pattern)


def optional_str(
    body: dict[str, Any],
    name: str,
    max_length: int = 256,
    pattern: re.Pattern[str] | None = None,
    default: str | None = None,
) -> str | None:
    value = body.get(name)
    if value is None:
        return default
    return checked_str(name, value, max_length, pattern)


def checked_str(name: str, value: object, max_length: int, pattern: re.Pattern[str] | None = None) -> str:
    if not isinstance(value, str):
        raise BadRequest(f"Field {name} must be a string")
    if len(value) > max_length:
        raise BadRequest(f"Field {name} is longer than {max_length} characters")
    if "\x00" in value:
        raise BadRequest(f"Field {name} contains a NUL character")
    if pattern is not None and not pattern.match(value):
        raise BadRequest(f"Field {name} has an invalid format")
    return value


def optional_bool(body: dict[str, Any], name: str, default: bool = False) -> bool:
    value = body.get(name, default)
    if not isinstance(value, bool):
        raise BadRequest(f"Field {name} must be true or false")
    return value


def optional_int(body: dict[str, Any], name: str, low: int, high: int, default: int | None = None) -> int | None:
    value = body.get(name, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"Field {name} must be a whole number")
    if not low <= value <= high:
        raise BadRequest(f"Field {name} must be between {low} and {high}")
    return value
