"""Sketch import (a ZIP of a sketch folder, or one source file) and export (a ZIP in the Arduino folder layout).

An uploaded archive is untrusted: every entry name, type and size is checked, and the decompressed size is counted
while reading, so a hostile archive is refused with a clear message before anything is stored.
"""

from __future__ import annotations

import io
import logging
import stat
import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath

from .errors import BadRequest, TooLarge
from .offload import run_cpu_bound

log = logging.getLogger(__name__)

# Entries a Mac adds when it zips a folder; they are not part of the sketch, so they are left out silently.
MACOS_METADATA_FOLDER = "__MACOSX"
MACOS_METADATA_FILES = (".DS_Store",)
APPLE_DOUBLE_PREFIX = "._"
# Source text compresses about 3-6 times; a far higher ratio on a large entry is what zip bombs look like.
MAX_COMPRESSION_RATIO = 100
RATIO_CHECK_FROM_BYTES = 4096
READ_CHUNK = 64 * 1024
UTF8_BOM = "\ufeff"
ZIP_ENCRYPTED_FLAG = 0x1
UNIX_SYSTEM = 3  # ZipInfo.create_system of archives made on Unix-like systems


@dataclass(frozen=True)
class ImportLimits:
    """How much an import may bring: files in the sketch, and bytes of text after decompression."""

    max_files: int
    max_bytes: int

    @property
    def max_entries(self) -> int:
        """Entries looked at in all, metadata and folders included, before the archive is refused outright."""
        return self.max_files * 4 + 16


def read_upload(
    filename: str, data: bytes, main_name: str, current: list[dict[str, str]], limits: ImportLimits
) -> list[dict[str, str]]:
    """The sketch's files after importing an upload: a .zip replaces the sketch, a single source file is merged.

    A single file named like the main file replaces it; any other name is added as a tab (or replaces the tab with
    that name) — Arduino builds extra .ino tabs too, concatenated after the main one. Decompressing runs in a
    worker process, off the web server's event loop.
    """
    return run_cpu_bound(files_of_upload, filename, data, main_name, current, limits)


def files_of_upload(
    filename: str, data: bytes, main_name: str, current: list[dict[str, str]], limits: ImportLimits
) -> list[dict[str, str]]:
    """:func:`read_upload`'s work, in the calling process."""
    if not filename:
        raise BadRequest("The upload has no file name")
    if filename.lower().endswith(".zip"):
        return read_sketch_zip(data, main_name, PurePosixPath(filename.replace("\\", "/")).stem, limits)
    return merge_single_file(base_name(filename), decode_text(filename, data), current)


def base_name(filename: str) -> str:
    """The last path component of a browser-supplied name (some browsers send the full client path)."""
    return filename.replace("\\", "/").rsplit("/", 1)[-1]


def merge_single_file(name: str, content: str, current: list[dict[str, str]]) -> list[dict[str, str]]:
    """``current`` with the tab ``name`` replaced by ``content``, or added when there is none."""
    merged = [dict(f) for f in current]
    for existing in merged:
        if existing["name"] == name:
            existing["content"] = content
            return merged
    return [*merged, {"name": name, "content": content}]


def decode_text(name: str, data: bytes) -> str:
    """UTF-8 text without a byte-order mark; anything else is refused rather than guessed."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BadRequest(
            f"File {name!r} is not UTF-8 text (invalid byte at offset {error.start}); save it as UTF-8 and try again"
        ) from None
    return text.removeprefix(UTF8_BOM)


def read_sketch_zip(data: bytes, main_name: str, archive_stem: str, limits: ImportLimits) -> list[dict[str, str]]:
    """Every sketch file of a ZIP (flat, or one top-level folder), with the main .ino renamed to ``main_name``."""
    folder, texts = archive_texts(data, limits)
    return sketch_of(texts, main_name, [folder, archive_stem])


def archive_texts(data: bytes, limits: ImportLimits) -> tuple[str, list[tuple[str, str]]]:
    """The top folder (or "") and (name, text) of every file of a flat ZIP, after every safety check."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError):
        raise BadRequest("The upload is not a valid ZIP archive") from None
    with archive:
        entries = sketch_entries(archive, limits)
        folder, names = strip_top_folder([entry.filename for entry in entries])
        check_flat(names)
        check_declared_sizes(entries, limits)
        texts = [decode_text(name, read_entry(archive, entry, limits)) for name, entry in zip(names, entries)]
    return folder, list(zip(names, texts))


