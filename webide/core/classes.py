"""Classes: who sees which, creating, renaming, archiving, reassigning and deleting them, freezing them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from ..extensions import db
from ..models import Classroom, Device, Role, User, iso
from .accounts import Principal
from .errors import BadRequest, Conflict, Forbidden, NotFound
from .registry import find_class
from .rules import check_class_name
from .sketches import main_file


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


def files_for(device: Device, files: list[dict[str, str]], main: str) -> list[dict[str, str]]:
    return [{"name": main_file(device) if f["name"] == main else f["name"], "content": f["content"]} for f in files]


FREEZE_STATES = {
    "open": "Students edit, Verify and Upload",
    "frozen": "Frozen: students may edit and Verify, but not Upload",
    "exam": "Exam mode: students may neither edit nor Upload",
}


def set_freeze(classroom: Classroom, state: str) -> None:
    if state not in FREEZE_STATES:
        raise BadRequest(f"Unknown freeze state {state[:40]!r}; use one of: {', '.join(FREEZE_STATES)}")
    classroom.freeze = state


def freeze_reason(device: Device) -> str | None:
    """Why a student may not change this bot's sketch or firmware right now (None: they may)."""
    classroom = device.classroom
    if classroom is None or classroom.freeze == "open":
        return None
    if classroom.freeze == "exam":
        return f"Class {classroom.name!r} is in exam mode: your instructor has turned off editing and Upload"
    return f"Class {classroom.name!r} is frozen by your instructor: Upload is turned off (Verify still works)"


def check_student_upload(device: Device, principal: Principal) -> None:
    """A frozen or exam class refuses its students' Uploads; staff may still flash."""
    reason = None if isinstance(principal, User) else freeze_reason(device)
    if reason is not None:
        raise Conflict(reason)


def check_student_edit(device: Device, principal: Principal) -> None:
    """An exam class refuses its students' saves (nothing is stored); staff may still edit."""
    classroom = device.classroom
    if isinstance(principal, User) or classroom is None or classroom.freeze != "exam":
        return
    raise Conflict(
        f"Class {classroom.name!r} is in exam mode: your instructor has turned off editing, so this change was not saved"
    )
