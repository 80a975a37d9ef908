"""The editor page in a real browser: log in, type and autosave, Verify with errors and without, Upload, reconnect."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from ..live import ApiClient
from .conftest import (
    BOT_PASSWORD,
    BUILD_TIMEOUT_MS,
    BrowserService,
    editor_text,
    log_in,
    open_editor_as_bot,
    pull_firmware_like_the_bot,
    replace_main_text,
    screenshot,
    terminal_text,
    wait_for_build_end,
    wait_for_editor,
    wait_for_terminal,
    wait_until_saved,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SIZE_LINE = r"Sketch uses \d+ bytes \(\d+%\) of program storage space"
ERROR_LINE = 3
BROKEN = """void setup() {
  pinMode(9, OUTPUT);
  int speed = ;
  analogWrite(9, speed);
}

void loop() {}
"""


def test_a_bot_logs_in_with_its_product_id_and_lands_on_its_editor(page: Page) -> None:
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/login"))
    log_in(page, "bot_login", "not the password")
    expect(page.locator("#login-error")).to_be_visible()
    log_in(page, "bot_login", BOT_PASSWORD)
    wait_for_editor(page)
    assert page.url.endswith("/") and "/login" not in page.url
    expect(page.locator('#tabs [role=tab][data-file="bot_login.ino"]')).to_have_attribute("aria-selected", "true")
    assert "void setup()" in editor_text(page)


def test_typed_code_is_autosaved_and_still_there_after_a_reload(page: Page, browser_service: BrowserService) -> None:
    open_editor_as_bot(page, "bot_type")
    first_revision = page.evaluate("() => window.webide.revision()")
    page.locator(".cm-content").click()
    page.keyboard.press("Control+Home")
    # Typed key by key: the editor's bracket closing and auto-indent must not garble what a person types.
    page.keyboard.type("int answer() { return 42; }")
    page.keyboard.press("Enter")
    expect(page.locator("#save-status")).to_have_attribute("data-state", re.compile("dirty|saving"))
    page.wait_for_function("(before) => window.webide.revision() > before", arg=first_revision)
    wait_until_saved(page)

    page.reload()
    wait_for_editor(page)
    assert editor_text(page).startswith("int answer() { return 42; }\n// Your bot's program.")
    expect(page.locator(".cm-content .cm-line").first).to_have_text("int answer() { return 42; }")
    stored = ApiClient(browser_service.base_url, product_id="bot_type", password=BOT_PASSWORD)
    sketch = stored.get("/api/devices/bot_type/sketch").json()
    assert sketch["files"][0]["content"] == editor_text(page)


def test_verify_marks_a_syntax_error_on_its_line_and_the_fix_compiles(page: Page) -> None:
    open_editor_as_bot(page, "bot_verify")
    replace_main_text(page, BROKEN)
    page.keyboard.press("Control+R")
    assert wait_for_build_end(page) == "error", terminal_text(page)
    assert "error: expected primary-expression" in terminal_text(page)
    assert f"bot_verify.ino:{ERROR_LINE}:15" in terminal_text(page)

    errors = [d for d in page.evaluate("() => window.webide.diagnostics()") if d["severity"] == "error"]
    assert [(d["file"], d["line"]) for d in errors] == [("bot_verify.ino", ERROR_LINE)]
    assert gutter_line_of_error_marker(page) == str(ERROR_LINE)
    underlined = page.locator(".cm-content .cm-line", has=page.locator(".cm-lintRange-error"))
    expect(underlined).to_have_count(1)
    expect(underlined).to_have_text("  int speed = ;")
    expect(page.locator('#tabs [data-file="bot_verify.ino"] .tab-badge')).to_have_text("1")
    screenshot(page, "verify-error-gutter-marker")

    fix_the_error_with_the_keyboard(page)
    page.click("#btn-verify")
    assert wait_for_build_end(page) == "ok", terminal_text(page)
    # The toolchain prints the size summary itself; the page does not repeat it.
    assert len(re.findall(SIZE_LINE, terminal_text(page))) == 1, terminal_text(page)
    expect(page.locator("#build-status")).to_have_text(re.compile(f"Done compiling. {SIZE_LINE}"))
    expect(page.locator("#terminal .xterm-rows")).to_contain_text("Sketch uses")
    assert page.evaluate("() => window.webide.diagnostics()") == []
    expect(page.locator(".cm-lint-marker-error")).to_have_count(0)
    assert "int speed = 42;" in editor_text(page)
    screenshot(page, "verify-success-terminal")


def gutter_line_of_error_marker(page: Page) -> str:
    """The line number printed next to the gutter's error marker (matched by vertical position)."""
    marker = page.locator(".cm-gutter-lint .cm-gutterElement", has=page.locator(".cm-lint-marker-error"))
    expect(marker).to_have_count(1)
    marker_top = marker.bounding_box()["y"]
    numbers = page.locator(".cm-lineNumbers .cm-gutterElement")
    for index in range(numbers.count()):
        box = numbers.nth(index).bounding_box()
        if box and abs(box["y"] - marker_top) < 2:
            return numbers.nth(index).inner_text()
    raise AssertionError(f"no line number at the height of the error marker ({marker_top})")


