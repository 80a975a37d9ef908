"""Assignments: starter sketches handed out to a class without destroying student work.

Handing out never loses a file: "replace" makes a new revision with the starter's files (the student's old files
stay in the history), "add" adds the starter's files as new tabs and keeps every file the student already has (a
starter file whose name the sketch already uses is not added), "untouched" replaces only sketches whose newest
revision is still the bot's starter or the previous hand-out. The class push (`POST /api/classes/<name>/builds`)
goes through the same plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from ..extensions import current_settings, db
from ..models import Assignment, Build, Classroom, Device, SketchRevision, iso
from .builds.queue import ensure_queue_reachable, queue_build
from .classes import check_open, files_for
from .errors import BadRequest, Conflict, NotFound
from .examples import example_files
from .rules import MAX_ROW_ID, check_display_name
from .sketches import (
    HAND_OUT_KINDS,
    UNTOUCHED_KINDS,
    check_buildable,
    check_named_sketch,
    check_sketch,
    head_revision,
    save_sketch,
)

HANDOUT_MODES = {
    "replace": "Replace the sketch (the old files stay in the history)",
    "add": "Add as new tabs (files the student already has are kept)",
    "untouched": "Only bots whose sketch is untouched",
}
MAX_TITLE = 80
MAX_ASSIGNMENTS = 200  # per class
ASSIGNMENT_SOURCES = ("editor", "example", "zip")


@dataclass(frozen=True)
class Starter:
    """What is handed out: a title for the history, the files, and which of them is the main .ino."""

    title: str
    files: list[dict[str, str]]
    main: str


@dataclass
class BotPlan:
    """What a hand-out does to one bot: its files afterwards (None: unchanged) and why."""

    device: Device
    head: SketchRevision
    action: str  # replace | add | skip
    files: list[dict[str, str]] | None = None
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    reason: str = ""

    def view(self) -> dict[str, Any]:
        return {
            "product_id": self.device.product_id,
            "action": self.action,
            "revision": self.head.number,
            "added": self.added,
            "removed": self.removed,
            "kept": self.kept,
            "reason": self.reason,
        }


def check_mode(mode: str) -> str:
    if mode not in HANDOUT_MODES:
        raise BadRequest(f"Unknown hand-out mode {mode[:40]!r}; use one of: {', '.join(HANDOUT_MODES)}")
    return mode


def check_title(title: str) -> str:
    title = check_display_name(title, "The assignment's title", MAX_TITLE)
    if not title.strip():
        raise BadRequest("Give the assignment a title")
    return title


def pick_main(files: list[dict[str, str]], main: str | None = None) -> str:
    """The starter's main .ino: the one named, else the only one."""
    sketches = [f["name"] for f in files if f["name"].endswith(".ino")]
    if main is not None:
        if main not in sketches:
            raise BadRequest(f"main file {main[:64]!r} is not one of the .ino files")
        return main
    if len(sketches) != 1:
        raise BadRequest(
            "Name the main .ino file with the field main (there are several)"
            if sketches
            else "The sketch needs a main .ino file"
        )
    return sketches[0]


def check_starter(files: list[dict[str, str]], main: str) -> None:
    """The starter itself must be a sketch the compiler takes (checked under its own main file's name)."""
    check_named_sketch(main.removesuffix(".ino"), files, current_settings())


def create_assignment(
    classroom: Classroom, title: str, files: list[dict[str, str]], source: str, author: str
) -> Assignment:
    """A new assignment of the class; a title the class already uses is a 409."""
    check_open(classroom, "creating assignments")
    title = check_title(title)
    main = pick_main(files)
    check_starter(files, main)
    existing = db.session.scalars(select(Assignment.title).where(Assignment.classroom_id == classroom.id)).all()
    if title in existing:
        raise Conflict(f"Class {classroom.name!r} already has an assignment called {title!r}")
    if len(existing) >= MAX_ASSIGNMENTS:
        raise Conflict(f"A class may have at most {MAX_ASSIGNMENTS} assignments; delete old ones first")
    assignment = Assignment(
        classroom_id=classroom.id, title=title, files=files, main=main, source=source, created_by=author
    )
    db.session.add(assignment)
    db.session.flush()
    return assignment


def class_assignment(classroom: Classroom, assignment_id: int) -> Assignment:
    found = db.session.get(Assignment, assignment_id) if 0 < assignment_id <= MAX_ROW_ID else None
    if found is None or found.classroom_id != classroom.id:
        raise NotFound(f"Class {classroom.name!r} has no assignment {assignment_id}")
    return found


def class_assignments(classroom: Classroom) -> list[Assignment]:
    return list(
        db.session.scalars(
            select(Assignment).where(Assignment.classroom_id == classroom.id).order_by(Assignment.id.desc())
        )
    )


def assignment_view(assignment: Assignment) -> dict[str, Any]:
    return {
        "id": assignment.id,
        "title": assignment.title,
        "main": assignment.main,
        "files": [f["name"] for f in assignment.files],
        "source": assignment.source,
        "created_by": assignment.created_by,
        "created_at": iso(assignment.created_at),
    }


def starter_of(assignment: Assignment) -> Starter:
    return Starter(assignment.title, assignment.files, assignment.main)


