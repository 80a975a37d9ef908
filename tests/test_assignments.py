"""Assignments, class flash, freeze and revert against the real web server, Celery worker, Redis and AVR toolchain
(ESP32 bots build with the arduino-cli stand-in, since the ESP32 core cannot be installed here; only their Uploads
become over-the-air targets)."""

from __future__ import annotations

import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from webide.core.registry import create_device, create_user, get_or_create_class
from webide.extensions import db

from .conftest import AVR_FQBN, ESP32_FQBN, live_processes, scratch_app
from .fake_arduino_cli import service_environment
from .live import ApiClient, RoomListener

pytestmark = pytest.mark.slow

REDIS_DATABASE = 12
TEACHER = {"username": "teacher", "password": "password a"}
CLASSES = {
    "handout": [("h_1", AVR_FQBN), ("h_2", AVR_FQBN)],
    "push": [("p_1", AVR_FQBN), ("p_2", AVR_FQBN)],
    "flash": [("f_1", ESP32_FQBN), ("f_2", ESP32_FQBN), ("f_3", ESP32_FQBN)],
    "freeze": [("z_1", AVR_FQBN)],
    "revert": [("r_1", ESP32_FQBN), ("r_2", ESP32_FQBN), ("r_3", ESP32_FQBN)],
    "thirty": [(f"t_{n:02d}", AVR_FQBN) for n in range(1, 31)],
}
LESSON = '#include "motor.h"\nvoid setup() { drive(1); }\nvoid loop() {}\n'
MOTOR_H = "#pragma once\ninline void drive(int speed) { (void)speed; }\n"
HELPER_CPP = "int helper() { return 42; }\n"
HELPER_H = "#pragma once\nint helper();\n"
STUDENT_MAIN = '#include "helper.h"\nvoid setup() { helper(); }\nvoid loop() {}\n'


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator:
    folder, settings, app = scratch_app(tmp_path_factory, redis_url, REDIS_DATABASE, "assignments")
    with app.app_context():
        teacher = create_user(TEACHER["username"], TEACHER["password"], "instructor")
        for name, bots in CLASSES.items():
            get_or_create_class(name, teacher)
            for product_id, fqbn in bots:
                create_device(product_id, "12345", "", fqbn, name)
        db.session.commit()
    toolchain = Path(tempfile.mkdtemp(prefix="esp32-toolchain-"))  # pytest's own folders are private (0700)
    toolchain.chmod(0o711)
    try:
        with live_processes(settings, folder, **service_environment(toolchain)) as live:
            yield live
    finally:
        with app.app_context():
            db.engine.dispose()
        shutil.rmtree(toolchain, ignore_errors=True)


def teacher(service) -> ApiClient:  # type: ignore[no-untyped-def]
    return ApiClient(service.base_url, **TEACHER)


def student(service, product_id: str) -> ApiClient:  # type: ignore[no-untyped-def]
    return ApiClient(service.base_url, product_id=product_id, password="12345")


def sketch_of(api: ApiClient, product_id: str) -> dict:
    return api.get(f"/api/devices/{product_id}/sketch").json()


def names(sketch: dict) -> list[str]:
    return [f["name"] for f in sketch["files"]]


