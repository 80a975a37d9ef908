"""Size-bounded, content-addressed entry stores shared by concurrent worker processes.

An entry is a directory ``<root>/<key>/`` that appears only complete: it is assembled in a leased folder in
``.staging`` (see ``compiler.locks.LeasedFolders``: a worker that dies leaves nothing behind for long) and
published with one atomic ``rename``. Per-key ``flock`` locks (shared while an entry is in use, exclusive
while it is produced or evicted) keep workers from building the same thing twice or deleting an entry
another worker is using. Last use is the mtime of ``.used`` inside the entry; eviction removes the least
recently used entries until the store fits its byte bound.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from compiler.locks import LeasedFolders, file_lock, try_lock

logger = logging.getLogger(__name__)

_USED_MARK = ".used"
_SIZE_FILE = ".size"


class EntryStore:
    """A folder of immutable entries keyed by hash, with LRU eviction under ``max_bytes``."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        for folder in (root, root / ".locks", root / ".staging", root / ".trash"):
            folder.mkdir(parents=True, exist_ok=True)
        self._staging = LeasedFolders(root / ".staging", "entry-")

    def entry(self, key: str) -> Path:
        """Where the entry for ``key`` lives (it may not exist)."""
        return self.root / key

    def exists(self, key: str) -> bool:
        """True when a complete entry for ``key`` is published."""
        return self.entry(key).is_dir()

    def touch(self, key: str) -> None:
        """Record a use of ``key`` for LRU ordering."""
        mark = self.entry(key) / _USED_MARK
        try:
            mark.touch()
            os.utime(mark)
        except FileNotFoundError:
            pass

    @contextmanager
    def key_lock(self, key: str, *, shared: bool = False) -> Iterator[None]:
        """Hold the lock of one key: exclusive while producing, shared while using."""
        with file_lock(self._lock_path(key), shared=shared):
            yield

    @contextmanager
    def staging(self) -> Iterator[Path]:
        """A fresh private folder to assemble an entry in; removed afterwards unless it was published."""
        with self._staging.lease() as folder:
            yield folder

    def sweep(self) -> list[Path]:
        """Remove staging folders of dead processes and interrupted deletions; return what was removed."""
        removed = self._staging.sweep()
        for doomed in (self.root / ".trash").iterdir():
            shutil.rmtree(doomed, ignore_errors=True)
            removed.append(doomed)
        return removed

    def publish(self, key: str, staged: Path) -> Path:
        """Atomically turn a staged folder into the entry for ``key`` and evict down to the byte bound."""
        (staged / _SIZE_FILE).write_text(str(_tree_bytes(staged)))
        (staged / _USED_MARK).touch()
        target = self.entry(key)
        try:
            os.rename(staged, target)
        except OSError:
            # Another worker published the same key first; both are identical by construction.
            shutil.rmtree(staged, ignore_errors=True)
        self.evict(keep={key})
        return target

    def total_bytes(self) -> int:
        """Bytes currently held by published entries."""
        return sum(size for _, size, _ in self._entries())

    def evict(self, keep: frozenset[str] | set[str] = frozenset()) -> list[str]:
        """Remove least recently used entries (never those in ``keep`` or in use) until under the bound."""
        removed: list[str] = []
        with file_lock(self.root / ".locks" / ".evict.lock"):
            entries = sorted(self._entries(), key=lambda item: item[2])
            total = sum(size for _, size, _ in entries)
            for key, size, _ in entries:
                if total <= self.max_bytes:
                    break
                if key not in keep and self._remove_if_idle(key):
                    total -= size
                    removed.append(key)
        if removed:
            logger.info("evicted %s entries from %s", len(removed), self.root)
        return removed

    def _remove_if_idle(self, key: str) -> bool:
        fd = try_lock(self._lock_path(key))
        if fd is None:
            return False
        try:
            doomed = self.root / ".trash" / f"{key}-{uuid.uuid4().hex}"
            os.rename(self.entry(key), doomed)
        except OSError:
            return False
        finally:
            os.close(fd)
        shutil.rmtree(doomed, ignore_errors=True)
        return True

    def _entries(self) -> Iterator[tuple[str, int, float]]:
        for child in self.root.iterdir():
            if child.name.startswith(".") or not child.is_dir():
                continue
            try:
                size = int((child / _SIZE_FILE).read_text())
                used = (child / _USED_MARK).stat().st_mtime
            except (OSError, ValueError):
                size, used = _tree_bytes(child), 0.0
            yield child.name, size, used

    def _lock_path(self, key: str) -> Path:
        return self.root / ".locks" / f"{key}.lock"


def _tree_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


@dataclass
class CoreLease:
    """A core-cache folder for one build: a published entry (read-only) or a staging folder to fill."""

    folder: Path
    writable: bool
    key: str


class CoreCache:
    """Shared compiled-core cache: one entry per FQBN/toolchain/version/properties.

    The first build for a key compiles the core into a private staging folder and publishes it; builds
    that arrive meanwhile wait for that and then mount the published entry read-only, so no build can
    alter a core another build links against.
    """

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.store = EntryStore(root, max_bytes)
        self.enabled = max_bytes > 0  # a size of 0 turns core sharing off: every build compiles its own core

    @contextmanager
    def lease(self, key: str) -> Iterator[CoreLease]:
        """Yield the folder a build should use as its core cache; see :meth:`publish` for filling it."""
        if not self.enabled:
            with self.store.staging() as staging:
                yield CoreLease(staging, writable=True, key=key)
            return
        fd = _open_lock(self.store._lock_path(key))
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            if not self.store.exists(key):
                fcntl.flock(fd, fcntl.LOCK_EX)
            if self.store.exists(key):
                fcntl.flock(fd, fcntl.LOCK_SH)
                self.store.touch(key)
                yield CoreLease(self.store.entry(key), writable=False, key=key)
                return
            with self.store.staging() as staging:
                yield CoreLease(staging, writable=True, key=key)
        finally:
            os.close(fd)

    def publish(self, lease: CoreLease) -> None:
        """Publish a filled staging folder (call only after a successful build)."""
        if not self.enabled or not lease.writable or not any(lease.folder.iterdir()):
            return
        _own_by_service(lease.folder)
        self.store.publish(lease.key, lease.folder)


def _open_lock(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o600)


def _own_by_service(folder: Path) -> None:
    """Hand files written by a sandbox uid back to the service user, read-only for everyone else."""
    uid, gid = os.geteuid(), os.getegid()
    for path in [folder, *folder.rglob("*")]:
        if path.is_symlink():
            continue
        os.chown(path, uid, gid)
        path.chmod(0o755 if path.is_dir() else 0o644)
