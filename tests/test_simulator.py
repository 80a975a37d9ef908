"""The device simulator against the real service (gunicorn + eventlet, Celery worker, Redis), and against a server
that lies, to show the simulator checks what the stock HTTPUpdate client checks."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from itertools import count

import pytest
import redis
from sqlalchemy import select

from webide import create_app
from webide.config import Settings
from webide.core.registry import create_device
from webide.database import migrate_database
from webide.extensions import db
from webide.models import Device
from webide.simulator import SimulatedBot, factory_image, http_exchange

from .conftest import ESP32_FQBN, ROOT, live_processes, service_env, traversable
from .live import ApiClient, RoomListener
from .ota_support import (
    deploy_image,
    device_row,
    flash_state,
    flash_states,
    private_nginx,
)

pytestmark = pytest.mark.slow
_numbers = count(1)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator:
    """One live service for the module; each test makes its own bots."""
    folder = tmp_path_factory.mktemp("simulator")
    url = redis_url.rsplit("/", 1)[0] + "/3"
    redis.Redis.from_url(url).flushdb()
    settings = Settings(data_dir=folder / "instance", redis_url=url, async_mode="threading", default_fqbn=ESP32_FQBN)
    app = create_app(settings)
    migrate_database(app)
    with live_processes(settings, folder) as live:
        live.app = app
        yield live


def new_bot(service, **options) -> SimulatedBot:  # type: ignore[no-untyped-def]
    product_id = f"sim_{next(_numbers):03d}"
    with service.app.app_context():
        token = create_device(product_id, "12345", "", ESP32_FQBN, None).device_token
        db.session.commit()
    return SimulatedBot(service.base_url, product_id, token, say=lambda _line: None, **options)


def test_button_press_pulls_verifies_reboots_and_the_room_sees_every_state(service):
    bot = new_bot(service)
    listener = RoomListener(
        service.base_url, ApiClient(service.base_url, product_id=bot.product_id, password="12345").token, bot.product_id
    )
    try:
        assert bot.heartbeat().status == 200
        firmware = deploy_image(service.app, bot.product_id, size=300 * 1024, seed=21)
        outcome = bot.press_button()
        assert outcome.result == "updated", outcome.detail
        assert bot.running == firmware.data and bot.running_md5 == firmware.md5
        assert bot.pull().detail == "304 Not Modified"
        assert bot.check().json()["updateAvailable"] is False
        assert flash_state(service.app, bot.product_id)[0] == "running"
        expected = ["waiting_for_button", "downloading", "rebooting", "running"]
        listener.wait_for(lambda events: [e["state"] for e in events if e["type"] == "flash"][-1:] == ["running"])
        seen: list[str] = []
        for event in listener.events:
            if event["type"] == "flash" and (not seen or seen[-1] != event["state"]):
                seen.append(event["state"])
        assert seen == expected
        assert flash_states(service.settings.redis_url, bot.product_id) == expected
        assert "Bot is running the new firmware" in listener.lines()
    finally:
        listener.close()


def test_dropped_download_resumes_with_range_to_an_identical_image(service):
    bot = new_bot(service)
    firmware = deploy_image(service.app, bot.product_id, size=200 * 1024, seed=22)
    first = bot.press_button(drop_after=70_000)
    assert first.result == "interrupted"
    resumed = bot.pull()
    assert resumed.result == "updated"
    assert bot.last_status == 206
    assert bot.running == firmware.data


def test_target_replaced_during_a_dropped_download_restarts_cleanly(service):
    bot = new_bot(service)
    deploy_image(service.app, bot.product_id, size=120 * 1024, seed=23)
    assert bot.press_button(drop_after=50_000).result == "interrupted"
    replacement = deploy_image(service.app, bot.product_id, size=90 * 1024, seed=24)
    assert bot.pull().result == "updated"
    assert bot.last_status == 200
    assert bot.running == replacement.data


def test_too_little_free_space_fails_clearly(service):
    bot = new_bot(service, free_space=50_000)
    deploy_image(service.app, bot.product_id, size=60 * 1024, seed=25)
    outcome = bot.press_button()
    assert outcome.result == "failed" and "HTTP 409" in outcome.detail and "free sketch space" in outcome.detail
    assert bot.running == factory_image(bot.product_id)
    state, _, message = flash_state(service.app, bot.product_id)
    assert state == "failed" and "free sketch space" in message


def test_new_firmware_failing_on_probation_is_reported_as_rolled_back(service):
    bot = new_bot(service, reject_new_firmware=True)
    deploy_image(service.app, bot.product_id, size=40 * 1024, seed=26)
    assert bot.press_button().detail == "rolled back"
    assert bot.running == factory_image(bot.product_id)
    state, _, message = flash_state(service.app, bot.product_id)
    assert state == "rolled_back" and "rolled back" in message
    assert device_row(service.app, bot.product_id)["running_md5"] == hashlib.md5(bot.running).hexdigest()


def test_basic_credentials_like_the_2x_core(service):
    bot = new_bot(service, auth="basic")
    firmware = deploy_image(service.app, bot.product_id, size=30 * 1024, seed=27)
    assert bot.press_button().result == "updated"
    assert bot.running == firmware.data


def test_cli_simulates_a_class_from_a_roster(service, tmp_path):
    bots = [new_bot(service) for _ in range(3)]
    images = {
        bot.product_id: deploy_image(service.app, bot.product_id, size=50 * 1024, seed=30 + n)
        for n, bot in enumerate(bots)
    }
    roster = tmp_path / "bots.json"
    roster.write_text(json.dumps([{"product_id": b.product_id, "device_token": b.token} for b in bots]))
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "webide.cli",
            "device",
            "simulate",
            "--roster",
            str(roster),
            "--count",
            "3",
            "--server",
            service.base_url,
            "--presses",
            "2",
            "--interval",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=service_env(service.settings),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "simulated 3 bot(s): 3 succeeded" in result.stdout
    for bot in bots:
        assert f"[{bot.product_id}] pull -> 200" in result.stdout
        assert f"[{bot.product_id}] pull -> 304" not in result.stdout  # the second press reads the manifest only
        assert result.stdout.count(f"[{bot.product_id}] button pressed") == 2
        assert device_row(service.app, bot.product_id)["running_md5"] == images[bot.product_id].md5
        assert flash_state(service.app, bot.product_id)[0] == "running"


def test_cli_refuses_count_without_a_roster(service):
    result = subprocess.run(
        [sys.executable, "-m", "webide.cli", "device", "simulate", "bot", "--token", "t", "--count", "2"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=service_env(service.settings),
    )
    assert result.returncode != 0 and "--roster" in result.stderr


class LyingServer:
    """A tiny real HTTP server that serves whatever firmware reply a test sets, and accepts any report."""

    def __init__(self) -> None:
        self.reply: tuple[int, dict[str, str], bytes] = (304, {}, b"")
        self.reports: list[dict] = []
        self.requests: list[dict[str, str]] = []
        self.heartbeat_answers: list[int] = []  # statuses for the next heartbeats; 200 once used up
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append({"request_version": self.request_version, **dict(self.headers)})
                status, headers, body = outer.reply
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                outer.reports.append(json.loads(self.rfile.read(length)))
                answers = outer.heartbeat_answers if self.path.endswith("/heartbeat") else []
                status = answers.pop(0) if answers else 200
                payload = b'{"success": true}' if status == 200 else b'{"success": false, "error": "busy"}'
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def liar() -> Iterator[LyingServer]:
    server = LyingServer()
    yield server
    server.close()


IMAGE = bytes([0xE9]) + bytes(range(256)) * 40


@pytest.mark.parametrize(
    "case,headers,body,reason",
    [
        ("wrong md5", {"Content-Length": str(len(IMAGE)), "x-MD5": "0" * 32}, IMAGE, "Wrong MD5"),
        ("no length", {"x-MD5": hashlib.md5(IMAGE).hexdigest()}, IMAGE, "Server Did Not Report Size"),
        (
            "bad magic",
            {"Content-Length": str(len(IMAGE)), "x-MD5": hashlib.md5(b"\x00" + IMAGE[1:]).hexdigest()},
            b"\x00" + IMAGE[1:],
            "Verify Bin Header Failed",
        ),
        ("too big", {"Content-Length": str(10**7)}, b"", "Not Enough space"),
    ],
)
def test_simulator_checks_what_the_stock_client_checks(liar, case, headers, body, reason):
    liar.reply = (200, headers, body)
    bot = SimulatedBot(liar.url, "bot_liar", "token", say=lambda _line: None)
    outcome = bot.pull()
    assert (outcome.result, outcome.detail) == ("failed", reason), case
    assert bot.running == factory_image("bot_liar")
    assert liar.reports[-1] == {"status": "FAILED", "progress": 0, "message": reason}


def test_simulator_sends_the_stock_http_update_request(liar):
    bot = SimulatedBot(liar.url, "bot_liar", "token", say=lambda _line: None)
    assert bot.pull().result == "no_update"
    sent = {name.lower(): value for name, value in liar.requests[-1].items()}
    assert sent["request_version"] == "HTTP/1.0"
    assert sent["user-agent"] == "ESP32-http-Update"
    assert sent["x-esp32-mode"] == "sketch"
    assert sent["x-esp32-sketch-md5"] == hashlib.md5(factory_image("bot_liar")).hexdigest()
    assert sent["x-esp32-free-space"] == str(bot.free_space)
    for name in (
        "x-esp32-sta-mac",
        "x-esp32-ap-mac",
        "x-esp32-base-mac",
        "x-esp32-sketch-size",
        "x-esp32-chip-size",
        "x-esp32-sdk-version",
        "x-esp32-version",
        "cache-control",
    ):
        assert sent[name], name
    assert sent["authorization"] == "Bearer token"


def serve_image(liar: LyingServer) -> None:
    liar.reply = (200, {"Content-Length": str(len(IMAGE)), "x-MD5": hashlib.md5(IMAGE).hexdigest()}, IMAGE)


def heartbeats(liar: LyingServer) -> list[dict]:
    return [report for report in liar.reports if "uptime" in report]


def test_new_firmware_stays_on_probation_until_the_server_accepts_a_heartbeat(liar):
    serve_image(liar)
    liar.heartbeat_answers = [503, 503]
    bot = SimulatedBot(liar.url, "bot_liar", "token", say=lambda _line: None, probation_heartbeat_s=0.01)
    outcome = bot.pull()
    assert outcome.result == "updated", outcome
    assert bot.running == IMAGE
    assert [report["md5"] for report in heartbeats(liar)] == [hashlib.md5(IMAGE).hexdigest()] * 3
    assert not any(report.get("status") == "FAILED" for report in liar.reports)


def test_new_firmware_the_server_never_confirms_is_rolled_back_and_reported(liar):
    serve_image(liar)
    liar.heartbeat_answers = [503] * 1000
    bot = SimulatedBot(
        liar.url, "bot_liar", "token", say=lambda _line: None, confirm_window_s=0.2, probation_heartbeat_s=0.02
    )
    outcome = bot.pull()
    assert (outcome.result, outcome.detail) == ("failed", "rolled back")
    assert bot.running == factory_image("bot_liar") and bot.firmware_version == "bootstrap"
    failed = [report for report in liar.reports if report.get("status") == "FAILED"]
    assert len(failed) == 1 and "rolled back" in failed[0]["message"]
    on_probation, after = heartbeats(liar)[:-1], heartbeats(liar)[-1]
    assert on_probation and all(report["md5"] == hashlib.md5(IMAGE).hexdigest() for report in on_probation)
    assert after["rolled_back"] is True and after["md5"] == hashlib.md5(factory_image("bot_liar")).hexdigest()


def test_device_row_untouched_by_simulator_against_wrong_server(service):
    bot = new_bot(service)
    bot.token = "not-the-token"
    assert bot.heartbeat().status == 401
    with service.app.app_context():
        device = db.session.scalar(select(Device).where(Device.product_id == bot.product_id))
        assert device.last_seen_at is None


NGINX_IN_FRONT = """
location /internal-firmware/ {{
    internal;
    alias {artifacts}/;
    add_header x-MD5 $upstream_http_x_md5 always;
}}
location / {{
    proxy_pass {app};
    proxy_set_header Host $http_host;
}}
"""


def test_nginx_in_front_serves_the_bytes_through_x_accel_redirect(tmp_path, redis_url):
    """The production setup from the README: the app authenticates and answers 304s, nginx sends the image."""
    folder = traversable(tmp_path)
    url = redis_url.rsplit("/", 1)[0] + "/4"
    redis.Redis.from_url(url).flushdb()
    settings = Settings(
        data_dir=folder / "instance",
        redis_url=url,
        async_mode="threading",
        default_fqbn=ESP32_FQBN,
        x_accel_redirect_prefix="/internal-firmware",
    )
    app = create_app(settings)
    migrate_database(app)
    with app.app_context():
        token = create_device("bot_ngx", "12345", "", ESP32_FQBN, None).device_token
        db.session.commit()
    firmware = deploy_image(app, "bot_ngx", size=150 * 1024, seed=40)
    with (
        live_processes(settings, folder, WEBIDE_X_ACCEL_REDIRECT_PREFIX="/internal-firmware") as live,
        private_nginx(NGINX_IN_FRONT.format(artifacts=settings.artifacts_dir.resolve(), app=live.base_url)) as front,
    ):
        bot = SimulatedBot(front, "bot_ngx", token, say=lambda _line: None)
        assert bot.press_button(drop_after=60_000).result == "interrupted"
        assert bot.pull().result == "updated"
        assert bot.last_status == 206
        assert bot.running == firmware.data
        assert bot.pull().result == "no_update"
        stranger = SimulatedBot(front, "bot_ngx", "wrong-token", say=lambda _line: None)
        assert stranger.pull().detail.startswith("HTTP 401")
        assert http_exchange(front, "GET", "/internal-firmware/", {}).status == 404
        direct = http_exchange(front, "GET", "/bot_ngx.ino.bin", {"Authorization": f"Bearer {token}"})
        assert (direct.status, direct.headers["x-md5"], direct.body) == (200, firmware.md5, firmware.data)
        assert direct.headers["content-length"] == str(firmware.size) and "x-accel-redirect" not in direct.headers
    assert flash_state(app, "bot_ngx")[0] == "running"


def test_failure_modes_draw_each_fate_at_its_rate():
    from webide.simulator import FailureModes

    fates = FailureModes(fail_rate=0.1, silent_rate=0.2, rollback_rate=0.05, seed=7).fates(2000)
    shares = {fate: fates.count(fate) / len(fates) for fate in ("fail", "silent", "rollback", "ok")}
    assert abs(shares["fail"] - 0.1) < 0.03 and abs(shares["silent"] - 0.2) < 0.03
    assert abs(shares["rollback"] - 0.05) < 0.02 and abs(shares["ok"] - 0.65) < 0.04
    assert FailureModes(seed=7).fates(5) == ["ok"] * 5
    assert FailureModes(0.5, 0.5, seed=3).fates(100) == FailureModes(0.5, 0.5, seed=3).fates(100)


@pytest.mark.parametrize("rates", [(1.5, 0, 0), (0.5, 0.4, 0.2), (-0.1, 0, 0)])
def test_impossible_failure_rates_are_refused(rates):
    from webide.simulator import FailureModes

    with pytest.raises(ValueError, match="failure rates"):
        FailureModes(*rates)
