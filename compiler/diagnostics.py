"""Turn toolchain text output into structured diagnostics and flash/RAM figures.

gcc's text format is parsed (rather than arduino-cli's JSON) because the text is what streams live;
see ``drivers/arduino_cli.py`` for why the JSON output is not used.

The text is untrusted: a sketch writes parts of it (``#warning`` text, ``#line`` file names). So parsing is
incremental, one already capped line at a time while the build runs (inside its wall-time limit), every pattern
runs in time linear in the line (anchored at the start, each repeated part followed by a character it cannot
match, so a failed attempt never rescans), the linker format is matched with plain string searches, and only
:data:`MAX_DIAGNOSTICS` diagnostics with bounded context are kept.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from compiler.models import Diagnostic
from compiler.text import MAX_LINE_BYTES

MAX_DIAGNOSTICS = 200
MAX_CONTEXT_ENTRIES = 8
MAX_CONTEXT_CHARS = 512
# Lines reach the parser already capped to MAX_LINE_BYTES; callers passing raw text get the same bound.
_MAX_PARSED_CHARS = MAX_LINE_BYTES + 64
_QUOTES = "'`‘’"
_LINKER_PHRASES = ("undefined reference to", "multiple definition of")
_SCOPE_STARTS = ("constructor", "destructor", "instantiation of", "global scope", "substitution of")
_DIAGNOSTIC = re.compile(
    r"(?P<file>[^:\s][^:]*):(?P<line>[0-9]{1,9}):(?:(?P<column>[0-9]{1,9}):)?\s*"
    r"(?P<severity>fatal error|error|warning|note|Error|Warning):(?P<message>.*)"
)
_SCOPE = re.compile(r"(?P<file>[^:\s][^:]*):\s*(?P<scope>(?:In|At) .*)")
_INCLUDED_FROM = re.compile(r"\s*(?:In file included\s+from|from)\s+(?P<where>[^:\s][^:]*:[0-9]+(?::[0-9]+)?)[,:]?$")
_FLASH = re.compile(
    r"Sketch uses (?P<used>[0-9]{1,12}) bytes \((?P<percent>[0-9]{1,4})%\) of program storage space\. "
    r"Maximum is (?P<max>[0-9]{1,12}) bytes"
)
_RAM = re.compile(
    r"Global variables use (?P<used>[0-9]{1,12}) bytes \((?P<percent>[0-9]{1,4})%\) of dynamic memory"
    r".*?Maximum is (?P<max>[0-9]{1,12}) bytes"
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


class DiagnosticParser:
    """Reads gcc/ld output (already capped and path-scrubbed) one line at a time while a build runs.

    Keeps the first :data:`MAX_DIAGNOSTICS` diagnostics, each with its scope and include context, counts every
    error (kept or not) for the summary, and remembers the last flash/RAM size report. Each line is handled in
    time linear in its length.
    """

    def __init__(self, max_diagnostics: int = MAX_DIAGNOSTICS) -> None:
        self.diagnostics: list[Diagnostic] = []
        self.errors = 0
        self.omitted = 0
        self._max_diagnostics = max_diagnostics
        self._context: list[str] = []
        self._flash: re.Match[str] | None = None
        self._ram: re.Match[str] | None = None

    def feed(self, line: str) -> None:
        """Take one output line into account."""
        line = line[:_MAX_PARSED_CHARS]
        if (match := _SCOPE.match(line)) and _is_scope(match["scope"]):
            self._set_context([f"{match['file']}: {match['scope'].removesuffix(':')}"])
            return
        if match := _INCLUDED_FROM.match(line):
            self._set_context([*_include_context(self._context), f"included from {match['where']}"])
        elif match := _DIAGNOSTIC.match(line):
            self._keep(_compiler_diagnostic(match, self._context))
            if match["severity"] != "note":
                self._context = [c for c in self._context if not c.startswith("included from")]
        elif located := _linker_message(line):
            self._keep(_linker_diagnostic(*located, self._context))
        elif match := _FLASH.match(line):
            self._flash = match
        elif match := _RAM.match(line):
            self._ram = match

    def feed_text(self, output: str) -> DiagnosticParser:
        """Feed every line of ``output``; returns the parser for chaining."""
        for line in output.splitlines():
            self.feed(line)
        return self

    @property
    def sizes(self) -> dict[str, int | float | None] | None:
        """Flash/RAM figures of the last "Sketch uses N bytes (P%) …" report, or None when there was none."""
        if self._flash is None:
            return None
        used, maximum = int(self._flash["used"]), int(self._flash["max"])
        sizes: dict[str, int | float | None] = {
            "flash_bytes": used,
            "flash_max": maximum,
            "flash_percent": _percent(used, maximum),
            "ram_bytes": None,
            "ram_max": None,
            "ram_percent": None,
        }
        if self._ram is not None:
            used, maximum = int(self._ram["used"]), int(self._ram["max"])
            sizes.update(ram_bytes=used, ram_max=maximum, ram_percent=_percent(used, maximum))
        return sizes

    def summary(self) -> str:
        """One-line summary of a failed compile, e.g. "Compilation failed: 2 errors"."""
        if self.errors == 0:
            return "Compilation failed"
        text = f"Compilation failed: {self.errors} error{'s' if self.errors != 1 else ''}"
        if self.omitted:
            text += f" (only the first {len(self.diagnostics)} messages are listed)"
        return text

    def _keep(self, diagnostic: Diagnostic) -> None:
        if diagnostic.severity == "error":
            self.errors += 1
        if len(self.diagnostics) < self._max_diagnostics:
            self.diagnostics.append(diagnostic)
        else:
            self.omitted += 1

    def _set_context(self, context: list[str]) -> None:
        self._context = [entry[:MAX_CONTEXT_CHARS] for entry in context[:MAX_CONTEXT_ENTRIES]]


def parse_diagnostics(output: str) -> list[Diagnostic]:
    """Parse gcc/ld messages (already path-scrubbed) into diagnostics, attaching scope context to each."""
    return DiagnosticParser().feed_text(output).diagnostics


def parse_sizes(output: str) -> dict[str, Any] | None:
    """Parse the "Sketch uses N bytes (P%) …" report into flash/RAM figures, or None when absent."""
    return DiagnosticParser().feed_text(output).sizes


def _is_scope(scope: str) -> bool:
    """gcc's "In function …", "In member function …", "At global scope" … headers."""
    rest = scope[3:]
    return "function" in rest or rest.startswith(_SCOPE_STARTS)


