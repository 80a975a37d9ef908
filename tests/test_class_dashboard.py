"""The live class dashboard's data: running vs target vs sketch, last compiles, the error map and its normalisation,
the class room's live changes and the bots' bounded sensor series."""

from __future__ import annotations

import hashlib
import json

import pytest
import redis
from sqlalchemy import select

from webide.core.builds.queue import queue_build
from webide.core.builds.status import end_build
from webide.core.deployments import deploy_artifact
from webide.core.errormap import normalise_error
from webide.core.events import CHANNEL, class_room_for, series_keys
from webide.core.firmware.store import APP_IMAGE, artifact_store, publish_artifact
from webide.core.sketches import save_sketch
from webide.extensions import db
from webide.models import Build, BuildStatus, Classroom, Device, utcnow

from .conftest import ESP32_FQBN, bearer
from .ota_support import esp32_image


@pytest.mark.parametrize(
    "message,normalised",
    [
        ("'ledPin' was not declared in this scope", "'…' was not declared in this scope"),
        ("\u2018motor\u2019 was not declared in this scope", "'…' was not declared in this scope"),
        ("expected ';' before '}' token", "expected ';' before '}' token"),
        ("'int' does not name a type", "'int' does not name a type"),
        (
            "no matching function for call to 'Servo::write(int, int)'",
            "no matching function for call to '…'",
        ),
        ("/tmp/build-123/sketch/helper.h: No such file or directory", "helper.h: No such file or directory"),
        ("too many arguments to function 'void f(int)' at 12", "too many arguments to function '…' at N"),
        ("  extra   spaces\there ", "extra spaces here"),
    ],
)
def test_the_same_mistake_with_other_names_is_one_error(message, normalised):
    assert normalise_error(message) == normalised


def test_normalising_a_huge_message_is_bounded():
    text = "'" + "a" * 100_000 + "' " + "x" * 100_000
    assert len(normalise_error(text)) <= 200


@pytest.fixture
def lab(app, client, accounts):  # type: ignore[no-untyped-def]
    """A class of three ESP32 bots and its instructor's token."""
    accounts.instructor("teacher", "teacher pw", classes=("lab",))
    tokens = {
        name: accounts.bot(name, "12345", class_name="lab", fqbn=ESP32_FQBN).device_token
        for name in ("bot_a", "bot_b", "bot_c")
    }
    return accounts.api_token(client, username="teacher", password="teacher pw"), tokens


def device(product_id: str) -> Device:
    return db.session.scalar(select(Device).where(Device.product_id == product_id))


def finished_build(product_id: str, revision: int, error: str | None = None, file: str = "sketch.ino") -> Build:
    bot = device(product_id)
    build = Build(
        device_id=bot.id,
        revision=revision,
        fqbn=bot.fqbn,
        status=BuildStatus.ERROR.value if error else BuildStatus.COMPLETE.value,
        message="Compilation error" if error else "Done",
        diagnostics=(
            [
                {"file": file, "line": 7, "column": 3, "severity": "warning", "message": "unused variable 'x'"},
                {"file": file, "line": 12, "column": 5, "severity": "error", "message": error},
            ]
            if error
            else []
        ),
        finished_at=utcnow(),
    )
    db.session.add(build)
    db.session.flush()
    return build


