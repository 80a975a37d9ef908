"""Creating bots, instructors and classes — one bot at a time or a whole roster atomically."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select

from ..extensions import db
from ..models import Classroom, Device, Role, User
from .accounts import check_new_password, generated_password
from .broker import mosquitto_password_hash
from .csvfiles import read_rows
from .errors import ApiError, BadRequest, Conflict
from .rules import FQBN_RE, PRODUCT_ID_RE, USERNAME_RE, check_class_name, check_display_name
from .security import hash_password, new_token, token_digest
from .sketches import add_starter_sketch

ROSTER_COLUMNS = ("product_id", "password", "name", "class")
DEFAULT_MAX_ROSTER_ROWS = 2000
MAX_REPORTED_ROW_ERRORS = 20


@dataclass(frozen=True)
class NewDevice:
    product_id: str
    device_token: str
    password: str | None  # only set when it was generated


@dataclass
class RosterRow:
    """One data row of a roster and what is wrong with it (nothing, when it can be imported)."""

    line: int
    product_id: str
    password: str | None
    name: str
    class_name: str | None
    errors: list[str] = field(default_factory=list)


def create_user(username: str, password: str, role: str) -> User:
    if not USERNAME_RE.fullmatch(username):
        raise BadRequest(f"invalid username {username!r}: use letters, digits and _.@- (max 64)")
    if role not in (Role.ADMIN.value, Role.INSTRUCTOR.value):
        raise BadRequest("role must be admin or instructor")
    if db.session.scalar(select(User).where(func.lower(User.username) == username.lower())):
        raise Conflict(f"user {username!r} already exists")
    user = User(username=username, password_hash=hash_password(check_new_password(password)), role=role)
    db.session.add(user)
    db.session.flush()
    return user


def find_class(name: str) -> Classroom | None:
    return db.session.scalar(select(Classroom).where(Classroom.name == name))


def get_or_create_class(name: str, instructor: User | None = None) -> Classroom:
    """The class with this name, created if new; an instructor given here becomes its owner."""
    name = name.strip()
    classroom = find_class(name)
    if classroom is None:
        classroom = Classroom(name=check_class_name(name), archived=False)
        db.session.add(classroom)
    if instructor is not None:
        classroom.instructor = instructor
    return classroom


def device_problems(product_id: str, password: str | None, name: str, fqbn: str) -> list[str]:
    """Everything wrong with a new bot's fields (without looking at the database)."""
    problems = []
    if not PRODUCT_ID_RE.fullmatch(product_id):
        problems.append(f"invalid product ID {product_id[:80]!r}: use letters, digits and _.- (max 64)")
    if not FQBN_RE.fullmatch(fqbn):
        problems.append(f"invalid board {fqbn!r}: expected vendor:architecture:board, e.g. esp32:esp32:esp32")
    for check in (lambda: check_display_name(name), lambda: password and check_new_password(password)):
        try:
            check()
        except ApiError as error:
            problems.append(error.message)
    return problems


def existing_product_ids(product_ids: Sequence[str]) -> set[str]:
    """Which of these product IDs (compared case-insensitively) are taken, in one query per 500."""
    lowered = sorted({product_id.lower() for product_id in product_ids})
    taken: set[str] = set()
    for start in range(0, len(lowered), 500):
        chunk = lowered[start : start + 500]
        taken.update(
            db.session.scalars(select(func.lower(Device.product_id)).where(func.lower(Device.product_id).in_(chunk)))
        )
    return taken


def _add_device(product_id: str, password: str | None, name: str, fqbn: str, classroom: Classroom | None) -> NewDevice:
    device = Device(
        product_id=product_id, name=name, fqbn=fqbn, device_token_hash="", telemetry={}, classroom=classroom
    )
    generated = None if password else generated_password(device)
    device.password_hash = hash_password(password or generated)  # type: ignore[arg-type]
    token = set_device_token(device)
    db.session.add(device)
    db.session.flush()
    add_starter_sketch(device)
    return NewDevice(product_id=product_id, device_token=token, password=generated)


