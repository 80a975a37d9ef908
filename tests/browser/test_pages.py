"""The instructor's way from the classes to a bot's editor, accessible names of the controls, and the layout at laptop and tablet sizes."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from .conftest import (
    BOTS,
    CLASS_NAME,
    INSTRUCTOR,
    log_in,
    open_editor_as_bot,
    screenshot,
    wait_for_editor,
)

pytestmark = pytest.mark.browser

TABLET = {"width": 820, "height": 1180}


def test_an_instructor_sees_the_class_and_opens_a_bots_editor(page: Page) -> None:
    log_in(page, *INSTRUCTOR, mode="user")
    expect(page).to_have_url(re.compile(r"/classes$"))
    expect(page.locator("h1")).to_have_text("Classes")
    page.locator(f'#classes tr[data-class="{CLASS_NAME}"] .class-link').click()
    rows = page.locator("#roster tbody tr")
    expect(rows).to_have_count(len(BOTS))
    row = page.locator('tr[data-product-id="bot_class"]')
    expect(row.locator("td").nth(1)).to_have_text(re.compile("Arduino Uno", re.IGNORECASE))
    expect(row.locator("td").nth(2)).to_contain_text("offline")
    screenshot(page, "instructor-roster")

    row.get_by_role("link", name="bot_class").click()
    expect(page).to_have_url(re.compile(r"/devices/bot_class/editor$"))
    wait_for_editor(page)
    expect(page.locator('#tabs [role=tab][data-file="bot_class.ino"]')).to_have_attribute("aria-selected", "true")
    expect(page.locator("#device-panel-title")).to_have_text("bot_class")


def test_every_toolbar_control_has_an_accessible_name_and_is_reachable_by_keyboard(page: Page) -> None:
    open_editor_as_bot(page, "bot_layout")
    controls = page.locator(".toolbar button:visible, .toolbar select:visible, .tab-row button:visible")
    assert controls.count() >= 9
    for index in range(controls.count()):
        expect(controls.nth(index)).to_have_accessible_name(re.compile(r"\w"))
    expect(page.locator("#board-select")).to_have_accessible_name("Board")
    expect(page.locator(".cm-content")).to_have_accessible_name("Code editor: bot_layout.ino")
    expect(page.locator("#terminal")).to_have_accessible_name("Compiler and upload output")

    page.locator("#btn-verify").focus()
    page.keyboard.press("Tab")
    expect(page.locator("#btn-upload")).to_be_focused()
    page.locator("#btn-file-menu").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#file-menu")).to_be_visible()
    expect(page.locator("#btn-file-menu")).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Escape")
    expect(page.locator("#file-menu")).to_be_hidden()


@pytest.mark.parametrize("size", [{"width": 1280, "height": 720}, TABLET], ids=["laptop", "tablet"])
def test_the_editor_fits_the_screen_without_horizontal_scrolling(page: Page, size: dict[str, int]) -> None:
    page.set_viewport_size(size)
    open_editor_as_bot(page, "bot_layout")
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    for selector in (
        "#btn-verify",
        "#btn-upload",
        "#btn-save",
        "#btn-device",
        ".cm-editor",
        "#terminal",
        "#save-status",
    ):
        box = page.locator(selector).bounding_box()
        assert box is not None and box["width"] > 0, selector
        assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"] + 0.5, (selector, box)
    expect(page.locator(".cm-editor")).to_be_in_viewport()
    expect(page.locator("#terminal")).to_be_in_viewport()
    screenshot(page, f"layout-{size['width']}x{size['height']}")
