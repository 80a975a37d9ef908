"""The Wi-Fi network a bot should join, with the password encrypted at rest (Fernet: AES-128-CBC + HMAC-SHA256).

The key lives in its own file, ``wifi.key`` (mode 0600) in the data folder, rather than being derived from the
session secret: rotating the session secret is the usual way to log everyone out after a leak, and that must not
make every stored Wi-Fi password unreadable. A separate file also keeps the two purposes apart, and a database dump
(e.g. from PostgreSQL on another machine) holds only ciphertext. Back up ``wifi.key`` with the database.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from ..config import load_or_create_secret
from ..models import Device
from .errors import BadRequest

log = logging.getLogger(__name__)

KEY_FILE = "wifi.key"
MAX_SSID_BYTES = 32
MIN_PASSPHRASE = 8
MAX_PASSPHRASE = 63


@dataclass(frozen=True)
class WifiCredentials:
    """What a bot needs to join its network; ``password`` is "" for an open network."""

    ssid: str
    password: str


def cipher(data_dir: Path) -> Fernet:
    """The Fernet cipher keyed by ``data_dir/wifi.key``, created on first use."""
    key_hex = load_or_create_secret(data_dir, KEY_FILE)
    return Fernet(base64.urlsafe_b64encode(bytes.fromhex(key_hex)))


def check_ssid(ssid: object) -> str:
    """An SSID of 1 to 32 bytes (the 802.11 limit counts bytes, not characters)."""
    if ssid is None:
        raise BadRequest("Missing field: ssid")
    if not isinstance(ssid, str):
        raise BadRequest("Field ssid must be a string")
    size = len(ssid.encode("utf-8"))
    if not 1 <= size <= MAX_SSID_BYTES:
        raise BadRequest(f"The network name (SSID) must be 1 to {MAX_SSID_BYTES} bytes long; it is {size}")
    if any(ord(c) < 32 or ord(c) == 127 for c in ssid):
        raise BadRequest("The network name (SSID) must not contain control characters")
    return ssid


def check_wifi_password(password: object) -> str:
    """A WPA passphrase (8 to 63 characters) or "" for an open network."""
    if not isinstance(password, str):
        raise BadRequest("Field password must be a string")
    if password and not MIN_PASSPHRASE <= len(password) <= MAX_PASSPHRASE:
        raise BadRequest(
            f"The Wi-Fi password must be {MIN_PASSPHRASE} to {MAX_PASSPHRASE} characters long, or "
            f"empty for an open network"
        )
    if any(ord(c) < 32 or ord(c) == 127 for c in password):
        raise BadRequest("The Wi-Fi password must not contain control characters")
    return password


def set_wifi(device: Device, ssid: object, password: object, data_dir: Path) -> None:
    """Store the bot's network; ``password=None`` keeps the stored password (the page never sees it to resend)."""
    device.wifi_ssid = check_ssid(ssid)
    if password is not None:
        secret = check_wifi_password(password)
        device.wifi_password_encrypted = cipher(data_dir).encrypt(secret.encode()).decode() if secret else None
    log.info("Wi-Fi settings of %s changed (network %r)", device.product_id, device.wifi_ssid)


def wifi_view(device: Device) -> dict[str, object]:
    """What the page may see: the network name and whether a password is stored, never the password."""
    return {"ssid": device.wifi_ssid or "", "has_password": bool(device.wifi_password_encrypted)}


def wifi_credentials(device: Device, data_dir: Path) -> WifiCredentials | None:
    """The decrypted network settings (for building the bootstrap firmware), or None when none are set.

    A password that cannot be decrypted (``wifi.key`` lost or replaced) is logged and treated as not set.
    """
    if not device.wifi_ssid:
        return None
    if not device.wifi_password_encrypted:
        return WifiCredentials(device.wifi_ssid, "")
    try:
        password = cipher(data_dir).decrypt(device.wifi_password_encrypted.encode()).decode()
    except InvalidToken:
        log.error(
            "The Wi-Fi password of %s cannot be decrypted with %s; enter it again",
            device.product_id,
            data_dir / KEY_FILE,
        )
        return None
    return WifiCredentials(device.wifi_ssid, password)
