"""Sketches in a real browser: two tabs saving the same sketch, importing a ZIP, restoring an old revision."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from ..live import ApiClient
from .conftest import (
    BOT_PASSWORD,
    BrowserService,
    editor_text,
    open_editor_as_bot,
    screenshot,
    wait_for_editor,
    wait_until_saved,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def server_files(service: BrowserService, product_id: str) -> dict[str, str]:
    api = ApiClient(service.base_url, product_id=product_id, password=BOT_PASSWORD)
    return {f["name"]: f["content"] for f in api.get(f"/api/devices/{product_id}/sketch").json()["files"]}


def append_line(page: Page, text: str) -> None:
    """Type a line at the end of the open file with the real keyboard."""
    page.locator(".cm-content").click()
    page.keyboard.press("Control+End")
    page.keyboard.type(text)
    page.keyboard.press("Enter")


def saved_revision_after(page: Page, before: int) -> int:
    page.wait_for_function("(before) => window.webide.revision() > before", arg=before)
    wait_until_saved(page)
    return page.evaluate("() => window.webide.revision()")


def hold_saves(page: Page) -> None:
    """The page's saves cannot reach the server (its PUTs fail as if offline), so its edits stay unsaved."""
    page.route(
        "**/api/devices/*/sketch",
        lambda route: route.abort() if route.request.method == "PUT" else route.continue_(),
    )


def release_saves(page: Page) -> None:
    page.unroute("**/api/devices/*/sketch")


def test_a_tab_with_unsaved_text_hears_of_a_save_elsewhere_and_both_choices_end_with_what_the_server_has(
    context: BrowserContext, browser_service: BrowserService
) -> None:
    first, second = context.new_page(), context.new_page()
    open_editor_as_bot(first, "bot_tabs")
    second.goto("/")
    wait_for_editor(second)
    loaded = first.evaluate("() => window.webide.revision()")

    hold_saves(second)
    append_line(second, "// edit from the second tab")
    append_line(first, "// edit from the first tab")
    saved_revision_after(first, loaded)
    dialog = second.locator("#conflict-dialog")
    expect(dialog).to_be_visible()
    expect(second.locator("#save-status")).to_have_attribute("data-state", "conflict")
    expect(second.locator("#page-message")).to_contain_text("Changed elsewhere")
    expect(second.locator("#conflict-diff .diff-del")).to_contain_text(["// edit from the first tab"])
    expect(second.locator("#conflict-diff .diff-add")).to_contain_text(["// edit from the second tab"])
    screenshot(second, "conflict-dialog")

    release_saves(second)
    second.click("#conflict-keep-mine")
    expect(dialog).to_be_hidden()
    wait_until_saved(second)
    kept = editor_text(second, "bot_tabs.ino")
    assert "// edit from the second tab" in kept and "// edit from the first tab" not in kept
    assert server_files(browser_service, "bot_tabs")["bot_tabs.ino"] == kept
    first.wait_for_function("(text) => window.webide.editorText('bot_tabs.ino') === text", arg=kept)
    wait_until_saved(first)  # the first tab had nothing unsaved: it followed the save in place

    # Now the first tab holds unsaved text when the second saves: it takes the server's text instead.
    hold_saves(first)
    append_line(first, "// another edit from the first tab")
    second_revision = second.evaluate("() => window.webide.revision()")
    append_line(second, "// and one more from the second tab")
    saved = saved_revision_after(second, second_revision)
    expect(first.locator("#conflict-dialog")).to_be_visible()
    release_saves(first)
    first.click("#conflict-take-theirs")
    expect(first.locator("#conflict-dialog")).to_be_hidden()
    wait_until_saved(first)
    latest = server_files(browser_service, "bot_tabs")["bot_tabs.ino"]
    assert editor_text(first, "bot_tabs.ino") == latest == editor_text(second, "bot_tabs.ino")
    assert first.evaluate("() => window.webide.revision()") == saved


