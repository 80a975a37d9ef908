"""Who is asking on the device path: a bot's firmware proves itself with its device token or a signed URL.

Accepted credentials, checked in this order:

* ``Authorization: Bearer <device token>`` (the agent on Arduino-ESP32 3.x),
* ``Authorization: Basic base64(product_id:device_token)`` (2.x, whose HTTPUpdate can only put credentials in the URL),
* for the firmware download only, ``?expires=<unix time>&sig=<hex>`` as handed out by the check endpoint.

Every failure — unknown bot, wrong token, another bot's token, expired or tampered signature — gets the same 401
answer after the same amount of work, so the answer never tells whether a bot exists.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from urllib.parse import urlencode

from flask import current_app, request
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..errors import Forbidden, Unauthorized
from ..extensions import db
from ..models import Artifact, Device
from ..security import token_digest, tokens_match
from ..validation import PRODUCT_ID_RE

REALM = 'Basic realm="webide device", charset="UTF-8"'
UNAUTHORIZED_MESSAGE = "Device authentication required: send the bot's device token"
# Compared against when the bot does not exist, so unknown and known bots cost the same.
_ABSENT_DIGEST = token_digest("no bot has this token")
MAX_CREDENTIAL_LENGTH = 512


def refuse() -> Unauthorized:
    return Unauthorized(UNAUTHORIZED_MESSAGE, www_authenticate=REALM)


def load_device(product_id: str) -> Device | None:
    """The bot with its target artifact in one query (the hot path of every device request)."""
    if not PRODUCT_ID_RE.match(product_id):
        return None
    return db.session.scalar(select(Device).options(joinedload(Device.target_artifact))
                             .where(Device.product_id == product_id))


def presented_token(product_id: str) -> str | None:
    """The device token from the Authorization header (Bearer, or Basic whose user is this bot), if any."""
    header = request.headers.get("Authorization", "")
    if len(header) > MAX_CREDENTIAL_LENGTH:
        return None
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() == "bearer":
        return value or None
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return None
        return password if user == product_id and password else None
    return None


def authenticate_device(product_id: str, allow_signed_url: bool = False) -> Device:
    """The bot named in the URL, if the request carries its credentials; else 401 (403 when it is blocked)."""
    device = load_device(product_id)
    token = presented_token(product_id)
    if token is not None:
        valid = tokens_match(device.device_token_hash if device else _ABSENT_DIGEST, token) and device is not None
    elif allow_signed_url and "sig" in request.args:
        valid = device is not None and signature_is_valid(device, request.args.get("expires", ""),
                                                          request.args.get("sig", ""))
    else:
        valid = False
    if not valid:
        raise refuse()
    if device.blocked:
        raise Forbidden("This bot is blocked; ask your instructor")
    return device


def url_signing_key() -> bytes:
    """A key derived from the app secret for this one purpose, so a signature is useless anywhere else."""
    return hmac.new(current_app.config["SECRET_KEY"].encode(), b"webide firmware url", hashlib.sha256).digest()


def firmware_signature(product_id: str, sha256: str, expires: int) -> str:
    message = f"{product_id}\n{sha256}\n{expires}".encode()
    return hmac.new(url_signing_key(), message, hashlib.sha256).hexdigest()


def signature_is_valid(device: Device, expires: str, signature: str) -> bool:
    """True while the URL has not expired and was signed for this bot and its current target image."""
    target: Artifact | None = device.target_artifact
    if target is None or not expires.isdigit() or len(expires) > 12 or len(signature) > 128:
        return False
    if int(expires) < time.time():
        return False
    return hmac.compare_digest(firmware_signature(device.product_id, target.sha256, int(expires)), signature)


def signed_query(device: Device, artifact: Artifact, ttl_s: int) -> str:
    """``expires=…&sig=…`` for the bot's firmware URL, valid ``ttl_s`` seconds and only for this image."""
    expires = int(time.time()) + ttl_s
    return urlencode({"expires": expires, "sig": firmware_signature(device.product_id, artifact.sha256, expires)})
