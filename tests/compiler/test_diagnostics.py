"""Parsing of gcc/ld text output and of the size report; path scrubbing."""
from __future__ import annotations

from compiler.diagnostics import PathScrubber, parse_diagnostics, parse_sizes

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
        ("Blink.ino", 5, 22, "error"), ("Tab.h", 3, 1, "warning"), ("Tab.h", 2, 5, "note"),
        ("Tab.cpp", 7, 3, "error"),
    ]
    assert diagnostics[0].context == ["Blink.ino: In function 'void loop()'"]
    assert "included from Blink.ino:1:0" in diagnostics[1].context
    assert diagnostics[3].message == "missing.h: No such file or directory"


def test_linker_errors_become_diagnostics() -> None:
    output = ("/tmp/cc1.ltrans0.ltrans.o: In function `main':\n"
              "Blink.ino:3: undefined reference to `foo()'\n"
              "<artificial>:(.text+0x4): multiple definition of `bar'\n"
              "collect2: error: ld returned 1 exit status\n")
    diagnostics = parse_diagnostics(output)
    assert [(d.file, d.line, d.message) for d in diagnostics] == [
        ("Blink.ino", 3, "undefined reference to `foo()'"), ("", None, "multiple definition of `bar'")]
    assert all(d.severity == "error" for d in diagnostics)


def test_size_report() -> None:
    sizes = parse_sizes(
        "Sketch uses 874 bytes (2%) of program storage space. Maximum is 32256 bytes.\n"
        "Global variables use 9 bytes (0%) of dynamic memory, leaving 2039 bytes for local variables. "
        "Maximum is 2048 bytes.\n")
    assert sizes == {"flash_bytes": 874, "flash_max": 32256, "flash_percent": 2.7,
                     "ram_bytes": 9, "ram_max": 2048, "ram_percent": 0.4}
    assert parse_sizes("exit status 1") is None


def test_scrubber_rewrites_only_whole_path_prefixes() -> None:
    scrub = PathScrubber([("/srv/data/work/build-1/sketch/Blink", ""), ("/srv/data/work", "<work>/")])
    assert scrub("/srv/data/work/build-1/sketch/Blink/Blink.ino:1:2: error") == "Blink.ino:1:2: error"
    assert scrub("see /srv/data/work/other and /srv/data/workshop") == "see <work>/other and /srv/data/workshop"
    assert scrub("/x/srv/data/work/q") == "/x/srv/data/work/q"
