"""Hostile sketches, written the way a student probing the service would, compiled for real.

Every row is a sketch built with Debian's arduino-builder + gcc-avr inside the real bubblewrap sandbox, and the
answer the service must give: refused before anything runs, a compile error, a build stopped by a named limit, or
a harmless success. On top of each row's own expectation, every build must keep the invariants below (nothing
from the server shows up, every line is bounded plain text, no work folder stays behind, a failed build is never
cached). The rows cover what the sandbox already stopped (host files, /proc, /dev, macro and template explosions,
build-steering files) so they stay stopped, and what it did not (disk filling, regex-hostile output, terminal
escape injection).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from compiler import BuildResult, Compiler, CompilerConfig, Limits, SketchError, SketchFile
from compiler.diagnostics import MAX_DIAGNOSTICS
from compiler.text import MAX_LINE_BYTES
from tests.compiler.conftest import BLINK

UNO = "arduino:avr:uno"
SERVER_SECRET = "SECRET-7f3a-server-file"
ENV_SECRET = "SECRET-91c2-environment"
CUT_MARKER = " [… line cut:"
LONGEST_LINE = MAX_LINE_BYTES + len(" [… line cut: 999999999 more bytes]")
# The stall: a header whose #warning carries 16,000 characters shaped for the old linker pattern
# (a lazy "(…)" scan retried at every colon), included 130 times — ~210 s of regex work per build before.
QUADRATIC_WARNING = "#warning " + ":(" * 8000 + "\n"
# Lines short enough to be parsed whole, quoting a linker error after a colon/paren run.
LINKER_SHAPED_WARNING = "#warning " + ":(" * 1900 + ": undefined reference to ‘setup’\n"
MACRO_BOMB = "#define X0 x x\n" + "".join(f"#define X{i} X{i - 1} X{i - 1}\n" for i in range(1, 48)) + "int y = X47;\n"
ESCAPES_IN_ERROR = '#error "\x1b[2J\x1b[H\x1b[32mUpload complete!\x1b]8;;http://evil.example/\x07link\x1b]8;;\x07"\n'
ESCAPES_IN_FILE_NAME = (
    '#line 7 "\x1b[2Jevil\x1b]8;;http://evil.example/\x07.ino"\nint broken = ;\n'
    '#warning "\x1b[32mUpload complete!\u009b2J"\n'
)


@dataclass(frozen=True)
class Hostile:
    """One hostile sketch and the answer it must get. ``{secret}`` in a file stands for a server file's path."""

    name: str
    files: dict[str, str]
    status: str | tuple[str, ...]  # BuildResult.status, a tuple of acceptable ones, or "refused" (SketchError)
    message: str = ""  # the result's message starts with this
    shows: tuple[str, ...] = ()  # text the output must contain
    limits: dict[str, float] = field(default_factory=dict)
    check: Callable[[BuildResult, list[str]], None] | None = None


def _quadratic_warnings_are_all_reported(result: BuildResult, lines: list[str]) -> None:
    warnings = [d for d in result.diagnostics if d.severity == "warning"]
    assert len(warnings) == 130 and {(d.file, d.line) for d in warnings} == {("W.h", 1)}
    assert all(d.message.startswith("#warning :(:(") and len(d.message) <= LONGEST_LINE for d in warnings)
    assert sum(CUT_MARKER in line for line in lines) == 260, "each warning and its source echo are cut"


def _linker_shaped_lines_stay_warnings(result: BuildResult, lines: list[str]) -> None:
    assert [d.severity for d in result.diagnostics] == ["warning"] * 20
    assert all("undefined reference to ‘setup’" in d.message for d in result.diagnostics)


def _escapes_in_error_are_text(result: BuildResult, lines: list[str]) -> None:
    (error,) = result.diagnostics
    assert (error.file, error.line, error.message) == ("Blink.ino", 1, '#error "Upload complete!link"')


