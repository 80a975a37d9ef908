"""The artifact store: published firmware, content-addressed by SHA-256 and written atomically."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ...extensions import db
from ...models import Artifact, utcnow

APP_IMAGE = "firmware.bin"


def artifact_dir(root: Path, sha256: str) -> Path:
    return root / sha256[:2] / sha256


def firmware_path(root: Path, image: Addressed) -> Path:
    """Where the app image of a stored artifact lives."""
    return artifact_dir(root, image.sha256) / APP_IMAGE


def firmware_key(image: Addressed) -> str:
    """The app image's path inside the local store, as a URL path (what nginx's X-Accel-Redirect location maps)."""
    return f"{image.sha256[:2]}/{image.sha256}/{APP_IMAGE}"


def download_file(root: Path, image: Addressed) -> Path:
    """What a person flashes by hand: the Intel HEX of an AVR build, else the app image."""
    folder = artifact_dir(root, image.sha256)
    hex_file = folder / "firmware.hex"
    return hex_file if hex_file.is_file() else folder / APP_IMAGE


class Addressed(Protocol):
    @property
    def sha256(self) -> str: ...


def file_digests(path: Path) -> tuple[str, str, int]:
    md5, sha256, size = hashlib.md5(), hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 16):
            md5.update(chunk)
            sha256.update(chunk)
            size += len(chunk)
    return md5.hexdigest(), sha256.hexdigest(), size


def store_files(root: Path, sha256: str, files: dict[str, Path]) -> Path:
    """Copy a build's files into ``root/<sha256>`` so that the folder appears complete or not at all.

    ``files`` maps the stored name (the app image under ``firmware.bin``) to its source path.
    """
    final = artifact_dir(root, sha256)
    if final.is_dir():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=final.parent))
    try:
        for name, source in files.items():
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
    return final


def publish_artifact(root: Path, fqbn: str, files: dict[str, Path]) -> Artifact:
    """Store the files and return the Artifact row for the app image (shared by identical builds)."""
    md5, sha256, size = file_digests(files[APP_IMAGE])
    store_files(root, sha256, files)
    insert = postgresql_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    # Identical builds on two workers record one row: the second insert does nothing instead of failing.
    db.session.execute(
        insert(Artifact)
        .values(sha256=sha256, md5=md5, size=size, fqbn=fqbn, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["sha256"])
    )
    return db.session.scalars(select(Artifact).where(Artifact.sha256 == sha256)).one()