def create_device(
    product_id: str, password: str | None, name: str, fqbn: str, class_name: str | Classroom | None
) -> NewDevice:
    """A new bot with its starter sketch; a blank password is generated (and returned once)."""
    problems = device_problems(product_id, password, name, fqbn)
    if problems:
        raise BadRequest(problems[0])
    if existing_product_ids([product_id]):
        raise Conflict(f"bot {product_id!r} already exists")
    classroom = get_or_create_class(class_name) if isinstance(class_name, str) and class_name else class_name
    return _add_device(product_id, password, name, fqbn, classroom or None)


def check_roster(
    text: str, fqbn: str, classroom: Classroom | None = None, max_rows: int = DEFAULT_MAX_ROSTER_ROWS
) -> list[RosterRow]:
    """Every row of a CSV roster with its problems, changing nothing (an import preview).

    With ``classroom`` every bot goes to that class, and a row naming another class is an error.
    """
    header, rows = read_rows(text, max_rows)
    if "product_id" not in header:
        raise BadRequest(
            f"the roster needs a header row with the columns {', '.join(ROSTER_COLUMNS)} (product_id is required)"
        )
    if not rows:
        raise BadRequest("the roster has no rows")
    checked = [roster_row(line, row) for line, row in rows]
    taken = existing_product_ids([row.product_id for row in checked])
    first_line: dict[str, int] = {}
    for row in checked:
        row.errors.extend(device_problems(row.product_id, row.password, row.name, fqbn))
        key = row.product_id.lower()
        if key in first_line:
            row.errors.append(f"product ID {row.product_id!r} appears twice in the roster (also row {first_line[key]})")
        first_line.setdefault(key, row.line)
        if key in taken:
            row.errors.append(f"bot {row.product_id!r} already exists")
        if classroom is not None and row.class_name and row.class_name != classroom.name:
            row.errors.append(f"class {row.class_name!r} is not this class ({classroom.name!r}); leave it blank")
        elif classroom is None and row.class_name:
            try:
                check_class_name(row.class_name)
            except ApiError as error:
                row.errors.append(error.message)
    return checked


def roster_row(line: int, row: dict[str, str]) -> RosterRow:
    def cell(column: str) -> str:
        value = row.get(column)
        return value.strip() if isinstance(value, str) else ""

    return RosterRow(
        line=line,
        product_id=cell("product_id"),
        password=cell("password") or None,
        name=cell("name"),
        class_name=cell("class") or None,
    )


def import_roster(
    text: str, fqbn: str, classroom: Classroom | None = None, max_rows: int = DEFAULT_MAX_ROSTER_ROWS
) -> list[NewDevice]:
    """Create every bot of a CSV roster, or none: any bad row raises, naming each bad row (the caller rolls back)."""
    rows = check_roster(text, fqbn, classroom, max_rows)
    bad = [row for row in rows if row.errors]
    if bad:
        details = "; ".join(f"row {row.line}: {', '.join(row.errors)}" for row in bad[:MAX_REPORTED_ROW_ERRORS])
        raise BadRequest(
            f"{len(bad)} of {len(rows)} rows have errors, nothing was imported: {details}",
            rows=[roster_row_view(row) for row in bad[:MAX_REPORTED_ROW_ERRORS]],
        )
    return [
        _add_device(
            row.product_id,
            row.password,
            row.name,
            fqbn,
            classroom or (get_or_create_class(row.class_name) if row.class_name else None),
        )
        for row in rows
    ]


def roster_row_view(row: RosterRow) -> dict[str, object]:
    return {
        "line": row.line,
        "product_id": row.product_id,
        "name": row.name,
        "class_name": row.class_name,
        "password_given": row.password is not None,
        "ok": not row.errors,
        "errors": row.errors,
    }


def reset_device_token(device: Device) -> str:
    """A new device token; the old one stops working over HTTP at once and on the broker at its next reload."""
    return set_device_token(device)


def set_device_token(device: Device) -> str:
    """Issue a token (returned once): its SHA-256 for the HTTP path, its Mosquitto hash for the broker."""
    token = new_token()
    device.device_token_hash = token_digest(token)
    device.mqtt_password_hash = mosquitto_password_hash(token)
    return token
