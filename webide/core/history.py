"""Read-only views of old revisions: each file rendered to HTML by Pygments on the server.

The HTML uses Pygments' short CSS classes inside a ``div.highlight`` (the editor's stylesheet colours them for the
light and dark themes), with inline line numbers so a copied selection can be matched to the editor's lines.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import CppLexer, GasLexer, TextLexer

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


def render_file(name: str, content: str) -> str:
    """One file as an HTML fragment (no <html> document around it), with line numbers."""
    formatter = HtmlFormatter(linenos="inline", cssclass="highlight", wrapcode=True)
    return highlight(content, lexer_for(name), formatter)


def render_revision(files: list[dict[str, str]]) -> dict[str, str]:
    """{file name: HTML} for every file of a revision."""
    return {f["name"]: render_file(f["name"], f["content"]) for f in files}
