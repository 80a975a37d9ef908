"""Instructors and admins as the admin pages list and manage them."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select

from ..extensions import db
from ..models import Classroom, User, iso
from .errors import BadRequest, NotFound
from .rules import MAX_ROW_ID


def all_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.username)))


def user_views(users: list[User]) -> list[dict[str, Any]]:
    """People with the classes they own (two queries whatever their number)."""
    owned: dict[int, list[str]] = defaultdict(list)
    ids = [user.id for user in users]
    if ids:
        for owner, name in db.session.execute(
            select(Classroom.instructor_id, Classroom.name)
            .where(Classroom.instructor_id.in_(ids))
            .order_by(Classroom.name)
        ):
            if owner is not None:
                owned[owner].append(name)
    return [
        {
            "id": u.id,
            "username": u.username,
            "role": u.role,
            "blocked": bool(u.blocked),
            "created_at": iso(u.created_at),
            "classes": owned[u.id],
        }
        for u in users
    ]


def user_by_id(user_id: int) -> User:
    user = db.session.get(User, user_id) if 0 < user_id <= MAX_ROW_ID else None
    if user is None:
        raise NotFound(f"No user with id {user_id}")
    return user


def check_not_self(caller: User, user: User, doing: str) -> None:
    """An admin cannot lock themselves out (there may be no other admin to undo it)."""
    if caller.id == user.id:
        raise BadRequest(f"You cannot {doing} your own account")
