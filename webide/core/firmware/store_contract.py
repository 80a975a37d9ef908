"""What every artifact store promises: content-addressed keys, all-or-nothing publishing, ranged reads, clear errors.

Kept apart from the stores themselves so that each store (``store.LocalFolderStore``, ``s3store.S3Store``) depends
only on the contract, and the factory in ``store`` may choose among them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Generator, Iterator, Mapping
from pathlib import Path
from typing import BinaryIO, Protocol

from ..errors import NotFound, ServiceUnavailable

APP_IMAGE = "firmware.bin"
HEX_IMAGE = "firmware.hex"
CHUNK_BYTES = 256 * 1024
S3_SCHEME = "s3://"


class ArtifactMissing(NotFound):
    """The store has no such file (an artifact recorded in the database whose bytes are gone)."""


class ArtifactCorrupt(ValueError):
    """The bytes offered for publishing do not have the SHA-256 they are published under."""


class StoreUnavailable(ServiceUnavailable):
    """The store did not answer in time or refused the request; the message says which store and why."""


class Addressed(Protocol):
    @property
    def sha256(self) -> str: ...


def artifact_key(sha256: str, name: str = APP_IMAGE) -> str:
    """The content-addressed key of one stored file, the same in every store (and under nginx's X-Accel prefix)."""
    return f"{sha256[:2]}/{sha256}/{name}"


class ObjectStream:
    """An opened read of part of a stored file: ``length`` bytes in chunks; ``close()`` releases the handle early.

    Opening happens before the caller sends its response headers, so a missing file is a clear error, not a body cut
    short.
    """

    def __init__(self, length: int, chunks: Generator[bytes, None, None], handle: BinaryIO | None = None):
        self.length = length
        self._chunks = chunks
        self._handle = handle

    def __iter__(self) -> Iterator[bytes]:
        return self._chunks

    def read_all(self) -> bytes:
        try:
            return b"".join(self._chunks)
        finally:
            self.close()

    def close(self) -> None:
        self._chunks.close()  # runs the reader's cleanup if it had started
        if self._handle is not None:
            self._handle.close()  # and releases what was opened before it started


def missing(sha256: str, name: str) -> ArtifactMissing:
    return ArtifactMissing(f"The firmware file {artifact_key(sha256, name)} is missing from the store")


def no_bytes() -> Generator[bytes, None, None]:
    yield from ()


class ArtifactStore(Protocol):
    """Where published firmware lives. Keys come from ``artifact_key``. Stores are hashable (per-store caches)."""

    def __hash__(self) -> int: ...

    def publish(self, sha256: str, files: Mapping[str, Path]) -> None:
        """Store ``files`` (stored name → source path) under ``sha256``, all or nothing; the app image must be
        among them and must have that SHA-256 (else ``ArtifactCorrupt``, and nothing is stored)."""
        ...

    def exists(self, sha256: str, name: str = APP_IMAGE) -> bool: ...

    def read(self, sha256: str, name: str = APP_IMAGE, start: int = 0, stop: int | None = None) -> ObjectStream:
        """Bytes ``start``..``stop`` (exclusive; None = to the end); ``ArtifactMissing`` if there is no such file."""
        ...

    def local_file(self, sha256: str, name: str = APP_IMAGE) -> Path | None:
        """The file on this machine's disk when the store is a local folder (for sendfile/X-Accel), else None."""
        ...


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 16):
            digest.update(chunk)
    return digest.hexdigest()


def require_app_image(sha256: str, files: Mapping[str, Path]) -> None:
    """Refuse to publish bytes under a SHA-256 they do not have: the key is the content's identity."""
    if APP_IMAGE not in files:
        raise ArtifactCorrupt(f"an artifact needs its app image ({APP_IMAGE})")
    actual = sha256_of(files[APP_IMAGE])
    if actual != sha256:
        raise ArtifactCorrupt(f"the app image's SHA-256 is {actual}, not {sha256}")


def app_image_last(files: Mapping[str, Path]) -> list[tuple[str, Path]]:
    """Upload order: the app image marks an artifact complete, so it goes last."""
    return sorted(files.items(), key=lambda item: item[0] == APP_IMAGE)


def byte_range(size: int, start: int, stop: int | None) -> tuple[int, int]:
    stop = size if stop is None else min(stop, size)
    if not 0 <= start <= stop:
        raise ValueError(f"bad byte range {start}..{stop} of a {size}-byte file")
    return start, stop
