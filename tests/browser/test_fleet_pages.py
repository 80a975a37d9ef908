"""The firmware page in Chromium, as an instructor uses it: upload an ESP32 release, roll it out to a class in
groups, start it, watch a simulated bot of the first group count as running the image, then block the release."""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from webide.simulator import SimulatedBot

from ..conftest import ESP32_FQBN
from ..live import ApiClient
from ..ota_support import esp32_image
from .conftest import BOT_PASSWORD, INSTRUCTOR, BrowserService, log_in, screenshot
from .test_console_pages import confirm, wait_for_console

pytestmark = pytest.mark.browser

logger = logging.getLogger(__name__)

FLEET_CLASS = "fleet-lab"
FLEET_BOTS = ("fleet_bot_1", "fleet_bot_2", "fleet_bot_3")
VERSION = "2.1.0"


def esp32_class(service: BrowserService) -> dict[str, str]:
    """A class of three ESP32 bots created through the API, like a script would; their device tokens by ID."""
    api = ApiClient(service.base_url, username=INSTRUCTOR[0], password=INSTRUCTOR[1])
    assert api.post("/api/classes", json={"name": FLEET_CLASS}).status_code == 201
    tokens = {}
    for product_id in FLEET_BOTS:
        body = {"product_id": product_id, "class": FLEET_CLASS, "password": BOT_PASSWORD, "fqbn": ESP32_FQBN}
        response = api.post("/api/devices/register", json=body)
        assert response.status_code == 201, response.text
        tokens[product_id] = response.json()["device_token"]
    return tokens


def update_like_the_bot(service: BrowserService, product_id: str, token: str) -> None:
    bot = SimulatedBot(service.base_url, product_id, token, say=lambda text: logger.info("%s", text))
    assert bot.heartbeat().status == 200
    outcome = bot.press_button()
    assert outcome.result == "updated", outcome


def reload_until_cell_reads(page: Page, selector: str, text: str, timeout: float = 90) -> None:
    """The page is rendered by the server: reload it until the worker's housekeeping has counted the group."""
    deadline = time.monotonic() + timeout
    while True:
        page.reload()
        wait_for_console(page)
        shown = page.locator(selector).inner_text().strip()
        if shown == text:
            return
        assert time.monotonic() < deadline, f"{selector} still reads {shown!r}, not {text!r}"
        page.wait_for_timeout(1000)


def test_an_instructor_uploads_a_release_rolls_it_out_and_blocks_it(
    page: Page, browser_service: BrowserService, tmp_path: Path
) -> None:
    tokens = esp32_class(browser_service)
    image = esp32_image(tmp_path / "app.ino.bin", 48_000, seed=21)
    log_in(page, *INSTRUCTOR, mode="user")
    page.click("#nav-firmware")
    expect(page.locator("h1")).to_have_text("Firmware")
    wait_for_console(page)

    page.set_input_files(
        "#release-file", files=[{"name": "app.ino.bin", "mimeType": "application/octet-stream", "buffer": image}]
    )
    page.fill("#release-version", VERSION)
    page.select_option("#release-board", ESP32_FQBN)
    page.fill("#release-notes", "faster motor start")
    page.get_by_role("button", name="Upload release").click()
    expect(page.locator("#page-message")).to_have_text("Release published.")
    release = page.locator(f'#releases tr[data-version="{VERSION}"]')
    expect(release).to_have_attribute("data-blocked", "false")
    expect(release).to_contain_text("ESP32 Dev Module")
    expect(release).to_contain_text("In service")
    wait_for_console(page)

    page.select_option("#rollout-version", VERSION)
    page.select_option("#rollout-class", FLEET_CLASS)
    page.fill("#rollout-groups", "3")
    page.fill("#rollout-success", "100")
    page.fill("#rollout-errors", "1")
    page.get_by_role("button", name="Create rollout").click()
    expect(page.locator("#page-message")).to_contain_text("Rollout created")
    rollout = page.locator("#rollouts [data-rollout]").first
    expect(rollout).to_have_attribute("data-state", "ready")
    expect(rollout.locator(".group")).to_have_count(3)
    wait_for_console(page)
    rollout.locator(".rollout-start").click()
    expect(page.locator("#page-message")).to_contain_text("started")
    rollout = page.locator("#rollouts [data-rollout]").first
    expect(rollout).to_have_attribute("data-state", "running")
    expect(rollout).to_contain_text("group 1 of 3 open")

    rollout_id = rollout.get_attribute("data-rollout")
    api = ApiClient(browser_service.base_url, username=INSTRUCTOR[0], password=INSTRUCTOR[1])
    groups = api.get(f"/api/rollouts/{rollout_id}").json()["rollout"]["groups"]
    first_bot = groups[0]["bots"][0]["product_id"]
    update_like_the_bot(browser_service, first_bot, tokens[first_bot])
    reload_until_cell_reads(page, '#rollouts [data-rollout] .group[data-group="1"] .succeeded', "1")
    rollout = page.locator("#rollouts [data-rollout]").first
    expect(rollout.locator('.group[data-group="2"] .updating')).to_have_text("1")  # the next group opened
    expect(rollout).to_contain_text(re.compile(r"group 2 of 3 open"))
    screenshot(page, "firmware-rollout")

    page.locator(f'#releases tr[data-version="{VERSION}"] .block-release').click()
    page.fill("#ask-input", "motor stalls on boot")
    confirm(page)
    release = page.locator(f'#releases tr[data-version="{VERSION}"]')
    expect(release).to_have_attribute("data-blocked", "true")
    expect(release.locator(".block-reason")).to_have_text("motor stalls on boot")
    expect(page.locator("#page-message")).to_have_text(f"{VERSION} is blocked.")
    screenshot(page, "firmware-blocked")
    wait_for_console(page)

    release.locator(".unblock-release").focus()  # with the keyboard, as a teacher might
    page.keyboard.press("Enter")
    expect(page.locator("#page-message")).to_have_text(f"{VERSION} is in service again.")
    expect(page.locator(f'#releases tr[data-version="{VERSION}"]')).to_have_attribute("data-blocked", "false")
