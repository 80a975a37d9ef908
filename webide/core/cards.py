"""Printable credential cards: each bot's login address as text and as a QR code a student's phone can scan."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlencode

import segno

from ..models import Device

QR_SCALE = 3  # SVG units per module: about 3 cm wide when printed, readable by a phone held at arm's length


@dataclass(frozen=True)
class Card:
    product_id: str
    name: str
    login_url: str
    qr_svg: str  # an inline <svg> element made by segno from the URL alone (no user text reaches it unencoded)


def login_url(base_url: str, product_id: str) -> str:
    """The login page with the bot's product ID filled in."""
    return f"{base_url.rstrip('/')}/login?{urlencode({'mode': 'device', 'product_id': product_id})}"


def qr_svg(text: str) -> str:
    """An inline SVG QR code of ``text`` (error correction M survives a crease or a smudge on paper)."""
    return segno.make(text, error="m", micro=False).svg_inline(scale=QR_SCALE, title="QR code of the login address")


def credential_cards(devices: Sequence[Device], base_url: str) -> list[Card]:
    return [
        Card(device.product_id, device.name, url, qr_svg(url))
        for device in devices
        for url in [login_url(base_url, device.product_id)]
    ]
