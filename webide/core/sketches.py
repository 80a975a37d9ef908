"""A bot's sketch as a chain of immutable revisions; the newest one is the current sketch."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any, Protocol, cast

from sqlalchemy import CursorResult, delete, select
from sqlalchemy.exc import IntegrityError

from compiler import SketchError, SketchFile

from ..config import Settings
from ..extensions import current_settings, db
from ..models import Build, Device, SketchRevision, iso
from .errors import BadRequest, Conflict, NotFound, TooLarge
from .events import announce, announce_to_class
from .rules import MAX_REVISION
from .toolchain import check_board, get_compiler

MAX_FILE_NAME = 64
MAX_FILE_TEXT = 10 * 1024 * 1024
# kind -> how the history list labels it
REVISION_KINDS = {
    "create": "Created",
    "save": "Saved",
    "autosave": "Autosave",
    "build": "Compiled",
    "restore": "Restored",
    "import": "Imported",
    "push": "Pushed to the class",
    "handout": "Handed out",
}
# Revisions a teacher handed out: what a student's work is compared with.
HAND_OUT_KINDS = ("push", "handout")
# A sketch whose newest revision is one of these is untouched: still its starter or what was handed out last.
UNTOUCHED_KINDS = ("create", *HAND_OUT_KINDS)

log = logging.getLogger(__name__)

STARTER_SKETCH = """// Your bot's program. Press Verify (Ctrl+R) to compile, Upload (Ctrl+U) to send it to the bot.

void setup() {
  pinMode(LED_BUILTIN, OUTPUT);
}

void loop() {
  digitalWrite(LED_BUILTIN, HIGH);
  delay(500);
  digitalWrite(LED_BUILTIN, LOW);
  delay(500);
}
"""


def sketch_name(device: Device) -> str:
    """Arduino sketch names allow letters, digits, '_' and '-', and the main .ino is named after the sketch."""
    return sketch_name_for(device.product_id)


def sketch_name_for(product_id: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_-]", "_", product_id)
    return name if name[0].isalnum() else f"s{name}"


def main_file(device: Device) -> str:
    """The main tab's file name, e.g. bot_001.ino."""
    return f"{sketch_name(device)}.ino"


def head_revision(device: Device) -> SketchRevision:
    """The current sketch (every bot gets its starter sketch when it is created)."""
    head = db.session.scalar(
        select(SketchRevision)
        .where(SketchRevision.device_id == device.id)
        .order_by(SketchRevision.number.desc())
        .limit(1)
    )
    if head is None:
        raise NotFound(f"{device.product_id} has no sketch")
    return head


def add_starter_sketch(device: Device) -> SketchRevision:
    """Revision 1 of a new bot: the starter sketch, under the bot's main file name."""
    return add_revision(device, starter_files(device.product_id), 1, "create", "", "New sketch")


def starter_files(product_id: str) -> list[dict[str, str]]:
    return [{"name": f"{sketch_name_for(product_id)}.ino", "content": STARTER_SKETCH}]


def revision(device: Device, number: int) -> SketchRevision:
    """Revision ``number`` of the bot's sketch, or 404 (it may never have existed or have been pruned)."""
    if not 1 <= number <= MAX_REVISION:
        raise NotFound(f"No revision {number}")
    found = db.session.scalar(
        select(SketchRevision).where(SketchRevision.device_id == device.id, SketchRevision.number == number)
    )
    if found is None:
        raise NotFound(f"No revision {number}")
    return found


def add_revision(
    device: Device,
    files: list[dict[str, str]],
    number: int,
    kind: str,
    author: str,
    message: str,
    starter: list[dict[str, str]] | None = None,
) -> SketchRevision:
    """Insert revision ``number``; the (device, number) unique key turns a lost race into a 409."""
    row = SketchRevision(
        device_id=device.id,
        number=number,
        files=files,
        kind=kind,
        author=author,
        message=message[:200],
        starter=starter,
    )
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise Conflict("Someone saved this sketch in the meantime", current=sketch_view(device)) from None
    announce_to_class(device.classroom_id, device.product_id, "revision", head_revision=number)
    # every open editor of this sketch (the student's other tab, a teacher) hears of it once it is stored
    announce(device.product_id, "sketch", revision=number, kind=kind, author=author)
    return row


def save_sketch(
    device: Device,
    files: list[dict[str, str]],
    base_revision: int,
    kind: str,
    author: str,
    message: str = "",
    starter: list[dict[str, str]] | None = None,
) -> SketchRevision:
    """Save a new revision on top of ``base_revision``; a stale base is a conflict, never a silent overwrite.

    A hand-out or push names the ``starter`` it came from (kept on the revision as the teacher's diff base)."""
    head = head_revision(device)
    if base_revision != head.number:
        raise Conflict("Someone saved this sketch in the meantime", current=sketch_view(device))
    if files == head.files and kind in ("autosave", "save"):
        return head  # nothing changed: no empty revision
    row = add_revision(device, files, head.number + 1, kind, author, message, starter)
    if kind == "autosave":
        prune_autosaves(device, current_settings().sketch_keep_autosaves)
    return row