def test_the_dashboard_shows_running_build_edits_behind_and_last_compiles(app, client, settings, lab):
    token, device_tokens = lab
    with app.app_context():
        image = esp32_image(settings.data_dir.parent / "a.bin", 8192, 3)
        artifact = publish_artifact(
            artifact_store(settings), ESP32_FQBN, {APP_IMAGE: settings.data_dir.parent / "a.bin"}
        )
        build = finished_build("bot_a", 1)
        deploy_artifact(device("bot_a"), artifact, build.id)
        for number in (1, 2):  # two saves after the revision that was built
            save_sketch(device("bot_a"), [{"name": "bot_a.ino", "content": f"// {number}\n"}], number, "save", "bot_a")
        finished_build("bot_b", 1, error="'ledPin' was not declared in this scope")
        finished_build("bot_c", 1, error="'motor' was not declared in this scope", file="helper.cpp")
        db.session.commit()
    beat = {"md5": hashlib.md5(image).hexdigest(), "heap": 150000, "uptime": 30, "rssi": -58, "temperature": 21.5}
    response = client.post("/api/devices/bot_a/heartbeat", headers=bearer(device_tokens["bot_a"]), json=beat)
    assert response.status_code == 200

    data = client.get("/api/classes/lab/dashboard", headers=bearer(token)).get_json()
    bots = {bot["product_id"]: bot for bot in data["bots"]}
    assert data["total"] == 3 and data["online"] == 1 and data["offline_after_s"] == settings.device_offline_s
    bot_a = bots["bot_a"]
    assert bot_a["online"] and bot_a["running_build"] == {"number": 1, "revision": 1}
    assert bot_a["target_build"] == {"number": 1, "revision": 1}
    assert bot_a["head_revision"] == 3 and bot_a["edits_behind"] == 2
    assert bot_a["telemetry"]["rssi"] == -58 and bot_a["sensors"] == {"temperature": 21.5}
    assert bot_a["compile"]["status"] == "clean" and bot_a["board_name"]
    assert bots["bot_b"]["compile"]["error"] == {
        "file": "sketch.ino",
        "line": 12,
        "message": "'ledPin' was not declared in this scope",
        "normalized": "'…' was not declared in this scope",
    }
    assert bots["bot_b"]["edits_behind"] is None and not bots["bot_b"]["online"]

    errors = client.get("/api/classes/lab/errors", headers=bearer(token)).get_json()
    assert errors == {**data["errors"], "success": True, "name": "lab"}
    assert (errors["total"], errors["clean"], errors["failing"], errors["never_compiled"]) == (3, 1, 2, 0)
    [group] = errors["errors"]
    assert group["count"] == 2 and group["message"] == "'…' was not declared in this scope"
    assert {(bot["product_id"], bot["file"], bot["line"]) for bot in group["bots"]} == {
        ("bot_b", "sketch.ino", 12),
        ("bot_c", "helper.cpp", 12),
    }


def test_a_build_stopped_without_diagnostics_shows_what_stopped_it(app, client, lab):
    token, _ = lab
    with app.app_context():
        build = finished_build("bot_a", 1, error="x")
        build.diagnostics = []
        build.message = "Stopped: disk limit exceeded (512 MiB)"
        db.session.commit()
    errors = client.get("/api/classes/lab/errors", headers=bearer(token)).get_json()
    assert errors["errors"][0]["message"] == "Stopped: disk limit exceeded (N MiB)"
    assert errors["errors"][0]["bots"][0]["file"] is None


def class_messages(pubsub: redis.client.PubSub, room: str, wanted: int) -> list[dict]:
    """Class-room messages from the Socket.IO queue channel, until ``wanted`` arrived (or a few seconds pass)."""
    found: list[dict] = []
    for _ in range(200):
        message = pubsub.get_message(timeout=0.05)
        if message and message["type"] == "message":
            envelope = json.loads(message["data"])
            if envelope["room"] == room:
                assert envelope["event"] == "class_event" and envelope["namespace"] == "/ota-update"
                found.append(envelope["data"][0])
        if len(found) >= wanted:
            break
    return found


@pytest.fixture
def lab_room(app, settings, lab):  # type: ignore[no-untyped-def]
    """A subscription to the Socket.IO message queue's channel, and the lab's class room."""
    with app.app_context():
        classroom_id = db.session.scalar(select(Classroom.id).where(Classroom.name == "lab"))
    pubsub = redis.Redis.from_url(settings.redis_url).pubsub()
    pubsub.subscribe(CHANNEL)
    pubsub.get_message(timeout=1)  # the subscription's confirmation
    yield pubsub, class_room_for(classroom_id)
    pubsub.close()


