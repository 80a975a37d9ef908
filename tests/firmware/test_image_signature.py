"""The agent's signature check against real signatures made by the server's signing code.

The agent's portable check (``src/core/signature.cpp``) is built with an OpenSSL verifier standing in for the ESP32
layer's mbedTLS one (both verify ECDSA P-256 over a SHA-256); the server's code makes the key and the signature.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from webide.config import Settings
from webide.core.firmware.signing import SigningKey, sign_digest, signing_key

from ..test_images import write_image
from .toolchain import AGENT_SRC, FIRMWARE_TESTS, require_success, run_tool

CHECK_SOURCE = FIRMWARE_TESTS / "host_signature" / "signature_check.cpp"


@pytest.fixture(scope="module")
def signature_check(tmp_path_factory: pytest.TempPathFactory) -> Path:
    binary = tmp_path_factory.mktemp("signature") / "signature_check"
    require_success(
        run_tool(
            [
                "g++",
                "-std=c++17",
                "-Wall",
                "-Wextra",
                "-Werror",
                "-g",
                "-fsanitize=address,undefined",
                "-fno-sanitize-recover=all",
                f"-I{AGENT_SRC}",
                str(AGENT_SRC / "core" / "signature.cpp"),
                str(CHECK_SOURCE),
                "-lcrypto",
                "-o",
                str(binary),
            ]
        )
    )
    return binary


@pytest.fixture
def server_key(tmp_path: Path) -> SigningKey:
    return signing_key(Settings(data_dir=tmp_path / "instance"))


def signed_image(tmp_path: Path, key: SigningKey) -> tuple[Path, str]:
    image = write_image(tmp_path / "app.bin")
    return image, sign_digest(key, hashlib.sha256(image.read_bytes()).hexdigest())


def verdict(binary: Path, public_key: str, image: Path, signature: str) -> tuple[int, str]:
    result = run_tool([str(binary), public_key, str(image), signature], timeout=60)
    assert not result.stderr, result.stderr  # the sanitizers stay silent
    return result.returncode, result.stdout.strip()


def test_the_agent_accepts_the_servers_signature(signature_check, server_key, tmp_path):
    image, signature = signed_image(tmp_path, server_key)
    assert verdict(signature_check, server_key.public_key_b64, image, signature) == (0, "valid")


def test_a_flipped_image_byte_is_rejected(signature_check, server_key, tmp_path):
    image, signature = signed_image(tmp_path, server_key)
    data = bytearray(image.read_bytes())
    data[len(data) // 2] ^= 0x01
    image.write_bytes(bytes(data))
    assert verdict(signature_check, server_key.public_key_b64, image, signature) == (
        1,
        "signature does not match the image",
    )


def test_another_key_is_rejected(signature_check, server_key, tmp_path):
    image, signature = signed_image(tmp_path, server_key)
    other = (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    )
    assert verdict(signature_check, base64.b64encode(other).decode(), image, signature) == (
        1,
        "signature does not match the image",
    )


@pytest.mark.parametrize(
    "cut,expected",
    [
        (lambda raw: raw[:63], "malformed signature or key"),
        (lambda raw: raw[:32], "malformed signature or key"),
        (lambda raw: b"", "no signature sent"),
    ],
)
def test_a_truncated_signature_is_rejected(signature_check, server_key, tmp_path, cut, expected):
    image, signature = signed_image(tmp_path, server_key)
    truncated = base64.b64encode(cut(base64.b64decode(signature))).decode()
    assert verdict(signature_check, server_key.public_key_b64, image, truncated) == (1, expected)


def test_a_flipped_signature_bit_is_rejected(signature_check, server_key, tmp_path):
    image, signature = signed_image(tmp_path, server_key)
    raw = bytearray(base64.b64decode(signature))
    raw[40] ^= 0x80
    assert verdict(signature_check, server_key.public_key_b64, image, base64.b64encode(bytes(raw)).decode()) == (
        1,
        "signature does not match the image",
    )
