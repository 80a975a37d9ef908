"""The class error map: every bot's latest compile, its first error normalised so that the same mistake made by
different students (with their own names, files and line numbers) counts as one error."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from ..models import Build, BuildStatus, iso
from .events import announce_to_class

MAX_NORMALISED = 200
# Quoted names are what differs between students with the same mistake ('ledPin' vs 'led' was not declared);
# quoted punctuation (';', '}') and C++ keywords are the message itself, so they stay.
_QUOTED = re.compile(r"(['\u2018\u2019\"])([^'\u2018\u2019\"\n]{1,200})(['\u2018\u2019\"])")
_PATH = re.compile(r"(?:[A-Za-z]:)?(?:[\w.~-]*[/\\])+([\w.-]+)")
_NUMBER = re.compile(r"\b\d+\b")
_SPACES = re.compile(r"\s+")
KEYWORDS = frozenset(
    (
        "auto",
        "bool",
        "break",
        "case",
        "char",
        "class",
        "const",
        "continue",
        "default",
        "delete",
        "do",
        "double",
        "else",
        "enum",
        "extern",
        "float",
        "for",
        "goto",
        "if",
        "inline",
        "int",
        "long",
        "namespace",
        "new",
        "operator",
        "private",
        "protected",
        "public",
        "return",
        "short",
        "signed",
        "sizeof",
        "static",
        "struct",
        "switch",
        "template",
        "this",
        "typedef",
        "union",
        "unsigned",
        "using",
        "virtual",
        "void",
        "volatile",
        "while",
        "byte",
        "boolean",
        "String",
    )
)


def normalise_error(message: str) -> str:
    """One compile error as the error map groups it: names, paths and numbers taken out, the wording kept.

    ``'ledPin' was not declared in this scope`` and ``'motor' was not declared in this scope`` are one error;
    ``expected ';' before '}' token`` keeps its punctuation. Linear in the message, which is capped first.
    """
    text = message[: MAX_NORMALISED * 4]
    text = _QUOTED.sub(_mask_quoted, text)
    text = _PATH.sub(lambda match: match.group(1), text)
    text = _NUMBER.sub("N", text)
    return _SPACES.sub(" ", text).strip()[:MAX_NORMALISED]


def _mask_quoted(match: re.Match[str]) -> str:
    inner = match.group(2)
    if inner in KEYWORDS or not any(char.isalnum() or char == "_" for char in inner):
        return f"'{inner}'"
    return "'…'"


def first_error(build: Build) -> dict[str, Any] | None:
    """The first error of a failed compile with its place (``file:line``), or what stopped the build."""
    if build.status != BuildStatus.ERROR.value:
        return None
    for diagnostic in build.diagnostics or []:
        if diagnostic.get("severity") in ("error", "fatal error"):
            message = str(diagnostic.get("message", ""))
            return {
                "file": diagnostic.get("file"),
                "line": diagnostic.get("line"),
                "message": message,
                "normalized": normalise_error(message),
            }
    message = build.message or build.error or "Build failed"
    return {"file": None, "line": None, "message": message, "normalized": normalise_error(message)}


def compile_view(build: Build) -> dict[str, Any]:
    """A finished Verify or Upload as the dashboard shows it: clean, or its first error, and when."""
    error = first_error(build)
    return {
        "status": "error" if error else "clean",
        "update_id": build.id,
        "revision": build.revision,
        "deploy": build.deploy,
        "finished_at": iso(build.finished_at),
        "error": error,
    }


def announce_compile(build: Build) -> None:
    """Tell the bot's class dashboards about a finished compile (after the commit)."""
    announce_to_class(build.device.classroom_id, build.device.product_id, "compile", compile=compile_view(build))


def error_map(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The class's distinct compile errors (normalised), how many bots have each and which; clean counts."""
    groups: dict[str, dict[str, Any]] = {}
    clean = never = 0
    for row in rows:
        compiled = row["compile"]
        if compiled is None:
            never += 1
        elif compiled["error"] is None:
            clean += 1
        else:
            error = compiled["error"]
            group = groups.setdefault(
                error["normalized"], {"message": error["normalized"], "example": error["message"], "bots": []}
            )
            group["bots"].append(
                {"product_id": row["product_id"], "name": row["name"], "file": error["file"], "line": error["line"]}
            )
    errors = sorted(groups.values(), key=lambda group: (-len(group["bots"]), group["message"]))
    for group in errors:
        group["count"] = len(group["bots"])
    return {
        "total": len(rows),
        "clean": clean,
        "failing": len(rows) - clean - never,
        "never_compiled": never,
        "errors": errors,
    }
