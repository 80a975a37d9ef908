"""Parsing of gcc/ld text output and of the size report; path scrubbing."""

from __future__ import annotations

import pytest

from compiler.diagnostics import MAX_CONTEXT_ENTRIES, DiagnosticParser, PathScrubber, parse_diagnostics, parse_sizes
from compiler.text import MAX_LINE_BYTES

GCC_OUTPUT = """Blink.ino: In function 'void loop()':
Blink.ino:5:22: error: 'x' was not declared in this scope
 void loop() { x = 2; }
               ^
In file included from Blink.ino:1:0:
Tab.h:3:1: warning: unused variable 'y' [-Wunused-variable]
Tab.h:2:5: note: declared here
Tab.cpp:7:3: fatal error: missing.h: No such file or directory
"""


def test_compiler_messages_with_scope_and_include_context() -> None:
    diagnostics = parse_diagnostics(GCC_OUTPUT)
    assert [(d.file, d.line, d.column, d.severity) for d in diagnostics] == [
        ("Blink.ino", 5, 22, "error"),
        ("Tab.h", 3, 1, "warning"),
        ("Tab.h", 2, 5, "note"),
        ("Tab.cpp", 7, 3, "error"),
    ]
    assert diagnostics[0].context == ["Blink.ino: In function 'void loop()'"]
    assert "included from Blink.ino:1:0" in diagnostics[1].context
    assert diagnostics[3].message == "missing.h: No such file or directory"


def test_assembler_messages_become_diagnostics() -> None:
    diagnostics = parse_diagnostics(
        "r.S: Assembler messages:\nr.S:1: Error: file not found: /etc/passwd\n"
        "r.S:2: Warning: end of file not at end of a line\n"
    )
    assert [(d.file, d.line, d.severity, d.message) for d in diagnostics] == [
        ("r.S", 1, "error", "file not found: /etc/passwd"),
        ("r.S", 2, "warning", "end of file not at end of a line"),
    ]


def test_linker_errors_become_diagnostics() -> None:
    output = (
        "/tmp/cc1.ltrans0.ltrans.o: In function `main':\n"
        "Blink.ino:3: undefined reference to `foo()'\n"
        "<artificial>:(.text+0x4): multiple definition of `bar'\n"
        "collect2: error: ld returned 1 exit status\n"
    )
    diagnostics = parse_diagnostics(output)
    assert [(d.file, d.line, d.message) for d in diagnostics] == [
        ("Blink.ino", 3, "undefined reference to `foo()'"),
        ("", None, "multiple definition of `bar'"),
    ]
    assert all(d.severity == "error" for d in diagnostics)


def test_size_report() -> None:
    sizes = parse_sizes(
        "Sketch uses 874 bytes (2%) of program storage space. Maximum is 32256 bytes.\n"
        "Global variables use 9 bytes (0%) of dynamic memory, leaving 2039 bytes for local variables. "
        "Maximum is 2048 bytes.\n"
    )
    assert sizes == {
        "flash_bytes": 874,
        "flash_max": 32256,
        "flash_percent": 2.7,
        "ram_bytes": 9,
        "ram_max": 2048,
        "ram_percent": 0.4,
    }
    assert parse_sizes("exit status 1") is None


def test_scrubber_rewrites_only_whole_path_prefixes() -> None:
    scrub = PathScrubber([("/srv/data/work/build-1/sketch/Blink", ""), ("/srv/data/work", "<work>/")])
    assert scrub("/srv/data/work/build-1/sketch/Blink/Blink.ino:1:2: error") == "Blink.ino:1:2: error"
    assert scrub("see /srv/data/work/other and /srv/data/workshop") == "see <work>/other and /srv/data/workshop"
    assert scrub("/x/srv/data/work/q") == "/x/srv/data/work/q"


# Lines shaped to make the earlier patterns backtrack: the old linker pattern retried a lazy "(…)" scan at every
# colon (quadratic in the line), the old include pattern rescanned the line for every leading space.
HOSTILE_LINES = [
    " #warning " + ":(" * 8000,
    ":(x" * 5000 + ": undefined reference to `a'",
    "from" + " " * 8000 + "x" * 8000,
    "In file included from " + "a:" * 8000,
    "Blink.ino:" + "1" * 8000 + ": error: long line number",
    "Global variables use 1 bytes (1%) of dynamic memory" * 300,
]


@pytest.mark.parametrize("line", HOSTILE_LINES)
def test_hostile_line_shapes_are_not_diagnostics(line: str) -> None:
    parser = DiagnosticParser().feed_text(line + "\nBlink.ino:3: undefined reference to `foo()'\n")
    assert [(d.file, d.line, d.message) for d in parser.diagnostics] == [
        ("Blink.ino", 3, "undefined reference to `foo()'")
    ]
    assert parser.sizes is None


def test_lines_are_parsed_only_up_to_the_line_cap() -> None:
    message = "m" * (MAX_LINE_BYTES * 3)
    (diagnostic,) = parse_diagnostics(f"Blink.ino:1:2: error: {message}")
    assert diagnostic.line == 1 and set(diagnostic.message) == {"m"}
    assert len(diagnostic.message) < MAX_LINE_BYTES + 64


def test_only_the_first_diagnostics_are_kept_but_every_error_is_counted() -> None:
    parser = DiagnosticParser(max_diagnostics=5)
    for number in range(1, 13):
        parser.feed(f"Blink.ino:{number}:1: error: problem {number}")
        parser.feed(f"Blink.ino:{number}:1: note: hint {number}")
    assert [d.line for d in parser.diagnostics] == [1, 1, 2, 2, 3]
    assert parser.errors == 12 and parser.omitted == 19
    assert parser.summary() == "Compilation failed: 12 errors (only the first 5 messages are listed)"


def test_include_context_is_bounded() -> None:
    chain = ["In file included from A0.h:1:0,"] + [f"                 from A{i}.h:1," for i in range(1, 200)]
    parser = DiagnosticParser().feed_text("\n".join([*chain, "Deep.h:1:2: error: too deep"]))
    (diagnostic,) = parser.diagnostics
    assert diagnostic.context == ["included from A0.h:1:0"] + [
        f"included from A{i}.h:1" for i in range(1, MAX_CONTEXT_ENTRIES)
    ]


def test_an_echoed_source_line_quoting_a_linker_message_is_not_a_linker_error() -> None:
    output = (
        "Blink.ino:1:2: warning: #warning : undefined reference to `setup'\n"
        " #warning : undefined reference to `setup'\n  ^\n"
    )
    assert [d.severity for d in parse_diagnostics(output)] == ["warning"]


def test_size_report_counts_only_from_the_start_of_a_line_and_the_last_one_wins() -> None:
    spoof = "Blink.ino:1:2: warning: #warning Sketch uses 1 bytes (0%) of program storage space. Maximum is 1 bytes"
    real = "Sketch uses 874 bytes (2%) of program storage space. Maximum is 32256 bytes."
    assert parse_sizes(f"{spoof}\n{real}\n")["flash_bytes"] == 874
    assert parse_sizes(spoof) is None
    assert parse_sizes(f"{real}\n{real.replace('874', '900')}")["flash_bytes"] == 900
