"""Fetching a pinned release archive: bounded in size and time, verified by SHA-256, extracted atomically.

The archive is streamed into a temporary file next to its destination while its SHA-256 is computed; only an archive
whose checksum matches the pin is extracted, into a temporary folder that is renamed into place at the end. Whatever
fails on the way (unreachable host, HTTP error, size or time limit, checksum mismatch, a member that would escape the
folder) leaves nothing behind but the error.
"""

from __future__ import annotations

import errno
import hashlib
import http.client
import logging
import os
import shutil
import socket
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

logger = logging.getLogger(__name__)

CHUNK_BYTES = 256 * 1024


class DownloadError(Exception):
    """The archive could not be fetched or installed; the message says why."""


class HostUnreachable(DownloadError):
    """The download host did not answer at all (no network, DNS failure, refused, timed out)."""


class ChecksumMismatch(DownloadError):
    """The downloaded bytes are not the pinned archive."""


@dataclass(frozen=True)
class Limits:
    """How much and how long a download may take, and how large its extracted content may be."""

    max_bytes: int = 256 * 1024**2
    max_extracted_bytes: int = 1024**3
    connect_timeout_s: float = 15.0
    total_timeout_s: float = 600.0


DEFAULT_LIMITS = Limits()


def fetch_verified(url: str, sha256: str, destination: Path, limits: Limits = DEFAULT_LIMITS) -> Path:
    """Download ``url`` to ``destination`` only if its SHA-256 is ``sha256``; return ``destination``."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".part", dir=destination.parent)
    temp = Path(temp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            digest = _stream(url, handle, limits)
        if digest != sha256.lower():
            raise ChecksumMismatch(f"{url}: SHA-256 is {digest}, expected {sha256.lower()}; the archive was refused")
        os.replace(temp, destination)
        return destination
    finally:
        temp.unlink(missing_ok=True)


def install_archive(url: str, sha256: str, target: Path, limits: Limits = DEFAULT_LIMITS) -> None:
    """Fetch a verified ``.tar.gz`` and make its content the folder ``target`` (replacing an older one)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        archive = fetch_verified(url, sha256, staging / "archive.tar.gz", limits)
        content = staging / "content"
        extract_tar(archive, content, limits.max_extracted_bytes)
        old = staging / "old"
        if target.exists():
            os.replace(target, old)
        os.replace(content, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def extract_tar(archive: Path, folder: Path, max_bytes: int) -> None:
    """Extract regular files and folders only (no links, devices or paths outside ``folder``), within ``max_bytes``."""
    with tarfile.open(archive, "r:gz") as tar:
        members = tar.getmembers()
        total = sum(member.size for member in members if member.isfile())
        if total > max_bytes:
            raise DownloadError(f"{archive.name} would extract to {total} bytes; the limit is {max_bytes}")
        unsafe = [m.name for m in members if not (m.isfile() or m.isdir())]
        if unsafe:
            raise DownloadError(f"{archive.name} contains links or special files: {', '.join(unsafe[:5])}")
        folder.mkdir(parents=True)
        try:
            tar.extractall(folder, filter="data")
        except tarfile.FilterError as error:
            raise DownloadError(f"{archive.name}: {error}") from None


def _stream(url: str, handle: BinaryIO, limits: Limits) -> str:
    """Copy the response body into ``handle`` within the limits; return its SHA-256 in hex."""
    digest, received = hashlib.sha256(), 0
    deadline = time.monotonic() + limits.total_timeout_s
    try:
        with urllib.request.urlopen(url, timeout=limits.connect_timeout_s) as response:
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > limits.max_bytes:
                raise DownloadError(f"{url} is {declared} bytes; the limit is {limits.max_bytes}")
            while chunk := response.read(CHUNK_BYTES):
                received += len(chunk)
                if received > limits.max_bytes:
                    raise DownloadError(f"{url} is larger than the limit of {limits.max_bytes} bytes")
                if time.monotonic() > deadline:
                    raise DownloadError(f"{url} took longer than {limits.total_timeout_s:.0f} s; stopped")
                digest.update(chunk)
                handle.write(chunk)
            if declared and declared.isdigit() and received != int(declared):
                raise DownloadError(f"{url}: the connection closed after {received} of {declared} bytes")
    except urllib.error.HTTPError as error:
        raise DownloadError(f"{url}: HTTP {error.code} {error.reason}") from None
    except urllib.error.URLError as error:
        raise HostUnreachable(f"{_host(url)} cannot be reached ({_reason(error.reason)})") from None
    except (TimeoutError, ConnectionError, http.client.HTTPException) as error:
        if received == 0:
            raise HostUnreachable(f"{_host(url)} cannot be reached ({_reason(error)})") from None
        raise DownloadError(f"{url}: the download broke off after {received} bytes ({_reason(error)})") from None
    return digest.hexdigest()


def _host(url: str) -> str:
    return urllib.parse.urlparse(url).netloc or url


def _reason(reason: object) -> str:
    if isinstance(reason, socket.gaierror):
        return "the name does not resolve"
    if isinstance(reason, OSError) and reason.errno in (errno.ECONNREFUSED, errno.ENETUNREACH, errno.EHOSTUNREACH):
        return os.strerror(reason.errno).lower()
    if isinstance(reason, TimeoutError):
        return "timed out"
    return str(reason) or type(reason).__name__
