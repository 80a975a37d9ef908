"""Classes: who sees which, creating, renaming, archiving, reassigning and deleting them, and class-wide pushes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from ..extensions import current_settings, db
from ..models import Build, Classroom, Device, Role, User, iso
from .accounts import Principal
from .builds.queue import ensure_queue_reachable, queue_build
from .errors import BadRequest, Conflict, Forbidden, NotFound
from .registry import find_class
from .rules import check_class_name
from .sketches import check_buildable, head_revision, main_file, save_sketch


def visible_classroom(principal: Principal, name: str) -> Classroom:
    """The class if the caller owns it (or is an admin); 404 otherwise, as for bots."""
    classroom = db.session.scalar(select(Classroom).where(Classroom.name == name))
    if (
        classroom is None
        or not isinstance(principal, User)
        or not (principal.is_admin or classroom.instructor_id == principal.id)
    ):
        raise NotFound(f"No class named {name!r}")
    return classroom


def visible_classrooms(principal: Principal) -> list[Classroom]:
    if not isinstance(principal, User):
        return []
    query = select(Classroom).order_by(Classroom.name)
    if not principal.is_admin:
        query = query.where(Classroom.instructor_id == principal.id)
    return list(db.session.scalars(query))


def class_summaries(classrooms: list[Classroom]) -> list[dict[str, Any]]:
    """Classes as lists show them, empty ones included; two queries whatever their number."""
    ids = [classroom.id for classroom in classrooms]
    counts = (
        dict(
            db.session.execute(
                select(Device.classroom_id, func.count())
                .where(Device.classroom_id.in_(ids))
                .group_by(Device.classroom_id)
            ).all()
        )
        if ids
        else {}
    )
    owners = {
        user.id: user.username
        for user in db.session.scalars(
            select(User).where(User.id.in_({c.instructor_id for c in classrooms if c.instructor_id is not None}))
        )
    }
    return [
        {
            "name": c.name,
            "instructor": owners.get(c.instructor_id) if c.instructor_id else None,
            "bots": counts.get(c.id, 0),
            "archived": bool(c.archived),
            "created_at": iso(c.created_at),
        }
        for c in classrooms
    ]


def instructor_named(username: str) -> User:
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None or user.role not in (Role.INSTRUCTOR.value, Role.ADMIN.value):
        raise BadRequest(f"No instructor named {username!r}")
    return user


def create_class(owner: User, name: str, instructor: str | None = None) -> Classroom:
    """A new, empty class owned by the caller; an admin may hand it to an instructor right away."""
    if instructor is not None and instructor != owner.username:
        if not owner.is_admin:
            raise Forbidden("Only admins may create classes for another instructor")
        owner = instructor_named(instructor)
    if find_class(check_class_name(name)) is not None:
        raise Conflict(f"A class named {name!r} already exists")
    classroom = Classroom(name=name, instructor=owner, archived=False)
    db.session.add(classroom)
    db.session.flush()
    return classroom


def rename_class(classroom: Classroom, new_name: str) -> None:
    if new_name == classroom.name:
        return
    existing = find_class(check_class_name(new_name))
    if existing is not None:
        raise Conflict(f"A class named {new_name!r} already exists")
    classroom.name = new_name


def reassign_class(caller: User, classroom: Classroom, instructor: str) -> User:
    """Give the class to another instructor (admins only)."""
    if not caller.is_admin:
        raise Forbidden("Only admins may give a class to another instructor")
    owner = instructor_named(instructor)
    classroom.instructor = owner
    return owner


def check_open(classroom: Classroom | None, doing: str) -> None:
    """Refuse changes to an archived class (it is read-only until it is restored)."""
    if classroom is not None and classroom.archived:
        raise Conflict(f"Class {classroom.name!r} is archived, so {doing} is turned off; restore the class first")


def delete_class(classroom: Classroom) -> None:
    """Delete an empty class (its bots must be moved or deleted first, so nothing is lost by accident)."""
    bots = db.session.scalar(select(func.count()).select_from(Device).where(Device.classroom_id == classroom.id))
    if bots:
        raise Conflict(f"Class {classroom.name!r} still has {bots} bot(s); move or delete them first")
    db.session.delete(classroom)


def main_sketch_file(files: list[dict[str, str]], main: str | None) -> str:
    """Which of the pushed files is the main .ino (it is renamed after each bot's sketch)."""
    sketches = [f["name"] for f in files if f["name"].endswith(".ino")]
    if main is not None:
        if main not in sketches:
            raise BadRequest(f"main file {main!r} is not one of the .ino files")
        return main
    if len(sketches) != 1:
        raise BadRequest(
            "Name the main .ino file with the field main (there are several)"
            if sketches
            else "The sketch needs a main .ino file"
        )
    return sketches[0]


def files_for(device: Device, files: list[dict[str, str]], main: str) -> list[dict[str, str]]:
    return [{"name": main_file(device) if f["name"] == main else f["name"], "content": f["content"]} for f in files]


def push_sketch(classroom: Classroom, files: list[dict[str, str]], main: str, deploy: bool, author: str) -> list[Build]:
    """Save the sketch as a new revision of every bot in the class and record its build, in one transaction.

    Every bot is checked before anything is changed, so a sketch that one bot cannot build changes no bot; the
    caller commits, then dispatches the builds.
    """
    check_open(classroom, "pushing sketches")
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
        revision = save_sketch(
            device, files_for(device, files, main), head.number, "push", author, f"Pushed to class {classroom.name}"
        )
        builds.append(queue_build(device, revision.number, device.fqbn, deploy, author))
    return builds