def sketch_of(texts: list[tuple[str, str]], main_name: str, hints: list[str]) -> list[dict[str, str]]:
    names = [name for name, _text in texts]
    main = pick_main_file(names, main_name, hints)
    renamed = [{"name": main_name if name == main else name, "content": text} for name, text in texts]
    return sorted(renamed, key=lambda f: (f["name"] != main_name, f["name"]))


def read_bundle(
    filename: str, data: bytes, main_name: str, settings_name: str, limits: ImportLimits
) -> tuple[str, list[dict[str, str]] | None]:
    """A configuration bundle: the text of its settings file and, when it holds other files, its sketch.

    The same checks as a sketch import (entry names, types, counts, sizes, compression ratio) apply to the whole
    archive; decompressing runs in a worker process.
    """
    return run_cpu_bound(bundle_of_upload, filename, data, main_name, settings_name, limits)


def bundle_of_upload(
    filename: str, data: bytes, main_name: str, settings_name: str, limits: ImportLimits
) -> tuple[str, list[dict[str, str]] | None]:
    """:func:`read_bundle`'s work, in the calling process."""
    folder, texts = archive_texts(data, limits)
    settings = [text for name, text in texts if name == settings_name]
    if not settings:
        raise BadRequest(f"The bundle has no {settings_name}")
    sketch = [(name, text) for name, text in texts if name != settings_name]
    stem = PurePosixPath(filename.replace("\\", "/")).stem
    return settings[0], sketch_of(sketch, main_name, [folder, stem]) if sketch else None


def sketch_entries(archive: zipfile.ZipFile, limits: ImportLimits) -> list[zipfile.ZipInfo]:
    """The archive's file entries, after refusing unsafe ones and leaving out folders and macOS metadata."""
    infos = archive.infolist()
    if len(infos) > limits.max_entries:
        raise TooLarge(f"The archive has {len(infos)} entries; a sketch may have at most {limits.max_files} files")
    entries = []
    for info in infos:
        check_entry_name(info.filename)
        if is_macos_metadata(info.filename):
            continue
        check_entry_type(info)
        if not info.is_dir():
            entries.append(info)
    if not entries:
        raise BadRequest("The archive contains no files")
    if len(entries) > limits.max_files:
        raise TooLarge(f"The archive has {len(entries)} files; a sketch may have at most {limits.max_files}")
    return entries


def check_entry_name(name: str) -> None:
    """Refuse names that could point outside the sketch folder ("zip slip") or that mean different things on
    different systems: absolute paths, drive letters, backslashes, '..' and empty components."""
    if "\\" in name:
        raise BadRequest(f"Archive entry {name!r} contains a backslash; use '/' between folders")
    if name.startswith("/"):
        raise BadRequest(f"Archive entry {name!r} is an absolute path")
    if len(name) >= 2 and name[1] == ":":
        raise BadRequest(f"Archive entry {name!r} starts with a drive letter")
    if "\x00" in name:
        raise BadRequest(f"Archive entry {name!r} contains a NUL character")
    parts = name.rstrip("/").split("/")
    if ".." in parts:
        raise BadRequest(f"Archive entry {name!r} points outside the sketch folder ('..')")
    if any(part in ("", ".") for part in parts):
        raise BadRequest(f"Archive entry {name!r} has an empty or '.' path component")


def is_macos_metadata(name: str) -> bool:
    """Finder's ``__MACOSX/``, ``.DS_Store`` and ``._*`` entries."""
    parts = name.rstrip("/").split("/")
    leaf = parts[-1]
    return parts[0] == MACOS_METADATA_FOLDER or leaf in MACOS_METADATA_FILES or leaf.startswith(APPLE_DOUBLE_PREFIX)


def check_entry_type(info: zipfile.ZipInfo) -> None:
    """Only plain files and folders, unencrypted: a symlink entry could point anywhere once extracted."""
    # Unix file type bits; many tools leave them out (0), which means a plain file or folder.
    file_type = stat.S_IFMT(info.external_attr >> 16) if info.create_system == UNIX_SYSTEM else 0
    if file_type == stat.S_IFLNK:
        raise BadRequest(f"Archive entry {info.filename!r} is a symbolic link; only plain files can be imported")
    if file_type not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise BadRequest(f"Archive entry {info.filename!r} is not a plain file")
    if info.flag_bits & ZIP_ENCRYPTED_FLAG:
        raise BadRequest(f"Archive entry {info.filename!r} is encrypted; upload an archive without a password")
    for part in info.filename.rstrip("/").split("/"):
        if part.startswith("."):
            raise BadRequest(
                f"Archive entry {info.filename!r} is a hidden file or folder; sketch files must not start with a dot"
            )


