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
from dataclasses import dataclass

from flask import request
from sqlalchemy import Select, bindparam, select

from ..core.deployments import RUNNING, newest_deployment_id
from ..core.errors import Forbidden, Unauthorized
from ..core.firmware.urls import signature_is_valid
from ..core.rules import PRODUCT_ID_RE
from ..core.security import token_digest, tokens_match
from ..extensions import db
from ..models import Artifact, Deployment, Device

REALM = 'Basic realm="webide device", charset="UTF-8"'
UNAUTHORIZED_MESSAGE = "Device authentication required: send the bot's device token"
# Compared against when the bot does not exist, so unknown and known bots cost the same.
_ABSENT_DIGEST = token_digest("no bot has this token")
MAX_CREDENTIAL_LENGTH = 512


def refuse() -> Unauthorized:
    return Unauthorized(UNAUTHORIZED_MESSAGE, www_authenticate=REALM)


@dataclass(frozen=True)
class TargetImage:
    id: int
    md5: str
    sha256: str
    size: int


@dataclass(frozen=True)
class DeviceState:
    """What every device request needs, read in one query: the 304 check answers from this alone."""

    id: int
    product_id: str
    token_hash: str
    blocked: bool
    running_md5: str | None
    running_sha256: str | None
    target: TargetImage | None
    flash_state: str | None  # of the newest deployment

    def confirmed(self) -> bool:
        """The bot is known to run its target and nothing is left to record about it."""
        return (
            self.target is not None
            and self.flash_state in (None, RUNNING)
            and (self.running_md5, self.running_sha256) == (self.target.md5, self.target.sha256)
        )


def device_state_query() -> Select:
    newest_state = select(Deployment.state).where(Deployment.id == newest_deployment_id(Device.id)).scalar_subquery()
    return (
        select(
            Device.id,
            Device.product_id,
            Device.device_token_hash,
            Device.blocked,
            Device.running_md5,
            Device.running_sha256,
            Artifact.id,
            Artifact.md5,
            Artifact.sha256,
            Artifact.size,
            newest_state,
        )
        .outerjoin(Artifact, Artifact.id == Device.target_artifact_id)
        .where(Device.product_id == bindparam("product_id"))
    )


# Built once: constructing the statement costs more than running it on the hot path.
DEVICE_STATE_QUERY = device_state_query()


def load_device_state(product_id: str) -> DeviceState | None:
    if not PRODUCT_ID_RE.match(product_id):
        return None
    row = db.session.connection().execute(DEVICE_STATE_QUERY, {"product_id": product_id}).first()
    if row is None:
        return None
    target = TargetImage(row[6], row[7], row[8], row[9]) if row[6] is not None else None
    return DeviceState(row[0], row[1], row[2], row[3], row[4], row[5], target, row[10])


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


def authenticate_device(product_id: str, allow_signed_url: bool = False) -> DeviceState:
    """The bot named in the URL, if the request carries its credentials; else 401 (403 when it is blocked)."""
    state = load_device_state(product_id)
    token = presented_token(product_id)
    if token is not None:
        valid = tokens_match(state.token_hash if state else _ABSENT_DIGEST, token) and state is not None
    elif allow_signed_url and "sig" in request.args:
        valid = state is not None and signature_is_valid(
            state.product_id,
            state.target and state.target.sha256,
            request.args.get("expires", ""),
            request.args.get("sig", ""),
        )
    else:
        valid = False
    if not valid:
        raise refuse()
    if state.blocked:
        raise Forbidden("This bot is blocked; ask your instructor")
    return state


def authenticated_device(product_id: str) -> Device:
    """Like :func:`authenticate_device`, returning the bot's row for endpoints that change it."""
    return db.session.get_one(Device, authenticate_device(product_id).id)
