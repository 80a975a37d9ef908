"""Backups: one archive holding a consistent snapshot of the database, the firmware it refers to and the keys.

The database is exported table by table as JSON lines through SQLAlchemy, read from one consistent snapshot: on
SQLite a copy made with SQLite's online backup API, on PostgreSQL one REPEATABLE READ, READ ONLY transaction. That
needs no ``pg_dump`` whose version must match the server's, and an archive restores into either database. The
artifacts in the snapshot's ``artifacts`` table and the keys (``secret_key``: sessions, tokens' signatures;
``wifi.key``: stored Wi-Fi passwords) go along. Firmware in an S3-compatible store stays there (the bucket's own
versioning keeps it): the archive then holds the database and the keys, and says so. ``manifest.json`` names the format, the schema revision, each
table's row count and each member's SHA-256.

A restore first reads and checks the whole archive into a folder beside the data, so a corrupt, truncated or
foreign archive is refused before anything changes; then it replaces the files and, in one transaction, every row.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import sqlite3
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, Integer, LargeBinary, MetaData, Table, create_engine, func, select, text
from sqlalchemy.types import DateTime

from ..config import Settings
from ..extensions import db
from ..models import Artifact
from .builds.queue import fail_interrupted_builds
from .firmware.store import LocalFolderStore, artifact_store
from .wifi import KEY_FILE

FORMAT = "webide-backup"
VERSION = 1
MANIFEST = "manifest.json"
KEY_FILES = ("secret_key", KEY_FILE)
CHUNK = 1024 * 1024


class BackupError(Exception):
    """The archive cannot be made or restored; the message says why for the person running the command."""


@dataclass(frozen=True)
class Summary:
    revision: str
    tables: dict[str, int]
    artifacts: int


# --- making a backup ----------------------------------------------------------------------------------------------


def create_backup(settings: Settings, destination: Path) -> Summary:
    """Write the archive to ``destination`` (atomically: a half-written archive never carries its final name)."""
    metadata = db.metadata
    destination.parent.mkdir(parents=True, exist_ok=True)
    temp = destination.with_name(f".{destination.name}.{os.getpid()}.partial")
    try:
        with snapshot(db.engine) as connection, tarfile.open(temp, "w:gz") as archive:
            revision = schema_revision(connection)
            members: dict[str, str] = {}
            tables = {table.name: add_table(archive, members, connection, table) for table in metadata.sorted_tables}
            shas = add_artifacts(archive, members, connection, local_artifacts(settings))
            for name in KEY_FILES:
                if (settings.data_dir / name).is_file():
                    add_file(archive, members, f"keys/{name}", settings.data_dir / name)
            manifest = {
                "format": FORMAT,
                "version": VERSION,
                "created_at": datetime.now().astimezone().isoformat(),
                "schema_revision": revision,
                "database": connection.dialect.name,
                "tables": tables,
                "artifacts": len(shas),
                "files": members,
            }
            add_bytes(archive, MANIFEST, json.dumps(manifest, indent=1).encode())
        os.replace(temp, destination)
    finally:
        temp.unlink(missing_ok=True)
    return Summary(revision, tables, len(shas))


def add_artifacts(
    archive: tarfile.TarFile, members: dict[str, str], connection: Connection, root: Path | None
) -> list[str]:
    """Every artifact the snapshot names, from the local store (none when firmware lives in an S3-compatible store)."""
    if root is None:
        return []
    shas = list(connection.scalars(select(Artifact.sha256)))
    for sha in shas:
        add_folder(archive, members, root / sha[:2] / sha, root)
    return shas


def local_artifacts(settings: Settings) -> Path | None:
    """The folder of the local artifact store; None when firmware lives in an S3-compatible store."""
    store = artifact_store(settings)
    return store.root if isinstance(store, LocalFolderStore) else None


@contextmanager
def snapshot(engine: Engine) -> Iterator[Connection]:
    """A connection that sees one moment of the database while the service keeps writing."""
    if engine.dialect.name == "sqlite":
        with tempfile.TemporaryDirectory(prefix="webide-backup-") as folder:
            copy = Path(folder) / "snapshot.sqlite3"
            source = sqlite3.connect(str(engine.url.database))
            target = sqlite3.connect(str(copy))
            try:
                source.backup(target)
            finally:
                source.close()
                target.close()
            copied = create_engine(f"sqlite:///{copy}")
            try:
                with copied.connect() as connection:
                    yield connection
            finally:
                copied.dispose()
        return
    with engine.connect().execution_options(isolation_level="REPEATABLE READ") as connection:
        connection.execute(text("SET TRANSACTION READ ONLY"))
        yield connection
        connection.rollback()


def schema_revision(connection: Connection) -> str:
    revision = MigrationContext.configure(connection).get_current_revision()
    if revision is None:
        raise BackupError("The database has no schema yet (run `webide db upgrade`)")
    return revision


def add_table(archive: tarfile.TarFile, members: dict[str, str], connection: Connection, table: Table) -> int:
    buffer = tempfile.TemporaryFile()
    count = 0
    for row in connection.execute(select(table).order_by(*table.primary_key.columns)).mappings():
        buffer.write(json.dumps({key: encode(value) for key, value in row.items()}).encode() + b"\n")
        count += 1
    buffer.seek(0)
    add_stream(archive, members, f"database/{table.name}.jsonl", buffer)
    buffer.close()
    return count


def encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes | memoryview):
        return base64.b64encode(bytes(value)).decode()
    return value


def add_folder(archive: tarfile.TarFile, members: dict[str, str], folder: Path, root: Path) -> None:
    if not folder.is_dir():
        raise BackupError(f"Artifact folder {folder} named in the database is missing; the backup was not made")
    for path in sorted(folder.iterdir()):
        if path.is_file():
            add_file(archive, members, f"artifacts/{path.relative_to(root).as_posix()}", path)


def add_file(archive: tarfile.TarFile, members: dict[str, str], name: str, path: Path) -> None:
    with path.open("rb") as handle:
        add_stream(archive, members, name, handle)


def add_stream(archive: tarfile.TarFile, members: dict[str, str], name: str, stream: IO[bytes]) -> None:
    digest = hashlib.sha256()
    size = 0
    for chunk in iter(lambda: stream.read(CHUNK), b""):
        digest.update(chunk)
        size += len(chunk)
    stream.seek(0)
    info = tarfile.TarInfo(name)
    info.size, info.mode = size, 0o600
    archive.addfile(info, stream)
    members[name] = digest.hexdigest()


def add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o600
    archive.addfile(info, io.BytesIO(data))


# --- restoring ----------------------------------------------------------------------------------------------------


def restore_backup(settings: Settings, source: Path) -> Summary:
    """Replace the database rows, the artifacts and the keys with the archive's, or change nothing and say why."""
    staging = Path(tempfile.mkdtemp(prefix=".restore-", dir=settings.data_dir))
    try:
        manifest = unpack_checked(source, staging)
        with db.engine.connect() as connection:
            current = schema_revision(connection)
        if manifest["schema_revision"] != current:
            raise BackupError(
                f"The backup has schema revision {manifest['schema_revision']}, this installation "
                f"{current}: restore it with the webide version that made it"
            )
        with swapped_files(settings, staging):
            replace_rows(staging / "database", manifest["tables"])
        return Summary(current, manifest["tables"], manifest["artifacts"])
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def unpack_checked(source: Path, staging: Path) -> dict[str, Any]:
    """Unpack every member the manifest names, checking each one's SHA-256; anything else is refused."""
    try:
        with tarfile.open(source, "r:gz") as archive:
            manifest = read_manifest(archive)
            expected: dict[str, str] = manifest["files"]
            seen = set()
            for member in archive:
                if member.name == MANIFEST:
                    continue
                if member.name not in expected or not member.isfile() or not safe_name(member.name):
                    raise BackupError(f"The archive holds {member.name!r}, which its manifest does not name")
                unpack_member(archive, member, staging / member.name, expected[member.name])
                seen.add(member.name)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as error:
        raise BackupError(f"{source} is not a readable webide backup (damaged or truncated?): {error}") from None
    missing = sorted(set(expected) - seen)
    if missing:
        raise BackupError(f"The archive is incomplete: {len(missing)} files are missing, e.g. {missing[0]}")
    return manifest


