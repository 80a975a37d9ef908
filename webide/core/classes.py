"""Class-wide actions: an instructor's sketch becomes every bot's sketch and is built (and uploaded) for each."""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import current_settings, db
from ..models import Build, Classroom, Device, User
from .accounts import Principal
from .builds.queue import ensure_queue_reachable, queue_build
from .errors import BadRequest, NotFound
from .sketches import check_buildable, head_revision, main_file, save_sketch


def visible_classroom(principal: Principal, name: str) -> Classroom:
    """The class if the caller owns it (or is an admin); 404 otherwise, as for bots."""
    classroom = db.session.scalar(select(Classroom).where(Classroom.name == name))
    if classroom is None or not isinstance(principal, User) or not (
            principal.is_admin or classroom.instructor_id == principal.id):
        raise NotFound(f"No class named {name!r}")
    return classroom


def visible_classrooms(principal: Principal) -> list[Classroom]:
    if not isinstance(principal, User):
        return []
    query = select(Classroom).order_by(Classroom.name)
    if not principal.is_admin:
        query = query.where(Classroom.instructor_id == principal.id)
    return list(db.session.scalars(query))


def main_sketch_file(files: list[dict[str, str]], main: str | None) -> str:
    """Which of the pushed files is the main .ino (it is renamed after each bot's sketch)."""
    sketches = [f["name"] for f in files if f["name"].endswith(".ino")]
    if main is not None:
        if main not in sketches:
            raise BadRequest(f"main file {main!r} is not one of the .ino files")
        return main
    if len(sketches) != 1:
        raise BadRequest("Name the main .ino file with the field main (there are several)" if sketches
                         else "The sketch needs a main .ino file")
    return sketches[0]


def files_for(device: Device, files: list[dict[str, str]], main: str) -> list[dict[str, str]]:
    return [{"name": main_file(device) if f["name"] == main else f["name"], "content": f["content"]}
            for f in files]


def push_sketch(classroom: Classroom, files: list[dict[str, str]], main: str, deploy: bool,
                author: str) -> list[Build]:
    """Save the sketch as a new revision of every bot in the class and record its build, in one transaction.

    Every bot is checked before anything is changed, so a sketch that one bot cannot build changes no bot; the
    caller commits, then dispatches the builds.
    """
    devices = sorted(classroom.devices, key=lambda d: d.product_id)
    if not devices:
        raise BadRequest(f"Class {classroom.name!r} has no bots")
    settings = current_settings()
    for device in devices:
        check_buildable(device, files_for(device, files, main), device.fqbn, settings)  # refuses before any change
    ensure_queue_reachable()
    builds = []
    for device in devices:
        head = head_revision(device)
        revision = save_sketch(device, files_for(device, files, main), head.number, "push", author,
                               f"Pushed to class {classroom.name}")
        builds.append(queue_build(device, revision.number, device.fqbn, deploy, author))
    return builds