def starter_files(
    classroom: Classroom, source: str, product_id: str | None, example_id: str | None
) -> list[dict[str, str]]:
    """A new assignment's files: the current sketch of one of the class's bots, or an example."""
    if source == "editor":
        if product_id is None:
            raise BadRequest("Name the bot whose sketch becomes the assignment (field product_id)")
        return head_revision(class_device(classroom, product_id)).files
    if example_id is None:
        raise BadRequest("Name the example (field example_id)")
    return example_files(example_id)


def class_device(classroom: Classroom, product_id: str) -> Device:
    for device in classroom.devices:
        if device.product_id == product_id:
            return device
    raise NotFound(f"Class {classroom.name!r} has no bot {product_id[:64]!r}")


def class_bots(classroom: Classroom) -> list[Device]:
    devices = sorted(classroom.devices, key=lambda d: d.product_id)
    if not devices:
        raise BadRequest(f"Class {classroom.name!r} has no bots")
    return devices


def plan_handout(classroom: Classroom, starter: Starter, mode: str) -> list[BotPlan]:
    """What handing ``starter`` out in ``mode`` would do to every bot of the class; changes nothing."""
    check_mode(mode)
    return [plan_for_bot(device, starter, mode) for device in class_bots(classroom)]


def plan_for_bot(device: Device, starter: Starter, mode: str) -> BotPlan:
    head = head_revision(device)
    theirs = files_for(device, starter.files, starter.main)
    current = {f["name"] for f in head.files}
    if mode == "add":
        new = [f for f in theirs if f["name"] not in current]
        kept = [f["name"] for f in theirs if f["name"] in current]
        if not new:
            return BotPlan(device, head, "skip", kept=kept, reason="The sketch already has every file of the starter")
        return BotPlan(device, head, "add", [*head.files, *new], added=[f["name"] for f in new], kept=kept)
    if mode == "untouched" and head.kind not in UNTOUCHED_KINDS:
        return BotPlan(
            device, head, "skip", reason=f"Edited by the student since the last hand-out (revision {head.number})"
        )
    if theirs == head.files:
        return BotPlan(device, head, "skip", reason="The sketch already is the starter")
    names = {f["name"] for f in theirs}
    return BotPlan(
        device,
        head,
        "replace",
        theirs,
        added=[f["name"] for f in theirs if f["name"] not in current],
        removed=sorted(current - names),
    )


def apply_handout(plans: list[BotPlan], starter: Starter, mode: str, kind: str, author: str) -> list[BotPlan]:
    """Save the planned revisions (kind ``handout`` or ``push``, by ``author``); every sketch is checked first, so a
    starter one bot cannot take changes no bot. Returns the plans that changed a bot."""
    changing = [plan for plan in plans if plan.files is not None]
    settings = current_settings()
    for plan in changing:
        assert plan.files is not None
        check_sketch(plan.device, plan.files, settings)
    message = f"{HANDOUT_LABELS[kind]} {starter.title!r} ({mode})"
    for plan in changing:
        assert plan.files is not None
        theirs = files_for(plan.device, starter.files, starter.main)
        save_sketch(plan.device, plan.files, plan.head.number, kind, author, message, starter=theirs)
    return changing


HANDOUT_LABELS = {"handout": "Handed out", "push": "Pushed"}


def hand_out(classroom: Classroom, starter: Starter, mode: str, kind: str, author: str) -> list[BotPlan]:
    """Plan and apply in one go (the caller commits); returns every bot's plan, skipped ones included."""
    check_open(classroom, "handing out sketches")
    plans = plan_handout(classroom, starter, mode)
    apply_handout(plans, starter, mode, kind, author)
    return plans


@dataclass(frozen=True)
class DiffBase:
    """The starter of the newest hand-out (or push) a bot got: what a teacher compares the student's work with."""

    revision: int  # the hand-out's revision
    message: str
    files: list[dict[str, str]]


def starter_diff_base(device: Device) -> DiffBase | None:
    """The starter files of the newest hand-out this bot got, not the sketch it made: in "add" mode that revision
    is the student's sketch with the starter's new tabs. A hand-out stored before revisions kept their starter
    falls back to its own files (right for "replace", the merged sketch for "add"). None: never handed out."""
    row = db.session.scalar(
        select(SketchRevision)
        .where(SketchRevision.device_id == device.id, SketchRevision.kind.in_(HAND_OUT_KINDS))
        .order_by(SketchRevision.number.desc())
        .limit(1)
    )
    if row is None:
        return None
    return DiffBase(row.number, row.message, row.starter if row.starter is not None else row.files)


def push_sketch(
    classroom: Classroom, starter: Starter, mode: str, deploy: bool, author: str
) -> tuple[list[BotPlan], list[Build]]:
    """The class push: hand ``starter`` out (kind "push") and queue a build for every bot it changed; nothing is
    changed unless every changed bot can build it. The caller commits, then dispatches the builds."""
    check_starter(starter.files, starter.main)
    check_open(classroom, "pushing sketches")
    plans = plan_handout(classroom, starter, mode)
    settings = current_settings()
    for plan in plans:
        if plan.files is not None:
            check_buildable(plan.device, plan.files, plan.device.fqbn, settings)
    ensure_queue_reachable()
    changed = apply_handout(plans, starter, mode, "push", author)
    builds = [
        queue_build(plan.device, head_revision(plan.device).number, plan.device.fqbn, deploy, author)
        for plan in changed
    ]
    return plans, builds
