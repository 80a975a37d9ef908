"""Staged rollouts: groups open on confirmed running images, pause on failures (reported, rolled back or silent),
bots outside the open groups keep getting 304, and a student's Upload takes a bot out of the rollout."""

from __future__ import annotations

import hashlib
import io
import json
import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select

from webide.core.deployments import RUNNING, deploy_artifact, newest_deployment
from webide.core.events import CHANNEL, ROLLOUT_CREATED_EVENT_NAME, ROLLOUT_EVENT_NAME
from webide.core.registry import create_device
from webide.core.rollouts import evaluate, locked_rollout
from webide.core.security import argon2_hash
from webide.extensions import current_event_log, db
from webide.models import AuditEntry, Deployment, Device, Release, RolloutTarget, User, utcnow
from webide.tasks import sweep_once

from .conftest import bearer
from .test_images import IMAGE_CLASSES, segment

ESP32 = "esp32:esp32:esp32"
BOTS = 60


def image(salt: int, tmp_path) -> bytes:  # type: ignore[no-untyped-def]
    built = IMAGE_CLASSES["esp32"]()
    built.entrypoint = 0x40080000
    built.segments = [segment(b".flash.rodata", 0x3F400020, bytes([salt]) * 2048)]
    built.append_digest = True
    path = tmp_path / f"image-{salt}.bin"
    built.save(str(path))
    return path.read_bytes()


@pytest.fixture(scope="module")
def one_password_hash() -> str:
    return argon2_hash("12345")


@pytest.fixture
def classroom(request, app, client, accounts, tmp_path, monkeypatch, one_password_hash):  # type: ignore[no-untyped-def]
    """Bots of one class (6, or as many as the test asks for), all running release 1.0.0; release 1.1.0 to roll out.

    Every bot gets the same real Argon2 hash of its password, computed once: hashing 60 passwords would take
    minutes on a busy machine and passwords play no part here.
    """
    count = getattr(request, "param", 6)
    accounts.instructor("teacher", "correct horse", classes=("lab",))
    monkeypatch.setattr("webide.core.registry.hash_password", lambda _password: one_password_hash)
    teacher = bearer(accounts.api_token(client, username="teacher", password="correct horse"))
    images = {version: image(salt, tmp_path) for salt, version in enumerate(("1.0.0", "1.1.0"), start=1)}
    for version, data in images.items():
        response = client.post(
            "/api/firmware/releases",
            headers=teacher,
            data={"file": (io.BytesIO(data), "app.bin"), "version": version, "board": ESP32},
            content_type="multipart/form-data",
        )
        assert response.status_code == 201, response.get_json()
    tokens = {}
    with app.app_context():
        old = db.session.scalar(select(Release).where(Release.version == "1.0.0")).artifact
        for number in range(count):
            created = create_device(f"bot_{number:02d}", "12345", "", ESP32, "lab")
            tokens[created.product_id] = bearer(created.device_token)
        db.session.flush()
        for device in db.session.scalars(select(Device)):
            deploy_artifact(device, old, None).state = RUNNING
            device.running_md5, device.running_sha256, device.last_seen_at = old.md5, old.sha256, utcnow()
        db.session.commit()
    return {"teacher": teacher, "tokens": tokens, "images": images}


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def pull(client, classroom, product_id: str):  # type: ignore[no-untyped-def]
    """What the stock HTTPUpdate client does at a button press on a bot running 1.0.0."""
    headers = {**classroom["tokens"][product_id], "x-ESP32-sketch-md5": md5(classroom["images"]["1.0.0"])}
    return client.get(f"/{product_id}.ino.bin", headers=headers)


def update_succeeds(client, classroom, product_id: str) -> None:
    assert pull(client, classroom, product_id).data == classroom["images"]["1.1.0"]
    reply = client.post(
        f"/api/devices/{product_id}/heartbeat",
        headers=classroom["tokens"][product_id],
        json={"md5": md5(classroom["images"]["1.1.0"]), "uptime": 3},
    )
    assert reply.status_code == 200