def _escapes_in_file_names_are_text(result: BuildResult, lines: list[str]) -> None:
    assert [(d.file, d.line, d.severity) for d in result.diagnostics] == [
        ("evil.ino", 8, "warning"),
        ("evil.ino", 7, "error"),
    ]
    assert result.diagnostics[0].message == '#warning "Upload complete!" [-Wcpp]'


def _nothing_was_built(result: BuildResult, lines: list[str]) -> None:
    assert not result.artifacts and result.size == 0


HOSTILE = [
    # -- output that used to stall a worker outside every limit
    Hostile(
        "warning flood shaped for the old linker pattern",
        {"Blink.ino": '#include "W.h"\n' * 130 + BLINK, "W.h": QUADRATIC_WARNING},
        "success",
        check=_quadratic_warnings_are_all_reported,
    ),
    Hostile(
        "long lines quoting linker errors",
        {"Blink.ino": '#include "L.h"\n' * 20 + BLINK, "L.h": LINKER_SHAPED_WARNING},
        "success",
        check=_linker_shaped_lines_stay_warnings,
    ),
    # -- disk filling
    Hostile(
        "assembler files reserving 400 MB each",
        {"Blink.ino": BLINK, **{f"fill{i}.S": ".skip 400000000\n" for i in range(3)}},
        "limit_exceeded",
        "Stopped: disk limit exceeded (512 MiB)",
        check=_nothing_was_built,
    ),
    # -- terminal escape injection
    Hostile(
        "escape sequences in #error text",
        {"Blink.ino": ESCAPES_IN_ERROR + BLINK},
        "compile_error",
        "Compilation failed: 1 error",
        shows=('#error "Upload complete!link"',),
        check=_escapes_in_error_are_text,
    ),
    Hostile(
        "escape sequences in a #line file name",
        {"Blink.ino": BLINK, "Evil.cpp": ESCAPES_IN_FILE_NAME},
        "compile_error",
        "Compilation failed: 1 error",
        shows=("evil.ino:7:",),
        check=_escapes_in_file_names_are_text,
    ),
    # -- host files (stopped by the sandbox: none of them is mounted)
    Hostile(
        "#include of /etc/passwd",
        {"Blink.ino": '#include "/etc/passwd"\n' + BLINK},
        "compile_error",
        shows=("/etc/passwd: No such file or directory",),
    ),
    Hostile(
        "#include of a server file by absolute path",
        {"Blink.ino": '#include "{secret}"\n' + BLINK},
        "compile_error",
        shows=("No such file or directory",),
    ),
    Hostile(
        "#include climbing out of the sketch folder",
        {"Blink.ino": '#include "../../../../data/secret.h"\n' + BLINK},
        "compile_error",
        shows=("No such file or directory",),
    ),
    Hostile(
        ".incbin of /etc/passwd",
        {"Blink.ino": BLINK, "steal.S": '.incbin "/etc/passwd"\n'},
        "compile_error",
        "Compilation failed: 1 error",
        shows=("file not found: /etc/passwd",),
    ),
    Hostile(
        ".incbin of a server file",
        {"Blink.ino": BLINK, "steal.S": '.incbin "{secret}"\n'},
        "compile_error",
        "Compilation failed: 1 error",
        shows=("file not found",),
    ),
    Hostile(
        "#include of /proc/self/environ",
        {"Blink.ino": '#include "/proc/self/environ"\n' + BLINK},
        ("success", "compile_error"),
    ),
    Hostile(
        ".incbin of /proc/1/environ",
        {"Blink.ino": BLINK, "steal.S": '.incbin "/proc/1/environ"\n'},
        ("success", "compile_error"),
    ),
    # -- endless or exploding inputs (stopped by the limits)
    Hostile(
        "#include of /dev/zero",
        {"Blink.ino": '#include "/dev/zero"\n' + BLINK},
        "limit_exceeded",
        "Stopped: memory limit",
    ),
    Hostile(
        ".incbin of /dev/zero and /dev/urandom",
        {"Blink.ino": BLINK, "zero.S": '.incbin "/dev/zero"\n', "random.S": '.incbin "/dev/urandom"\n'},
        "success",
    ),
    Hostile(
        "macro explosion",
        {"Blink.ino": MACRO_BOMB + BLINK},
        "limit_exceeded",
        limits={"wall_seconds": 10, "cpu_seconds": 10},
    ),
    Hostile(
        "template recursion",
        {"Blink.ino": "template<int N> struct R { enum { v = R<N + 1>::v }; };\nint z = R<0>::v;\n" + BLINK},
        "compile_error",
        shows=("template instantiation depth",),
    ),
    # -- build-steering files (refused before anything runs)
    *(
        Hostile(
            f"build-steering file {name}",
            {"Blink.ino": BLINK, name: "-fplugin=/tmp/evil.so\n"},
            "refused",
            f"File {name!r} is not allowed in a sketch",
        )
        for name in ("build_opt.h", "platform.local.txt", "boards.local.txt", "partitions.csv")
    ),
]


