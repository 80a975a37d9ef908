"""The audit log covers every state-changing action: one table, one row per action done through the HTTP API, each
checked for exactly one new entry with the right action, actor, target, class, time and client address."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from webide.extensions import db
from webide.models import AuditEntry, Build, BuildStatus, Classroom, Device, User, as_utc, utcnow

from .conftest import AVR_FQBN, bearer

CLASS = "lab"
BOT = "bot_1"
# Each actor comes from its own address, so an entry that took the address from anywhere but the request shows up.
ADDRESSES = {"teacher": "198.51.100.7", "student": "198.51.100.41", "root": "203.0.113.9", "anonymous": "192.0.2.77"}
ACTORS = {
    "teacher": ("user", "teacher"),
    "student": ("device", BOT),
    "root": ("user", "root"),
    "anonymous": ("anonymous", ""),
}
SKETCH = [{"name": "lesson.ino", "content": "void setup() {}\nvoid loop() {}\n"}]


class World:
    """A teacher with a class of two AVR bots, an admin, and API tokens (their logins are logged before any row)."""

    def __init__(self, app, client, accounts, tmp_path: Path):  # type: ignore[no-untyped-def]
        self.app, self.client, self.tmp_path = app, client, tmp_path
        accounts.instructor("teacher", "password a", classes=(CLASS,))
        accounts.admin("root", "admin secret")
        accounts.bot(BOT, "12345", class_name=CLASS)
        accounts.bot("bot_2", "12345", class_name=CLASS)
        self.headers = {
            "teacher": bearer(accounts.api_token(client, username="teacher", password="password a")),
            "student": bearer(accounts.api_token(client, product_id=BOT, password="12345")),
            "root": bearer(accounts.api_token(client, username="root", password="admin secret")),
            "anonymous": {},
        }

    def call(self, actor: str, method: str, path: str, body: dict | None = None):  # type: ignore[no-untyped-def]
        return self.client.open(
            path,
            method=method,
            json=body,
            headers=self.headers[actor],
            environ_overrides={"REMOTE_ADDR": ADDRESSES[actor]},
        )

    def ok(self, actor: str, method: str, path: str, body: dict | None = None) -> dict:
        response = self.call(actor, method, path, body)
        assert response.status_code < 300, response.get_json()
        return response.get_json()

    def finished_build(self) -> str:
        """A finished Upload of bot_1 with firmware, as a worker would have left it (no worker runs here)."""
        from webide.core.firmware.store import APP_IMAGE, artifact_store, publish_artifact

        image = self.tmp_path / "app.bin"
        image.write_bytes(b"\xe9" + bytes(range(256)) * 4)
        with self.app.app_context():
            artifact = publish_artifact(artifact_store(self.app.config["SETTINGS"]), AVR_FQBN, {APP_IMAGE: image})
            device = db.session.scalar(select(Device).where(Device.product_id == BOT))
            build = Build(
                device_id=device.id,
                classroom_id=device.classroom_id,
                revision=1,
                fqbn=AVR_FQBN,
                deploy=True,
                status=BuildStatus.COMPLETE.value,
                artifact=artifact,
            )
            db.session.add(build)
            db.session.commit()
            return build.id

    def user_id(self, username: str) -> int:
        with self.app.app_context():
            return db.session.scalar(select(User.id).where(User.username == username))


@dataclass(frozen=True)
class Row:
    action: str
    actor: str
    method: str
    path: str  # formatted with what ``prepare`` returns
    body: dict[str, Any] | None = None
    target: tuple[str, str] = ("class", CLASS)
    prepare: Callable[[World], dict[str, Any]] = field(default=lambda world: {})
    in_class: bool = True  # the entry is scoped to the class (its instructor sees it)
    logged_as: tuple[str, str] | None = None  # the entry's actor, when not the caller (a login names who logged in)


def frozen_first(world: World) -> dict[str, Any]:
    world.ok("teacher", "PUT", f"/api/classes/{CLASS}/freeze", {"state": "frozen"})
    return {}


def with_golden_build(world: World) -> dict[str, Any]:
    build = world.finished_build()
    world.ok("teacher", "PUT", f"/api/classes/{CLASS}/golden", {"update_id": build})
    return {"build": build}


def with_build(world: World) -> dict[str, Any]:
    return {"build": world.finished_build()}


def with_assignment(world: World) -> dict[str, Any]:
    made = world.ok(
        "teacher",
        "POST",
        f"/api/classes/{CLASS}/assignments",
        {"title": "Blink", "source": "example", "example_id": "Blink"},
    )
    return {"assignment": made["assignment"]["id"]}


def root_ids(world: World) -> dict[str, Any]:
    return {"teacher_id": world.user_id("teacher")}


def blocked_first(world: World) -> dict[str, Any]:
    world.ok("teacher", "POST", f"/api/devices/{BOT}/block", {"blocked": True})
    return {}


BOT_TARGET = ("device", BOT)
ROWS = [
    # freezes
    Row("class.frozen", "teacher", "PUT", f"/api/classes/{CLASS}/freeze", {"state": "frozen"}),
    Row("class.exam", "teacher", "PUT", f"/api/classes/{CLASS}/freeze", {"state": "exam"}),
    Row("class.unfreeze", "teacher", "PUT", f"/api/classes/{CLASS}/freeze", {"state": "open"}, prepare=frozen_first),
    # golden build and revert
    Row("class.golden", "teacher", "PUT", f"/api/classes/{CLASS}/golden", {"update_id": "{build}"}, prepare=with_build),
    Row("class.revert", "teacher", "POST", f"/api/classes/{CLASS}/revert", {}, prepare=with_golden_build),
    # whole-class flash and push, a bot's Upload (by its teacher and by the student)
    Row("class.flash", "teacher", "POST", f"/api/classes/{CLASS}/flash"),
    Row("class.push", "teacher", "POST", f"/api/classes/{CLASS}/builds", {"files": SKETCH, "deploy": True}),
    Row("class.push", "teacher", "POST", f"/api/classes/{CLASS}/builds", {"files": SKETCH, "deploy": False}),
    Row("build.upload", "teacher", "POST", f"/api/devices/{BOT}/builds", {"deploy": True}, target=BOT_TARGET),
    Row(
        "build.upload",
        "student",
        "POST",
        f"/api/devices/{BOT}/builds",
        {"deploy": True, "files": [{"name": f"{BOT}.ino", "content": "void setup() { }\nvoid loop() { }\n"}]},
        target=BOT_TARGET,
    ),
    # assignments and hand-outs
    Row(
        "assignment.create",
        "teacher",
        "POST",
        f"/api/classes/{CLASS}/assignments",
        {"title": "Blink", "source": "example", "example_id": "Blink"},
    ),
    Row(
        "assignment.handout",
        "teacher",
        "POST",
        f"/api/classes/{CLASS}/assignments/{{assignment}}/handout",
        {"mode": "add"},
        prepare=with_assignment,
    ),
    Row(
        "assignment.delete",
        "teacher",
        "DELETE",
        f"/api/classes/{CLASS}/assignments/{{assignment}}",
        prepare=with_assignment,
    ),
    # class changes and commands
    Row("class.create", "teacher", "POST", "/api/classes", {"name": "lab-2"}, target=("class", "lab-2")),
    Row("class.rename", "teacher", "PATCH", f"/api/classes/{CLASS}", {"name": "lab-9"}, target=("class", "lab-9")),
    Row("class.archive", "teacher", "PATCH", f"/api/classes/{CLASS}", {"archived": True}),
    Row("class.command", "teacher", "POST", f"/api/classes/{CLASS}/commands", {"command": "identify"}),
    # bot changes, resets, block/unblock
    Row("device.board", "teacher", "PATCH", f"/api/devices/{BOT}", {"fqbn": "arduino:avr:nano"}, target=BOT_TARGET),
    Row(
        "device.board",
        "student",
        "PUT",
        f"/api/devices/{BOT}/sketch",
        {
            "files": [{"name": f"{BOT}.ino", "content": "void setup() {}\nvoid loop() {}\n"}],
            "base_revision": 1,
            "fqbn": "arduino:avr:nano",
        },
        target=BOT_TARGET,
    ),
    Row(
        "device.wifi",
        "student",
        "PUT",
        f"/api/devices/{BOT}/wifi",
        {"ssid": "lab", "password": "password1"},
        target=BOT_TARGET,
    ),
    Row("device.password_reset", "teacher", "POST", f"/api/devices/{BOT}/password", {}, target=BOT_TARGET),
    Row("device.token_reset", "teacher", "POST", f"/api/devices/{BOT}/token", {}, target=BOT_TARGET),
    Row("device.block", "teacher", "POST", f"/api/devices/{BOT}/block", {"blocked": True}, target=BOT_TARGET),
    Row(
        "device.unblock",
        "teacher",
        "POST",
        f"/api/devices/{BOT}/block",
        {"blocked": False},
        target=BOT_TARGET,
        prepare=blocked_first,
    ),
    Row(
        "device.command", "teacher", "POST", f"/api/devices/{BOT}/commands", {"command": "identify"}, target=BOT_TARGET
    ),
    # people and logins
    Row(
        "user.create",
        "root",
        "POST",
        "/api/admin/users",
        {"username": "newcomer", "role": "instructor"},
        target=("user", "newcomer"),
        in_class=False,
    ),
    Row(
        "user.password_reset",
        "root",
        "POST",
        "/api/admin/user/{teacher_id}/password",
        {},
        target=("user", "teacher"),
        prepare=root_ids,
        in_class=False,
    ),
    Row(
        "user.block",
        "root",
        "POST",
        "/api/admin/user/{teacher_id}/block",
        {"blocked": True},
        target=("user", "teacher"),
        prepare=root_ids,
        in_class=False,
    ),
    Row(
        "account.password_change",
        "teacher",
        "POST",
        "/api/auth/password",
        {"current_password": "password a", "new_password": "a new password 1"},
        target=("user", "teacher"),
        in_class=False,
    ),
    Row(
        "login.ok",
        "anonymous",
        "POST",
        "/api/auth/login",
        {"username": "teacher", "password": "password a"},
        target=("user", "teacher"),
        in_class=False,
        logged_as=("user", "teacher"),
    ),
    Row(
        "login.failed",
        "anonymous",
        "POST",
        "/api/auth/login",
        {"username": "teacher", "password": "wrong"},
        target=("user", "teacher"),
        in_class=False,
    ),
]


def row_id(row: Row) -> str:
    return f"{row.action}-{row.actor}-{row.method}"


def filled(body: dict[str, Any] | None, names: dict[str, Any]) -> dict[str, Any] | None:
    """The body with each value "{name}" replaced by what ``prepare`` returned under that name."""
    if body is None:
        return None
    return {
        key: names[value[1:-1]] if isinstance(value, str) and value[1:-1] in names else value
        for key, value in body.items()
    }


def newest_id(app) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.scalar(select(func.coalesce(func.max(AuditEntry.id), 0)))


@pytest.mark.parametrize("row", ROWS, ids=[row_id(row) for row in ROWS])
def test_each_state_changing_action_writes_one_audit_entry(app, client, accounts, tmp_path, row: Row):
    world = World(app, client, accounts, tmp_path)
    names = row.prepare(world)
    before_id, started = newest_id(app), utcnow()
    response = world.call(row.actor, row.method, row.path.format(**names), filled(row.body, names))
    assert response.status_code < 300 or (row.action == "login.failed" and response.status_code == 401), (
        response.status_code,
        response.get_json(),
    )
    with app.app_context():
        new = list(db.session.scalars(select(AuditEntry).where(AuditEntry.id > before_id).order_by(AuditEntry.id)))
        assert [entry.action for entry in new] == [row.action], "exactly one entry, for this action"
        entry = new[0]
        assert (entry.actor_kind, entry.actor_name) == (row.logged_as or ACTORS[row.actor])
        assert (entry.target_kind, entry.target_name) == row.target
        assert entry.client_address == ADDRESSES[row.actor]
        assert started <= as_utc(entry.created_at) <= utcnow()
        class_name = row.target[1] if row.target[0] == "class" else CLASS
        if row.in_class:
            assert entry.classroom_id == db.session.scalar(select(Classroom.id).where(Classroom.name == class_name))
        else:
            assert entry.classroom_id is None
    if row.in_class:  # the class's instructor finds it in the activity log
        seen = world.ok("teacher", "GET", f"/api/admin/activity?action={row.action}")
        assert [e["action"] for e in seen["entries"]] == [row.action]


def test_a_refused_action_writes_no_entry(app, client, accounts, tmp_path):
    world = World(app, client, accounts, tmp_path)
    world.ok("teacher", "PUT", f"/api/classes/{CLASS}/freeze", {"state": "frozen"})
    before_id = newest_id(app)
    refused = world.call("student", "POST", f"/api/devices/{BOT}/builds", {"deploy": True})
    assert refused.status_code == 409, refused.get_json()
    assert world.call("teacher", "POST", f"/api/classes/{CLASS}/revert", {}).status_code == 409  # no golden build
    assert newest_id(app) == before_id


def test_the_table_covers_the_requirements_actions():
    """Freezes, reverts, whole-class flashes, pushes and Uploads at least: a row removed here fails here."""
    covered = {row.action for row in ROWS}
    assert {"class.frozen", "class.exam", "class.unfreeze", "class.revert", "class.flash", "class.push"} <= covered
    assert {
        "build.upload",
        "assignment.handout",
        "login.ok",
        "login.failed",
        "device.block",
        "device.unblock",
    } <= covered
    assert {"device.password_reset", "device.token_reset", "user.password_reset", "user.block"} <= covered
