"""Auto Format (Ctrl+T): clang-format with a style close to the Arduino IDE's, run without a shell, text via stdin."""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path, PurePosixPath

from .errors import BadRequest, ServiceUnavailable, TooLarge

log = logging.getLogger(__name__)

STYLE_FILE = Path(__file__).resolve().parent / "clang-format.yaml"
FORMAT_TIMEOUT_S = 10
C_FAMILY_SUFFIXES = (".ino", ".h", ".hpp", ".c", ".cpp")
# clang-format picks the language from the file name and does not know .ino; every sketch tab is C++ to it.
ASSUMED_NAME = "sketch.cpp"


def format_source(name: str, content: str, executable: str, max_bytes: int) -> str:
    """``content`` formatted as clang-format formats a C/C++ file named ``name``.

    Raises BadRequest for files it cannot format, TooLarge over ``max_bytes`` and ServiceUnavailable when
    clang-format is missing, hangs or fails.
    """
    suffix = PurePosixPath(name).suffix
    if suffix not in C_FAMILY_SUFFIXES:
        raise BadRequest(f"Auto Format works on {' '.join(C_FAMILY_SUFFIXES)} files, not {name!r}")
    size = len(content.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        raise TooLarge(f"{name} is {size} bytes; Auto Format takes at most {max_bytes} bytes")
    return run_clang_format(find_clang_format(executable), content)


def find_clang_format(executable: str) -> str:
    """The clang-format executable's path, or 503 telling the operator what to install."""
    found = shutil.which(executable)
    if found is None:
        raise ServiceUnavailable(
            "Auto Format is not available: clang-format is not installed on the server (Debian package clang-format)"
        )
    return found


def clang_format_argv(executable: str) -> list[str]:
    """The argument list (no shell) that formats stdin with the bundled style."""
    return [executable, f"--style=file:{STYLE_FILE}", f"--assume-filename={ASSUMED_NAME}"]


def run_clang_format(executable: str, content: str) -> str:
    """Run clang-format on ``content`` with a timeout; failures become 503 with the tool's first message."""
    try:
        completed = subprocess.run(
            clang_format_argv(executable),
            input=content.encode("utf-8", "surrogatepass"),
            capture_output=True,
            timeout=FORMAT_TIMEOUT_S,
            cwd="/",
            check=False,
        )
    except subprocess.TimeoutExpired:
        log.warning("clang-format did not finish within %s s", FORMAT_TIMEOUT_S)
        raise ServiceUnavailable(f"Auto Format did not finish within {FORMAT_TIMEOUT_S} s") from None
    except OSError as error:
        log.warning("clang-format could not run: %s", error)
        raise ServiceUnavailable(f"Auto Format could not run clang-format: {error.strerror}") from None
    if completed.returncode != 0:
        detail = completed.stderr.decode("utf-8", "replace").strip().splitlines()
        log.warning("clang-format exited with %s: %s", completed.returncode, detail[:3])
        raise ServiceUnavailable(f"Auto Format failed: {detail[0] if detail else 'clang-format exited with an error'}")
    return completed.stdout.decode("utf-8", "surrogateescape")