@pytest.fixture(scope="module")
def server_root() -> Iterator[Path]:
    """A data folder like the service's: work and cache folders next to a file the sketches must never read."""
    root = Path(tempfile.mkdtemp(prefix="hostile-"))
    root.chmod(0o711)
    data = root / "data"
    data.mkdir()
    (data / "secret.h").write_text(f'const char *key = "{SERVER_SECRET}";\n')
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.parametrize("case", HOSTILE, ids=[case.name for case in HOSTILE])
def test_hostile_sketch(case: Hostile, server_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WEBIDE_TEST_SECRET", ENV_SECRET)
    limits = Limits(**{"wall_seconds": 60, "cpu_seconds": 60, **case.limits})  # type: ignore[arg-type]
    data = server_root / "data"
    compiler = Compiler(
        CompilerConfig(work_root=data / "work", cache_root=data / "cache", toolchain="arduino-builder", limits=limits)
    )
    secret_path = str(data / "secret.h")
    files = [SketchFile(name, text.replace("{secret}", secret_path)) for name, text in case.files.items()]
    if case.status == "refused":
        with pytest.raises(SketchError) as refused:
            compiler.build("Blink", files, UNO)
        assert str(refused.value).startswith(case.message)
        assert compiler.runs == 0
        return
    lines: list[str] = []
    result = compiler.build("Blink", files, UNO, on_line=lines.append)
    expected = case.status if isinstance(case.status, tuple) else (case.status,)
    assert result.status in expected, result.log[-2000:]
    assert result.message.startswith(case.message)
    for text in case.shows:
        assert text in result.log, text
    if case.check:
        case.check(result, lines)
    _assert_invariants(compiler, result, lines)


def _assert_invariants(compiler: Compiler, result: BuildResult, lines: list[str]) -> None:
    """What every build of a hostile sketch must keep, whatever its outcome."""
    everything = "\n".join([result.log, *lines, *(repr(d.to_dict()) for d in result.diagnostics)])
    assert SERVER_SECRET not in everything and ENV_SECRET not in everything
    assert str(compiler.config.work_root) not in everything and str(compiler.config.cache_root) not in everything
    assert result.log == "\n".join(lines)
    assert all(len(line.encode()) <= LONGEST_LINE for line in lines)
    assert not [ch for ch in everything if _is_control(ch)], "output is plain text"
    assert len(result.diagnostics) <= MAX_DIAGNOSTICS
    assert [p.name for p in compiler.config.work_root.iterdir() if not p.name.startswith(".")] == []
    if result.status != "success":
        assert not compiler.build_cache.exists(result.cache_key), "a failed build is never cached"


def _is_control(character: str) -> bool:
    code = ord(character)
    return character not in "\t\n" and (code < 0x20 or 0x7F <= code <= 0x9F)