def update_fails(client, classroom, product_id: str, message: str) -> None:
    assert pull(client, classroom, product_id).status_code == 200
    client.post(
        f"/api/ota/{product_id}/status",
        headers=classroom["tokens"][product_id],
        json={"status": "FAILED", "message": message},
    )


def goes_silent_after_download(app, client, classroom, product_id: str) -> None:
    """Downloads, then never reports again: its download is dated back beyond the silence timeout."""
    assert pull(client, classroom, product_id).data == classroom["images"]["1.1.0"]
    with app.app_context():
        device = db.session.scalar(select(Device).where(Device.product_id == product_id))
        deployment = newest_deployment(device)
        assert deployment.state == "rebooting"
        long_ago = utcnow() - timedelta(seconds=700)
        deployment.updated_at, device.last_seen_at = long_ago, long_ago
        db.session.commit()


def sweep(app) -> None:  # type: ignore[no-untyped-def]
    """One round of the worker's housekeeping, which moves running rollouts on."""
    with app.app_context():
        sweep_once(purge_audit=False)


def rollout(client, classroom, rollout_id: int) -> dict:  # type: ignore[no-untyped-def]
    return client.get(f"/api/rollouts/{rollout_id}", headers=classroom["teacher"]).get_json()["rollout"]


def group_of(rollout_data: dict, number: int) -> list[str]:
    return [bot["product_id"] for bot in rollout_data["groups"][number - 1]["bots"]]


def create(client, classroom, **overrides):  # type: ignore[no-untyped-def]
    body = {
        "name": "spring update",
        "version": "1.1.0",
        "targets": {"class_name": "lab"},
        "groups": {"count": 3},
        "success_threshold": 80,
        "error_threshold_count": 3,
        "silence_s": 600,
        **overrides,
    }
    return client.post("/api/rollouts", headers=classroom["teacher"], json=body)


@pytest.mark.parametrize("classroom", [BOTS], indirect=True)
def test_group_two_over_the_error_threshold_pauses_with_group_three_untouched(app, client, classroom):
    created = create(client, classroom)
    assert created.status_code == 201, created.get_json()
    rollout_id = created.get_json()["rollout"]["id"]
    plan = created.get_json()["rollout"]
    groups = [group_of(plan, number) for number in (1, 2, 3)]
    assert [len(group) for group in groups] == [20, 20, 20]
    start = client.post(f"/api/rollouts/{rollout_id}/start", headers=classroom["teacher"]).get_json()["rollout"]
    assert (start["state"], start["current_group"]) == ("running", 1)
    assert pull(client, classroom, groups[1][0]).status_code == 304  # not in an open group: no update
    for product_id in groups[0][:15]:
        update_succeeds(client, classroom, product_id)
    sweep(app)
    assert rollout(client, classroom, rollout_id)["current_group"] == 1  # 15 of 20 < 80 %
    for product_id in groups[0][15:]:
        update_succeeds(client, classroom, product_id)
    sweep(app)
    state = rollout(client, classroom, rollout_id)
    assert (state["current_group"], state["groups"][0]["succeeded"]) == (2, 20)

    for product_id in groups[1][:14]:
        update_succeeds(client, classroom, product_id)
    update_fails(client, classroom, groups[1][14], "flash write error")
    update_fails(client, classroom, groups[1][15], "rolled back: the new firmware did not confirm")
    goes_silent_after_download(app, client, classroom, groups[1][16])
    for product_id in groups[1][17:]:
        assert pull(client, classroom, product_id).status_code == 200  # downloading, still within the timeout
    sweep(app)
    state = rollout(client, classroom, rollout_id)
    assert state["state"] == "paused" and state["current_group"] == 2
    assert state["paused_reason"] == "group 2: 3 of 20 bots failed"
    failed = {bot["product_id"]: bot["reason"] for bot in state["groups"][1]["bots"] if bot["state"] == "failed"}
    assert failed == {
        groups[1][14]: "flash write error",
        groups[1][15]: "rolled back: the new firmware did not confirm",
        groups[1][16]: "silent for 600 s after its download",
    }
    assert state["groups"][2]["pending"] == 20
    for product_id in groups[2]:
        assert pull(client, classroom, product_id).status_code == 304
    with app.app_context():
        old = db.session.scalar(select(Release).where(Release.version == "1.0.0")).artifact_id
        third = db.session.scalars(select(Device).where(Device.product_id.in_(groups[2]))).all()
        assert {device.target_artifact_id for device in third} == {old}

    # Fixed: retry only the failed bots, they update, and the rollout carries on to the end.
    retried = client.post(f"/api/rollouts/{rollout_id}/retry", headers=classroom["teacher"]).get_json()["rollout"]
    assert retried["state"] == "running" and retried["groups"][1]["updating"] == 6
    for product_id in groups[1][14:]:
        update_succeeds(client, classroom, product_id)
    sweep(app)
    assert rollout(client, classroom, rollout_id)["current_group"] == 3
    for product_id in groups[2]:
        update_succeeds(client, classroom, product_id)
    sweep(app)
    final = rollout(client, classroom, rollout_id)
    assert final["state"] == "done" and [group["succeeded"] for group in final["groups"]] == [20, 20, 20]
    with app.app_context():
        actions = set(db.session.scalars(select(AuditEntry.action)))
        assert {"rollout.create", "rollout.start", "rollout.retry"} <= actions


