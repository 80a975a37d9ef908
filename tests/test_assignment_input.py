"""Assignments and class controls with bad input: clear 4xx answers, nothing half-created, an audit entry for each
change (the live flows are in test_assignments.py)."""

from __future__ import annotations

import io
import zipfile

import pytest

from .conftest import bearer

LESSON = [{"name": "lesson.ino", "content": "void setup() {}\nvoid loop() {}\n"}]


@pytest.fixture
def teacher(accounts, client):  # type: ignore[no-untyped-def]
    accounts.instructor("teacher", "password a", classes=("lab-1", "empty-class"))
    accounts.instructor("other", "password b", classes=("lab-2",))
    accounts.bot("bot_1", class_name="lab-1")
    accounts.bot("bot_2", class_name="lab-2")
    return bearer(accounts.api_token(client, username="teacher", password="password a"))


def zip_of(files: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def upload(client, headers, class_name: str, title: str, data: bytes, filename: str = "lesson.zip"):  # type: ignore[no-untyped-def]
    """A multipart body made here, in memory (the test client would spool a large one to a file it never closes)."""
    boundary = "assignment-upload-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\n{title}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return client.post(
        f"/api/classes/{class_name}/assignments/upload",
        data=body,
        headers=headers,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def assignments(client, headers, class_name: str = "lab-1") -> list[dict]:  # type: ignore[no-untyped-def]
    return client.get(f"/api/classes/{class_name}/assignments", headers=headers).get_json()["assignments"]


def test_an_example_becomes_an_assignment_with_an_audit_entry(client, teacher):
    response = client.post(
        "/api/classes/lab-1/assignments",
        json={"title": "Blink", "source": "example", "example_id": "Blink"},
        headers=teacher,
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["assignment"]["files"] == ["Blink.ino"]
    entries = client.get("/api/admin/activity?action=assignment", headers=teacher).get_json()["entries"]
    assert [(e["action"], e["details"]["title"]) for e in entries] == [("assignment.create", "Blink")]


@pytest.mark.parametrize(
    "body,status,needle",
    [
        ({"title": "<b>x</b>", "source": "example", "example_id": "Blink"}, 400, "< or >"),
        ({"title": "a\u202eb", "source": "example", "example_id": "Blink"}, 400, "control character"),
        ({"title": "   ", "source": "example", "example_id": "Blink"}, 400, "title"),
        ({"title": "x" * 81, "source": "example", "example_id": "Blink"}, 400, "title"),
        ({"title": "T", "source": "example", "example_id": "../../etc"}, 404, "No example"),
        ({"title": "T", "source": "example"}, 400, "example_id"),
        ({"title": "T", "source": "editor"}, 400, "product_id"),
        ({"title": "T", "source": "editor", "product_id": "bot_2"}, 404, "has no bot"),
        ({"title": "T", "source": "ftp"}, 400, "source"),
    ],
)
def test_bad_assignments_are_refused_and_nothing_is_created(client, teacher, body, status, needle):
    response = client.post("/api/classes/lab-1/assignments", json=body, headers=teacher)
    assert response.status_code == status and needle in response.get_json()["error"], response.get_json()
    assert assignments(client, teacher) == []


def test_a_duplicate_title_is_a_conflict(client, teacher):
    body = {"title": "Blink", "source": "example", "example_id": "Blink"}
    assert client.post("/api/classes/lab-1/assignments", json=body, headers=teacher).status_code == 201
    response = client.post("/api/classes/lab-1/assignments", json=body, headers=teacher)
    assert response.status_code == 409 and "already has an assignment" in response.get_json()["error"]


def test_a_zip_becomes_an_assignment(client, teacher):
    response = upload(
        client,
        teacher,
        "lab-1",
        "Motors",
        zip_of({"lesson/lesson.ino": b"void setup(){}\nvoid loop(){}\n", "lesson/motor.h": b"#pragma once\n"}),
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["assignment"]["files"] == ["assignment.ino", "motor.h"]


@pytest.mark.parametrize(
    "data,filename,status,needle",
    [
        (b"not a zip", "lesson.zip", 400, "not a valid ZIP"),
        (b"", "", 400, "Attach"),
        (None, "lesson.zip", 413, ""),  # a huge archive
        (b"\xff\xfe\x00bad", "lesson.ino", 400, "UTF-8"),
    ],
)
def test_bad_uploads_are_refused_and_nothing_is_created(client, teacher, settings, data, filename, status, needle):
    if data is None:
        huge = {f"big/f{n}.h": b"x" * (settings.sketch_max_bytes // 4) for n in range(8)}
        data = zip_of(huge | {"big/big.ino": b""}, zipfile.ZIP_STORED)
    response = upload(client, teacher, "lab-1", "Huge", data, filename)
    assert response.status_code == status, response.get_json()
    assert needle in response.get_json()["error"]
    assert assignments(client, teacher) == []


def test_hand_outs_to_an_empty_class_or_with_an_unknown_mode_are_refused(client, teacher):
    made = client.post(
        "/api/classes/empty-class/assignments",
        json={"title": "B", "source": "example", "example_id": "Blink"},
        headers=teacher,
    ).get_json()["assignment"]
    response = client.post(
        f"/api/classes/empty-class/assignments/{made['id']}/preview", json={"mode": "add"}, headers=teacher
    )
    assert response.status_code == 400 and "has no bots" in response.get_json()["error"]
    assert client.post("/api/classes/empty-class/flash", headers=teacher).status_code == 400
    response = client.post("/api/classes/empty-class/revert", json={}, headers=teacher)
    assert response.status_code == 409 and "no golden build" in response.get_json()["error"]
    wrong = client.post(f"/api/classes/lab-1/assignments/{made['id']}/handout", json={"mode": "add"}, headers=teacher)
    assert wrong.status_code == 404, "an assignment is reached only through its own class"
    unknown = client.post(
        f"/api/classes/empty-class/assignments/{made['id']}/handout", json={"mode": "wipe"}, headers=teacher
    )
    assert unknown.status_code == 400


def test_exam_mode_stops_students_not_their_teacher(client, accounts, teacher):
    student = bearer(accounts.api_token(client, product_id="bot_1", password="12345"))
    assert client.put("/api/classes/lab-1/freeze", json={"state": "exam"}, headers=teacher).status_code == 200
    head = client.get("/api/devices/bot_1/sketch", headers=student).get_json()
    files = [{"name": "bot_1.ino", "content": "void setup(){}\nvoid loop(){}\n"}]
    for who, expected in ((student, 409), (teacher, 200)):
        response = client.put(
            "/api/devices/bot_1/sketch",
            json={"files": files, "base_revision": head["revision"], "explicit": True},
            headers=who,
        )
        assert response.status_code == expected, response.get_json()
    refused = client.post("/api/devices/bot_1/sketch/revisions/1/restore", json={}, headers=student)
    assert refused.status_code == 409 and "exam mode" in refused.get_json()["error"]
    history = client.get("/api/devices/bot_1/sketch/revisions", headers=teacher).get_json()["revisions"]
    assert history[0]["author"] == "teacher", "a teacher's edit is recorded under the teacher's name"
    actions = [
        e["action"] for e in client.get("/api/admin/activity?action=class", headers=teacher).get_json()["entries"]
    ]
    assert "class.exam" in actions


@pytest.mark.parametrize("assignment_id", [2**31, 2**70])  # beyond PostgreSQL's INTEGER, beyond SQLite's
def test_an_absurd_assignment_id_is_a_404(client, teacher, assignment_id):
    url = f"/api/classes/empty-class/assignments/{assignment_id}/preview"
    response = client.post(url, json={"mode": "add"}, headers=teacher)
    assert response.status_code == 404 and "has no assignment" in response.get_json()["error"]