def prune_autosaves(device: Device, keep: int) -> int:
    """Delete all but the newest ``keep`` autosaves; a revision a build refers to and the head always stay.

    Autosaves come every few seconds while someone types; without pruning the history fills with them and hides
    the snapshots people care about (explicit saves, builds, restores, imports).
    """
    autosaves = select(SketchRevision.number).where(
        SketchRevision.device_id == device.id, SketchRevision.kind == "autosave"
    )
    kept = autosaves.order_by(SketchRevision.number.desc()).limit(keep)
    built = select(Build.revision).where(Build.device_id == device.id)
    result = db.session.execute(
        delete(SketchRevision).where(
            SketchRevision.device_id == device.id,
            SketchRevision.kind == "autosave",
            SketchRevision.number.not_in(kept.scalar_subquery()),
            SketchRevision.number.not_in(built.scalar_subquery()),
            SketchRevision.number != head_revision(device).number,
        )
    )
    pruned = cast(CursorResult[Any], result).rowcount  # a DELETE always answers with a cursor result
    if pruned:
        log.info("Pruned %s old autosaves of %s", pruned, device.product_id)
    return pruned


def restore_revision(device: Device, number: int, base_revision: int | None, author: str) -> SketchRevision:
    """A new revision (kind "restore") with the files of revision ``number``; old revisions stay untouched."""
    old = revision(device, number)
    base = head_revision(device).number if base_revision is None else base_revision
    return save_sketch(device, old.files, base, "restore", author, f"Restored revision {number}")


def revision_history(device: Device, before: int | None, limit: int) -> list[SketchRevision]:
    """Up to ``limit`` revisions, newest first, older than revision ``before`` when given (for paging)."""
    query = select(SketchRevision).where(SketchRevision.device_id == device.id)
    if before is not None:
        query = query.where(SketchRevision.number < before)
    return list(db.session.scalars(query.order_by(SketchRevision.number.desc()).limit(limit)))


def revision_summary(row: SketchRevision) -> dict[str, Any]:
    """A revision as the history list shows it."""
    return {
        "revision": row.number,
        "created_at": iso(row.created_at),
        "message": row.message,
        "author": row.author,
        "kind": row.kind,
    }


def sketch_files(row: SketchRevision) -> list[SketchFile]:
    """The revision's files as the compiler takes them."""
    return [SketchFile(name=f["name"], content=f["content"]) for f in row.files]


class NamedText(Protocol):
    name: str
    content: str


def files_of(files: Iterable[NamedText]) -> list[dict[str, str]]:
    """Request files (anything with ``name`` and ``content``) as a revision stores them."""
    return [{"name": f.name, "content": f.content} for f in files]


def sketch_view(device: Device) -> dict[str, Any]:
    """The current sketch as the API shows it (also the `current` of a 409, so the client can resolve it)."""
    head = head_revision(device)
    return {
        "files": head.files,
        "revision": head.number,
        "fqbn": device.fqbn,
        "sketch_name": sketch_name(device),
        "saved_at": iso(head.created_at),
    }


def check_sketch(device: Device, files: list[dict[str, str]], settings: Settings) -> None:
    """The bot's sketch: see :func:`check_named_sketch`."""
    check_named_sketch(sketch_name(device), files, settings)


def check_named_sketch(name: str, files: list[dict[str, str]], settings: Settings) -> None:
    """Refuse a sketch the compiler would refuse — the one check behind every way a sketch comes in.

    413 when over the size or file-count limit; 400 for text that is not valid Unicode, a file name longer than
    MAX_FILE_NAME, or listing one message per broken file-name rule (the compiler's own rules, so the editor,
    imports, hand-outs and the build agree).
    """
    if len(files) > settings.sketch_max_files:
        raise TooLarge(f"A sketch may have at most {settings.sketch_max_files} files; this one has {len(files)}")
    for file in files:
        if len(file["name"]) > MAX_FILE_NAME:
            raise BadRequest(f"File name {file['name'][:MAX_FILE_NAME]!r}… is longer than {MAX_FILE_NAME} characters")
    total = 0
    for file in files:
        try:
            total += len(file["content"].encode("utf-8"))
        except UnicodeEncodeError:
            raise BadRequest(f"{file['name']} contains text that is not valid Unicode (a lone surrogate)") from None
    if total > settings.sketch_max_bytes:
        raise TooLarge(f"The sketch is {total} bytes; the limit is {settings.sketch_max_bytes} bytes")
    try:
        get_compiler(settings).validate(name, [SketchFile(**f) for f in files])
    except SketchError as error:
        raise BadRequest("; ".join(error.problems), problems=error.problems) from None


def check_buildable(device: Device, files: list[dict[str, str]], fqbn: str, settings: Settings) -> str:
    """Everything that must hold before a build of ``files`` for ``fqbn`` is queued; the FQBN to build with."""
    check_sketch(device, files, settings)
    return check_board(fqbn, settings)


def set_board(device: Device, fqbn: str, settings: Settings) -> str | None:
    """Make ``fqbn`` the bot's board, if an installed toolchain can build it; returns the old board if it changed."""
    fqbn = check_board(fqbn, settings)
    if device.fqbn == fqbn:
        return None
    old = device.fqbn
    log.info("Board of %s changed from %s to %s", device.product_id, old, fqbn)
    device.fqbn = fqbn
    return old
