"""Creating bots, instructors and classes — one bot at a time or a whole roster atomically."""

from __future__ import annotations

import csv
import io
import secrets
from dataclasses import dataclass

from sqlalchemy import func, select

from ..extensions import db
from ..models import Classroom, Device, Role, User
from .accounts import check_new_password
from .errors import BadRequest, Conflict
from .rules import FQBN_RE, PRODUCT_ID_RE, USERNAME_RE
from .security import hash_password, new_token, token_digest
from .sketches import add_starter_sketch

ROSTER_COLUMNS = ("product_id", "password", "name", "class")


@dataclass(frozen=True)
class NewDevice:
    product_id: str
    device_token: str
    password: str | None  # only set when it was generated


def create_user(username: str, password: str, role: str) -> User:
    if not USERNAME_RE.match(username):
        raise BadRequest(f"invalid username {username!r}: use letters, digits and _.@- (max 64)")
    if role not in (Role.ADMIN.value, Role.INSTRUCTOR.value):
        raise BadRequest("role must be admin or instructor")
    if db.session.scalar(select(User).where(func.lower(User.username) == username.lower())):
        raise Conflict(f"user {username!r} already exists")
    user = User(username=username, password_hash=hash_password(check_new_password(password)), role=role)
    db.session.add(user)
    db.session.flush()
    return user


def get_or_create_class(name: str, instructor: User | None = None) -> Classroom:
    """The class with this name, created if new; an instructor given here becomes its owner."""
    name = name.strip()
    if not name or len(name) > 64:
        raise BadRequest("class name must have 1 to 64 characters")
    classroom = db.session.scalar(select(Classroom).where(Classroom.name == name))
    if classroom is None:
        classroom = Classroom(name=name)
        db.session.add(classroom)
    if instructor is not None:
        classroom.instructor = instructor
    return classroom


def _validated_device(product_id: str, password: str, name: str, fqbn: str, class_name: str | None) -> Device:
    if not PRODUCT_ID_RE.match(product_id):
        raise BadRequest(f"invalid product ID {product_id!r}: use letters, digits and _.- (max 64)")
    if not FQBN_RE.match(fqbn):
        raise BadRequest(f"invalid board {fqbn!r}: expected vendor:architecture:board, e.g. esp32:esp32:esp32")
    if len(name) > 120:
        raise BadRequest("name is longer than 120 characters")
    if db.session.scalar(select(Device).where(func.lower(Device.product_id) == product_id.lower())):
        raise Conflict(f"bot {product_id!r} already exists")
    device = Device(product_id=product_id, name=name, fqbn=fqbn, password_hash=hash_password(check_new_password(password)),
                    device_token_hash="", telemetry={})
    if class_name:
        device.classroom = get_or_create_class(class_name)
    return device


def _add_device(product_id: str, password: str | None, name: str, fqbn: str, class_name: str | None) -> NewDevice:
    generated = None if password else f"{secrets.randbelow(10**6):06d}"
    device = _validated_device(product_id, password or generated, name, fqbn, class_name)  # type: ignore[arg-type]
    token = new_token()
    device.device_token_hash = token_digest(token)
    db.session.add(device)
    db.session.flush()
    add_starter_sketch(device)
    return NewDevice(product_id=product_id, device_token=token, password=generated)


def create_device(product_id: str, password: str | None, name: str, fqbn: str, class_name: str | None) -> NewDevice:
    """A new bot with its starter sketch; a blank password is generated (and returned once)."""
    return _add_device(product_id, password, name, fqbn, class_name)


def import_roster(text: str, fqbn: str) -> list[NewDevice]:
    """Create every bot of a CSV roster; the first bad row raises, naming it (the caller then rolls back)."""
    reader = csv.DictReader(io.StringIO(text))
    missing = [column for column in ("product_id",) if column not in (reader.fieldnames or [])]
    if missing:
        raise BadRequest(f"roster needs a header row with the columns {', '.join(ROSTER_COLUMNS)}")
    created: list[NewDevice] = []
    seen: set[str] = set()
    for row in reader:
        line = reader.line_num
        product_id = (row.get("product_id") or "").strip()
        if product_id.lower() in seen:
            raise BadRequest(f"row {line}: product ID {product_id!r} appears twice in the roster")
        seen.add(product_id.lower())
        try:
            created.append(_add_device(product_id, (row.get("password") or "").strip() or None,
                                       (row.get("name") or "").strip(), fqbn, (row.get("class") or "").strip()))
        except (BadRequest, Conflict) as error:
            raise BadRequest(f"row {line}: {error.message}") from None
    if not created:
        raise BadRequest("the roster has no rows")
    return created


def reset_device_token(device: Device) -> str:
    token = new_token()
    device.device_token_hash = token_digest(token)
    return token
