"""The artifact store: published firmware, content-addressed by SHA-256 and published atomically.

Two stores keep the same contract (``ArtifactStore``): a local folder (the default, ``<data>/artifacts``) and an
S3-compatible bucket (``WEBIDE_ARTIFACT_STORE=s3://bucket/prefix``, see ``s3store``), which lets web servers and
workers on different machines share artifacts without sharing a disk. Every artifact lives under the key
``<sha256[:2]>/<sha256>/<name>``; its app image is written last, so an artifact whose app image exists is complete.
The database row is recorded only after the store holds the files.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Generator, Mapping
from functools import lru_cache
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ...config import ConfigError, S3Access, Settings
from ...extensions import db
from ...models import Artifact, utcnow
from .store_contract import (
    APP_IMAGE,
    CHUNK_BYTES,
    HEX_IMAGE,
    S3_SCHEME,
    Addressed,
    ArtifactCorrupt,
    ArtifactMissing,
    ArtifactStore,
    ObjectStream,
    StoreUnavailable,
    app_image_last,
    artifact_key,
    byte_range,
    missing,
    require_app_image,
)

__all__ = [
    "APP_IMAGE",
    "HEX_IMAGE",
    "ArtifactCorrupt",
    "ArtifactMissing",
    "ArtifactStore",
    "LocalFolderStore",
    "ObjectStream",
    "StoreUnavailable",
    "artifact_key",
    "artifact_store",
    "download_name",
    "publish_artifact",
]


def file_digests(path: Path) -> tuple[str, str, int]:
    md5, sha256, size = hashlib.md5(), hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 16):
            md5.update(chunk)
            sha256.update(chunk)
            size += len(chunk)
    return md5.hexdigest(), sha256.hexdigest(), size


class LocalFolderStore:
    """Artifacts in a folder on this machine: ``<root>/<sha256[:2]>/<sha256>/``, renamed into place when complete."""

    def __init__(self, root: Path):
        self.root = root

    def __repr__(self) -> str:
        return f"LocalFolderStore({str(self.root)!r})"

    def folder(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def local_file(self, sha256: str, name: str = APP_IMAGE) -> Path | None:
        return self.root / artifact_key(sha256, name)

    def exists(self, sha256: str, name: str = APP_IMAGE) -> bool:
        return (self.root / artifact_key(sha256, name)).is_file()

    def publish(self, sha256: str, files: Mapping[str, Path]) -> None:
        require_app_image(sha256, files)
        final = self.folder(sha256)
        if final.is_dir():
            return
        final.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=final.parent))
        try:
            for name, source in app_image_last(files):
                shutil.copyfile(source, staging / name)
                with open(staging / name, "rb") as handle:
                    os.fsync(handle.fileno())
            staging.chmod(0o755)
            try:
                os.rename(staging, final)  # atomic; fails if another worker published the same image first
            except OSError:
                if not final.is_dir():
                    raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def read(self, sha256: str, name: str = APP_IMAGE, start: int = 0, stop: int | None = None) -> ObjectStream:
        path = self.root / artifact_key(sha256, name)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise missing(sha256, name) from None
        start, stop = byte_range(size, start, stop)
        # Opened when the first chunk is wanted: a HEAD request, which reads nothing, holds no file open.
        return ObjectStream(stop - start, file_chunks(path, start, stop))


def file_chunks(path: Path, start: int, stop: int) -> Generator[bytes, None, None]:
    with path.open("rb") as handle:
        handle.seek(start)
        left = stop - start
        while left > 0:
            chunk = handle.read(min(CHUNK_BYTES, left))
            if not chunk:
                break
            left -= len(chunk)
            yield chunk


def artifact_store(settings: Settings) -> ArtifactStore:
    """The configured store (one per configuration, shared by the process: an S3 client pools its connections)."""
    location = settings.artifact_store
    if location.startswith(S3_SCHEME):
        return s3_store(location, settings.s3_access())
    return local_store(Path(location) if location else settings.artifacts_dir)


@lru_cache(maxsize=8)
def local_store(root: Path) -> LocalFolderStore:
    return LocalFolderStore(root)


@lru_cache(maxsize=8)
def s3_store(location: str, access: S3Access) -> ArtifactStore:
    try:
        from .s3store import S3Store
    except ImportError:  # boto3 is in the "s3" extra
        raise ConfigError(
            "WEBIDE_ARTIFACT_STORE is an s3:// URL but boto3 is not installed: pip install 'webide[s3]'"
        ) from None
    return S3Store.from_location(location, access)


def publish_artifact(store: ArtifactStore, fqbn: str, files: dict[str, Path]) -> Artifact:
    """Store the files, then record the Artifact row for the app image (shared by identical builds)."""
    md5, sha256, size = file_digests(files[APP_IMAGE])
    store.publish(sha256, files)
    insert = postgresql_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    # Identical builds on two workers record one row: the second insert does nothing instead of failing.
    db.session.execute(
        insert(Artifact)
        .values(sha256=sha256, md5=md5, size=size, fqbn=fqbn, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["sha256"])
    )
    return db.session.scalars(select(Artifact).where(Artifact.sha256 == sha256)).one()


def download_name(store: ArtifactStore, image: Addressed) -> str:
    """What a person flashes by hand: the Intel HEX of an AVR build, else the app image."""
    return HEX_IMAGE if store.exists(image.sha256, HEX_IMAGE) else APP_IMAGE
