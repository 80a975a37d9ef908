"""The sketch API: files, optimistic concurrency, revisions, restore, export, Auto Format and the board."""

from __future__ import annotations

import io
import threading
import zipfile

import pytest
from sqlalchemy import select

from webide.extensions import db
from webide.models import Build, Device, SketchRevision

from .conftest import bearer, csrf_token

SKETCH = "/api/devices/bot_001/sketch"
MAIN = "bot_001.ino"


def files(main: str = "void setup() {}\nvoid loop() {}\n", **tabs: str) -> list[dict[str, str]]:
    return [{"name": MAIN, "content": main}] + [{"name": n.replace("_", "."), "content": c} for n, c in tabs.items()]


class Browser:
    """A logged-in browser session that sends the CSRF header like the editor page does."""

    def __init__(self, client):  # type: ignore[no-untyped-def]
        self.client = client
        self.headers = {"X-CSRFToken": csrf_token(client)}

    def get(self, url: str, **kwargs):  # type: ignore[no-untyped-def]
        return self.client.get(url, **kwargs)

    def put(self, url: str, **kwargs):  # type: ignore[no-untyped-def]
        return self.client.put(url, headers=self.headers, **kwargs)

    def post(self, url: str, **kwargs):  # type: ignore[no-untyped-def]
        return self.client.post(url, headers=self.headers, **kwargs)

    def patch(self, url: str, **kwargs):  # type: ignore[no-untyped-def]
        return self.client.patch(url, headers=self.headers, **kwargs)

    def save(self, content: str, base: int, explicit: bool = True, **extra):  # type: ignore[no-untyped-def]
        return self.put(SKETCH, json={"files": files(content), "base_revision": base, "explicit": explicit, **extra})


def log_in(app, accounts) -> Browser:  # type: ignore[no-untyped-def]
    client = app.test_client()
    assert accounts.browser_login(client, "bot_001", "12345").status_code == 302
    return Browser(client)


@pytest.fixture
def browser(app, accounts) -> Browser:  # type: ignore[no-untyped-def]
    accounts.bot("bot_001", "12345", class_name="class-a")
    return log_in(app, accounts)


def stored_revisions(app) -> list[tuple[int, str]]:  # type: ignore[no-untyped-def]
    with app.app_context():
        rows = db.session.scalars(select(SketchRevision).order_by(SketchRevision.number))
        return [(row.number, row.kind) for row in rows]


def test_a_new_bot_gets_the_starter_sketch(browser):
    body = browser.get(SKETCH).get_json()
    assert body["revision"] == 1
    assert body["sketch_name"] == "bot_001"
    assert body["fqbn"] == "arduino:avr:uno"
    assert [f["name"] for f in body["files"]] == [MAIN]
    assert "void setup()" in body["files"][0]["content"]


def test_save_then_load_returns_the_saved_files_and_kinds(app, browser):
    browser.get(SKETCH)
    auto = browser.save("// typing\nvoid setup() {}\nvoid loop() {}\n", 1, explicit=False)
    assert auto.status_code == 200 and auto.get_json() == {"success": True, "revision": 2}
    saved = browser.put(
        SKETCH,
        json={
            "files": files("// done\nvoid setup() {}\nvoid loop() {}\n", helper_h="int x;\n"),
            "base_revision": 2,
            "explicit": True,
            "message": "first version",
        },
    )
    assert saved.get_json()["revision"] == 3
    body = browser.get(SKETCH).get_json()
    assert body["revision"] == 3
    assert body["files"] == files("// done\nvoid setup() {}\nvoid loop() {}\n", helper_h="int x;\n")
    assert stored_revisions(app) == [(1, "create"), (2, "autosave"), (3, "save")]
    history = browser.get(f"{SKETCH}/revisions").get_json()["revisions"]
    assert history[0]["message"] == "first version" and history[0]["author"] == "bot_001"


def test_saving_unchanged_files_creates_no_revision(app, browser):
    first = browser.save("int a;\nvoid setup() {}\nvoid loop() {}\n", 1).get_json()["revision"]
    again = browser.save("int a;\nvoid setup() {}\nvoid loop() {}\n", first, explicit=False).get_json()["revision"]
    assert again == first == 2
    assert len(stored_revisions(app)) == 2