def test_heartbeats_compiles_and_saves_reach_the_class_room(app, client, lab, lab_room):
    _, device_tokens = lab
    pubsub, room = lab_room
    body = {"heap": 1000, "rssi": -70, "uptime": 5, "light": 300}
    assert (
        client.post("/api/devices/bot_b/heartbeat", headers=bearer(device_tokens["bot_b"]), json=body).status_code
        == 200
    )
    with app.app_context():
        build = finished_build("bot_c", 1)
        build.status, build.finished_at = BuildStatus.IN_PROGRESS.value, None
        end_build(build, BuildStatus.ERROR.value, "Compilation error")
        save_sketch(device("bot_c"), [{"name": "bot_c.ino", "content": "// new\n"}], 1, "save", "bot_c")
        db.session.commit()
    heartbeat, compiled, revision = class_messages(pubsub, room, 3)
    assert heartbeat["type"] == "heartbeat" and heartbeat["product_id"] == "bot_b"
    assert heartbeat["values"] == {"heap": 1000, "uptime": 5, "rssi": -70, "light": 300}
    assert heartbeat["telemetry"]["rssi"] == -70 and isinstance(heartbeat["ts"], int)
    assert compiled["type"] == "compile" and compiled["compile"]["status"] == "error"
    assert revision == {"product_id": "bot_c", "type": "revision", "head_revision": 2, "ts": revision["ts"]}


def test_a_build_shows_as_queued_then_compiling_until_its_result(app, client, lab, lab_room):
    token, _ = lab
    pubsub, room = lab_room

    def row(product_id: str) -> dict:
        bots = client.get("/api/classes/lab/dashboard", headers=bearer(token)).get_json()["bots"]
        return next(bot for bot in bots if bot["product_id"] == product_id)

    with app.app_context():
        build = queue_build(device("bot_a"), 1, ESP32_FQBN, True, "teacher")
        db.session.commit()
        update_id = build.id
    [queued] = class_messages(pubsub, room, 1)
    assert queued["type"] == "build" and queued["product_id"] == "bot_a"
    assert queued["build"] == {"update_id": update_id, "status": "pending", "deploy": True, "message": "Queued"}
    assert row("bot_a")["building"] == queued["build"] and row("bot_b")["building"] is None

    with app.app_context():
        build = db.session.get(Build, update_id)
        build.status, build.message = BuildStatus.IN_PROGRESS.value, "Compiling…"
        db.session.commit()
        assert row("bot_a")["building"]["status"] == "in_progress"
        end_build(build, BuildStatus.COMPLETE.value, "Done")
        db.session.commit()
    [compiled] = class_messages(pubsub, room, 1)  # the end is the compile, not a build
    assert compiled["type"] == "compile" and compiled["compile"]["update_id"] == update_id
    assert row("bot_a")["building"] is None and row("bot_a")["compile"]["status"] == "clean"


def test_a_rolled_back_change_is_never_announced(app, settings, lab):
    pubsub = redis.Redis.from_url(settings.redis_url).pubsub()
    pubsub.subscribe(CHANNEL)
    pubsub.get_message(timeout=1)
    with app.app_context():
        save_sketch(device("bot_a"), [{"name": "bot_a.ino", "content": "// gone\n"}], 1, "save", "bot_a")
        db.session.rollback()
    assert not class_messages(pubsub, "class:1", 1)


@pytest.fixture
def small_series(settings):  # type: ignore[no-untyped-def]
    return settings.with_overrides(sensor_max_samples=5, sensor_max_bytes=1024, sensor_retention_s=600)


@pytest.fixture
def bounded_app(small_series):  # type: ignore[no-untyped-def]
    from webide import create_app
    from webide.database import migrate_database

    application = create_app(small_series)
    application.config["TESTING"] = True
    migrate_database(application)
    yield application
    with application.app_context():
        db.engine.dispose()


