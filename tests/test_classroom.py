"""Instructors: their classes, who runs what, and pushing one sketch to every bot of a class."""

from __future__ import annotations

import pytest

from .conftest import bearer

SKETCH = [
    {"name": "lesson.ino", "content": '#include "motor.h"\nvoid setup(){}\nvoid loop(){}\n'},
    {"name": "motor.h", "content": "#pragma once\n"},
]


@pytest.fixture
def classroom(accounts, client):  # type: ignore[no-untyped-def]
    accounts.instructor("teacher", "password a", classes=("lab-1",))
    accounts.instructor("other", "password b", classes=("lab-2",))
    accounts.bot("bot_1", class_name="lab-1")
    accounts.bot("bot_2", class_name="lab-1")
    accounts.bot("bot_3", class_name="lab-2")
    return accounts.api_token(client, username="teacher", password="password a")


def test_instructor_lists_their_classes_and_sees_who_runs_what(client, classroom):
    listed = client.get("/api/classes", headers=bearer(classroom)).get_json()["classes"]
    assert [{k: c[k] for k in ("name", "instructor", "bots", "archived")} for c in listed] == [
        {"name": "lab-1", "instructor": "teacher", "bots": 2, "archived": False}
    ]
    assert listed[0]["created_at"].endswith("Z")
    shown = client.get("/api/classes/lab-1", headers=bearer(classroom)).get_json()
    assert [b["product_id"] for b in shown["bots"]] == ["bot_1", "bot_2"]
    assert all({"online", "running", "target", "flash"} <= set(b) for b in shown["bots"])


def test_push_gives_every_bot_the_sketch_under_its_own_main_file_and_queues_uploads(client, classroom):
    response = client.post("/api/classes/lab-1/builds", json={"files": SKETCH}, headers=bearer(classroom))
    assert response.status_code == 202, response.get_json()
    builds = response.get_json()["builds"]
    assert [b["product_id"] for b in builds] == ["bot_1", "bot_2"]
    for build in builds:
        sketch = client.get(f"/api/devices/{build['product_id']}/sketch", headers=bearer(classroom)).get_json()
        assert [f["name"] for f in sketch["files"]] == [f"{build['product_id']}.ino", "motor.h"]
        assert sketch["revision"] == build["revision"]
        detail = client.get(f"/api/builds/{build['update_id']}", headers=bearer(classroom)).get_json()
        assert detail["deploy"] is True and detail["status"] == "pending"


@pytest.mark.parametrize(
    "body,needle",
    [
        ({"files": [{"name": "a.h", "content": ""}]}, "main .ino"),
        ({"files": [{"name": "a.ino", "content": ""}, {"name": "b.ino", "content": ""}]}, "field main"),
        ({"files": SKETCH, "main": "motor.h"}, "not one of the .ino"),
        ({"files": [*SKETCH, {"name": "build_opt.h", "content": "-fplugin=evil.so"}]}, "build_opt.h"),
        ({"files": "lesson.ino"}, "files"),
    ],
)
def test_a_bad_push_changes_no_bot(client, classroom, body, needle):
    before = client.get("/api/devices/bot_1/sketch", headers=bearer(classroom)).get_json()["revision"]
    response = client.post("/api/classes/lab-1/builds", json=body, headers=bearer(classroom))
    assert response.status_code == 400 and needle in response.get_json()["error"]
    assert client.get("/api/devices/bot_1/sketch", headers=bearer(classroom)).get_json()["revision"] == before


def test_other_instructors_and_bots_cannot_see_or_push_to_a_class(client, accounts, classroom):
    other = accounts.api_token(client, username="other", password="password b")
    bot = accounts.api_token(client, product_id="bot_1", password="12345")
    for token in (other, bot):
        assert client.get("/api/classes/lab-1", headers=bearer(token)).status_code == 404
        assert (
            client.post("/api/classes/lab-1/builds", json={"files": SKETCH}, headers=bearer(token)).status_code == 404
        )
    assert client.get("/api/classes", headers=bearer(bot)).get_json()["classes"] == []