def save_as_student(service, product_id: str, files: list[dict[str, str]]) -> int:  # type: ignore[no-untyped-def]
    api = student(service, product_id)
    base = sketch_of(api, product_id)["revision"]
    response = api.http.put(
        f"{service.base_url}/api/devices/{product_id}/sketch",
        json={"files": files, "base_revision": base, "explicit": True},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()["revision"]


def student_sketch(product_id: str) -> list[dict[str, str]]:
    return [
        {"name": f"{product_id}.ino", "content": STUDENT_MAIN},
        {"name": "helper.cpp", "content": HELPER_CPP},
        {"name": "helper.h", "content": HELPER_H},
    ]


def create_assignment(api: ApiClient, class_name: str, title: str, files: list[dict[str, str]]) -> int:
    """An assignment made from a ZIP, the way a teacher uploads one."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for f in files:
            archive.writestr(f"lesson/{f['name']}", f["content"])
    response = api.post(
        f"/api/classes/{class_name}/assignments/upload",
        data={"title": title},
        files={"file": ("lesson.zip", buffer.getvalue(), "application/zip")},
    )
    assert response.status_code == 201, response.text
    return response.json()["assignment"]["id"]


def test_add_as_new_tabs_keeps_the_students_files_and_the_preview_says_so(service):
    api = teacher(service)
    save_as_student(service, "h_1", student_sketch("h_1"))
    assignment = create_assignment(
        api, "handout", "Motors", [{"name": "lesson.ino", "content": LESSON}, {"name": "motor.h", "content": MOTOR_H}]
    )
    before = sketch_of(api, "h_1")

    preview = api.post(f"/api/classes/handout/assignments/{assignment}/preview", json={"mode": "add"}).json()
    assert {bot["product_id"]: (bot["action"], bot["added"], bot["kept"]) for bot in preview["bots"]} == {
        "h_1": ("add", ["motor.h"], ["h_1.ino"]),
        "h_2": ("add", ["motor.h"], ["h_2.ino"]),
    }
    assert sketch_of(api, "h_1")["revision"] == before["revision"], "a preview changes nothing"

    handed = api.post(f"/api/classes/handout/assignments/{assignment}/handout", json={"mode": "add"})
    assert handed.status_code == 200, handed.text
    after = sketch_of(api, "h_1")
    assert names(after) == ["h_1.ino", "helper.cpp", "helper.h", "motor.h"]
    assert [f for f in after["files"] if f["name"] != "motor.h"] == before["files"]
    newest = api.get("/api/devices/h_1/sketch/revisions").json()["revisions"][0]
    assert (newest["kind"], newest["author"]) == ("handout", "teacher")
    audit = api.get("/api/admin/activity?action=assignment.handout").json()["entries"]
    assert [(e["target"], e["actor"], e["details"]["bots"]) for e in audit] == [("handout", "teacher", ["h_1", "h_2"])]


def test_untouched_only_skips_the_student_who_edited(service):
    api = teacher(service)
    blink = "void setup() { pinMode(13, OUTPUT); }\nvoid loop() {}\n"
    assignment = create_assignment(api, "handout", "Blink again", [{"name": "blink.ino", "content": blink}])
    replaced = api.post(f"/api/classes/handout/assignments/{assignment}/handout", json={"mode": "replace"}).json()
    assert replaced["changed"] == 2
    history = api.get("/api/devices/h_1/sketch/revisions").json()["revisions"]
    assert any(
        "helper.cpp"
        in [f["name"] for f in api.get(f"/api/devices/h_1/sketch/revisions/{r['revision']}").json()["files"]]
        for r in history
    ), "replaced files stay in the history"
    edited = sketch_of(api, "h_1")
    save_as_student(service, "h_1", [*edited["files"], {"name": "notes.h", "content": "// mine\n"}])
    second = create_assignment(
        api, "handout", "Next lesson", [{"name": "next.ino", "content": "void setup(){}\nvoid loop(){}\n"}]
    )

    plan = api.post(f"/api/classes/handout/assignments/{second}/preview", json={"mode": "untouched"}).json()
    actions = {bot["product_id"]: bot["action"] for bot in plan["bots"]}
    assert actions == {"h_1": "skip", "h_2": "replace"}
    h_1_before = sketch_of(api, "h_1")
    result = api.post(f"/api/classes/handout/assignments/{second}/handout", json={"mode": "untouched"}).json()
    assert result["changed"] == 1
    assert sketch_of(api, "h_1") == h_1_before
    assert sketch_of(api, "h_2")["files"] == [{"name": "h_2.ino", "content": "void setup(){}\nvoid loop(){}\n"}]


@pytest.mark.parametrize(
    "body,status,needle",
    [
        ({"mode": "overwrite"}, 400, "mode"),
        ({}, 400, "mode"),
    ],
)
def test_unknown_hand_out_modes_are_refused(service, body, status, needle):
    api = teacher(service)
    listed = api.get("/api/classes/handout/assignments").json()["assignments"]
    response = api.post(f"/api/classes/handout/assignments/{listed[0]['id']}/preview", json=body)
    assert response.status_code == status and needle in response.json()["error"]


def test_the_class_push_no_longer_deletes_a_students_files(service):
    api = teacher(service)
    save_as_student(service, "p_1", student_sketch("p_1"))
    pushed = [{"name": "lesson.ino", "content": LESSON}, {"name": "motor.h", "content": MOTOR_H}]
    response = api.post("/api/classes/push/builds", json={"files": pushed, "deploy": False})
    assert response.status_code == 202, response.text
    body = response.json()
    assert [b["product_id"] for b in body["builds"]] == ["p_2"]
    assert [(s["product_id"], s["action"]) for s in body["skipped"]] == [("p_1", "skip")]
    assert names(sketch_of(api, "p_1")) == ["p_1.ino", "helper.cpp", "helper.h"]
    assert names(sketch_of(api, "p_2")) == ["p_2.ino", "motor.h"]
    assert api.wait(body["builds"][0]["update_id"])["status"] == "complete"

    added = api.post("/api/classes/push/builds", json={"files": pushed, "deploy": False, "mode": "add"}).json()
    assert [b["product_id"] for b in added["builds"]] == ["p_1"]
    assert names(sketch_of(api, "p_1")) == ["p_1.ino", "helper.cpp", "helper.h", "motor.h"]
    result = api.wait(added["builds"][0]["update_id"])
    assert result["status"] == "complete", result["log"]


def received_build_tasks(service) -> set[str]:  # type: ignore[no-untyped-def]
    log = (service.log_dir / "worker.log").read_text()
    return set(re.findall(r"Task webide\.run_build\[([0-9a-f-]+)\] received", log))


def test_three_bots_of_one_board_are_flashed_with_one_compile(service):
    api = teacher(service)
    listener = RoomListener(service.base_url, api.token, "f_3")
    try:
        before = received_build_tasks(service)
        response = api.post("/api/classes/flash/flash")
        assert response.status_code == 202, response.text
        body = response.json()
        assert body["compiles"] == 1 and len(body["builds"]) == 3
        results = {b["product_id"]: api.wait(b["update_id"]) for b in body["builds"]}
        assert all(r["status"] == "complete" for r in results.values()), [r["message"] for r in results.values()]
        leaders = [r for r in results.values() if r["compiled_by"] is None]
        assert len(leaders) == 1
        assert len(received_build_tasks(service) - before) == 1, "exactly one build went to the compiler"
        assert {r["artifact"]["sha256"] for r in results.values()} == {leaders[0]["artifact"]["sha256"]}
        for r in results.values():
            assert "Sketch uses" in r["log"]
            shown = api.get(f"/api/devices/{r['product_id']}").json()
            assert shown["target"]["sha256"] == leaders[0]["artifact"]["sha256"]
        f_3 = results["f_3"]["update_id"]
        listener.wait_for(lambda events: any("Sketch uses" in line for line in listener.lines(f_3)))
        assert any("compiled once for 3 bots" in line for line in listener.lines(f_3))
    finally:
        listener.close()


def test_freeze_refuses_upload_and_exam_refuses_saves(service):
    api = teacher(service)
    bot = student(service, "z_1")
    assert api.http.put(f"{service.base_url}/api/classes/freeze/freeze", json={"state": "frozen"}).status_code == 200
    refused = bot.post("/api/devices/z_1/builds", json={"deploy": True})
    assert refused.status_code == 409
    assert "frozen by your instructor" in refused.json()["error"] and "Upload is turned off" in refused.json()["error"]
    assert bot.wait(bot.submit("z_1", deploy=False))["status"] == "complete", "Verify still works"
    assert save_as_student(service, "z_1", student_sketch("z_1")) > 0, "a frozen class may still edit"

    assert api.http.put(f"{service.base_url}/api/classes/freeze/freeze", json={"state": "exam"}).status_code == 200
    before = sketch_of(bot, "z_1")
    saved = bot.http.put(
        f"{service.base_url}/api/devices/z_1/sketch",
        json={"files": [{"name": "z_1.ino", "content": "// cheat\n"}], "base_revision": before["revision"]},
        timeout=30,
    )
    assert saved.status_code == 409 and "exam mode" in saved.json()["error"]
    assert sketch_of(bot, "z_1") == before
    assert api.http.put(f"{service.base_url}/api/classes/freeze/freeze", json={"state": "thawed"}).status_code == 400
    assert api.http.put(f"{service.base_url}/api/classes/freeze/freeze", json={"state": "open"}).status_code == 200
    assert bot.post("/api/devices/z_1/builds", json={"deploy": True}).status_code == 202


def test_revert_to_a_golden_build_changes_every_target(service):
    api = teacher(service)
    golden = student(service, "r_1")
    first = golden.wait(golden.submit("r_1", [{"name": "r_1.ino", "content": "void setup(){}\nvoid loop(){}\n"}], True))
    assert first["status"] == "complete", first["log"]
    chosen = api.http.put(f"{service.base_url}/api/classes/revert/golden", json={"update_id": first["update_id"]})
    assert chosen.status_code == 200, chosen.text
    other = student(service, "r_2")
    later = other.wait(
        other.submit("r_2", [{"name": "r_2.ino", "content": "int x;\nvoid setup(){x=1;}\nvoid loop(){}\n"}], True)
    )
    assert later["artifact"]["sha256"] != first["artifact"]["sha256"]

    reverted = api.post("/api/classes/revert/revert", json={})
    assert reverted.status_code == 200, reverted.text
    assert all(bot["reverted"] for bot in reverted.json()["bots"])
    for product_id in ("r_1", "r_2", "r_3"):
        shown = api.get(f"/api/devices/{product_id}").json()
        assert shown["target"]["sha256"] == first["artifact"]["sha256"], product_id
    foreign = api.http.put(f"{service.base_url}/api/classes/flash/golden", json={"update_id": first["update_id"]})
    assert foreign.status_code == 400 and "not a build of class" in foreign.json()["error"]


def test_a_class_of_thirty_bots_costs_one_compile(service):
    api = teacher(service)
    before = received_build_tasks(service)
    body = api.post("/api/classes/thirty/flash").json()
    assert body["compiles"] == 1 and len(body["builds"]) == 30
    results = [api.wait(b["update_id"]) for b in body["builds"]]
    assert [r["status"] for r in results] == ["complete"] * 30, {r["message"] for r in results}
    assert len(received_build_tasks(service) - before) == 1
    assert len({r["artifact"]["sha256"] for r in results}) == 1
    assert sum(1 for r in results if r["compiled_by"] is None) == 1