def sketch_archive(folder: str, files: dict[str, str]) -> bytes:
    """A ZIP the way the Arduino IDE exports a sketch folder."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            archive.writestr(f"{folder}/{name}", content)
    return buffer.getvalue()


IMPORTED = {
    "robot.ino": '#include "motor.h"\n\nvoid setup() { motorBegin(); }\n\nvoid loop() {}\n',
    "motor.h": "#pragma once\nvoid motorBegin();\n",
    "motor.cpp": '#include <Arduino.h>\n#include "motor.h"\n\nvoid motorBegin() { pinMode(5, OUTPUT); }\n',
}


def test_importing_a_zip_opens_its_files_as_tabs(page: Page, browser_service: BrowserService) -> None:
    open_editor_as_bot(page, "bot_import")
    page.set_input_files(
        "#import-input",
        files=[{"name": "robot.zip", "mimeType": "application/zip", "buffer": sketch_archive("robot", IMPORTED)}],
    )
    expect(page.locator("#page-message")).to_have_text(re.compile(r"Imported robot\.zip as revision #\d+"))
    tabs = page.locator("#tabs [role=tab]")
    expect(tabs).to_have_text(["bot_import.ino", "motor.cpp", "motor.h"])
    assert editor_text(page, "bot_import.ino") == IMPORTED["robot.ino"]
    assert editor_text(page, "motor.cpp") == IMPORTED["motor.cpp"]
    page.click('#tabs [data-file="motor.h"]')
    expect(page.locator('#tabs [data-file="motor.h"]')).to_have_attribute("aria-selected", "true")
    expect(page.locator(".cm-content")).to_contain_text("void motorBegin();")
    wait_until_saved(page)
    assert server_files(browser_service, "bot_import") == {
        "bot_import.ino": IMPORTED["robot.ino"],
        "motor.h": IMPORTED["motor.h"],
        "motor.cpp": IMPORTED["motor.cpp"],
    }


def save_with_ctrl_s(page: Page) -> int:
    """Press Ctrl+S and return the revision the page reports (an autosave may have come just before it)."""
    page.evaluate("() => { document.querySelector('#page-message').textContent = ''; }")
    page.keyboard.press("Control+S")
    message = page.locator("#page-message")
    expect(message).to_have_text(re.compile(r"Saved as revision #\d+"))
    wait_until_saved(page)
    return int(message.inner_text().rsplit("#", 1)[1])


def test_history_shows_an_old_revision_and_restores_it(page: Page, browser_service: BrowserService) -> None:
    open_editor_as_bot(page, "bot_history")
    old_text = "// the first version\nvoid setup() {}\nvoid loop() {}\n"
    page.evaluate("(text) => window.webide.setEditorText('bot_history.ino', text)", old_text)
    old_revision = save_with_ctrl_s(page)
    append_line(page, "// the second version")
    newest = save_with_ctrl_s(page)
    assert newest > old_revision
    assert editor_text(page) == old_text + "// the second version\n"

    page.click("#btn-file-menu")
    page.click("#menu-history")
    dialog = page.locator("#history-dialog")
    expect(dialog).to_be_visible()
    page.click(f'#history-list button[data-revision="{old_revision}"]')
    expect(dialog.locator("h3")).to_have_text(f"Revision #{old_revision} (read-only)")
    expect(dialog.locator(".highlight-host")).to_contain_text("// the first version")
    expect(dialog.locator(".highlight-host")).not_to_contain_text("the second version")
    screenshot(page, "history-dialog")

    page.click("#history-diff")
    expect(dialog.locator(".diff-add")).to_contain_text(["// the second version"])
    page.click("#history-restore")
    page.click("#ask-ok")
    expect(dialog).to_be_hidden()
    expect(page.locator("#page-message")).to_have_text(f"Restored as revision #{newest + 1}")
    assert editor_text(page) == old_text
    expect(page.locator(".cm-content")).not_to_contain_text("the second version")
    wait_until_saved(page)
    assert server_files(browser_service, "bot_history")["bot_history.ino"] == old_text
