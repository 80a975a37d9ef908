"""Configuration bundles (seed 002's ``/ota-configure``): a ZIP with ``config.json`` and an optional starter sketch.

``config.json`` is one object with any of ``wifi`` (``{"ssid", "password"?}``), ``board`` (an FQBN) and ``name``;
other keys are refused rather than ignored, so a typo never passes silently. Everything is checked by the same rules
as the matching API calls and staged in the caller's transaction: a refusal changes nothing.
"""

from __future__ import annotations

import json
from typing import Any

from ..config import Settings
from ..models import Device, SketchRevision
from .errors import BadRequest
from .rules import check_display_name
from .sketches import check_sketch, head_revision, save_sketch, set_board
from .wifi import set_wifi

SETTINGS_FILE = "config.json"
SETTINGS_KEYS = ("wifi", "board", "name")
WIFI_KEYS = ("ssid", "password")


def parse_bundle_settings(text: str) -> dict[str, Any]:
    """``config.json`` as an object with only the known keys, each of the right type."""
    try:
        values = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise BadRequest(f"{SETTINGS_FILE} is not valid JSON: {str(error)[:200]}") from None
    if not isinstance(values, dict):
        raise BadRequest(f"{SETTINGS_FILE} must hold one JSON object")
    unknown = sorted(set(values) - set(SETTINGS_KEYS))
    if unknown:
        raise BadRequest(f"{SETTINGS_FILE} has unknown settings: {', '.join(unknown)[:200]}")
    wifi = values.get("wifi")
    if wifi is not None and (not isinstance(wifi, dict) or set(wifi) - set(WIFI_KEYS) or "ssid" not in wifi):
        raise BadRequest(f'{SETTINGS_FILE}: "wifi" must be an object with "ssid" and optionally "password"')
    for key in ("board", "name"):
        if key in values and not isinstance(values[key], str):
            raise BadRequest(f'{SETTINGS_FILE}: "{key}" must be a string')
    return values


def apply_bundle(
    device: Device, settings_text: str, files: list[dict[str, str]] | None, settings: Settings, author: str
) -> SketchRevision:
    """Stage the bundle's settings and starter sketch on the bot; the revision to build (the new one, or the head)."""
    values = parse_bundle_settings(settings_text)
    if "name" in values:
        device.name = check_display_name(values["name"].strip(), "name")
    if "board" in values:
        set_board(device, values["board"], settings)
    if "wifi" in values:
        set_wifi(device, values["wifi"]["ssid"], values["wifi"].get("password"), settings.data_dir)
    head = head_revision(device)
    if files is None:
        return head
    check_sketch(device, files, settings)
    return save_sketch(device, files, head.number, "import", author, "Starter sketch from a configuration bundle")