def test_stale_base_revision_is_a_conflict_then_a_forced_save_wins(app, accounts, browser):
    other_tab = log_in(app, accounts)
    base = browser.get(SKETCH).get_json()["revision"]
    assert other_tab.get(SKETCH).get_json()["revision"] == base
    assert browser.save("// from tab one\nvoid setup() {}\nvoid loop() {}\n", base).status_code == 200
    stale = other_tab.save("// from tab two\nvoid setup() {}\nvoid loop() {}\n", base)
    assert stale.status_code == 409
    body = stale.get_json()
    assert body["success"] is False and "saved" in body["error"]
    assert body["current"]["revision"] == base + 1
    assert body["current"]["files"][0]["content"].startswith("// from tab one")
    forced = other_tab.save("// from tab two\nvoid setup() {}\nvoid loop() {}\n", body["current"]["revision"])
    assert forced.status_code == 200 and forced.get_json()["revision"] == base + 2
    assert browser.get(SKETCH).get_json()["files"][0]["content"].startswith("// from tab two")


def test_two_saves_on_the_same_base_at_once_one_wins_and_the_other_is_a_conflict(app, accounts, browser):
    tabs = [browser, log_in(app, accounts)]
    for round_number in range(4):
        base = browser.get(SKETCH).get_json()["revision"]
        start, statuses = threading.Barrier(2), []

        def save(tab: Browser, text: str, start=start, statuses=statuses, base=base) -> None:  # this round's
            start.wait(10)
            statuses.append(tab.save(f"// {text}\nvoid setup() {{}}\nvoid loop() {{}}\n", base).status_code)

        threads = [
            threading.Thread(target=save, args=(tab, f"round {round_number} tab {n}")) for n, tab in enumerate(tabs)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(statuses) == [200, 409], statuses
        head = browser.get(SKETCH).get_json()
        assert head["revision"] == base + 1 and head["files"][0]["content"].startswith(f"// round {round_number}")
    assert [number for number, _ in stored_revisions(app)] == list(range(1, 6))


def test_bearer_token_clients_save_without_csrf(app, client, accounts):
    accounts.bot("bot_001", "12345")
    token = accounts.api_token(client, product_id="bot_001", password="12345")
    edited = files("int t;\nvoid setup(){}\nvoid loop(){}\n")
    response = client.put(SKETCH, headers=bearer(token), json={"files": edited, "base_revision": 1})
    assert response.status_code == 200 and response.get_json()["revision"] == 2


def test_browser_saves_without_csrf_header_are_refused(app, browser):
    response = browser.client.put(SKETCH, json={"files": files(), "base_revision": 1})
    assert response.status_code == 400 and "CSRF token is missing" in response.get_json()["error"]
    assert stored_revisions(app) == [(1, "create")]  # only the starter sketch of a new bot


BAD_BODIES = [
    ({"base_revision": 1}, "files"),
    ({"files": "text", "base_revision": 1}, "files"),
    ({"files": [], "base_revision": 1}, "files"),
    ({"files": [["bot_001.ino", "x"]], "base_revision": 1}, "files[0]"),
    ({"files": [{"name": MAIN, "content": "x", "mode": "0755"}], "base_revision": 1}, "files[0]"),
    ({"files": [{"name": 7, "content": "x"}], "base_revision": 1}, "files[0].name"),
    ({"files": [{"name": MAIN, "content": 42}], "base_revision": 1}, "files[0].content"),
    ({"files": files()}, "base_revision"),
    ({"files": files(), "base_revision": "1"}, "base_revision"),
    ({"files": files(), "base_revision": True}, "base_revision"),
    ({"files": files(), "base_revision": 0}, "base_revision"),
    ({"files": files(), "base_revision": 1, "explicit": "yes"}, "explicit"),
    ({"files": files(), "base_revision": 1, "message": ["m"]}, "message"),
    ({"files": files(), "base_revision": 1, "fqbn": "no board"}, "fqbn"),
    ({"files": files("void setup() {}\x00"), "base_revision": 1}, "NUL"),
    ({"files": files(x_txt="notes"), "base_revision": 1}, "unsupported extension"),
    ({"files": [{"name": "other.ino", "content": ""}], "base_revision": 1}, "Missing main file"),
    ({"files": [*files(), {"name": "../escape.h", "content": ""}], "base_revision": 1}, "path separator"),
    ({"files": [*files(), {"name": "/etc/passwd.h", "content": ""}], "base_revision": 1}, "path separator"),
    ({"files": [*files(), {"name": "dir\\evil.h", "content": ""}], "base_revision": 1}, "path separator"),
    ({"files": [*files(), {"name": ".hidden.h", "content": ""}], "base_revision": 1}, "dot"),
    ({"files": [*files(), {"name": "build_opt.h", "content": "-DX"}], "base_revision": 1}, "response file"),
    ({"files": [*files(), {"name": "partitions.csv", "content": ""}], "base_revision": 1}, "partition table"),
    ({"files": [*files(), {"name": "a b.h", "content": ""}], "base_revision": 1}, "may only use"),
    ({"files": [*files(), {"name": "BOT_001.INO", "content": ""}], "base_revision": 1}, "Duplicate"),
]


@pytest.mark.parametrize("body,needle", BAD_BODIES)
def test_bad_save_bodies_are_refused_with_a_clear_message(app, browser, body, needle):
    browser.get(SKETCH)
    response = browser.put(SKETCH, json=body)
    assert response.status_code == 400, response.get_json()
    assert needle in response.get_json()["error"]
    assert stored_revisions(app) == [(1, "create")]


def test_every_broken_rule_gets_its_own_message(browser):
    body = {
        "files": [
            {"name": "wrong.ino", "content": ""},
            {"name": "x.exe", "content": ""},
            {"name": "bootloader.bin", "content": ""},
        ],
        "base_revision": 1,
    }
    problems = browser.put(SKETCH, json=body).get_json()["problems"]
    assert len(problems) == 3
    assert any("wrong.ino" not in p and "Missing main file" in p for p in problems)
    assert any("x.exe" in p for p in problems) and any("bootloader.bin" in p for p in problems)


def test_non_json_body_is_refused(browser):
    response = browser.put(SKETCH, data="files=1", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400 and "JSON" in response.get_json()["error"]


def test_sketch_over_the_size_limit_is_413(app, browser, settings):
    browser.get(SKETCH)
    big = "// " + "x" * settings.sketch_max_bytes
    response = browser.save(big, 1)
    assert response.status_code == 413 and str(settings.sketch_max_bytes) in response.get_json()["error"]
    assert stored_revisions(app) == [(1, "create")]


def test_too_many_files_is_413(browser, settings):
    many = files() + [{"name": f"tab{n}.h", "content": ""} for n in range(settings.sketch_max_files)]
    response = browser.put(SKETCH, json={"files": many, "base_revision": 1})
    assert response.status_code == 413 and str(settings.sketch_max_files) in response.get_json()["error"]


def test_request_over_the_request_limit_is_413(browser, settings):
    response = browser.save("x" * (settings.max_request_bytes + 10), 1)
    assert response.status_code == 413


def test_save_can_change_the_board(browser):
    assert browser.save("void setup() {}\nvoid loop() {int a;}\n", 1, fqbn="arduino:avr:nano").status_code == 200
    assert (
        browser.get(SKETCH).get_json()["fqbn"] == "arduino:avr:nano:cpu=atmega328"
    )  # with the menu option that picks its chip
    refused = browser.save("void setup() {}\nvoid loop() {int b;}\n", 2, fqbn="esp32:esp32:nonexistent")
    assert refused.status_code == 400 and "arduino:avr:uno" in refused.get_json()["error"]
    assert browser.get(SKETCH).get_json()["revision"] == 2


def make_history(browser: Browser, count: int) -> None:
    base = browser.get(SKETCH).get_json()["revision"]
    for n in range(count):
        base = browser.save(f"int v{n};\nvoid setup() {{}}\nvoid loop() {{}}\n", base).get_json()["revision"]


def test_history_is_newest_first_and_pages_with_before(browser):
    make_history(browser, 6)  # revisions 1..7
    first = browser.get(f"{SKETCH}/revisions?limit=3").get_json()["revisions"]
    assert [r["revision"] for r in first] == [7, 6, 5]
    assert set(first[0]) == {"revision", "created_at", "message", "author", "kind"}
    second = browser.get(f"{SKETCH}/revisions?limit=3&before={first[-1]['revision']}").get_json()["revisions"]
    assert [r["revision"] for r in second] == [4, 3, 2]
    last = browser.get(f"{SKETCH}/revisions?limit=3&before=2").get_json()["revisions"]
    assert [(r["revision"], r["kind"]) for r in last] == [(1, "create")]


@pytest.mark.parametrize("query", ["limit=0", "limit=abc", "limit=100000", "before=-1", "before=x", "limit=²"])
def test_bad_history_queries_are_refused(browser, query):
    response = browser.get(f"{SKETCH}/revisions?{query}")
    assert response.status_code == 400 and "must be a whole number" in response.get_json()["error"]


def test_a_revision_is_rendered_with_pygments(browser):
    tabs = files("void setup() {\n  int unique_name_42 = 1;\n}\nvoid loop() {}\n", helper_S="nop_label:\n  nop\n")
    browser.put(SKETCH, json={"files": tabs, "base_revision": 1})
    body = browser.get(f"{SKETCH}/revisions/2").get_json()
    assert body["revision"] == 2 and body["files"] == tabs
    html = body["html"][MAIN]
    assert html.startswith('<div class="highlight">') and "<html" not in html
    assert "unique_name_42" in html and 'class="kt"' in html and 'class="linenos"' in html
    assert "nop_label" in body["html"]["helper.S"]


def test_revision_html_escapes_the_code(browser):
    browser.save("// <script>alert(1)</script>\nvoid setup() {}\nvoid loop() {}\n", 1)
    html = browser.get(f"{SKETCH}/revisions/2").get_json()["html"][MAIN]
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_unknown_revision_is_404(browser):
    browser.get(SKETCH)
    assert browser.get(f"{SKETCH}/revisions/99").status_code == 404
    assert browser.post(f"{SKETCH}/revisions/99/restore").status_code == 404


def test_restore_makes_a_new_revision_with_the_old_files(app, browser):
    make_history(browser, 2)  # 1 create, 2 and 3 saves
    original = browser.get(f"{SKETCH}/revisions/1").get_json()["files"]
    response = browser.post(f"{SKETCH}/revisions/1/restore")
    assert response.status_code == 200
    assert response.get_json()["revision"] == 4
    assert browser.get(SKETCH).get_json()["files"] == original
    assert stored_revisions(app)[-1] == (4, "restore")
    assert browser.get(f"{SKETCH}/revisions/2").get_json()["files"][0]["content"].startswith("int v0;")


def test_restore_with_a_stale_base_is_a_conflict(browser):
    make_history(browser, 2)
    response = browser.post(f"{SKETCH}/revisions/1/restore", json={"base_revision": 2})
    assert response.status_code == 409 and response.get_json()["current"]["revision"] == 3
    assert browser.post(f"{SKETCH}/revisions/1/restore", json={"base_revision": 3}).get_json()["revision"] == 4
    assert browser.post(f"{SKETCH}/revisions/1/restore", json={"base_revision": "3"}).status_code == 400


def test_old_autosaves_are_pruned_but_saves_and_built_revisions_stay(app, browser):
    app.config["SETTINGS"] = app.config["SETTINGS"].with_overrides(sketch_keep_autosaves=2)
    base = browser.get(SKETCH).get_json()["revision"]
    base = browser.save("int keep;\nvoid setup() {}\nvoid loop() {}\n", base).get_json()["revision"]  # 2: save
    for n in range(5):  # 3..7: autosaves
        base = browser.save(f"int a{n};\nvoid setup() {{}}\nvoid loop() {{}}\n", base, explicit=False).get_json()[
            "revision"
        ]
        if n == 0:
            with app.app_context():
                device = db.session.scalar(select(Device))
                db.session.add(Build(device_id=device.id, revision=base, fqbn="arduino:avr:uno"))
                db.session.commit()
    assert stored_revisions(app) == [(1, "create"), (2, "save"), (3, "autosave"), (6, "autosave"), (7, "autosave")]
    assert browser.get(f"{SKETCH}/revisions/4").status_code == 404


def test_export_is_an_arduino_sketch_folder_zip(browser):
    tabs = files("// exported é\nvoid setup() {}\nvoid loop() {}\n", motor_h="#pragma once\n")
    browser.put(SKETCH, json={"files": tabs, "base_revision": 1})
    response = browser.get("/api/devices/bot_001/sketch.zip")
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert 'filename="bot_001.zip"' in response.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert archive.namelist() == ["bot_001/bot_001.ino", "bot_001/motor.h"]
        assert archive.read("bot_001/bot_001.ino").decode() == tabs[0]["content"]
        assert archive.testzip() is None


MESSY = "void setup(){\nint x=1;if(x){x++;}\n    }\nvoid loop(){}\n"
TIDY = "void setup() {\n  int x = 1;\n  if (x) {\n    x++;\n  }\n}\nvoid loop() {}\n"
FORMAT = "/api/devices/bot_001/format"


def test_auto_format_runs_clang_format_with_arduino_like_style(browser):
    response = browser.post(FORMAT, json={"name": MAIN, "content": MESSY})
    assert response.status_code == 200
    assert response.get_json()["content"] == TIDY
    again = browser.post(FORMAT, json={"name": "motor.cpp", "content": TIDY}).get_json()["content"]
    assert again == TIDY


def test_auto_format_keeps_include_order_and_long_lines(browser):
    source = '#include "zeta.h"\n#include <Arduino.h>\n\nint values[] = {' + ", ".join(["1000"] * 40) + "};\n"
    assert browser.post(FORMAT, json={"name": "tab.h", "content": source}).get_json()["content"] == source


@pytest.mark.parametrize(
    "body,status,needle",
    [
        ({"content": MESSY}, 400, "name"),
        ({"name": MAIN}, 400, "content"),
        ({"name": MAIN, "content": 5}, 400, "content"),
        ({"name": MAIN, "content": "int x;\x00"}, 400, "NUL"),
        ({"name": "start.S", "content": "nop\n"}, 400, "Auto Format works on"),
        ({"name": "notes.txt", "content": "x"}, 400, "Auto Format works on"),
    ],
)
def test_auto_format_bad_input(browser, body, status, needle):
    response = browser.post(FORMAT, json=body)
    assert response.status_code == status and needle in response.get_json()["error"]


def test_auto_format_refuses_oversized_text(browser, settings):
    response = browser.post(FORMAT, json={"name": MAIN, "content": "x" * (settings.sketch_max_bytes + 1)})
    assert response.status_code == 413


def test_auto_format_without_clang_format_is_503(app, browser, tmp_path):
    app.config["SETTINGS"] = app.config["SETTINGS"].with_overrides(clang_format=str(tmp_path / "no-clang-format"))
    response = browser.post(FORMAT, json={"name": MAIN, "content": MESSY})
    assert response.status_code == 503 and "clang-format is not installed" in response.get_json()["error"]


def test_board_change_is_validated_against_installed_boards(browser):
    response = browser.patch("/api/devices/bot_001", json={"fqbn": "arduino:avr:mega"})
    assert response.status_code == 200 and response.get_json()["fqbn"] == "arduino:avr:mega:cpu=atmega2560"
    assert browser.get(SKETCH).get_json()["fqbn"] == "arduino:avr:mega:cpu=atmega2560"
    refused = browser.patch("/api/devices/bot_001", json={"fqbn": "esp32:esp32:doesnotexist"})
    assert refused.status_code == 400
    assert "arduino:avr:uno" in refused.get_json()["error"] and "arduino:avr:uno" in refused.get_json()["installed"]
    assert browser.patch("/api/devices/bot_001", json={}).status_code == 400
    assert browser.patch("/api/devices/bot_001", json={"fqbn": "bad fqbn"}).status_code == 400
    assert browser.get(SKETCH).get_json()["fqbn"] == "arduino:avr:mega:cpu=atmega2560"


def test_instructor_edits_a_bot_of_their_class(app, client, accounts, browser):
    accounts.instructor("teacher", "correct horse", classes=("class-a",))
    token = accounts.api_token(client, username="teacher", password="correct horse")
    base = client.get(SKETCH, headers=bearer(token)).get_json()["revision"]
    edited = files("int t;\nvoid setup(){}\nvoid loop(){}\n")
    response = client.put(
        SKETCH, headers=bearer(token), json={"files": edited, "base_revision": base, "explicit": True}
    )
    assert response.status_code == 200
    assert browser.get(f"{SKETCH}/revisions?limit=1").get_json()["revisions"][0]["author"] == "teacher"


def test_the_editor_page_lists_the_examples(browser):
    page = browser.get("/devices/bot_001/editor").get_data(as_text=True)
    assert '"id": "Blink"' in page or '"id":"Blink"' in page
