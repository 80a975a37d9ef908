"""The terminal shows the build log exactly: long outputs, heartbeats arriving meanwhile, reloads, the scrollback cap."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from webide.simulator import SimulatedBot

from ..live import ApiClient
from .conftest import (
    BOT_PASSWORD,
    BrowserService,
    open_editor_as_bot,
    terminal_text,
    wait_for_build_end,
    wait_for_editor,
    wait_for_terminal_settled,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def flood_sketch(warnings: int) -> str:
    """gcc prints three lines per #warning (the warning, the source line, the caret)."""
    lines = "\n".join(f"#warning terminal line {n}" for n in range(warnings))
    return f"{lines}\nvoid setup() {{ pinMode(13, OUTPUT); }}\nvoid loop() {{}}\n"


def verify_in_page(page: Page, product_id: str, sketch: str) -> None:
    page.evaluate("([name, text]) => window.webide.setEditorText(name, text)", [f"{product_id}.ino", sketch])
    page.click("#btn-verify")


def shown_lines(page: Page) -> list[str]:
    wait_for_terminal_settled(page)
    return terminal_text(page).split("\n")


def test_a_3000_line_build_shows_exactly_the_stored_log_also_after_a_reload(
    page: Page, browser_service: BrowserService
) -> None:
    open_editor_as_bot(page, "bot_flood")
    bot = SimulatedBot(
        browser_service.base_url, "bot_flood", browser_service.device_tokens["bot_flood"], say=lambda _: None
    )
    verify_in_page(page, "bot_flood", flood_sketch(1000))
    page.wait_for_function("() => window.webide.terminalText().includes('terminal line 100')", timeout=120_000)
    for _ in range(5):  # the bot reports in while the compiler prints
        assert bot.heartbeat().status == 200
    assert wait_for_build_end(page) == "ok", terminal_text(page)[-2000:]

    api = ApiClient(browser_service.base_url, product_id="bot_flood", password=BOT_PASSWORD)
    build = api.get("/api/devices/bot_flood/builds").json()["builds"][0]
    log = api.get(f"/api/builds/{build['update_id']}").json()["log"].split("\n")
    assert len(log) >= 3000
    expected = ["Compiling sketch…", *(line.rstrip() for line in log)]
    assert shown_lines(page) == expected  # each line once, in order; the size summary only as the log has it
    expect(page.locator("#full-log")).to_be_hidden()
    expect(page.locator("#monitor-log")).to_contain_text("heartbeat")
    expect(page.locator("#device-heartbeat")).to_contain_text("Bot online")
    elapsed = page.locator("#build-elapsed").inner_text()
    assert re.fullmatch(r"compile \d+:\d\d", elapsed), elapsed

    page.reload()
    wait_for_editor(page)
    expect(page.locator("#build-status")).to_have_attribute("data-kind", "ok")
    page.wait_for_function("(last) => window.webide.terminalText().endsWith(last)", arg=expected[-1])
    assert shown_lines(page) == expected
    expect(page.locator("#build-elapsed")).to_have_text(elapsed)  # measured from server timestamps


def test_a_build_longer_than_the_scrollback_offers_the_full_stored_log(
    page: Page, browser_service: BrowserService
) -> None:
    open_editor_as_bot(page, "bot_overflow")
    verify_in_page(page, "bot_overflow", flood_sketch(2000))
    assert wait_for_build_end(page) == "ok", terminal_text(page)[-2000:]
    link = page.locator("#full-log")
    expect(link).to_be_visible()
    api = ApiClient(browser_service.base_url, product_id="bot_overflow", password=BOT_PASSWORD)
    build = api.get("/api/devices/bot_overflow/builds").json()["builds"][0]
    log = api.get(f"/api/builds/{build['update_id']}").json()["log"]
    shown = shown_lines(page)
    assert len(shown) < len(log.split("\n")) and shown[-1] == log.split("\n")[-1].rstrip()
    with page.context.expect_page() as opened:
        link.click()
    full = opened.value
    full.wait_for_load_state()
    assert full.locator("pre").inner_text() == log