def strip_top_folder(names: list[str]) -> tuple[str, list[str]]:
    """(folder, names inside it) when every file sits in one top-level folder, as Arduino exports do; else
    ("", names)."""
    tops = {name.split("/", 1)[0] for name in names}
    if len(tops) == 1 and all("/" in name for name in names):
        folder = tops.pop()
        return folder, [name.split("/", 1)[1] for name in names]
    return "", names


def check_flat(names: list[str]) -> None:
    """A sketch here is one flat folder; sub-folders (such as src/) are refused instead of silently flattened."""
    for name in names:
        if "/" in name:
            raise BadRequest(f"Archive entry {name!r} is in a sub-folder; a sketch must be one flat folder of files")
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise BadRequest(f"The archive contains {name!r} twice")
        seen.add(name)


def check_declared_sizes(entries: list[zipfile.ZipInfo], limits: ImportLimits) -> None:
    """Refuse on what the archive declares, before decompressing anything."""
    total = 0
    for info in entries:
        if info.file_size > limits.max_bytes:
            raise TooLarge(
                f"Archive entry {info.filename!r} is {info.file_size} bytes; the sketch limit is "
                f"{limits.max_bytes} bytes"
            )
        if info.file_size > RATIO_CHECK_FROM_BYTES and info.file_size > MAX_COMPRESSION_RATIO * max(
            info.compress_size, 1
        ):
            raise BadRequest(
                f"Archive entry {info.filename!r} is compressed more than {MAX_COMPRESSION_RATIO}:1, "
                f"which source code never is; refusing it as a possible zip bomb"
            )
        total += info.file_size
    if total > limits.max_bytes:
        raise TooLarge(f"The archive unpacks to {total} bytes; the sketch limit is {limits.max_bytes} bytes")


def read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits: ImportLimits) -> bytes:
    """The entry's bytes, counted while decompressing: a header that understates the size is caught here."""
    allowed = min(info.file_size, limits.max_bytes)
    chunks: list[bytes] = []
    received = 0
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(READ_CHUNK):
                received += len(chunk)
                if received > allowed:
                    raise TooLarge(
                        f"Archive entry {info.filename!r} unpacks to more than it declares; refusing it "
                        f"as a possible zip bomb"
                    )
                chunks.append(chunk)
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError) as error:
        log.info("Refused archive entry %s: %s", info.filename, error)
        raise BadRequest(
            f"Archive entry {info.filename!r} is damaged or uses an unsupported compression ({error})"
        ) from None
    return b"".join(chunks)


def pick_main_file(names: list[str], main_name: str, hints: list[str]) -> str | None:
    """Which .ino becomes the main file: one already named like it, else the one named like the archive's folder
    or file (Arduino's rule), else the only .ino. Several candidates with none named so is ambiguous."""
    inos = [name for name in names if name.endswith(".ino")]
    if main_name in inos:
        return main_name
    for hint in hints:
        if hint and f"{hint}.ino" in inos:
            return f"{hint}.ino"
    if len(inos) == 1:
        return inos[0]
    if not inos:
        raise BadRequest("The archive contains no .ino file; a sketch needs a main .ino file")
    raise BadRequest(
        f"The archive has several .ino files ({', '.join(sorted(inos))}) and none is named after its "
        f"folder; rename the main one to {main_name!r}"
    )


def sketch_zip(folder: str, files: list[dict[str, str]], saved_at: datetime) -> bytes:
    """A ZIP with ``folder/<file>`` entries: the layout the Arduino IDE opens as a sketch (compressed in a worker
    process, off the web server's event loop)."""
    return run_cpu_bound(build_sketch_zip, folder, files, saved_at)


def build_sketch_zip(folder: str, files: list[dict[str, str]], saved_at: datetime) -> bytes:
    """:func:`sketch_zip`'s work, in the calling process."""
    buffer = io.BytesIO()
    stamp = (max(saved_at.year, 1980), saved_at.month, saved_at.day, saved_at.hour, saved_at.minute, saved_at.second)
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for sketch_file in files:
            entry = zipfile.ZipInfo(f"{folder}/{sketch_file['name']}", date_time=stamp)
            entry.external_attr = (stat.S_IFREG | 0o644) << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, sketch_file["content"].encode("utf-8"))
    return buffer.getvalue()