def read_manifest(archive: tarfile.TarFile) -> dict[str, Any]:
    try:
        handle = archive.extractfile(MANIFEST)
        manifest = json.loads(handle.read()) if handle else None
    except (KeyError, ValueError):
        manifest = None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError("This is not a webide backup (no webide manifest in it)")
    if manifest.get("version") != VERSION:
        raise BackupError(f"Backup format version {manifest.get('version')!r} is not supported (expected {VERSION})")
    if not isinstance(manifest.get("files"), dict) or not isinstance(manifest.get("tables"), dict):
        raise BackupError("The backup's manifest is damaged")
    return manifest


def safe_name(name: str) -> bool:
    parts = Path(name).parts
    return (
        bool(parts)
        and not Path(name).is_absolute()
        and ".." not in parts
        and parts[0] in ("database", "artifacts", "keys")
    )


def unpack_member(archive: tarfile.TarFile, member: tarfile.TarInfo, target: Path, sha256: str) -> None:
    handle = archive.extractfile(member)
    assert handle is not None
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    with target.open("wb") as out:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
            out.write(chunk)
    if digest.hexdigest() != sha256:
        raise BackupError(f"{member.name} in the archive is damaged (its SHA-256 does not match the manifest)")


@contextmanager
def swapped_files(settings: Settings, staging: Path) -> Iterator[None]:
    """Put the archive's artifacts and keys in place; put the old ones back if the block fails."""
    root = local_artifacts(settings)
    moves = [(staging / "artifacts", root)] if root else []
    moves += [(staging / "keys" / name, settings.data_dir / name) for name in KEY_FILES]
    aside = staging / "previous"
    aside.mkdir()
    (staging / "artifacts").mkdir(exist_ok=True)  # a backup without firmware restores an empty store
    done: list[tuple[Path, Path]] = []
    try:
        for new, live in moves:
            if not new.exists():
                continue
            kept = aside / live.name
            if live.exists():
                os.replace(live, kept)
            os.replace(new, live)
            done.append((live, kept))
        yield
    except BaseException:
        for live, kept in reversed(done):
            shutil.rmtree(live) if live.is_dir() else live.unlink(missing_ok=True)
            if kept.exists():
                os.replace(kept, live)
        raise


