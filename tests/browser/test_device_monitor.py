"""The Device monitor shows what the bot prints, live and after a reload, never in the build terminal."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from webide.simulator import SimulatedBot

from .conftest import BrowserService, open_editor_as_bot, screenshot, terminal_text, wait_for_editor

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_serial_lines_show_in_the_device_monitor_as_plain_text(page: Page, browser_service: BrowserService) -> None:
    open_editor_as_bot(page, "bot_serial")
    page.click("#btn-monitor")
    bot = SimulatedBot(
        browser_service.base_url, "bot_serial", browser_service.device_tokens["bot_serial"], say=lambda _: None
    )
    lines = ["running new firmware", "Hello from setup()", "\x1b[31mtemperature: 21.5 C\x1b[0m", "<b>not bold</b>"]
    reply = bot.post_json("/api/devices/bot_serial/logs", {"lines": lines})
    assert reply.status == 200, reply.body
    monitor = page.locator("#monitor-log li.serial")
    expect(monitor).to_have_count(4)
    shown = [text.split("  ", 1)[1] for text in monitor.all_inner_texts()]
    assert shown == ["running new firmware", "Hello from setup()", "temperature: 21.5 C", "<b>not bold</b>"]
    assert page.locator("#monitor-log b").count() == 0
    assert "Hello from setup()" not in terminal_text(page)
    screenshot(page, "device-monitor-serial-lines")

    page.reload()
    wait_for_editor(page)
    page.click("#btn-monitor")
    expect(page.locator("#monitor-log li.serial")).to_have_count(4)  # replayed to a page opened later
