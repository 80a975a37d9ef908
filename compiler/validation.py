"""Arduino sketch-folder rules and refusal of sketch-controlled build inputs.

The ESP32 core copies a sketch's ``build_opt.h`` into every compiler command line as a GCC response file
and picks up ``partitions.csv`` / ``bootloader.bin`` from the sketch folder, so those names are refused
outright: build inputs must come from the server only.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from compiler.errors import SketchError
from compiler.models import Limits, SketchFile

SKETCH_NAME_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")
FILE_NAME_PATTERN = re.compile(r"^[A-Za-z0-9_.-]+$")
ALLOWED_EXTENSIONS = (".ino", ".h", ".hpp", ".c", ".cpp", ".S")
FORBIDDEN_BUILD_INPUTS = {
    "build_opt.h": "it would be passed to the compiler as a response file of extra flags",
    "partitions.csv": "the partition table is chosen by the server",
    "bootloader.bin": "the bootloader is chosen by the server",
    "platform.local.txt": "build recipes are chosen by the server",
    "boards.local.txt": "board definitions are chosen by the server",
    "webide_ota_agent.cpp": "the server adds this file to link the OTA agent into ESP32 builds",
}


def sketch_problems(sketch_name: str, files: list[SketchFile], limits: Limits) -> list[str]:
    """Return one human-readable message per rule the sketch breaks (empty when it is valid)."""
    problems = _sketch_name_problems(sketch_name)
    problems += _collection_problems(sketch_name, files, limits)
    for sketch_file in files:
        problems += _file_problems(sketch_file)
    return problems


def validate_sketch(sketch_name: str, files: list[SketchFile], limits: Limits) -> None:
    """Raise :class:`SketchError` listing every violation, so users can fix them all at once."""
    problems = sketch_problems(sketch_name, files, limits)
    if problems:
        raise SketchError(problems)


def _sketch_name_problems(sketch_name: str) -> list[str]:
    if SKETCH_NAME_PATTERN.match(sketch_name):
        return []
    return [
        f"Sketch name {sketch_name!r} is invalid: use 1-63 characters A-Z a-z 0-9 _ -, starting with a letter or digit"
    ]


def _collection_problems(sketch_name: str, files: list[SketchFile], limits: Limits) -> list[str]:
    problems: list[str] = []
    if len(files) > limits.max_files:
        problems.append(f"Too many files: {len(files)} (at most {limits.max_files})")
    total = sum(len(f.content.encode("utf-8", "surrogatepass")) for f in files)
    if total > limits.max_sketch_bytes:
        problems.append(f"Sketch too large: {total} bytes (at most {limits.max_sketch_bytes})")
    main_name = f"{sketch_name}.ino"
    if not any(f.name == main_name for f in files):
        problems.append(f"Missing main file {main_name!r}: the main .ino must be named after the sketch")
    seen: dict[str, str] = {}
    for sketch_file in files:
        folded = sketch_file.name.casefold()
        if folded in seen:
            problems.append(f"Duplicate file name {sketch_file.name!r} (same as {seen[folded]!r} ignoring case)")
        else:
            seen[folded] = sketch_file.name
    return problems


def _file_problems(sketch_file: SketchFile) -> list[str]:
    name = sketch_file.name
    forbidden_reason = FORBIDDEN_BUILD_INPUTS.get(name.casefold())
    if forbidden_reason:
        return [f"File {name!r} is not allowed in a sketch: {forbidden_reason}"]
    if "/" in name or "\\" in name:
        return [f"File name {name!r} must not contain a path separator"]
    if name.startswith("."):
        return [f"File name {name!r} must not start with a dot"]
    if not FILE_NAME_PATTERN.match(name):
        return [f"File name {name!r} may only use A-Z a-z 0-9 _ . -"]
    if name.casefold().endswith(".bin"):
        return [f"File {name!r} is not allowed in a sketch: binary images are produced by the server"]
    if PurePosixPath(name).suffix not in ALLOWED_EXTENSIONS:
        allowed = " ".join(ALLOWED_EXTENSIONS)
        return [f"File {name!r} has an unsupported extension (allowed: {allowed})"]
    if "\x00" in sketch_file.content:
        return [f"File {name!r} contains a NUL character"]
    return []
