"""The device pull path: static firmware URL, manifest, status reports — HTTPUpdate semantics, auth, ranges."""

from __future__ import annotations

import base64
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from webide import create_app
from webide.core.deployments import deploy_artifact
from webide.database import migrate_database
from webide.extensions import db
from webide.models import Device
from webide.runner import free_port

from .conftest import ESP32_FQBN, Accounts, bearer
from .ota_support import (
    deploy_image,
    device_row,
    flash_state,
    flash_states,
    logged_events,
)

STOCK_HEADERS = {"User-Agent": "ESP32-http-Update", "x-ESP32-mode": "sketch", "x-ESP32-free-space": "1310720"}


@pytest.fixture
def bots(accounts):  # type: ignore[no-untyped-def]
    """Two ESP32 bots; returns their device tokens."""
    return {pid: accounts.bot(pid, "12345", fqbn=ESP32_FQBN).device_token for pid in ("bot_a", "bot_b")}


@pytest.fixture
def firmware(app, bots):  # type: ignore[no-untyped-def]
    return deploy_image(app, "bot_a", size=96 * 1024, seed=7)


def basic(user: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def signed_path(client, token: str) -> str:  # type: ignore[no-untyped-def]
    url = client.get("/api/ota/bot_a/check", headers=bearer(token)).get_json()["url"]
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def block(app, product_id: str) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        db.session.scalar(select(Device).where(Device.product_id == product_id)).blocked = True
        db.session.commit()


class TestAuthentication:
    def test_bearer_and_basic_tokens_get_the_image(self, client, bots, firmware):
        for headers in (bearer(bots["bot_a"]), basic("bot_a", bots["bot_a"])):
            response = client.get("/bot_a.ino.bin", headers={**STOCK_HEADERS, **headers})
            assert response.status_code == 200
            assert response.data == firmware.data

    @pytest.mark.parametrize(
        "case",
        [
            "none",
            "wrong token",
            "other bot's token",
            "unknown bot",
            "basic for another bot",
            "api login token",
            "garbage scheme",
        ],
    )
    def test_refusals_are_401_and_do_not_tell_whether_the_bot_exists(self, client, accounts, bots, firmware, case):
        headers = {
            "none": {},
            "wrong token": bearer("x" * 43),
            "other bot's token": bearer(bots["bot_b"]),
            "unknown bot": bearer(bots["bot_a"]),
            "basic for another bot": basic("bot_b", bots["bot_a"]),
            "api login token": bearer(accounts.api_token(client, product_id="bot_a", password="12345")),
            "garbage scheme": {"Authorization": "Token " + bots["bot_a"]},
        }[case]
        path = "/no_such_bot.ino.bin" if case == "unknown bot" else "/bot_a.ino.bin"
        response = client.get(path, headers={**STOCK_HEADERS, **headers})
        reference = client.get("/no_such_bot.ino.bin", headers=bearer("x" * 43))
        assert response.status_code == 401
        assert response.get_json() == reference.get_json()
        assert response.headers["WWW-Authenticate"].startswith("Basic")
        assert firmware.data not in response.data

    @pytest.mark.parametrize("path", ["/api/ota/{pid}/check", "/api/ota/{pid}/status", "/api/devices/{pid}/heartbeat"])
    def test_every_device_endpoint_needs_the_bots_own_token(self, client, bots, path):
        for pid, headers in (("bot_a", {}), ("bot_a", bearer(bots["bot_b"])), ("ghost", bearer(bots["bot_a"]))):
            url = path.format(pid=pid)
            response = (
                client.get(url, headers=headers)
                if url.endswith("check")
                else client.post(url, headers=headers, json={"status": "STARTED"})
            )
            assert response.status_code == 401, url

    def test_blocked_bot_is_refused_with_403(self, app, client, bots, firmware):
        block(app, "bot_a")
        response = client.get("/bot_a.ino.bin", headers=bearer(bots["bot_a"]))
        assert response.status_code == 403
        assert "blocked" in response.get_json()["error"]

    def test_signed_url_from_the_manifest_works_without_a_token(self, client, bots, firmware):
        response = client.get(signed_path(client, bots["bot_a"]), headers=STOCK_HEADERS)
        assert response.status_code == 200
        assert response.data == firmware.data

    @pytest.mark.parametrize("tamper", ["expired", "signature", "other bot", "other image"])
    def test_tampered_or_expired_signed_urls_are_refused(self, app, client, bots, firmware, tamper):
        path = signed_path(client, bots["bot_a"])
        query = {k: v[0] for k, v in parse_qs(urlsplit(path).query).items()}
        if tamper == "expired":
            from webide.core.firmware.urls import firmware_signature

            with app.test_request_context():
                expires = int(time.time()) - 1
                query = {"expires": str(expires), "sig": firmware_signature("bot_a", firmware.sha256, expires)}
            path = f"/bot_a.ino.bin?expires={query['expires']}&sig={query['sig']}"
        elif tamper == "signature":
            flipped = "0" if query["sig"][0] != "0" else "1"
            path = f"/bot_a.ino.bin?expires={query['expires']}&sig={flipped}{query['sig'][1:]}"
        elif tamper == "other bot":
            deploy_image(app, "bot_b", size=8 * 1024, seed=3)
            path = f"/bot_b.ino.bin?expires={query['expires']}&sig={query['sig']}"
        else:
            deploy_image(app, "bot_a", size=8 * 1024, seed=4)
        assert client.get(path, headers=STOCK_HEADERS).status_code == 401

    def test_signed_url_never_authenticates_reports(self, client, bots, firmware):
        query = urlsplit(signed_path(client, bots["bot_a"])).query
        response = client.post(f"/api/devices/bot_a/heartbeat?{query}", json={"uptime": 1})
        assert response.status_code == 401


class TestFirmwareDownload:
    def test_200_has_what_the_stock_client_needs(self, client, bots, firmware):
        response = client.get(
            "/bot_a.ino.bin", headers={**STOCK_HEADERS, **bearer(bots["bot_a"]), "x-ESP32-sketch-md5": "0" * 32}
        )
        assert response.status_code == 200
        assert response.headers["Content-Length"] == str(firmware.size)
        assert "chunked" not in response.headers.get("Transfer-Encoding", "")
        assert response.headers["x-MD5"] == firmware.md5 == firmware.md5.lower()
        assert response.headers["ETag"] == f'"{firmware.sha256}"'
        assert response.data[0] == 0xE9 and response.data == firmware.data

    def test_head_sends_headers_only(self, client, bots, firmware):
        response = client.head("/bot_a.ino.bin", headers=bearer(bots["bot_a"]))
        assert response.status_code == 200 and response.data == b""
        assert response.headers["Content-Length"] == str(firmware.size)

    @pytest.mark.parametrize(
        "header,value",
        [
            ("x-ESP32-sketch-md5", "md5"),
            ("x-ESP32-sketch-md5", "MD5"),
            ("x-ESP32-sketch-sha256", "sha256"),
            ("x-ESP32-sketch-sha256", "SHA256"),
            ("x-ESP32-sketch-sha256", "EMBEDDED"),
            ("X-esp32-SKETCH-md5", "md5"),
        ],
    )
    def test_running_target_gets_304(self, client, bots, firmware, header, value):
        digest = {
            "md5": firmware.md5,
            "MD5": firmware.md5.upper(),
            "sha256": firmware.sha256,
            "SHA256": firmware.sha256.upper(),
            "EMBEDDED": firmware.embedded_sha256.upper(),
        }[value]
        response = client.get("/bot_a.ino.bin", headers={**STOCK_HEADERS, **bearer(bots["bot_a"]), header: digest})
        assert response.status_code == 304
        assert response.data == b""

    @pytest.mark.parametrize(
        "header,value",
        [
            ("x-ESP32-sketch-md5", "f" * 32),
            ("x-ESP32-sketch-sha256", "e" * 64),
            ("x-ESP32-sketch-md5", "not-hex"),
            ("x-ESP32-sketch-md5", ""),
        ],
    )
    def test_other_or_malformed_hashes_get_the_image(self, client, bots, firmware, header, value):
        response = client.get("/bot_a.ino.bin", headers={**STOCK_HEADERS, **bearer(bots["bot_a"]), header: value})
        assert response.status_code == 200 and response.data == firmware.data

    def test_no_target_is_a_clear_404(self, client, bots):
        response = client.get("/bot_b.ino.bin", headers=bearer(bots["bot_b"]))
        assert response.status_code == 404
        assert "Upload" in response.get_json()["error"]

    def test_image_larger_than_free_space_is_refused_and_the_deployment_fails(self, app, client, bots, firmware):
        headers = {**STOCK_HEADERS, **bearer(bots["bot_a"]), "x-ESP32-free-space": str(firmware.size - 1)}
        response = client.get("/bot_a.ino.bin", headers=headers)
        assert response.status_code == 409
        error = response.get_json()["error"]
        assert str(firmware.size) in error and str(firmware.size - 1) in error
        state, _, message = flash_state(app, "bot_a")
        assert state == "failed" and "free sketch space" in message
        exact = {**headers, "x-ESP32-free-space": str(firmware.size)}
        assert client.get("/bot_a.ino.bin", headers=exact).status_code == 200

    def test_spiffs_mode_is_refused(self, client, bots, firmware):
        response = client.get("/bot_a.ino.bin", headers={**bearer(bots["bot_a"]), "x-ESP32-mode": "spiffs"})
        assert response.status_code == 400

    def test_route_only_matches_ino_bin_paths(self, client, bots, firmware):
        assert client.get("/login").status_code == 200
        assert client.get("/bot_a.bin", headers=bearer(bots["bot_a"])).status_code == 404
        assert client.get("/bad%20id.ino.bin", headers=bearer(bots["bot_a"])).status_code == 401
        assert client.get("/api/openapi.json").status_code == 200


class TestRanges:
    def auth(self, bots):  # type: ignore[no-untyped-def]
        return {**STOCK_HEADERS, **bearer(bots["bot_a"])}

    def test_resume_gives_a_byte_identical_image(self, client, bots, firmware):
        first = client.get("/bot_a.ino.bin", headers={**self.auth(bots), "Range": "bytes=0-40000"})
        assert first.status_code == 206
        assert first.headers["Content-Range"] == f"bytes 0-40000/{firmware.size}"
        assert first.headers["Content-Length"] == "40001"
        rest = client.get(
            "/bot_a.ino.bin", headers={**self.auth(bots), "Range": "bytes=40001-", "If-Range": first.headers["ETag"]}
        )
        assert rest.status_code == 206
        assert rest.headers["x-MD5"] == firmware.md5
        assert first.data + rest.data == firmware.data

    def test_suffix_range(self, client, bots, firmware):
        response = client.get("/bot_a.ino.bin", headers={**self.auth(bots), "Range": "bytes=-32"})
        assert response.status_code == 206 and response.data == firmware.data[-32:]

    @pytest.mark.parametrize("spec", ["bytes={size}-", "bytes={size}-{size}", "bytes=-0", "bytes=500-100"])
    def test_unsatisfiable_ranges_get_416(self, client, bots, firmware, spec):
        response = client.get("/bot_a.ino.bin", headers={**self.auth(bots), "Range": spec.format(size=firmware.size)})
        assert response.status_code == 416
        assert response.headers["Content-Range"] == f"bytes */{firmware.size}"
        assert "range" in response.get_json()["error"].lower()

    @pytest.mark.parametrize("spec", ["items=0-5", "bytes=0-5,10-20", "bytes=abc"])
    def test_ranges_that_cannot_be_honoured_get_the_whole_image(self, client, bots, firmware, spec):
        response = client.get("/bot_a.ino.bin", headers={**self.auth(bots), "Range": spec})
        assert response.status_code == 200 and response.data == firmware.data

    def test_target_changed_mid_download_restarts_with_the_new_image(self, app, client, bots, firmware):
        first = client.get("/bot_a.ino.bin", headers={**self.auth(bots), "Range": "bytes=0-9999"})
        replacement = deploy_image(app, "bot_a", size=80 * 1024, seed=99)
        resumed = client.get(
            "/bot_a.ino.bin", headers={**self.auth(bots), "Range": "bytes=10000-", "If-Range": first.headers["ETag"]}
        )
        assert resumed.status_code == 200
        assert resumed.data == replacement.data
        assert resumed.headers["ETag"] != first.headers["ETag"]
        assert resumed.headers["x-MD5"] == replacement.md5


class TestFlashStates:
    def test_download_then_heartbeat_walks_the_whole_sequence(self, app, client, settings, bots, firmware):
        token = bots["bot_a"]
        assert flash_state(app, "bot_a")[0] == "waiting_for_button"
        download = client.get("/bot_a.ino.bin", headers={**STOCK_HEADERS, **bearer(token)})
        assert flash_state(app, "bot_a")[:2] == ("downloading", 0)  # the rest is counted as the body is read
        assert download.data == firmware.data
        assert flash_state(app, "bot_a")[:2] == ("rebooting", 100)
        client.post("/api/devices/bot_a/heartbeat", headers=bearer(token), json={"md5": firmware.md5, "uptime": 2})
        assert flash_state(app, "bot_a")[:2] == ("running", 100)
        assert flash_states(settings.redis_url, "bot_a") == [
            "waiting_for_button",
            "downloading",
            "rebooting",
            "running",
        ]
        lines = [e["text"] for e in logged_events(settings.redis_url, "bot_a", "line") if e["stream"] == "flash"]
        assert lines[-1] == "Bot is running the new firmware"

    def test_partial_download_stays_downloading_with_measured_progress(self, app, client, bots, firmware):
        half = firmware.size // 2
        response = client.get(
            "/bot_a.ino.bin", headers={**STOCK_HEADERS, **bearer(bots["bot_a"]), "Range": f"bytes={half}-{half + 10}"}
        )
        assert len(response.data) == 11
        state, progress, _ = flash_state(app, "bot_a")
        assert state == "downloading" and progress == half * 100 // firmware.size

    def test_download_overtaken_by_a_new_upload_moves_no_state(self, app, client, settings, bots, firmware):
        download = client.get("/bot_a.ino.bin", headers={**STOCK_HEADERS, **bearer(bots["bot_a"])})
        newer = deploy_image(app, "bot_a", size=20 * 1024, seed=8)
        assert download.data == firmware.data  # the image the download began with, whole
        assert flash_state(app, "bot_a") == ("waiting_for_button", 0, "")
        old_build = [
            e["state"]
            for e in logged_events(settings.redis_url, "bot_a", "flash")
            if e["build_number"] == firmware.build_number
        ]
        assert old_build == ["waiting_for_button", "downloading"]  # began before the Upload; never "rebooting"
        again = client.get("/bot_a.ino.bin", headers={**STOCK_HEADERS, **bearer(bots["bot_a"])})
        assert again.data == newer.data
        assert flash_state(app, "bot_a")[0] == "rebooting"

    def test_304_with_the_target_hash_confirms_running(self, app, client, bots, firmware):
        response = client.get(
            "/bot_a.ino.bin", headers={**STOCK_HEADERS, **bearer(bots["bot_a"]), "x-ESP32-sketch-md5": firmware.md5}
        )
        assert response.status_code == 304
        assert flash_state(app, "bot_a")[0] == "running"
        assert device_row(app, "bot_a")["running_sha256"] == firmware.sha256

    def test_a_bot_running_its_image_confirms_its_own_new_deployment_whatever_other_bots_do(
        self, app, client, bots, firmware
    ):
        """The device path reads each bot's own newest deployment: bot_a, given the image it already runs again,
        confirms that deployment at its next check even while bot_b's newer deployment is already running."""
        headers = {**STOCK_HEADERS, **bearer(bots["bot_a"]), "x-ESP32-sketch-md5": firmware.md5}
        assert client.get("/bot_a.ino.bin", headers=headers).status_code == 304
        with app.app_context():
            bot_a = db.session.scalar(select(Device).where(Device.product_id == "bot_a"))
            deploy_artifact(bot_a, bot_a.target_artifact, None)  # the same image again, e.g. a class flash
            db.session.commit()
        other = deploy_image(app, "bot_b", seed=8)
        other_headers = {**STOCK_HEADERS, **bearer(bots["bot_b"]), "x-ESP32-sketch-md5": other.md5}
        assert client.get("/bot_b.ino.bin", headers=other_headers).status_code == 304
        assert flash_state(app, "bot_b")[0] == "running" and flash_state(app, "bot_a")[0] == "waiting_for_button"
        assert client.get("/bot_a.ino.bin", headers=headers).status_code == 304
        assert flash_state(app, "bot_a")[0] == "running"

    @pytest.mark.parametrize(
        "reports,expected",
        [
            ([("STARTED", 0, "")], ("downloading", 0, "")),
            ([("STARTED", 0, ""), ("IN_PROGRESS", 50, "")], ("downloading", 50, "")),
            ([("IN_PROGRESS", 75, ""), ("IN_PROGRESS", 25, "")], ("downloading", 75, "")),
            ([("IN_PROGRESS", 75, ""), ("SUCCESS", 100, "")], ("rebooting", 100, "")),
            ([("SUCCESS", 100, ""), ("IN_PROGRESS", 25, "")], ("rebooting", 100, "")),
            ([("STARTED", 0, ""), ("FAILED", 0, "Wrong MD5")], ("failed", 0, "Wrong MD5")),
            (
                [("SUCCESS", 100, ""), ("FAILED", 0, "rolled back to the previous firmware")],
                ("rolled_back", 100, "rolled back to the previous firmware"),
            ),
        ],
    )
    def test_status_reports_move_the_state_forward_only(self, app, client, bots, firmware, reports, expected):
        for status, progress, message in reports:
            response = client.post(
                "/api/ota/bot_a/status",
                headers=bearer(bots["bot_a"]),
                json={"status": status, "progress": progress, "message": message},
            )
            assert response.status_code == 200
        assert flash_state(app, "bot_a") == expected
        assert response.get_json()["state"] == expected[0]

    @pytest.mark.parametrize(
        "body",
        [
            {"status": "DONE"},
            {"status": 3},
            {},
            {"status": "STARTED", "progress": 101},
            {"status": "FAILED", "message": ["x"]},
            {"status": "STARTED", "progress": 1.5},
        ],
    )
    def test_bad_status_reports_are_400_and_change_nothing(self, app, client, bots, firmware, body):
        response = client.post("/api/ota/bot_a/status", headers=bearer(bots["bot_a"]), json=body)
        assert response.status_code == 400
        assert response.get_json()["success"] is False
        assert flash_state(app, "bot_a")[0] == "waiting_for_button"


class TestManifest:
    def test_check_describes_the_target_and_a_signed_url(self, client, bots, firmware):
        manifest = client.get(
            "/api/ota/bot_a/check", headers={**bearer(bots["bot_a"]), "x-ESP32-sketch-md5": "1" * 32}
        ).get_json()
        assert manifest["updateAvailable"] is True
        assert manifest["latestVersion"] == str(firmware.build_number)
        assert (manifest["md5"], manifest["sha256"], manifest["size"]) == (firmware.md5, firmware.sha256, firmware.size)
        query = parse_qs(urlsplit(manifest["url"]).query)
        assert urlsplit(manifest["url"]).path == "/bot_a.ino.bin" and set(query) == {"expires", "sig"}

    def test_check_with_the_running_target_offers_nothing(self, client, bots, firmware):
        manifest = client.get(
            "/api/ota/bot_a/check?md5=" + firmware.md5.upper(), headers=bearer(bots["bot_a"])
        ).get_json()
        assert manifest["updateAvailable"] is False
        follow_up = client.get("/api/ota/bot_a/check", headers=bearer(bots["bot_a"])).get_json()
        assert follow_up["updateAvailable"] is False  # remembered from the report above

    def test_check_without_a_target(self, client, bots):
        manifest = client.get("/api/ota/bot_b/check", headers=bearer(bots["bot_b"])).get_json()
        assert manifest == {
            "updateAvailable": False,
            "latestVersion": None,
            "currentVersion": None,
            "url": None,
            "md5": None,
            "sha256": None,
            "size": None,
            "signature": None,
        }


def test_nginx_can_serve_the_bytes_with_x_accel_redirect(settings):
    app = create_app(settings.with_overrides(x_accel_redirect_prefix="/internal-firmware/"))
    migrate_database(app)
    token = Accounts(app).bot("bot_x", "12345", fqbn=ESP32_FQBN).device_token
    firmware = deploy_image(app, "bot_x", size=16 * 1024, seed=5)
    response = app.test_client().get("/bot_x.ino.bin", headers=bearer(token))
    assert response.status_code == 200 and response.data == b""
    sha = firmware.sha256
    assert response.headers["X-Accel-Redirect"] == f"/internal-firmware/{sha[:2]}/{sha}/firmware.bin"
    assert response.headers["x-MD5"] == firmware.md5
    stored = settings.artifacts_dir / sha[:2] / sha / "firmware.bin"
    assert stored.read_bytes() == firmware.data


def test_device_path_works_while_redis_is_down(settings):
    closed = f"redis://127.0.0.1:{free_port()}/0"
    app = create_app(settings.with_overrides(redis_url=closed))
    migrate_database(app)
    client = app.test_client()
    token = Accounts(app).bot("bot_r", "12345", fqbn=ESP32_FQBN).device_token
    firmware = deploy_image(app, "bot_r", size=16 * 1024, seed=6)
    auth = {**STOCK_HEADERS, **bearer(token)}
    assert client.get("/api/ota/bot_r/check", headers=auth).get_json()["updateAvailable"] is True
    download = client.get("/bot_r.ino.bin", headers=auth)
    assert download.status_code == 200 and download.data == firmware.data
    assert client.post("/api/ota/bot_r/status", headers=auth, json={"status": "SUCCESS"}).status_code == 200
    beat = client.post("/api/devices/bot_r/heartbeat", headers=auth, json={"md5": firmware.md5, "uptime": 1})
    assert beat.status_code == 200 and beat.get_json() == {"success": True, "update_available": False, "commands": []}
    assert client.get("/bot_r.ino.bin", headers={**auth, "x-ESP32-sketch-md5": firmware.md5}).status_code == 304
    assert flash_state(app, "bot_r")[0] == "running"