def replace_rows(folder: Path, counts: dict[str, int]) -> None:
    """Every table's rows, replaced in one transaction: all of them or none."""
    metadata: MetaData = db.metadata
    if set(counts) != {table.name for table in metadata.sorted_tables}:
        raise BackupError("The backup's tables do not match this installation's")
    session = db.session
    try:
        for table in reversed(metadata.sorted_tables):
            session.execute(table.delete())
        for table in metadata.sorted_tables:
            rows = list(read_rows(folder / f"{table.name}.jsonl", table))
            if len(rows) != counts[table.name]:
                raise BackupError(
                    f"Table {table.name}: {len(rows)} rows in the archive, the manifest says {counts[table.name]}"
                )
            for start in range(0, len(rows), 500):
                session.execute(table.insert(), rows[start : start + 500])
        reset_sequences(metadata)
        fail_interrupted_builds()  # their queue entries lived in Redis, which a backup does not hold
        session.commit()
    except BaseException:
        session.rollback()
        raise


def read_rows(path: Path, table: Table) -> Iterator[dict[str, Any]]:
    with path.open() as handle:
        for line in handle:
            row = json.loads(line)
            yield {name: decode(table.c[name].type, value) for name, value in row.items()}


def decode(column_type: Any, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(column_type, DateTime):
        return datetime.fromisoformat(value)
    if isinstance(column_type, LargeBinary):
        return base64.b64decode(value)
    return value


def reset_sequences(metadata: MetaData) -> None:
    """PostgreSQL hands out ids from sequences, which must continue after the restored rows."""
    if db.engine.dialect.name != "postgresql":
        return
    for table in metadata.sorted_tables:
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or not keys[0].autoincrement or not isinstance(keys[0].type, Integer):
            continue
        sequence = db.session.scalar(
            text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": keys[0].name}
        )
        if sequence:
            top = db.session.scalar(select(func.max(keys[0])))
            db.session.execute(
                text("SELECT setval(:s, :v, :called)"), {"s": sequence, "v": top or 1, "called": top is not None}
            )
