"""The compile service end to end: real web server, real Celery worker, real Redis, real AVR toolchain, real sandbox."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from webide.core.registry import create_device
from webide.extensions import db

from .conftest import AVR_FQBN, live_processes, scratch_app
from .live import ApiClient, RoomListener

pytestmark = pytest.mark.slow

BLINK = """void setup() {
  pinMode(13, OUTPUT);
}

void loop() {
  digitalWrite(13, HIGH);
  delay(100);
}
"""

SYNTAX_ERROR = """void setup() {
  int speed = ;
}

void loop() {}
"""

# Exponential macro expansion: the compiler front end spends a long time on it, which gives cancellation, the
# worker-kill test and the supersede test a build that is reliably still running.
SLOW = """#define X1(a) a a
#define X2(a) X1(X1(a))
#define X4(a) X2(X2(a))
#define X8(a) X4(X4(a))
#define X16(a) X8(X8(a))
volatile long counter;
void setup() { X16(X4(counter++;)) }
void loop() {}
"""


def files_for(product_id: str, main: str, *extra: tuple[str, str]) -> list[dict[str, str]]:
    return [{"name": f"{product_id}.ino", "content": main}] + [{"name": n, "content": c} for n, c in extra]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator:
    """One live service for the module (the compiled-core cache stays warm across its tests)."""
    folder, settings, app = scratch_app(tmp_path_factory, redis_url, 2, "builds")
    with app.app_context():
        for n in range(1, 9):
            create_device(f"bot_{n}", "12345", "", AVR_FQBN, "class-a")
        db.session.commit()
    with live_processes(settings, folder, WEBIDE_BUILD_STALE_S="6") as live:
        live.app = app
        yield live


def bot_client(service, number: int) -> ApiClient:  # type: ignore[no-untyped-def]
    return ApiClient(service.base_url, product_id=f"bot_{number}", password="12345")


def test_verify_compiles_streams_the_output_and_reports_sizes(service):
    api = bot_client(service, 1)
    listener = RoomListener(service.base_url, api.token, "bot_1")
    try:
        update_id = api.submit("bot_1", files_for("bot_1", BLINK))
        result = api.wait(update_id)
        listener.wait_for(lambda events: any(e["type"] == "result" and e["update_id"] == update_id for e in events))
    finally:
        listener.close()
    assert result["status"] == "complete", result["log"]
    assert result["progress"] == 100 and result["diagnostics"] == []
    assert 0 < result["sizes"]["flash_bytes"] < result["sizes"]["flash_max"]
    assert result["message"].startswith(f"Sketch uses {result['sizes']['flash_bytes']} bytes")
    assert len(result["artifact"]["sha256"]) == 64
    streamed = listener.lines(update_id)
    assert streamed and "\n".join(streamed).strip() == result["log"].strip()
    assert any("Sketch uses" in line for line in streamed)
    statuses = [e["status"] for e in listener.events if e["type"] == "progress" and e["update_id"] == update_id]
    assert statuses[0] in ("pending", "in_progress") and statuses[-1] == "complete"
    assert str(service.settings.data_dir) not in result["log"]


def test_syntax_error_is_a_normal_result_pinned_to_file_line_and_column(service):
    api = bot_client(service, 2)
    result = api.wait(api.submit("bot_2", files_for("bot_2", SYNTAX_ERROR)))
    assert result["status"] == "error" and result["artifact"] is None
    errors = [d for d in result["diagnostics"] if d["severity"] == "error"]
    assert errors, result["log"]
    assert errors[0]["file"] == "bot_2.ino" and errors[0]["line"] == 2
    assert errors[0]["column"] == 15 and "expected primary-expression" in errors[0]["message"]


def test_errors_in_an_extra_tab_and_link_errors(service):
    api = bot_client(service, 3)
    header = ("motor.h", "#pragma once\nvoid drive(int speed);\nint missing(int x);\n")
    broken_tab = ("motor.cpp", '#include "motor.h"\nvoid drive(int speed) {\n  int x = ;\n}\n')
    result = api.wait(
        api.submit(
            "bot_3",
            files_for("bot_3", '#include "motor.h"\nvoid setup(){drive(1);}\nvoid loop(){}\n', header, broken_tab),
        )
    )
    error = next(d for d in result["diagnostics"] if d["severity"] == "error")
    assert (error["file"], error["line"]) == ("motor.cpp", 3)

    fixed_tab = ("motor.cpp", '#include "motor.h"\nvoid drive(int speed) { missing(speed); }\n')
    result = api.wait(
        api.submit(
            "bot_3",
            files_for("bot_3", '#include "motor.h"\nvoid setup(){drive(1);}\nvoid loop(){}\n', header, fixed_tab),
        )
    )
    assert result["status"] == "error"
    assert any("undefined reference" in d["message"] and "missing" in d["message"] for d in result["diagnostics"])


def test_upload_for_a_board_without_over_the_air_updates_offers_the_firmware_instead(service):
    """An AVR bot cannot pull firmware: its Upload compiles, never becomes an OTA target, and says so plainly."""
    api = bot_client(service, 4)
    header = ("blinker.h", "#pragma once\nvoid blink_once(int pin);\n")
    source = (
        "blinker.cpp",
        '#include <Arduino.h>\n#include "blinker.h"\n'
        "void blink_once(int pin) { digitalWrite(pin, HIGH); delay(10); digitalWrite(pin, LOW); }\n",
    )
    main = '#include "blinker.h"\nvoid setup() { pinMode(13, OUTPUT); }\nvoid loop() { blink_once(13); }\n'
    result = api.wait(api.submit("bot_4", files_for("bot_4", main, header, source), deploy=True))
    assert result["status"] == "complete", result["log"]
    assert "cannot update over the air" in result["message"] and "flash it over USB" in result["message"]
    firmware_url = f"/api/builds/{result['update_id']}/firmware"
    assert (result["over_the_air"], result["firmware_url"], result["firmware_file"]) == (
        False,
        firmware_url,
        "bot_4.ino.hex",
    )
    device = api.get("/api/devices/bot_4").json()
    assert device["target"] is None and device["flash"] is None
    download = api.get(firmware_url)
    assert download.status_code == 200
    assert download.headers["Content-Disposition"] == "attachment; filename=bot_4.ino.hex"
    assert download.content.startswith(b":") and download.content.rstrip().endswith(b":00000001FF")  # Intel HEX

    # A failed build has nothing to download.
    failed = api.wait(api.submit("bot_4", files_for("bot_4", SYNTAX_ERROR), deploy=True))
    assert failed["status"] == "error"
    assert api.get(f"/api/builds/{failed['update_id']}/firmware").status_code == 404


def test_identical_request_is_served_from_the_cache(service):
    api = bot_client(service, 5)
    sketch = files_for("bot_5", BLINK.replace("100", "250"))
    first = api.wait(api.submit("bot_5", sketch))
    second = api.wait(api.submit("bot_5", sketch))
    assert first["status"] == second["status"] == "complete"
    assert (first["cache_hit"], second["cache_hit"]) == (False, True)
    assert first["artifact"]["sha256"] == second["artifact"]["sha256"]
    assert second["sizes"] == first["sizes"]


def test_concurrent_builds_of_the_same_sketch_both_succeed_with_one_artifact(service):
    clients = [bot_client(service, 6), bot_client(service, 7)]
    sketch = BLINK.replace("100", "333")
    ids = [api.submit(f"bot_{n}", files_for(f"bot_{n}", sketch)) for api, n in zip(clients, (6, 7))]
    results = [api.wait(update_id) for api, update_id in zip(clients, ids)]
    assert [r["status"] for r in results] == ["complete", "complete"], [r["log"] for r in results]
    # Different bots mean different sketch names, so the images differ; each is complete and intact.
    for result in results:
        assert result["artifact"]["size"] > 0


def test_hostile_sketch_cannot_read_server_files(service):
    api = bot_client(service, 8)
    secret = (service.settings.data_dir / "secret_key").read_text().strip()
    hostile = (
        '#include "/etc/shadow"\n'
        f'#include "{service.settings.data_dir.resolve()}/secret_key"\n'
        '#include "/proc/self/environ"\nvoid setup(){}\nvoid loop(){}\n'
    )
    result = api.wait(api.submit("bot_8", files_for("bot_8", hostile)))
    assert result["status"] == "error"
    everything = result["log"] + str(result["diagnostics"])
    assert secret not in everything
    assert "root:" not in everything and "REDIS_URL" not in everything


def test_cancel_kills_a_running_build(service):
    api = bot_client(service, 1)
    update_id = api.submit("bot_1", files_for("bot_1", SLOW))
    api.wait(update_id, until=("in_progress", "complete", "error"))
    response = api.post(f"/api/builds/{update_id}/cancel")
    assert response.status_code == 200
    result = api.wait(update_id, timeout=30)
    assert result["status"] == "error" and result["message"] == "Cancelled"
    assert result["log"].rstrip().endswith("Cancelled.") and "Sketch uses" not in result["log"]
    again = api.post(f"/api/builds/{update_id}/cancel")
    assert again.status_code == 400 and "already finished" in again.json()["error"]


def test_a_newer_request_supersedes_a_queued_one(service):
    api = bot_client(service, 2)
    running = api.submit("bot_2", files_for("bot_2", SLOW))
    api.wait(running, until=("in_progress",))
    queued = api.submit("bot_2", files_for("bot_2", BLINK))  # waits: one running build per bot
    newest = api.submit("bot_2", files_for("bot_2", BLINK.replace("100", "200")))
    assert api.get(f"/ota-update-progress/{queued}").json()["status"] == "error"
    assert "Superseded" in api.get(f"/api/builds/{queued}").json()["message"]
    api.post(f"/api/builds/{running}/cancel")
    assert api.wait(newest)["status"] == "complete"


@pytest.mark.parametrize(
    "body,status,needle",
    [
        ({"fqbn": "esp32:esp32:unknownboard"}, 400, "Installed boards: "),
        ({"fqbn": "not a board"}, 400, "fqbn"),
        ({"files": []}, 400, "files"),
        ({"files": [{"name": "../evil.ino", "content": ""}]}, 400, "evil"),
        ({"files": [{"name": "bot_1.ino", "content": 7}]}, 400, "must be a string"),
        ({"files": [{"name": "bot_1.ino", "content": "x" * 600_000}]}, 413, "limit"),
        (
            {"files": [{"name": "bot_1.ino", "content": ""}, {"name": "build_opt.h", "content": "-fplugin=x"}]},
            400,
            "build_opt.h",
        ),
        ({"deploy": "yes"}, 400, "deploy"),
    ],
)
def test_bad_build_requests_get_clear_errors(service, body, status, needle):
    api = bot_client(service, 1)
    response = api.post("/api/devices/bot_1/builds", json=body)
    assert response.status_code == status, response.text
    assert needle in response.json()["error"]


def test_unknown_update_id_reports_not_found(service):
    api = bot_client(service, 1)
    response = api.get("/ota-update-progress/0123456789abcdef")
    assert response.status_code == 404
    assert response.json()["status"] == "not_found"
    assert response.json()["error"] == "Update not found"
    assert response.json()["message"] == "Update not found"


def test_late_listener_receives_what_it_missed_then_the_live_tail(service):
    api = bot_client(service, 3)
    first = api.wait(api.submit("bot_3", files_for("bot_3", BLINK.replace("100", "150"))))
    listener = RoomListener(service.base_url, api.token, "bot_3")
    try:
        assert listener.ack["replayed"] > 0
        assert "\n".join(listener.lines(first["update_id"])).strip() == first["log"].strip()
        last_seq = listener.events[-1]["seq"]
        second = api.wait(api.submit("bot_3", files_for("bot_3", BLINK.replace("100", "175"))))
        listener.wait_for(
            lambda events: any(e["type"] == "result" and e["update_id"] == second["update_id"] for e in events)
        )
        seqs = [e["seq"] for e in listener.events]
        assert seqs == sorted(seqs) and len(seqs) == len(set(seqs)) and seqs[-1] > last_seq
    finally:
        listener.close()


def test_another_bot_cannot_join_the_room(service):
    api = bot_client(service, 4)
    other = bot_client(service, 5)
    listener = RoomListener(service.base_url, other.token, "bot_5")
    try:
        ack = listener.client.call("join", {"product_id": "bot_4", "since": 0}, namespace="/ota-update", timeout=10)
        assert ack["success"] is False and "bot_4" in ack["error"]
    finally:
        listener.close()
    assert api.token != other.token


def test_a_build_whose_worker_dies_is_marked_failed(service):
    api = bot_client(service, 6)
    update_id = api.submit("bot_6", files_for("bot_6", SLOW))
    api.wait(update_id, until=("in_progress",))
    os.killpg(service.worker.pid, signal.SIGKILL)
    result = api.wait(update_id, timeout=60)
    assert result["status"] == "error" and "worker stopped" in result["message"]


@pytest.mark.parametrize("db_backend", ["postgresql"], indirect=True)  # on SQLite: the module's test above
def test_two_bots_build_at_once_on_postgresql(live_service, accounts):
    for product_id in ("bot_p1", "bot_p2"):
        accounts.bot(product_id, "12345", class_name="class-p")
    clients = {p: ApiClient(live_service.base_url, product_id=p, password="12345") for p in ("bot_p1", "bot_p2")}
    ids = {p: api.submit(p, files_for(p, BLINK)) for p, api in clients.items()}
    results = {p: clients[p].wait(update_id) for p, update_id in ids.items()}
    assert [r["status"] for r in results.values()] == ["complete", "complete"], [r["log"] for r in results.values()]
    assert all(r["artifact"]["size"] > 0 for r in results.values())
