"""/healthz, /readyz and /metrics: what they report, who may read them, and that the counts are true."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from webide import create_app
from webide.core.builds.status import COMPLETE, ERROR, end_build
from webide.database import migrate_database
from webide.extensions import db
from webide.models import Build, Device, utcnow

from .conftest import AVR_FQBN
from .live import ApiClient
from .ota_support import ESP32_FQBN, deploy_image


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """Every sample of an exposition, keyed by name and labels."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def scrape(client, **labels_of: str) -> dict[tuple[str, frozenset], float]:  # type: ignore[no-untyped-def]
    response = client.get("/metrics")
    assert response.status_code == 200, response.data
    assert response.content_type.startswith("text/plain")
    return samples(response.get_data(as_text=True))


def value(found: dict, name: str, **labels: str) -> float:
    return found.get((name, frozenset(labels.items())), 0.0)


def test_healthz_answers_without_looking_at_anything(settings):
    app = create_app(
        settings.with_overrides(redis_url="redis://127.0.0.1:1/0", database_url="sqlite:////nonexistent/x")
    )
    response = app.test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"success": True, "status": "ok"}


def test_readyz_says_ready_when_database_redis_and_toolchain_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {
        "success": True,
        "ready": True,
        "checks": {"database": "ok", "redis": "ok", "toolchain": "ok"},
    }


@pytest.mark.parametrize(
    "overrides,failing",
    [
        ({"redis_url": "redis://127.0.0.1:1/0"}, "redis"),
        ({"database_url": "sqlite:////nonexistent-folder/webide.sqlite3"}, "database"),
        ({"arduino_builder": "/nonexistent/arduino-builder"}, "toolchain"),
    ],
)
def test_readyz_is_503_naming_what_is_missing(settings, overrides, failing):
    app = create_app(settings.with_overrides(**overrides))
    if failing != "database":
        migrate_database(app)
    response = app.test_client().get("/readyz")
    body = response.get_json()
    assert response.status_code == 503, body
    assert body["success"] is False and body["error"].startswith("Not ready: " + failing + ":")
    assert [name for name, verdict in body["checks"].items() if verdict != "ok"] == [failing]


def test_metrics_only_for_loopback_clients_not_behind_a_proxy_without_a_token(client):
    assert client.get("/metrics").status_code == 200
    from_lan = client.get("/metrics", environ_base={"REMOTE_ADDR": "192.168.1.20"})
    assert from_lan.status_code == 403 and "WEBIDE_METRICS_TOKEN" in from_lan.get_json()["error"]
    assert client.get("/metrics", headers={"X-Forwarded-For": "192.168.1.20"}).status_code == 403


def test_metrics_token_is_required_once_set(settings):
    app = create_app(settings.with_overrides(metrics_token="s3cret-scrape-token"))
    migrate_database(app)
    client = app.test_client()
    lan = {"REMOTE_ADDR": "10.1.2.3"}
    assert client.get("/metrics").status_code == 401  # loopback alone is not enough any more
    assert client.get("/metrics", environ_base=lan, headers={"Authorization": "Bearer wrong"}).status_code == 401
    allowed = client.get("/metrics", environ_base=lan, headers={"Authorization": "Bearer s3cret-scrape-token"})
    assert allowed.status_code == 200
    assert b"webide_bots_online" in allowed.data


def test_metrics_still_answer_without_redis_and_say_the_build_counters_are_missing(settings):
    app = create_app(settings.with_overrides(redis_url="redis://127.0.0.1:1/0"))
    migrate_database(app)
    found = scrape(app.test_client())
    assert value(found, "webide_metrics_redis_up") == 0
    assert ("webide_bots", frozenset()) in found
    assert not any(name == "webide_builds_total" for name, _labels in found)


def finish_build(app, product_id: str, status: str, seconds: float, cache_hit: bool = False, commit: bool = True):  # type: ignore[no-untyped-def]
    with app.app_context():
        device = db.session.scalar(select(Device).where(Device.product_id == product_id))
        build = Build(device_id=device.id, revision=1, fqbn=device.fqbn, status="in_progress", cache_hit=cache_hit)
        build.started_at = utcnow() - timedelta(seconds=seconds)
        db.session.add(build)
        db.session.commit()
        db.session.expire_all()  # read back as a worker does (SQLite returns times without their zone)
        end_build(db.session.get_one(Build, build.id), status, "done")
        if commit:
            db.session.commit()
        else:
            db.session.rollback()