def test_a_student_upload_takes_the_bot_out_of_the_rollout(app, client, classroom, tmp_path):
    created = create(client, classroom, groups={"percentages": [50, 50]}, success_threshold=100).get_json()["rollout"]
    second = group_of(created, 2)
    client.post(f"/api/rollouts/{created['id']}/start", headers=classroom["teacher"])
    student_image = image(9, tmp_path)
    with app.app_context():
        device = db.session.scalar(select(Device).where(Device.product_id == second[0]))
        path = tmp_path / "student.bin"
        path.write_bytes(student_image)
        from webide.core.firmware.store import APP_IMAGE, artifact_store, publish_artifact

        artifact = publish_artifact(artifact_store(app.config["SETTINGS"]), ESP32, {APP_IMAGE: path})
        deploy_artifact(device, artifact, None)  # what the student's Upload does
        db.session.commit()
    for product_id in group_of(created, 1):
        update_succeeds(client, classroom, product_id)
    sweep(app)
    state = rollout(client, classroom, created["id"])
    assert state["current_group"] == 2
    left = [bot for bot in state["groups"][1]["bots"] if bot["state"] == "left"]
    assert [bot["product_id"] for bot in left] == [second[0]]
    with app.app_context():
        device = db.session.scalar(select(Device).where(Device.product_id == second[0]))
        assert device.target_artifact.sha256 == hashlib.sha256(student_image).hexdigest()


def test_pause_resume_advance_cancel(client, classroom):
    created = create(client, classroom).get_json()["rollout"]
    url = f"/api/rollouts/{created['id']}"
    teacher = classroom["teacher"]
    assert client.post(f"{url}/pause", headers=teacher).status_code == 409  # not started
    assert client.post(f"{url}/start", headers=teacher).status_code == 200
    assert client.post(f"{url}/pause", headers=teacher).get_json()["rollout"]["paused_reason"] == "paused by hand"
    assert client.post(f"{url}/resume", headers=teacher).get_json()["rollout"]["state"] == "running"
    advanced = client.post(f"{url}/advance", headers=teacher).get_json()["rollout"]
    assert advanced["current_group"] == 2 and advanced["groups"][1]["updating"] == advanced["groups"][1]["size"] == 2
    assert client.post(f"{url}/cancel", headers=teacher).get_json()["rollout"]["state"] == "cancelled"
    assert client.post(f"{url}/start", headers=teacher).status_code == 409
    assert client.post(f"{url}/explode", headers=teacher).status_code in (400, 409)
    # once cancelled, its bots may join a new rollout
    assert create(client, classroom).status_code == 201


