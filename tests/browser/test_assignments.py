"""A teacher hands out an assignment as new tabs, freezes a class, and watches a student's editor live."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from webide import create_app
from webide.core.registry import create_device, create_user, get_or_create_class
from webide.extensions import db

from ..conftest import AVR_FQBN, ESP32_FQBN
from ..live import ApiClient
from .conftest import (
    BOT_PASSWORD,
    DESKTOP,
    BrowserService,
    log_in,
    open_editor_as_bot,
    screenshot,
    wait_for_build_end,
    wait_for_editor,
    wait_for_terminal,
)

pytestmark = pytest.mark.browser

# Their own instructor and classes, so the other browser tests' class and dashboard stay as they expect.
TEACHER = ("teacher_assign", "assign password")
HANDOUT_CLASS, FROZEN_CLASS, REVERT_CLASS = "assign-handout", "assign-frozen", "assign-revert"
FLASH_CLASS = "assign-flash"
BOTS = {
    "bot_assign": HANDOUT_CLASS,
    "bot_frozen": FROZEN_CLASS,
    "bot_twin": FROZEN_CLASS,
    "bot_flash_1": FLASH_CLASS,
    "bot_flash_2": FLASH_CLASS,
}
REVERT_BOTS = {"bot_golden": ESP32_FQBN, "bot_golden_2": ESP32_FQBN, "bot_golden_uno": AVR_FQBN}


@pytest.fixture(scope="module")
def assignment_classes(browser_service: BrowserService) -> BrowserService:
    app = create_app(browser_service.live.settings)
    with app.app_context():
        teacher = create_user(*TEACHER, "instructor")
        for name in (HANDOUT_CLASS, FROZEN_CLASS, REVERT_CLASS, FLASH_CLASS):
            get_or_create_class(name, teacher)
        for product_id, class_name in BOTS.items():
            create_device(product_id, BOT_PASSWORD, "", AVR_FQBN, class_name)
        for product_id, fqbn in REVERT_BOTS.items():
            create_device(product_id, BOT_PASSWORD, "", fqbn, REVERT_CLASS)
        db.session.commit()
        db.engine.dispose()
    return browser_service


@pytest.fixture
def teacher_api(assignment_classes: BrowserService) -> Iterator[ApiClient]:
    api = ApiClient(assignment_classes.base_url, username=TEACHER[0], password=TEACHER[1])
    yield api
    api.http.put(f"{api.base_url}/api/classes/{FROZEN_CLASS}/freeze", json={"state": "open"}, timeout=30)


def save_student_tabs(service: BrowserService, product_id: str) -> None:
    student = ApiClient(service.base_url, product_id=product_id, password=BOT_PASSWORD)
    sketch = student.get(f"/api/devices/{product_id}/sketch").json()
    files = [
        {"name": f"{product_id}.ino", "content": '#include "helper.h"\nvoid setup() { helper(); }\nvoid loop() {}\n'},
        {"name": "helper.cpp", "content": "int helper() { return 1; }\n"},
        {"name": "helper.h", "content": "#pragma once\nint helper();\n"},
    ]
    response = student.http.put(
        f"{service.base_url}/api/devices/{product_id}/sketch",
        json={"files": files, "base_revision": sketch["revision"], "explicit": True},
        timeout=30,
    )
    assert response.status_code == 200, response.text


def test_handing_out_as_new_tabs_keeps_helper_cpp_in_the_students_editor(
    page: Page, chromium: Browser, assignment_classes: BrowserService, teacher_api: ApiClient
) -> None:
    save_student_tabs(assignment_classes, "bot_assign")
    log_in(page, *TEACHER, mode="user")
    page.goto(f"/classes/{HANDOUT_CLASS}/assignments")
    page.fill("#new-title", "Motor control")
    page.select_option("#new-source", "example")
    page.select_option("#new-example", "PwmMotor")
    page.click("#btn-create")
    expect(page.locator("#page-message")).to_contain_text("Created “Motor control”")
    row = page.locator("#assignment-list tr", has_text="Motor control")
    row.locator("select[name=mode]").select_option("add")
    row.locator("button.preview").click()
    planned = page.locator('#preview-table tr[data-product-id="bot_assign"]')
    expect(planned.locator("td.action")).to_have_text("New tabs")
    expect(planned).to_contain_text("Adds Motor.cpp, Motor.h")
    expect(planned).to_contain_text("keeps the student's bot_assign.ino")
    screenshot(page, "assignments-preview")
    page.click("#btn-handout-confirm")
    expect(page.locator("#page-message")).to_contain_text("1 of 1 bots got a new revision")

    student = chromium.new_context(base_url=assignment_classes.base_url, viewport=DESKTOP).new_page()
    try:
        open_editor_as_bot(student, "bot_assign")
        for name in ("bot_assign.ino", "helper.cpp", "helper.h", "Motor.cpp", "Motor.h"):
            expect(student.locator(f'#tabs [role=tab][data-file="{name}"]')).to_be_visible()
        screenshot(student, "assignments-student-after-handout")
        student.evaluate("() => window.webide.setEditorText('Motor.h', '// my own motor driver\\n')")
        student.keyboard.press("Control+S")
        expect(student.locator("#page-message")).to_contain_text("Saved as revision")
    finally:
        student.context.close()

    page.goto("/devices/bot_assign/editor")
    wait_for_editor(page)
    page.click("#btn-file-menu")
    page.click("#menu-history")
    page.click("#history-starter-diff")
    # the base is the assignment's starter, not the hand-out's revision (the student's sketch with the new tabs):
    # the student's own files and main sketch show as differences from it, the untouched Motor.cpp does not
    view = page.locator("#history-view")
    expect(view.locator("h3").first).to_have_text(re.compile(r"The starter handed out in #\d+"))
    expect(view).to_contain_text("Handed out 'Motor control' (add)")
    expect(view).to_contain_text("Motor.h (changed)")
    expect(view).to_contain_text("+// my own motor driver")
    expect(view).to_contain_text("helper.cpp (added)")
    expect(view).to_contain_text("helper.h (added)")
    expect(view).to_contain_text("bot_assign.ino (changed)")
    expect(view).not_to_contain_text("Motor.cpp (")
    expect(view).to_contain_text("− starter (hand-out #")
    screenshot(page, "assignments-teacher-diff-with-starter")


def test_a_frozen_class_refuses_upload_with_a_clear_message_in_the_students_terminal(
    page: Page, chromium: Browser, assignment_classes: BrowserService, teacher_api: ApiClient
) -> None:
    log_in(page, *TEACHER, mode="user")
    page.goto(f"/classes/{FROZEN_CLASS}/assignments")
    page.select_option("#freeze-state", "frozen")
    page.click("#btn-freeze")
    expect(page.locator("#freeze-message")).to_have_text("Frozen: students may edit and Verify, but not Upload")
    screenshot(page, "assignments-frozen")

    student = chromium.new_context(base_url=assignment_classes.base_url, viewport=DESKTOP).new_page()
    try:
        open_editor_as_bot(student, "bot_frozen")
        expect(student.locator("#freeze-notice")).to_contain_text("frozen by your instructor")
        student.click("#btn-upload")
        assert wait_for_build_end(student) == "error"
        wait_for_terminal(student, "Upload refused: Class 'assign-frozen' is frozen by your instructor", 20_000)
        screenshot(student, "assignments-student-upload-refused")
    finally:
        student.context.close()


def test_a_save_in_one_editor_updates_the_other_in_place(
    page: Page, chromium: Browser, assignment_classes: BrowserService, teacher_api: ApiClient
) -> None:
    open_editor_as_bot(page, "bot_twin")
    watcher = chromium.new_context(base_url=assignment_classes.base_url, viewport=DESKTOP).new_page()
    try:
        log_in(watcher, *TEACHER, mode="user")
        watcher.goto("/devices/bot_twin/editor")
        wait_for_editor(watcher)
        text = "// changed in the student's tab\nvoid setup() {}\nvoid loop() {}\n"
        page.evaluate("(text) => window.webide.setEditorText('bot_twin.ino', text)", text)
        page.keyboard.press("Control+S")
        expect(page.locator("#page-message")).to_contain_text("Saved as revision")
        watcher.wait_for_function("(text) => window.webide.editorText('bot_twin.ino') === text", arg=text)
        expect(watcher.locator("#save-status")).to_have_attribute("data-state", "saved")
        expect(watcher.locator("#page-message")).to_contain_text("saved by bot_twin elsewhere")
        screenshot(watcher, "assignments-teacher-follows-student")
    finally:
        watcher.context.close()


def upload_as_student(service: BrowserService, product_id: str, source: str) -> dict:
    student = ApiClient(service.base_url, product_id=product_id, password=BOT_PASSWORD)
    result = student.wait(student.submit(product_id, [{"name": f"{product_id}.ino", "content": source}], True))
    assert result["status"] == "complete", result["log"]
    return result


def test_reverting_the_class_to_a_golden_build_retargets_its_bots(
    page: Page, assignment_classes: BrowserService, teacher_api: ApiClient
) -> None:
    golden = upload_as_student(assignment_classes, "bot_golden", "void setup() {}\nvoid loop() {}\n")
    later = upload_as_student(assignment_classes, "bot_golden_2", "int x;\nvoid setup() { x = 1; }\nvoid loop() {}\n")
    assert later["artifact"]["sha256"] != golden["artifact"]["sha256"]

    log_in(page, *TEACHER, mode="user")
    page.goto(f"/classes/{REVERT_CLASS}/assignments")
    choice = page.locator(f'#golden-select option[value="{golden["update_id"]}"]')
    expect(choice).to_have_count(1)
    page.select_option("#golden-select", golden["update_id"])
    page.click("#btn-golden")
    expect(page.locator("#golden-current")).to_contain_text("Golden build: bot_golden · revision")
    page.click("#btn-revert")
    expect(page.locator("#ask-dialog")).to_be_visible()
    page.click("#ask-ok")
    expect(page.locator("#page-message")).to_contain_text("Reverted 2 of 3 bots")
    expect(page.locator('#revert-table tr[data-product-id="bot_golden_2"]')).to_contain_text("Reverted")
    expect(page.locator('#revert-table tr[data-product-id="bot_golden_uno"]')).to_contain_text("Skipped")
    screenshot(page, "assignments-reverted")
    for product_id in ("bot_golden", "bot_golden_2"):
        target = teacher_api.get(f"/api/devices/{product_id}").json()["target"]
        assert target["sha256"] == golden["artifact"]["sha256"], product_id


def test_flashing_the_class_asks_first_and_compiles_once_for_two_bots_with_the_same_sketch(
    page: Page, assignment_classes: BrowserService
) -> None:
    log_in(page, *TEACHER, mode="user")
    page.goto(f"/classes/{FLASH_CLASS}/assignments")
    page.click("#btn-flash")
    expect(page.locator("#ask-dialog")).to_be_visible()
    screenshot(page, "assignments-flash-confirmation")
    page.keyboard.press("Escape")  # cancelled: nothing is queued
    expect(page.locator("#ask-dialog")).to_be_hidden()
    expect(page.locator("#flash-table")).to_be_hidden()

    page.click("#btn-flash")
    page.click("#ask-ok")
    expect(page.locator("#flash-summary")).to_have_text("2 bots, 1 compile(s)")
    rows = page.locator("#flash-table tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator("#flash-table tbody td", has_text="shared")).to_have_count(1)
    for product_id in ("bot_flash_1", "bot_flash_2"):
        status = page.locator(f'#flash-table tr[data-product-id="{product_id}"] td.status')
        expect(status).to_contain_text("complete", timeout=120_000)
    screenshot(page, "assignments-class-flashed")
