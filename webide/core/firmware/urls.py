"""Where a bot gets its firmware: the static URL, and short-lived signed URLs the check endpoint hands out."""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlencode

from ...config import Settings
from ...extensions import current_secret_key, public_base_url
from ...models import Artifact, Device


def firmware_url(device: Device, settings: Settings) -> str:
    """The bot's static firmware URL, e.g. http://host:5000/bot_001.ino.bin."""
    return f"{public_base_url(settings)}/{device.product_id}.ino.bin"


def url_signing_key() -> bytes:
    """A key derived from the app secret for this one purpose, so a signature is useless anywhere else."""
    return hmac.new(current_secret_key().encode(), b"webide firmware url", hashlib.sha256).digest()


def firmware_signature(product_id: str, sha256: str, expires: int) -> str:
    message = f"{product_id}\n{sha256}\n{expires}".encode()
    return hmac.new(url_signing_key(), message, hashlib.sha256).hexdigest()


def signature_is_valid(product_id: str, target_sha256: str | None, expires: str, signature: str) -> bool:
    """True while the URL has not expired and was signed for this bot and its current target image."""
    if target_sha256 is None or not expires.isdigit() or len(expires) > 12 or len(signature) > 128:
        return False
    if int(expires) < time.time():
        return False
    return hmac.compare_digest(firmware_signature(product_id, target_sha256, int(expires)), signature)


def signed_query(device: Device, artifact: Artifact, ttl_s: int) -> str:
    """``expires=…&sig=…`` for the bot's firmware URL, valid ``ttl_s`` seconds and only for this image."""
    expires = int(time.time()) + ttl_s
    return urlencode({"expires": expires, "sig": firmware_signature(device.product_id, artifact.sha256, expires)})