def test_sensor_series_are_bounded_in_samples_bytes_and_age(bounded_app, small_series):
    from .conftest import Accounts

    client = bounded_app.test_client()
    accounts = Accounts(bounded_app)
    accounts.instructor("teacher", "teacher pw", classes=("lab",))
    token = accounts.bot("bot_s", "12345", class_name="lab", fqbn=ESP32_FQBN).device_token
    staff = accounts.api_token(client, username="teacher", password="teacher pw")
    for n in range(8):
        beat = {"heap": 1000 + n, "rssi": -50, "temperature": n}
        assert client.post("/api/devices/bot_s/heartbeat", headers=bearer(token), json=beat).status_code == 200
    reply = client.get("/api/classes/lab/series", headers=bearer(staff)).get_json()
    samples = reply["series"]["bot_s"]
    assert reply["available"] and reply["retention_s"] == 600
    assert [sample["values"]["temperature"] for sample in samples] == [3, 4, 5, 6, 7]  # the newest 5 of 8

    wide = {f"sensor_{n:02d}": 123456.789 + n for n in range(30)}  # ~900 bytes a sample: one fits in 1 KiB
    for _ in range(3):
        assert client.post("/api/devices/bot_s/heartbeat", headers=bearer(token), json=wide).status_code == 200
    store = redis.Redis.from_url(small_series.redis_url)
    series_key, bytes_key = series_keys("bot_s")
    assert store.llen(series_key) == 1 and int(store.get(bytes_key)) <= 1024
    assert 0 < store.ttl(series_key) <= 600

    store.lpush(series_key, json.dumps({"ts": 1000, "values": {"heap": 1}}))  # a sample from 1970: too old
    newest = client.get("/api/classes/lab/series?newest=2", headers=bearer(staff)).get_json()["series"]["bot_s"]
    assert len(newest) == 1 and "sensor_00" in newest[0]["values"]


@pytest.mark.parametrize("newest", ["0", "5001", "x"])
def test_series_queries_out_of_range_are_400(client, lab, newest):
    token, _ = lab
    assert client.get(f"/api/classes/lab/series?newest={newest}", headers=bearer(token)).status_code == 400


def test_the_device_path_and_the_series_without_redis(tmp_path, settings):
    """Redis unreachable: heartbeats still answer (the sample is dropped), the series say they are unavailable."""
    from webide import create_app
    from webide.database import migrate_database

    from .conftest import Accounts

    down = settings.with_overrides(redis_url="redis://127.0.0.1:9/0")
    application = create_app(down)
    application.config["TESTING"] = True
    migrate_database(application)
    client = application.test_client()
    accounts = Accounts(application)
    accounts.instructor("teacher", "teacher pw", classes=("lab",))
    token = accounts.bot("bot_d", "12345", class_name="lab", fqbn=ESP32_FQBN).device_token
    response = client.post("/api/devices/bot_d/heartbeat", headers=bearer(token), json={"heap": 5, "light": 1})
    assert response.status_code == 200
    staff = accounts.api_token(client, username="teacher", password="teacher pw")
    reply = client.get("/api/classes/lab/series", headers=bearer(staff)).get_json()
    assert reply["available"] is False and reply["series"] == {"bot_d": []}
    dashboard = client.get("/api/classes/lab/dashboard", headers=bearer(staff)).get_json()
    assert dashboard["bots"][0]["online"] and dashboard["bots"][0]["sensors"] == {"light": 1}
    with application.app_context():
        db.engine.dispose()


def test_the_page_is_for_the_class_staff_only(client, accounts, lab):
    accounts.instructor("other", "other pw", classes=("other-class",))
    assert accounts.browser_login(client, "teacher", "teacher pw", mode="user").status_code == 302
    page = client.get("/classes/lab/dashboard")
    assert page.status_code == 200 and b"dist/dashboard.js" in page.data and b"Class lab" in page.data
    other = client.application.test_client()
    accounts.browser_login(other, "other", "other pw", mode="user")
    assert other.get("/classes/lab/dashboard").status_code == 404


DASHBOARD_URLS = (
    "/api/classes/lab/dashboard",
    "/api/classes/lab/errors",
    "/api/classes/lab/series",
    "/classes/lab/dashboard",
)


def test_an_admin_sees_every_class_dashboard_and_a_bot_none(client, accounts, lab):
    accounts.admin("root", "root pw")
    admin = accounts.api_token(client, username="root", password="root pw")
    bot = accounts.api_token(client, product_id="bot_a", password="12345")
    for url in DASHBOARD_URLS:
        assert client.get(url, headers=bearer(admin)).status_code == 200, url
        assert client.get(url, headers=bearer(bot)).status_code == 404, url
    assert client.get("/api/dashboard", headers=bearer(bot)).status_code == 403