@pytest.mark.parametrize(
    "overrides,status,needle",
    [
        ({"targets": {"class_name": "lab", "board": "esp32:esp32:lolin_s3"}}, 400, "No bot matches"),
        ({"targets": {"product_ids": []}}, 400, "No bot matches"),
        ({"success_threshold": 0}, 400, "success_threshold"),
        ({"success_threshold": 101}, 400, "success_threshold"),
        ({"error_threshold_count": None}, 400, "error threshold"),
        ({"error_threshold_percent": 10}, 400, "error threshold"),
        ({"groups": {"count": 3, "percentages": [50, 50]}}, 400, "exactly one of count"),
        ({"groups": {"percentages": [50, 40]}}, 400, "adding up to 100"),
        ({"groups": {"lists": [["bot_00"], ["bot_01"]]}}, 400, "every target bot exactly once"),
        ({"version": "9.9.9"}, 404, "No release"),
        ({"targets": {"class_name": "no such class"}}, 404, "No class named"),
    ],
)
def test_bad_rollouts_are_refused_and_nothing_changes(app, client, classroom, overrides, status, needle):
    response = create(client, classroom, **overrides)
    assert response.status_code == status, response.get_json()
    assert needle in response.get_json()["error"]
    assert client.get("/api/rollouts", headers=classroom["teacher"]).get_json()["rollouts"] == []
    with app.app_context():
        assert db.session.scalar(select(Deployment.id).where(Deployment.state != RUNNING)) is None


def test_a_second_rollout_over_the_same_bots_is_refused(client, classroom):
    assert create(client, classroom).status_code == 201
    again = create(client, classroom, targets={"product_ids": ["bot_05", "bot_01"]}, groups={"count": 1})
    assert again.status_code == 409 and "bot_01, bot_05" in again.get_json()["error"]


def test_a_release_being_rolled_out_cannot_be_deleted(client, classroom):
    created = create(client, classroom).get_json()["rollout"]
    refused = client.delete("/api/firmware/releases/1.1.0", headers=classroom["teacher"])
    assert refused.status_code == 409 and "rolled out" in refused.get_json()["error"]
    assert created["state"] == "ready"


def test_a_group_another_sweep_opened_first_keeps_its_bots(app, client, classroom):
    """Bots of group 2 given the image another way before their group opens (a class flash of the same build, say)
    already have it as their target, which is not a student's Upload, so they stay in the rollout."""
    body = {
        "version": "1.1.0",
        "targets": {"class_name": "lab"},
        "groups": {"count": 2},
        "success_threshold": 100,
        "error_threshold_count": 3,
    }
    created = client.post("/api/rollouts", headers=classroom["teacher"], json=body).get_json()["rollout"]
    assert client.post(f"/api/rollouts/{created['id']}/start", headers=classroom["teacher"]).status_code == 200
    second = [bot["product_id"] for bot in created["groups"][1]["bots"]]
    with app.app_context():
        artifact = db.session.scalar(select(Release).where(Release.version == "1.1.0")).artifact
        for product_id in second:  # given the image before their group opens
            deploy_artifact(db.session.scalar(select(Device).where(Device.product_id == product_id)), artifact, None)
        db.session.commit()
    for bot in created["groups"][0]["bots"]:
        update_succeeds(client, classroom, bot["product_id"])
    sweep(app)
    groups = client.get(f"/api/rollouts/{created['id']}", headers=classroom["teacher"]).get_json()["rollout"]["groups"]
    assert [bot["state"] for bot in groups[1]["bots"]] == ["updating"] * len(second)
    for product_id in second:
        update_succeeds(client, classroom, product_id)
    sweep(app)
    reply = client.get(f"/api/rollouts/{created['id']}", headers=classroom["teacher"]).get_json()["rollout"]
    assert reply["state"] == "done" and reply["groups"][1]["succeeded"] == len(second)


