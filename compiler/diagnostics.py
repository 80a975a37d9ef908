"""Turn toolchain text output into structured diagnostics and flash/RAM figures.

gcc's text format is parsed (rather than arduino-cli's JSON) because the text is what streams live;
see ``drivers/arduino_cli.py`` for why the JSON output is not used.
"""
from __future__ import annotations

import re
from collections.abc import Iterable

from compiler.models import Diagnostic

_QUOTES = "'`‘’"
_DIAGNOSTIC = re.compile(
    r"^(?P<file>[^:\s][^:]*?):(?P<line>\d+):(?:(?P<column>\d+):)?\s*"
    r"(?P<severity>fatal error|error|warning|note):\s*(?P<message>.*)$"
)
_SCOPE = re.compile(
    r"^(?P<file>[^:\s][^:]*?):\s*(?P<scope>(?:In |At )(?:.*function|member function|constructor|destructor|"
    r"instantiation of|global scope|lambda function|static member function|substitution of).*?):?$"
)
_INCLUDED_FROM = re.compile(r"^\s*(?:In file included|from)\s+(?:from\s+)?(?P<where>[^:]+:\d+(?::\d+)?)[,:]?$")
_LINKER = re.compile(
    rf"^(?P<where>.*?):(?:\s*\(.*?\))?:?\s*(?P<message>(?:undefined reference to|multiple definition of)\s*"
    rf"[{_QUOTES}].*?[{_QUOTES}].*)$"
)
_WHERE_LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+)$")
_FLASH = re.compile(
    r"Sketch uses (?P<used>\d+) bytes \((?P<percent>\d+)%\) of program storage space\. Maximum is (?P<max>\d+) bytes"
)
_RAM = re.compile(
    r"Global variables use (?P<used>\d+) bytes \((?P<percent>\d+)%\) of dynamic memory.*?Maximum is (?P<max>\d+) bytes"
)


class PathScrubber:
    """Rewrites server and sandbox paths so users only ever see their own sketch's file names.

    Each ``(folder, replacement)`` turns ``folder/x`` into ``replacement + x`` and a bare ``folder`` into
    ``replacement`` without its trailing slash (or "." when that leaves nothing). A folder only matches at
    the start of a path, never inside a longer one.
    """

    def __init__(self, replacements: Iterable[tuple[str, str]]) -> None:
        self._table = {folder.rstrip("/"): repl for folder, repl in replacements if folder.strip("/")}
        alternatives = "|".join(re.escape(f) for f in sorted(self._table, key=len, reverse=True))
        self._pattern = re.compile(rf"(?<![\w./-])({alternatives})(/|(?![\w.-]))") if alternatives else None

    def __call__(self, text: str) -> str:
        """Return ``text`` with every known folder rewritten."""
        if self._pattern is None:
            return text
        return self._pattern.sub(self._replace, text)

    def _replace(self, match: re.Match[str]) -> str:
        replacement = self._table[match.group(1)]
        if match.group(2) == "/":
            return replacement
        return replacement.rstrip("/") or "."


def parse_diagnostics(output: str) -> list[Diagnostic]:
    """Parse gcc/ld messages (already path-scrubbed) into diagnostics, attaching scope context to each."""
    diagnostics: list[Diagnostic] = []
    context: list[str] = []
    for line in output.splitlines():
        if match := _SCOPE.match(line):
            context = [f"{match['file']}: {match['scope']}"]
        elif match := _INCLUDED_FROM.match(line):
            context = [*_include_context(context), f"included from {match['where']}"]
        elif match := _DIAGNOSTIC.match(line):
            diagnostics.append(_compiler_diagnostic(match, context))
            if match["severity"] != "note":
                context = [c for c in context if not c.startswith("included from")]
        elif match := _LINKER.match(line):
            diagnostics.append(_linker_diagnostic(match["where"], match["message"], context))
    return diagnostics


def _include_context(context: list[str]) -> list[str]:
    return [c for c in context if c.startswith("included from")]


def _compiler_diagnostic(match: re.Match[str], context: list[str]) -> Diagnostic:
    severity = "error" if match["severity"] == "fatal error" else match["severity"]
    return Diagnostic(
        file=match["file"],
        line=int(match["line"]),
        column=int(match["column"]) if match["column"] else None,
        severity=severity,
        message=match["message"].strip(),
        context=list(context),
    )


def _linker_diagnostic(where: str, message: str, context: list[str]) -> Diagnostic:
    file, line = "", None
    if located := _WHERE_LINE.match(where.strip()):
        file, line = located["file"], int(located["line"])
    return Diagnostic(file=file, line=line, column=None, severity="error", message=message.strip(),
                      context=list(context))


def parse_sizes(output: str) -> dict[str, int | float] | None:
    """Parse the "Sketch uses N bytes (P%) …" report into flash/RAM figures, or None when absent."""
    flash = _FLASH.search(output)
    if not flash:
        return None
    sizes: dict[str, int | float] = {
        "flash_bytes": int(flash["used"]),
        "flash_max": int(flash["max"]),
        "flash_percent": _percent(int(flash["used"]), int(flash["max"])),
        "ram_bytes": None,
        "ram_max": None,
        "ram_percent": None,
    }
    if ram := _RAM.search(output):
        sizes.update(ram_bytes=int(ram["used"]), ram_max=int(ram["max"]),
                     ram_percent=_percent(int(ram["used"]), int(ram["max"])))
    return sizes


def _percent(used: int, maximum: int) -> float:
    return round(100.0 * used / maximum, 1) if maximum else 0.0


def summarize(diagnostics: list[Diagnostic]) -> str:
    """One-line summary of a failed compile, e.g. "Compilation failed: 2 errors"."""
    errors = sum(1 for d in diagnostics if d.severity == "error")
    if errors == 0:
        return "Compilation failed"
    return f"Compilation failed: {errors} error{'s' if errors != 1 else ''}"
