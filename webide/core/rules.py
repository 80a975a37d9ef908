"""Rules for names and values that every way in shares (forms, JSON, CSV rosters, device reports, the CLI)."""

from __future__ import annotations

import re
from typing import Any

from .errors import BadRequest

PRODUCT_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
MIN_PASSWORD = 4
MAX_PASSWORD = 256
FQBN_PATTERN = r"^[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+:[A-Za-z0-9_.-]+(:[A-Za-z0-9_.=,-]+)?$"
FQBN_RE = re.compile(FQBN_PATTERN)
MAX_REVISION = 2**31 - 1


def required_str(body: dict[str, Any], name: str, max_length: int = 256, pattern: re.Pattern[str] | None = None) -> str:
    value = body.get(name)
    if value is None or value == "":
        raise BadRequest(f"Missing field: {name}")
    return checked_str(name, value, max_length, pattern)


def optional_str(body: dict[str, Any], name: str, max_length: int = 256, pattern: re.Pattern[str] | None = None,
                 default: str | None = None) -> str | None:
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
