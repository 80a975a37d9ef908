"""Advisory file locks (fcntl.flock) shared by every worker process using the same folders."""

from __future__ import annotations

import fcntl
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def file_lock(path: Path, *, shared: bool = False) -> Iterator[None]:
    """Hold an exclusive (or shared) lock on ``path`` for the duration of the block, blocking until free."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH if shared else fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def try_lock(path: Path) -> int | None:
    """Take an exclusive lock without waiting; return the fd to keep (close it to release) or None if busy."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


class LeasedFolders:
    """Private folders under ``root``, each owned by a live process through a lock on its lease file.

    A folder's lease (``root/.leases/<name>.lock``) is locked before the folder is created and released after it
    is removed. The kernel drops a lock when its process dies, however it dies, so a folder whose lease can be
    taken belongs to nobody: a build that was killed, or a worker that lost power. :meth:`sweep` removes those.
    """

    def __init__(self, root: Path, prefix: str) -> None:
        self.root = root
        self.prefix = prefix
        self._leases = root / ".leases"
        self._leases.mkdir(parents=True, exist_ok=True)

    @contextmanager
    def lease(self) -> Iterator[Path]:
        """Create a fresh folder owned by this process for the duration of the block, then remove it."""
        folder, fd = self.acquire()
        try:
            yield folder
        finally:
            self.release(folder, fd)

    def acquire(self) -> tuple[Path, int]:
        """Create a fresh owned folder; return it with the lease fd to pass to :meth:`release`."""
        while True:
            name = f"{self.prefix}{uuid.uuid4().hex}"
            fd = try_lock(self._leases / f"{name}.lock")
            if fd is None:
                continue
            folder = self.root / name
            try:
                folder.mkdir(mode=0o700)
            except FileExistsError:
                os.close(fd)
                continue
            return folder, fd

    def release(self, folder: Path, fd: int) -> None:
        """Remove an owned folder (if it still exists) and give up its lease."""
        try:
            shutil.rmtree(folder, ignore_errors=True)
            (self._leases / f"{folder.name}.lock").unlink(missing_ok=True)
        finally:
            os.close(fd)

    def sweep(self) -> list[Path]:
        """Remove every folder (and lease file) under ``root`` with this prefix that no live process owns."""
        removed: list[Path] = []
        candidates = {p.name for p in self.root.iterdir() if p.name.startswith(self.prefix)}
        candidates |= {p.name.removesuffix(".lock") for p in self._leases.glob(f"{self.prefix}*.lock")}
        for name in sorted(candidates):
            fd = try_lock(self._leases / f"{name}.lock")
            if fd is None:
                continue
            folder = self.root / name
            if folder.exists() or folder.is_symlink():
                removed.append(folder)
            self.release(folder, fd)
        return removed
