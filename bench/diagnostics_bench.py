"""Diagnostics parsing on hostile compiler output: the earlier regex parser against the linear-time one.

(a) the output of the stall attack (a 16,000-character ``#warning`` line shaped for the old linker pattern,
    included 130 times), as the old line reader passed it on (lines up to 16 KiB) and as it arrives now
    (cut to 4 KiB before parsing);
(b) one hostile line of growing length, with the line cap lifted, to show how each parser scales;
(c) ordinary gcc output, to show the new parser is no slower on what students normally see.
No assertions: medians of a few rounds, printed next to their targets.
"""

from __future__ import annotations

import re
import statistics
import time
from collections.abc import Callable

from compiler import diagnostics
from compiler.diagnostics import DiagnosticParser
from compiler.models import Diagnostic
from compiler.text import safe_line

ROUNDS = 3
ATTACK_LINE = ":(" * 8000

# The parser as it was before: its patterns, verbatim, and the same dispatch order.
_OLD_QUOTES = "'`‘’"
_OLD_DIAGNOSTIC = re.compile(
    r"^(?P<file>[^:\s][^:]*?):(?P<line>\d+):(?:(?P<column>\d+):)?\s*"
    r"(?P<severity>fatal error|error|warning|note):\s*(?P<message>.*)$"
)
_OLD_SCOPE = re.compile(
    r"^(?P<file>[^:\s][^:]*?):\s*(?P<scope>(?:In |At )(?:.*function|member function|constructor|destructor|"
    r"instantiation of|global scope|lambda function|static member function|substitution of).*?):?$"
)
_OLD_INCLUDED_FROM = re.compile(r"^\s*(?:In file included|from)\s+(?:from\s+)?(?P<where>[^:]+:\d+(?::\d+)?)[,:]?$")
_OLD_LINKER = re.compile(
    rf"^(?P<where>.*?):(?:\s*\(.*?\))?:?\s*(?P<message>(?:undefined reference to|multiple definition of)\s*"
    rf"[{_OLD_QUOTES}].*?[{_OLD_QUOTES}].*)$"
)


_OLD_WHERE_LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+)$")


def old_parse(output: str) -> int:
    """The earlier parse loop, verbatim but for returning the number of diagnostics."""
    found: list[Diagnostic] = []
    context: list[str] = []
    for line in output.splitlines():
        if match := _OLD_SCOPE.match(line):
            context = [f"{match['file']}: {match['scope']}"]
        elif match := _OLD_INCLUDED_FROM.match(line):
            context = [*(c for c in context if c.startswith("included from")), f"included from {match['where']}"]
        elif match := _OLD_DIAGNOSTIC.match(line):
            severity = "error" if match["severity"] == "fatal error" else match["severity"]
            found.append(
                Diagnostic(
                    file=match["file"],
                    line=int(match["line"]),
                    column=int(match["column"]) if match["column"] else None,
                    severity=severity,
                    message=match["message"].strip(),
                    context=list(context),
                )
            )
            if match["severity"] != "note":
                context = [c for c in context if not c.startswith("included from")]
        elif match := _OLD_LINKER.match(line):
            file, number = "", None
            if located := _OLD_WHERE_LINE.match(match["where"].strip()):
                file, number = located["file"], int(located["line"])
            found.append(
                Diagnostic(
                    file=file,
                    line=number,
                    column=None,
                    severity="error",
                    message=match["message"].strip(),
                    context=list(context),
                )
            )
    return len(found)


def new_parse(output: str) -> int:
    return len(DiagnosticParser(max_diagnostics=10**6).feed_text(output).diagnostics)


def attack_output(line_chars: int, includes: int = 130) -> str:
    """What gcc prints for the attack sketch, each line cut to ``line_chars`` the way the old reader cut it."""
    shaped = ATTACK_LINE[: line_chars - len(" #warning ")]
    lines = []
    for number in range(1, includes + 1):
        lines += [
            f"In file included from Blink.ino:{number}:0:",
            f"W.h:1:2: warning: #warning {shaped}",
            f" #warning {shaped}",
            "  ^",
        ]
    return "\n".join(lines)


def capped(output: str) -> str:
    """The same output after the line reader's 4 KiB cap and stripping, as the parser now receives it."""
    return "\n".join(safe_line(line.encode()) for line in output.splitlines())


def median_seconds(work: Callable[[], object], rounds: int = ROUNDS) -> float:
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        timings.append(time.perf_counter() - started)
    return statistics.median(timings)


def run() -> list[tuple[str, str, str]]:
    rows: list[tuple[str, str, str]] = []
    attack = attack_output(16384)
    # The old parser needs minutes for all 130 includes; a tenth of them shows its cost per include.
    tenth = attack_output(16384, includes=13)
    old = median_seconds(lambda: old_parse(tenth), rounds=1)
    rows.append(
        (
            "diagnostics (a) stall attack, old parser, 13 of 130 includes, 16 KiB lines",
            f"{old:.1f} s (×10 ≈ {old * 10:.0f} s)",
            "was ~210 s in a worker",
        )
    )
    new_uncapped = median_seconds(lambda: new_parse(attack))
    rows.append(
        (
            "diagnostics (a) stall attack, new parser, 16 KiB lines (it parses the first 4 KiB)",
            f"{new_uncapped * 1000:.1f} ms",
            "linear",
        )
    )
    reader_output = capped(attack)
    new = median_seconds(lambda: new_parse(reader_output))
    rows.append(("diagnostics (a) stall attack, new parser, lines cut to 4 KiB", f"{new * 1000:.1f} ms", "≤ 100 ms"))
    limit = diagnostics._MAX_PARSED_CHARS
    diagnostics._MAX_PARSED_CHARS = 10**9  # lift the cap: show how the patterns themselves scale
    try:
        for size in (4096, 16384, 65536):
            line = (" #warning " + ":(" * (size // 2))[:size]
            old_line = median_seconds(lambda: old_parse(line), rounds=1) if size <= 16384 else None
            new_line = median_seconds(lambda: new_parse(line))
            old_text = f"old {old_line * 1000:.0f} ms" if old_line is not None else "old (skipped: minutes)"
            rows.append(
                (
                    f"diagnostics (b) one {size // 1024} KiB hostile line",
                    f"{old_text}, new {new_line * 1000:.2f} ms",
                    "new grows linearly",
                )
            )
    finally:
        diagnostics._MAX_PARSED_CHARS = limit
    normal = NORMAL_OUTPUT * 500
    rows.append(
        (
            "diagnostics (c) ordinary gcc output, 4,000 lines",
            f"old {median_seconds(lambda: old_parse(normal)) * 1000:.1f} ms, "
            f"new {median_seconds(lambda: new_parse(normal)) * 1000:.1f} ms",
            "same order as old",
        )
    )
    return rows


NORMAL_OUTPUT = """Blink.ino: In function 'void loop()':
Blink.ino:5:22: error: 'x' was not declared in this scope
 void loop() { x = 2; }
               ^
In file included from Blink.ino:1:0:
Tab.h:3:1: warning: unused variable 'y' [-Wunused-variable]
Tab.h:2:5: note: declared here
Blink.ino:3: undefined reference to `foo()'
"""