def _include_context(context: list[str]) -> list[str]:
    return [c for c in context if c.startswith("included from")]


def _compiler_diagnostic(match: re.Match[str], context: list[str]) -> Diagnostic:
    # "fatal error" is gcc's; "Error"/"Warning" are the assembler's.
    severity = "error" if match["severity"] == "fatal error" else match["severity"].lower()
    return Diagnostic(
        file=match["file"],
        line=int(match["line"]),
        column=int(match["column"]) if match["column"] else None,
        severity=severity,
        message=match["message"].strip(),
        context=list(context),
    )


def _linker_message(line: str) -> tuple[str, str] | None:
    """Split ``where: undefined reference to `x'`` (or ``multiple definition of``) into (where, message).

    ``where`` is what precedes the phrase, minus the colon before it and an optional ``(section+offset)`` group:
    ``Blink.ino:3: …``, ``<artificial>:(.text+0x4): …``. Plain string searches, so a hostile line costs one scan.
    Linker lines never start with a space; gcc's echo of a source line always does, so a ``#warning`` quoting
    a linker message cannot pass for one.
    """
    if line[:1].isspace():
        return None
    for phrase in _LINKER_PHRASES:
        at = line.find(phrase)
        if at >= 0:
            break
    else:
        return None
    quoted = line[at + len(phrase) :].lstrip()
    if not quoted[:1] or quoted[0] not in _QUOTES or not any(c in _QUOTES for c in quoted[1:]):
        return None
    head = line[:at].rstrip()
    if head.removesuffix(":").endswith(")") and "(" in head:
        before_section = head[: head.rfind("(")].rstrip()
        if before_section.endswith(":"):
            return before_section[:-1], line[at:]
    if head.endswith(":"):
        return head[:-1], line[at:]
    return None


def _linker_diagnostic(where: str, message: str, context: list[str]) -> Diagnostic:
    file, line = "", None
    path, _, number = where.strip().rpartition(":")
    if path and ":" not in path and number.isascii() and number.isdigit() and len(number) <= 9:
        file, line = path, int(number)
    return Diagnostic(
        file=file, line=line, column=None, severity="error", message=message.strip(), context=list(context)
    )


def _percent(used: int, maximum: int) -> float:
    return round(100.0 * used / maximum, 1) if maximum else 0.0