def test_finished_builds_are_counted_by_outcome_board_and_cache_once_committed(app, client, accounts):
    accounts.bot("bot_m1", "12345")
    finish_build(app, "bot_m1", COMPLETE, 0.2)
    finish_build(app, "bot_m1", COMPLETE, 0.1, cache_hit=True)
    finish_build(app, "bot_m1", ERROR, 3.0)
    finish_build(app, "bot_m1", ERROR, 3.0, commit=False)  # rolled back: never happened
    found = scrape(client)
    assert value(found, "webide_metrics_redis_up") == 1
    assert value(found, "webide_builds_total", outcome="complete", board=AVR_FQBN, cache="miss") == 1
    assert value(found, "webide_builds_total", outcome="complete", board=AVR_FQBN, cache="hit") == 1
    assert value(found, "webide_builds_total", outcome="error", board=AVR_FQBN, cache="miss") == 1
    assert value(found, "webide_build_duration_seconds_count", board=AVR_FQBN) == 3
    assert value(found, "webide_build_duration_seconds_bucket", board=AVR_FQBN, le="0.25") == 2
    assert value(found, "webide_build_duration_seconds_bucket", board=AVR_FQBN, le="2.5") == 2
    assert value(found, "webide_build_duration_seconds_bucket", board=AVR_FQBN, le="5.0") == 3
    assert value(found, "webide_build_duration_seconds_sum", board=AVR_FQBN) == pytest.approx(3.3, abs=0.05)


def test_queue_and_bots_online_are_read_from_the_database(app, client, accounts):
    for name in ("bot_q1", "bot_q2", "bot_q3"):
        accounts.bot(name, "12345")
    with app.app_context():
        devices = db.session.scalars(select(Device).order_by(Device.product_id)).all()
        devices[0].last_seen_at = utcnow()
        devices[1].last_seen_at = utcnow() - timedelta(hours=1)
        db.session.add_all(
            [
                Build(device_id=devices[0].id, revision=1, fqbn=AVR_FQBN, status="pending"),
                Build(device_id=devices[1].id, revision=1, fqbn=AVR_FQBN, status="pending"),
                Build(device_id=devices[2].id, revision=1, fqbn=AVR_FQBN, status="in_progress"),
            ]
        )
        db.session.commit()
    found = scrape(client)
    assert value(found, "webide_builds_waiting", state="queued") == 2
    assert value(found, "webide_builds_waiting", state="running") == 1
    assert value(found, "webide_bots_online") == 1
    assert value(found, "webide_bots") == 3


def test_downloads_bytes_and_login_failures_are_counted(app, client, accounts):
    bot = accounts.bot("bot_dl", "12345", fqbn=ESP32_FQBN)
    firmware = deploy_image(app, "bot_dl", size=40 * 1024, seed=7)
    before = scrape(client)
    auth = {"Authorization": f"Bearer {bot.device_token}"}
    whole = client.get("/bot_dl.ino.bin", headers=auth)
    assert whole.status_code == 200 and whole.data == firmware.data
    part = client.get("/bot_dl.ino.bin", headers={**auth, "Range": "bytes=0-99"})
    assert part.status_code == 206 and part.data == firmware.data[:100]
    same = client.get("/bot_dl.ino.bin", headers={**auth, "x-ESP32-sketch-md5": firmware.md5})
    assert same.status_code == 304
    assert client.post("/api/auth/login", json={"product_id": "bot_dl", "password": "wrong"}).status_code == 401
    after = scrape(client)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("webide_firmware_downloads_total", answer="full") == 1
    assert grew("webide_firmware_downloads_total", answer="partial") == 1
    assert grew("webide_firmware_bytes_total") == len(firmware.data) + 100
    assert grew("webide_firmware_not_modified_total") == 1
    assert grew("webide_login_failures_total", kind="device", reason="rejected") == 1
    text = client.get("/metrics").get_data(as_text=True)
    assert "bot_dl" not in text, "metrics never name a bot or a person"


def test_favicon_is_served_at_its_customary_name_too(client):
    with client.get("/favicon.ico") as response, client.get("/static/favicon.svg") as linked:
        assert response.status_code == 200 and response.content_type.startswith("image/svg+xml")
        assert response.data == linked.data and response.data.startswith(b"<svg")


def test_builds_on_a_real_worker_reach_the_metrics_of_the_web_server(accounts, live_service):
    """Across processes: the Celery worker counts the build in Redis, the separate web server reports it."""
    accounts.bot("bot_live", "12345")
    api = ApiClient(live_service.base_url, product_id="bot_live", password="12345")
    blink = [{"name": "bot_live.ino", "content": "void setup() { pinMode(13, OUTPUT); }\nvoid loop() {}\n"}]
    good = api.wait(api.submit("bot_live", files=blink))
    bad = api.wait(api.submit("bot_live", files=[{"name": "bot_live.ino", "content": "void setup() { oops }\n"}]))
    assert (good["status"], bad["status"]) == ("complete", "error")
    found = samples(requests.get(live_service.base_url + "/metrics", timeout=10).text)
    assert value(found, "webide_builds_total", outcome="complete", board=AVR_FQBN, cache="miss") == 1
    assert value(found, "webide_builds_total", outcome="error", board=AVR_FQBN, cache="miss") == 1
    assert value(found, "webide_build_duration_seconds_count", board=AVR_FQBN) == 2
    assert value(found, "webide_builds_waiting", state="queued") == 0
