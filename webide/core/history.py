"""Read-only views of old revisions: each file rendered to HTML by Pygments on the server.

The HTML uses Pygments' short CSS classes inside a ``div.highlight`` (the editor's stylesheet colours them for the
light and dark themes), with inline line numbers so a copied selection can be matched to the editor's lines.

Highlighting costs about 10 ms per KiB of C++, so it runs in a worker process (never on the event loop that serves
bots), and only the first HIGHLIGHT_BYTES of a revision are coloured: larger files are shown as plain text with a
note saying why.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import CppLexer, GasLexer, TextLexer

from .offload import run_cpu_bound

HIGHLIGHT_BYTES = 64 * 1024  # per revision; a 512 KiB sketch would take seconds of CPU

LEXERS: dict[str, type[Lexer]] = {
    ".ino": CppLexer,
    ".h": CppLexer,
    ".hpp": CppLexer,
    ".cpp": CppLexer,
    ".c": CppLexer,
    ".S": GasLexer,
}


def lexer_for(name: str) -> Lexer:
    """C++ for sketch sources, GNU assembler for .S; plain text for anything an old revision may hold."""
    return LEXERS.get(PurePosixPath(name).suffix, TextLexer)()


def render_file(name: str, content: str, lexer: Lexer | None = None) -> str:
    """One file as an HTML fragment (no <html> document around it), with line numbers."""
    formatter = HtmlFormatter(linenos="inline", cssclass="highlight", wrapcode=True)
    return highlight(content, lexer or lexer_for(name), formatter)


def plain_file(name: str, content: str) -> str:
    """A file too large to colour: its text with line numbers, after a note saying why it has no colours."""
    note = (
        f'<p class="highlight-note">Shown without colours: the revision is larger than '
        f"{HIGHLIGHT_BYTES // 1024} KiB.</p>"
    )
    return note + render_file(name, content, TextLexer())


def render_files(files: list[dict[str, str]]) -> dict[str, str]:
    """{file name: HTML}: files are coloured in order while the revision's highlighting budget lasts."""
    budget = HIGHLIGHT_BYTES
    rendered = {}
    for f in files:
        size = len(f["content"].encode("utf-8", "surrogatepass"))
        if size <= budget:
            rendered[f["name"]] = render_file(f["name"], f["content"])
            budget -= size
        else:
            rendered[f["name"]] = plain_file(f["name"], f["content"])
    return rendered


def render_revision(files: list[dict[str, str]]) -> dict[str, str]:
    """{file name: HTML} for every file of a revision, rendered in a worker process."""
    return run_cpu_bound(render_files, files)
