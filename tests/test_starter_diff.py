"""What the teacher's "compare with the hand-out" diffs against: the starter as the bot got it, not the sketch the
hand-out made (in "add as new tabs" mode that is the student's sketch with the new tabs)."""

from __future__ import annotations

import pytest

from .conftest import bearer
from .test_assignment_input import upload, zip_of

LESSON_MAIN = '#include "motor.h"\nvoid setup() { drive(1); }\nvoid loop() {}\n'
MOTOR_H = "#pragma once\ninline void drive(int speed) { (void)speed; }\n"
STUDENT = [
    {"name": "bot_1.ino", "content": '#include "helper.h"\nvoid setup() { helper(); }\nvoid loop() {}\n'},
    {"name": "helper.h", "content": "#pragma once\ninline int helper() { return 1; }\n"},
]


@pytest.fixture
def teacher(accounts, client):  # type: ignore[no-untyped-def]
    accounts.instructor("teacher", "password a", classes=("lab-1",))
    accounts.instructor("other", "password b", classes=("lab-2",))
    accounts.bot("bot_1", class_name="lab-1")
    accounts.bot("bot_2", class_name="lab-2")
    return bearer(accounts.api_token(client, username="teacher", password="password a"))


def save(client, headers, files: list[dict[str, str]]) -> int:  # type: ignore[no-untyped-def]
    head = client.get("/api/devices/bot_1/sketch", headers=headers).get_json()["revision"]
    response = client.put(
        "/api/devices/bot_1/sketch", json={"files": files, "base_revision": head, "explicit": True}, headers=headers
    )
    assert response.status_code == 200, response.get_json()
    return response.get_json()["revision"]


def test_after_an_add_hand_out_the_base_is_the_assignments_starter_not_the_merged_sketch(client, accounts, teacher):
    student = bearer(accounts.api_token(client, product_id="bot_1", password="12345"))
    never = client.get("/api/devices/bot_1/sketch/starter", headers=teacher)
    assert never.status_code == 404 and "No sketch has been handed out" in never.get_json()["error"]
    save(client, student, STUDENT)
    made = upload(
        client,
        teacher,
        "lab-1",
        "Motors",
        zip_of({"lesson/lesson.ino": LESSON_MAIN.encode(), "lesson/motor.h": MOTOR_H.encode()}),
    ).get_json()["assignment"]
    handed = client.post(f"/api/classes/lab-1/assignments/{made['id']}/handout", json={"mode": "add"}, headers=teacher)
    assert handed.status_code == 200, handed.get_json()
    merged = client.get("/api/devices/bot_1/sketch", headers=teacher).get_json()
    assert [f["name"] for f in merged["files"]] == ["bot_1.ino", "helper.h", "motor.h"], "the student's files stay"

    base = client.get("/api/devices/bot_1/sketch/starter", headers=teacher)
    assert base.status_code == 200, base.get_json()
    starter = [{"name": "bot_1.ino", "content": LESSON_MAIN}, {"name": "motor.h", "content": MOTOR_H}]
    assert base.get_json() == {
        "success": True,
        "revision": merged["revision"],
        "message": "Handed out 'Motors' (add)",
        "files": starter,
    }
    assert base.get_json()["files"] != merged["files"]

    # the student works on; the base stays the hand-out's starter, and the student may read it too
    save(client, student, [*STUDENT, {"name": "motor.h", "content": "// my own motor driver\n"}])
    assert client.get("/api/devices/bot_1/sketch/starter", headers=student).get_json()["files"] == starter


def test_a_class_push_in_replace_mode_is_the_newest_base(client, teacher):
    pushed = [{"name": "lesson.ino", "content": "void setup() {}\nvoid loop() {}\n"}]
    response = client.post(
        "/api/classes/lab-1/builds", json={"files": pushed, "mode": "replace", "deploy": False}, headers=teacher
    )
    assert response.status_code == 202, response.get_json()
    base = client.get("/api/devices/bot_1/sketch/starter", headers=teacher).get_json()
    assert base["files"] == [{"name": "bot_1.ino", "content": pushed[0]["content"]}]
    assert base["revision"] == response.get_json()["builds"][0]["revision"]


def test_a_bot_outside_the_callers_classes_is_a_404(client, teacher):
    assert client.get("/api/devices/bot_2/sketch/starter", headers=teacher).status_code == 404