def test_a_bot_given_the_image_twice_stays_in_its_group(app, client, classroom):
    """A bot given the same image again while it updates (a class flash of the same build, say): the newer
    deployment of that image is still the rollout's, so the bot is counted when it runs it."""
    body = {
        "version": "1.1.0",
        "targets": {"class_name": "lab"},
        "groups": {"count": 1},
        "success_threshold": 100,
        "error_threshold_count": 3,
    }
    created = client.post("/api/rollouts", headers=classroom["teacher"], json=body).get_json()["rollout"]
    assert client.post(f"/api/rollouts/{created['id']}/start", headers=classroom["teacher"]).status_code == 200
    bots = [bot["product_id"] for bot in created["groups"][0]["bots"]]
    with app.app_context():
        artifact = db.session.scalar(select(Release).where(Release.version == "1.1.0")).artifact
        deploy_artifact(db.session.scalar(select(Device).where(Device.product_id == bots[0])), artifact, None)
        db.session.commit()
    for product_id in bots:
        update_succeeds(client, classroom, product_id)
    sweep(app)
    reply = client.get(f"/api/rollouts/{created['id']}", headers=classroom["teacher"]).get_json()["rollout"]
    assert reply["groups"][0]["succeeded"] == len(bots) and reply["state"] == "done"


def test_a_sweep_waits_for_the_one_holding_the_rollout_and_then_changes_nothing(app, client, classroom):
    """Every process sweeps. One holds the rollout (its group 1 confirmed, group 2 about to open) while a second sweep
    starts: the second waits, then reads what the first committed, so no bot changes state twice."""
    created = create(client, classroom, groups={"count": 2}, success_threshold=100).get_json()["rollout"]
    assert client.post(f"/api/rollouts/{created['id']}/start", headers=classroom["teacher"]).status_code == 200
    for bot in created["groups"][0]["bots"]:
        update_succeeds(client, classroom, bot["product_id"])
    holding, release = threading.Event(), threading.Event()

    def first_sweep() -> None:
        with app.app_context():
            rollout = locked_rollout(created["id"])
            holding.set()
            release.wait(20)
            evaluate(rollout)
            db.session.commit()
            db.session.remove()

    first = threading.Thread(target=first_sweep)
    first.start()
    assert holding.wait(20)
    second = threading.Thread(target=sweep, args=(app,))
    second.start()
    second.join(0.5)
    assert second.is_alive(), "the second sweep waits while the first holds the rollout"
    release.set()
    first.join(20)
    with app.app_context():
        after_first = {
            target.id: (target.state, target.updated_at) for target in db.session.scalars(select(RolloutTarget))
        }
    second.join(20)
    assert not first.is_alive() and not second.is_alive()
    with app.app_context():
        after_both = {
            target.id: (target.state, target.updated_at) for target in db.session.scalars(select(RolloutTarget))
        }
        image = db.session.scalar(select(Release.artifact_id).where(Release.version == "1.1.0"))
        given = Counter(db.session.scalars(select(Deployment.device_id).where(Deployment.artifact_id == image)))
    assert after_both == after_first
    assert {state for state, _ in after_both.values()} == {"succeeded", "updating"}
    assert set(given.values()) == {1}, "each bot was given the image once"


def rollout_lines(app, product_id: str) -> list[str]:  # type: ignore[no-untyped-def]
    """The rollout's lines in the bot's terminal (its room's stored events), in order."""
    with app.app_context():
        found = current_event_log().since(product_id, 0)
    return [event["text"] for event in found if event["type"] == "line" and "rollout" in event]