def fix_the_error_with_the_keyboard(page: Page) -> None:
    """Move to the broken line like a person would and type the missing value before the semicolon."""
    page.locator(".cm-content").click()
    page.keyboard.press("Control+Home")
    for _ in range(ERROR_LINE - 1):
        page.keyboard.press("ArrowDown")
    page.keyboard.press("End")
    page.keyboard.press("ArrowLeft")
    page.keyboard.type("42")


def test_upload_waits_for_the_button_then_follows_the_bot_through_the_flash(
    page: Page, browser_service: BrowserService
) -> None:
    open_editor_as_bot(page, "bot_upload")
    page.locator(".cm-content").click()
    page.keyboard.press("Control+U")
    page.wait_for_function(
        """() => {
        const status = document.querySelector('#build-status');
        return status.dataset.kind === 'error' || status.textContent.includes('press the button on your bot');
    }""",
        timeout=BUILD_TIMEOUT_MS,
    )
    assert page.locator("#build-status").get_attribute("data-kind") != "error", terminal_text(page)
    wait_for_terminal(page, "Upload ready: press the button on your bot")
    text = terminal_text(page)
    assert text.startswith("Compiling sketch for upload") and re.search(SIZE_LINE, text), text
    expect(page.locator("#build-status")).to_have_text(re.compile(f"{SIZE_LINE}.*press the button on your bot"))
    page.click("#btn-device")
    expect(page.locator("#device-panel")).to_be_visible()
    expect(page.locator("#device-target")).to_contain_text("build #1")
    expect(page.locator("#device-sync")).to_have_text("The bot does not run the target firmware yet.")

    pull_firmware_like_the_bot(browser_service, "bot_upload")
    wait_for_terminal(page, "Bot is running the new firmware")
    text = terminal_text(page)
    steps = [
        text.index("press the button on your bot"),
        text.index("downloading the new firmware"),
        text.index("rebooting into the new firmware"),
        text.index("Bot is running the new firmware"),
    ]
    assert steps == sorted(steps), text
    assert text.count("press the button on your bot") == 1, text
    assert "heartbeat" not in text, text  # the bot's heartbeats belong to the device monitor
    # Compile and flash times, measured between server timestamps.
    expect(page.locator("#build-elapsed")).to_have_text(re.compile(r"compile \d+:\d\d · flash \d+:\d\d"))
    expect(page.locator("#device-sync")).to_have_text("The bot runs the target firmware.")
    expect(page.locator("#device-flash")).to_have_text("running")
    screenshot(page, "upload-flashed-device-panel")


def test_upload_on_a_board_without_over_the_air_updates_offers_the_compiled_hex(page: Page) -> None:
    """An Arduino UNO cannot pull firmware: Upload says so plainly and offers the Intel HEX to flash over USB."""
    open_editor_as_bot(page, "bot_usb")
    page.locator(".cm-content").click()
    page.keyboard.press("Control+U")
    assert wait_for_build_end(page) == "ok", terminal_text(page)
    status = page.locator("#build-status")
    expect(status).to_have_text(
        re.compile(f"^This board cannot update over the air: download the firmware and flash it over USB — {SIZE_LINE}")
    )
    text = terminal_text(page)
    assert re.search(
        f"This board cannot update over the air: download the compiled firmware .* over USB. {SIZE_LINE}", text
    ), text
    assert len(set(re.findall(r"\((\d+)%\) of program storage", text))) == 1, "one percentage, as Arduino prints it"
    assert "press the button" not in text and "press the button" not in status.inner_text(), text

    link = page.locator("#download-firmware")
    expect(link).to_be_visible()
    expect(link).to_have_text("Download firmware (.hex)")
    status.click()  # then the keyboard: Tab from the status line reaches the link
    page.keyboard.press("Tab")
    expect(link).to_be_focused()
    download = page.request.get(link.get_attribute("href") or "")
    assert download.status == 200, download.text()[:500]
    assert download.headers["content-disposition"] == "attachment; filename=bot_usb.ino.hex"
    assert download.body().startswith(b":") and download.body().rstrip().endswith(b":00000001FF")  # Intel HEX
    screenshot(page, "upload-usb-only-board-offers-hex")


def test_a_dropped_connection_reconnects_and_replays_the_missed_output(
    page: Page, context: BrowserContext, browser_service: BrowserService
) -> None:
    open_editor_as_bot(page, "bot_live")
    api = ApiClient(browser_service.base_url, product_id="bot_live", password=BOT_PASSWORD)
    context.set_offline(True)
    expect(page.locator("#connection-status")).to_have_attribute("data-state", "reconnecting")
    expect(page.locator("#connection-status")).to_have_text("reconnecting…")

    # While the page is cut off, a build runs (started by a script): every line it prints is missed by the page.
    result = api.wait(api.submit("bot_live"))
    assert result["status"] == "complete", result["log"]
    assert "Sketch uses" not in terminal_text(page)

    context.set_offline(False)
    expect(page.locator("#connection-status")).to_have_attribute("data-state", "connected")
    wait_for_terminal(page, SIZE_LINE)
    replayed = terminal_text(page)
    assert all(line.strip() in replayed for line in result["log"].splitlines() if line.strip())
    expect(page.locator("#build-status")).to_have_text(re.compile(f"Done compiling. {SIZE_LINE}"))
