"""Detached signatures of published images: ECDSA P-256 over the image's SHA-256, made with the server's key.

Why ECDSA P-256 and not Ed25519: the agent verifies on the ESP32 with the mbedTLS that Arduino-ESP32 ships, which has
ECDSA on secp256r1 (TLS needs it) but no Ed25519; OpenSSL and the ``cryptography`` package have both, so P-256 is
the one algorithm the server, the ESP32 and the host tests share without adding a library.

The private key lives in the data folder (``firmware_signing_key.pem``, created once with mode 0600) or in the PEM
file ``WEBIDE_FIRMWARE_SIGNING_KEY`` names. A key file that others may read is refused: anyone who can read it can
sign firmware every bot would accept. The signature is 64 bytes, ``r || s`` big-endian, sent as base64; the public
key is the 65-byte uncompressed point (0x04 || X || Y), base64, and goes into every first-flash kit.
"""

from __future__ import annotations

import base64
import hashlib
import stat
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import Prehashed, decode_dss_signature, encode_dss_signature
from sqlalchemy import select

from ...config import Settings, write_private_once
from ...extensions import db
from ...models import Artifact, ImageSignature, utcnow
from ..errors import ServiceUnavailable

KEY_FILE = "firmware_signing_key.pem"
ALGORITHM = "ECDSA-P256-SHA256"
COORDINATE_BYTES = 32
SIGNATURE_BYTES = 2 * COORDINATE_BYTES


class SigningKeyError(ServiceUnavailable):
    """The signing key cannot be used (a 503 for a request; the service refuses to start); the message says which
    file and why."""


@dataclass(frozen=True)
class SigningKey:
    private: ec.EllipticCurvePrivateKey
    public_point: bytes  # 65 bytes, uncompressed
    key_id: str  # first 16 hex digits of the point's SHA-256

    @property
    def public_key_b64(self) -> str:
        return base64.b64encode(self.public_point).decode()


def key_path(settings: Settings) -> Path:
    return Path(settings.firmware_signing_key) if settings.firmware_signing_key else settings.data_dir / KEY_FILE


def signing_key(settings: Settings) -> SigningKey:
    """The server's signing key: created on first use when it is the data folder's own, else read and checked."""
    path = key_path(settings)
    if not path.exists():
        if settings.firmware_signing_key:
            raise SigningKeyError(f"WEBIDE_FIRMWARE_SIGNING_KEY names {path}, which does not exist")
        create_key_file(path)
    info = path.stat()
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o077:
        raise SigningKeyError(
            f"The firmware signing key {path} may be read by others (mode {mode:04o}); "
            f"make it private with: chmod 600 {path}"
        )
    return loaded_key(str(path), info.st_mtime_ns, info.st_size)


def create_key_file(path: Path) -> None:
    """A new P-256 key in PEM, written privately and linked into place so concurrent starters agree on one key."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    write_private_once(path, pem)


@lru_cache(maxsize=4)
def loaded_key(path: str, _mtime_ns: int, _size: int) -> SigningKey:
    """Parse the PEM once per file version."""
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (ValueError, TypeError) as error:
        raise SigningKeyError(
            f"The firmware signing key {path} is not an unencrypted PEM private key: {error}"
        ) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise SigningKeyError(f"The firmware signing key {path} must be an ECDSA P-256 (prime256v1) key")
    point = key.public_key().public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return SigningKey(key, point, hashlib.sha256(point).hexdigest()[:16])


def sign_digest(key: SigningKey, sha256_hex: str) -> str:
    """base64(r || s) of ECDSA P-256 over the image whose SHA-256 is given."""
    der = key.private.sign(bytes.fromhex(sha256_hex), ec.ECDSA(Prehashed(hashes.SHA256())))
    r, s = decode_dss_signature(der)
    return base64.b64encode(r.to_bytes(COORDINATE_BYTES, "big") + s.to_bytes(COORDINATE_BYTES, "big")).decode()


def signature_is_valid(public_point: bytes, sha256_hex: str, signature_b64: str) -> bool:
    """What the agent checks, in Python: a 64-byte r || s over this SHA-256 by this public key."""
    try:
        raw = base64.b64decode(signature_b64, validate=True)
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), public_point)
    except ValueError:
        return False
    if len(raw) != SIGNATURE_BYTES:
        return False
    der = encode_dss_signature(
        int.from_bytes(raw[:COORDINATE_BYTES], "big"), int.from_bytes(raw[COORDINATE_BYTES:], "big")
    )
    try:
        public.verify(der, bytes.fromhex(sha256_hex), ec.ECDSA(Prehashed(hashes.SHA256())))
    except InvalidSignature:
        return False
    return True


def sign_image(artifact: Artifact, settings: Settings) -> ImageSignature:
    """The image's signature by the current key, made now if it has none yet (or one by an older key)."""
    key = signing_key(settings)
    existing = db.session.get(ImageSignature, artifact.id)
    if existing is not None and existing.key_id == key.key_id:
        return existing
    if existing is None:
        existing = ImageSignature(artifact_id=artifact.id)
        db.session.add(existing)
    existing.key_id, existing.signature, existing.created_at = key.key_id, sign_digest(key, artifact.sha256), utcnow()
    db.session.flush()
    return existing


def stored_signature(artifact_id: int) -> str | None:
    """The stored signature of an image (the device path reads it; it never signs)."""
    return db.session.scalar(select(ImageSignature.signature).where(ImageSignature.artifact_id == artifact_id))