def test_the_bots_terminal_follows_the_rollout_line_by_line(app, client, classroom):
    name = "spring\x1b[2J\x1b]0;owned\x07 <b>1.2</b>\r\n\tfinal"
    created = create(client, classroom, name=name, groups={"count": 2}, success_threshold=100)
    first, second = (group_of(created.get_json()["rollout"], number) for number in (1, 2))
    rollout_id = created.get_json()["rollout"]["id"]
    client.post(f"/api/rollouts/{rollout_id}/start", headers=classroom["teacher"])
    label = "Rollout 'spring <b>1.2</b> final'"  # terminal commands gone, one line; tags are plain text there
    assert rollout_lines(app, first[0]) == [f"{label} (group 1): the image is offered to the bot"]
    assert rollout_lines(app, second[0]) == []

    update_succeeds(client, classroom, first[0])
    assert pull(client, classroom, first[1]).data == classroom["images"]["1.1.0"]  # the whole image, then:
    update_fails(client, classroom, first[1], "flash write error \x1b[31mred\x1b[0m")
    update_succeeds(client, classroom, first[2])
    sweep(app)
    assert rollout_lines(app, first[0]) == [
        f"{label} (group 1): the image is offered to the bot",
        f"{label} (group 1): bot downloaded the image",
        f"{label} (group 1): bot runs the new image — succeeded",
    ]
    assert rollout_lines(app, first[1]) == [
        f"{label} (group 1): the image is offered to the bot",
        f"{label} (group 1): bot downloaded the image",
        f"{label} (group 1): bot failed — flash write error red",
    ]
    with app.app_context():
        flash = [e["text"] for e in current_event_log().since(first[0], 0) if e.get("stream") == "flash"]
    downloaded = flash.index(f"{label} (group 1): bot downloaded the image")
    with app.app_context():
        failed = [e["text"] for e in current_event_log().since(first[1], 0) if e.get("stream") == "flash"]
    assert "Update failed: flash write error red" in failed  # the bot's own words, as plain text
    assert flash[downloaded - 1] == "Download complete; bot is rebooting into the new firmware"

    # The failed bot is offered the image again; the second group opens by hand.
    client.post(f"/api/rollouts/{rollout_id}/retry", headers=classroom["teacher"])
    assert rollout_lines(app, first[1])[-1] == f"{label} (group 1): the image is offered to the bot"
    client.post(f"/api/rollouts/{rollout_id}/advance", headers=classroom["teacher"])
    assert rollout_lines(app, second[0]) == [f"{label} (group 2): the image is offered to the bot"]


def test_pausing_resuming_and_cancelling_tell_each_waiting_bot_what_it_means(app, client, classroom):
    created = create(client, classroom, name="autumn", groups={"count": 3}).get_json()["rollout"]
    first, second, third = (group_of(created, number) for number in (1, 2, 3))
    url, teacher = f"/api/rollouts/{created['id']}", classroom["teacher"]
    client.post(f"{url}/start", headers=teacher)
    update_succeeds(client, classroom, first[0])
    sweep(app)  # one of two in group 1 runs the image: below the 80 % threshold, group 2 stays closed
    client.post(f"{url}/pause", headers=teacher)
    client.post(f"{url}/resume", headers=teacher)
    client.post(f"{url}/cancel", headers=teacher)

    label = "Rollout 'autumn'"
    assert rollout_lines(app, first[1])[1:] == [
        f"{label} (group 1): rollout paused — paused by hand; the bot still takes the image it was offered",
        f"{label} (group 1): rollout resumed",
        f"{label} (group 1): rollout cancelled — the bot still takes the image it was offered",
    ]
    for product_id in (*second, *third):
        group = 2 if product_id in second else 3
        assert rollout_lines(app, product_id) == [
            f"{label} (group {group}): rollout paused — paused by hand; the bot keeps its firmware for now",
            f"{label} (group {group}): rollout resumed",
            f"{label} (group {group}): rollout cancelled — the bot keeps its firmware",
        ]
    assert not any("paused" in line for line in rollout_lines(app, first[0]))  # done with it: nothing to tell


def test_an_instructor_sees_and_steers_only_rollouts_of_bots_in_their_classes(app, client, classroom, accounts):
    rollout_id = create(client, classroom).get_json()["rollout"]["id"]
    accounts.instructor("other", "12345", classes=("other lab",))  # every password hashes as 12345 here
    other = bearer(accounts.api_token(client, username="other", password="12345"))
    assert client.get("/api/rollouts", headers=other).get_json()["rollouts"] == []
    assert client.get(f"/api/rollouts/{rollout_id}", headers=other).status_code == 404
    assert client.post(f"/api/rollouts/{rollout_id}/start", headers=other).status_code == 404
    assert [r["id"] for r in client.get("/api/rollouts", headers=classroom["teacher"]).get_json()["rollouts"]] == [
        rollout_id
    ]

    # An admin moves a bot to the other teacher's class: the rollout now reaches beyond each teacher's classes.
    accounts.admin(password="12345")
    admin = bearer(accounts.api_token(client, username="admin", password="12345"))
    moved = client.put("/api/devices/bot_00/class", headers=admin, json={"class": "other lab"})
    assert moved.status_code == 200, moved.get_json()
    assert [r["id"] for r in client.get("/api/rollouts", headers=admin).get_json()["rollouts"]] == [rollout_id]
    assert client.get("/api/rollouts", headers=classroom["teacher"]).get_json()["rollouts"] == []
    assert client.get(f"/api/rollouts/{rollout_id}", headers=classroom["teacher"]).status_code == 404
    assert client.get("/api/rollouts", headers=other).get_json()["rollouts"] == []


def rollout_room_messages(app, action, event: str = ROLLOUT_EVENT_NAME) -> list[dict]:  # type: ignore[no-untyped-def]
    """The summaries the rollout rooms were sent while ``action`` ran (read up to a marker published after it)."""
    with app.app_context():
        event_log = current_event_log()
        subscription = event_log.redis.pubsub()
        subscription.subscribe(CHANNEL)
        assert subscription.get_message(timeout=5)["type"] == "subscribe"
        action()
        event_log.redis.publish(CHANNEL, "end of test")
        messages = []
        while (message := subscription.get_message(timeout=5)) is not None and message["data"] != b"end of test":
            if message["type"] == "message":
                messages.append(json.loads(message["data"]))
        subscription.close()
    return [message for message in messages if message["event"] == event]


def test_a_new_rollout_is_told_to_the_fleet_rooms_of_those_who_may_see_it(app, client, classroom):
    created: list[dict] = []
    messages = rollout_room_messages(
        app, lambda: created.append(create(client, classroom).get_json()["rollout"]), ROLLOUT_CREATED_EVENT_NAME
    )
    with app.app_context():
        teacher_id = db.session.scalar(select(User.id).where(User.username == "teacher"))
    told = {message["room"]: message["data"] for message in messages}
    assert told == {
        "fleet:admins": [{"id": created[0]["id"]}],
        f"fleet:instructor:{teacher_id}": [{"id": created[0]["id"]}],
    }
    refused = rollout_room_messages(app, lambda: create(client, classroom), ROLLOUT_CREATED_EVENT_NAME)
    assert refused == []  # the same bots again: 409, nothing created, nothing told


@pytest.mark.parametrize("classroom", [30], indirect=True)
def test_the_firmware_page_gets_one_summary_per_change_however_many_bots_moved(app, client, classroom):
    created = create(client, classroom, groups={"count": 2}, success_threshold=100).get_json()["rollout"]
    url = f"/api/rollouts/{created['id']}"
    [started] = rollout_room_messages(app, lambda: client.post(f"{url}/start", headers=classroom["teacher"]))
    assert started["room"] == f"rollout:{created['id']}" and started["namespace"] == "/ota-update"
    [summary] = started["data"]
    assert (summary["state"], summary["current_group"]) == ("running", 1)
    assert [(g["updating"], g["pending"]) for g in summary["groups"]] == [(15, 0), (0, 15)]

    for product_id in group_of(created, 1):
        update_succeeds(client, classroom, product_id)
    # Fifteen bots succeed and the next group opens in one sweep: one summary, with no bots in it.
    [moved] = rollout_room_messages(app, lambda: sweep(app))
    [summary] = moved["data"]
    assert summary["current_group"] == 2 and "bots" not in summary["groups"][0]
    assert [(g["succeeded"], g["updating"]) for g in summary["groups"]] == [(15, 0), (0, 15)]
    assert rollout_room_messages(app, lambda: sweep(app)) == []  # nothing moved: nothing sent
