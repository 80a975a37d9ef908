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
from ..live import ApiClient, InOrderClient
from ..ota_support import esp32_image
from .conftest import (
    ADMIN,
    BOT_PASSWORD,
    INSTRUCTOR,
    UI_TIMEOUT_MS,
    BrowserService,
    log_in,
    open_editor_as_bot,
    screenshot,
    terminal_text,
    wait_for_terminal,
    wait_for_terminal_settled,
)
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


LIVE_CLASS = "live-lab"
LIVE_BOTS = ("live_bot_1", "live_bot_2", "live_bot_3", "live_bot_4")
LIVE_VERSION = "2.2.0"
SWEEP_TIMEOUT_MS = 60_000  # the worker's housekeeping counts the bots every few seconds


def started_rollout(
    service: BrowserService, folder: Path, class_name: str, bots: tuple[str, ...], version: str, groups: int
) -> dict:
    """A started rollout of a new release to a new class of ESP32 bots, made through the API like a script."""
    api = ApiClient(service.base_url, username=INSTRUCTOR[0], password=INSTRUCTOR[1])
    assert api.post("/api/classes", json={"name": class_name}).status_code == 201
    tokens = {}
    for product_id in bots:
        body = {"product_id": product_id, "class": class_name, "password": BOT_PASSWORD, "fqbn": ESP32_FQBN}
        response = api.post("/api/devices/register", json=body)
        assert response.status_code == 201, response.text
        tokens[product_id] = response.json()["device_token"]
    image = esp32_image(folder / f"{version}.ino.bin", 40_000, seed=len(class_name))
    published = api.post(
        "/api/firmware/releases",
        data={"version": version, "board": ESP32_FQBN},
        files={"file": ("app.ino.bin", image, "application/octet-stream")},
    )
    assert published.status_code == 201, published.text
    body = {
        "name": "spring <b>1.2</b>",
        "version": version,
        "targets": {"class_name": class_name},
        "groups": {"count": groups},
        "success_threshold": 100,
        "error_threshold_count": 1,
    }
    created = api.post("/api/rollouts", json=body)
    assert created.status_code == 201, created.text
    rollout = created.json()["rollout"]
    assert api.post(f"/api/rollouts/{rollout['id']}/start").status_code == 200
    members = [[bot["product_id"] for bot in group["bots"]] for group in rollout["groups"]]
    return {"id": rollout["id"], "groups": members, "tokens": tokens}


@pytest.fixture(scope="module")
def live_rollout(browser_service: BrowserService, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A started 2-group rollout to a class of four ESP32 bots (once for the module: the service lives for the
    whole session)."""
    return started_rollout(browser_service, tmp_path_factory.mktemp("live"), LIVE_CLASS, LIVE_BOTS, LIVE_VERSION, 2)


def test_the_firmware_page_counts_live_while_the_bots_check_in(
    page: Page, browser_service: BrowserService, live_rollout: dict
) -> None:
    tokens, (first, second) = live_rollout["tokens"], live_rollout["groups"]
    log_in(page, *INSTRUCTOR, mode="user")
    page.goto(f"{browser_service.base_url}/firmware")
    wait_for_console(page)
    expect(page.locator("#rollouts-live")).to_have_attribute("data-status", "connected")
    page.evaluate("() => { window.loadedOnce = true; }")
    rollout = page.locator(f'#rollouts [data-rollout="{live_rollout["id"]}"]')
    expect(rollout.locator("h3")).to_contain_text("spring <b>1.2</b>")  # a name is text, never markup
    group_1, group_2 = rollout.locator('.group[data-group="1"]'), rollout.locator('.group[data-group="2"]')
    expect(group_1.locator(".updating")).to_have_text("2")
    rollout.locator(".rollout-bots summary").click()

    update_like_the_bot(browser_service, first[0], tokens[first[0]])
    expect(group_1.locator(".succeeded")).to_have_text("1", timeout=SWEEP_TIMEOUT_MS)
    expect(group_1.locator(".updating")).to_have_text("1")
    expect(rollout.locator(f'tr[data-bot="{first[0]}"] .bot-state')).to_have_text("succeeded")

    update_like_the_bot(browser_service, first[1], tokens[first[1]])
    expect(group_2.locator(".updating")).to_have_text("2", timeout=SWEEP_TIMEOUT_MS)  # the next group opened
    expect(group_1.locator(".succeeded")).to_have_text("2")
    expect(rollout.locator(".rollout-progress")).to_have_text("group 2 of 2 open")

    failing = SimulatedBot(browser_service.base_url, second[0], tokens[second[0]], say=logger.info, fate="fail")
    assert failing.press_button().result == "failed"
    expect(rollout).to_have_attribute("data-state", "paused", timeout=SWEEP_TIMEOUT_MS)
    expect(group_2.locator(".failed")).to_have_text("1")
    expect(rollout.locator(".rollout-state")).to_have_text("Paused")
    expect(rollout.locator(".paused-reason")).to_have_text("— group 2: 1 of 2 bots failed")
    expect(rollout.locator(".rollout-resume")).to_be_visible()
    expect(rollout.locator(".rollout-pause")).to_be_hidden()
    expect(rollout.locator(f'tr[data-bot="{second[0]}"] .bot-state')).to_have_text("failed")
    assert page.evaluate("() => window.loadedOnce") is True, "the page reloaded"
    screenshot(page, "firmware-rollout-live")


def test_a_rollout_created_elsewhere_appears_on_open_firmware_pages(
    page: Page, browser_service: BrowserService, tmp_path: Path
) -> None:
    log_in(page, *INSTRUCTOR, mode="user")
    page.goto(f"{browser_service.base_url}/firmware")
    wait_for_console(page)
    expect(page.locator("#rollouts-live")).to_have_attribute("data-status", "connected")
    page.evaluate("() => { window.loadedOnce = true; }")

    created = started_rollout(browser_service, tmp_path, "fleet-elsewhere", ("elsewhere_1", "elsewhere_2"), "4.0.0", 2)
    section = page.locator(f'#rollouts > [data-rollout="{created["id"]}"]')
    expect(section).to_be_visible(timeout=UI_TIMEOUT_MS)
    expect(page.locator("#rollouts > [data-rollout]").first).to_have_attribute("data-rollout", str(created["id"]))
    expect(section.locator("h3")).to_contain_text("spring <b>1.2</b>")
    expect(section.locator('.group[data-group="1"] .updating')).to_have_text("1")
    expect(page.locator("#no-rollouts")).to_be_hidden()

    token = created["tokens"][created["groups"][0][0]]
    update_like_the_bot(browser_service, created["groups"][0][0], token)  # followed live like the others
    expect(section.locator('.group[data-group="2"] .updating')).to_have_text("1", timeout=SWEEP_TIMEOUT_MS)
    assert page.evaluate("() => window.loadedOnce") is True, "the page reloaded"
    screenshot(page, "firmware-rollout-created-elsewhere")


def rollout_room_answers(
    service: BrowserService, token: str, *requests_: dict, event: str = "join_rollout"
) -> list[dict]:
    """What the server answers to each ``event`` request (join_rollout) of one Socket.IO client logged in with
    ``token``."""
    client = InOrderClient(reconnection=False)
    client.connect(
        service.base_url, namespaces=["/ota-update"], auth={"token": token}, transports=["websocket"], wait_timeout=10
    )
    try:
        return [client.call(event, body, namespace="/ota-update", timeout=10) for body in requests_]
    finally:
        client.disconnect()


def test_only_the_rollouts_instructor_and_admins_join_its_room(
    browser_service: BrowserService, live_rollout: dict
) -> None:
    rollout_id = live_rollout["id"]
    student = ApiClient(browser_service.base_url, product_id=LIVE_BOTS[0], password=BOT_PASSWORD)
    refused, malformed = rollout_room_answers(browser_service, student.token, {"rollout_id": rollout_id}, {})
    assert refused == {"success": False, "error": "Only instructors and admins may do this"}
    assert malformed["success"] is False
    admin = ApiClient(browser_service.base_url, username=ADMIN[0], password=ADMIN[1])
    body = {"username": "fleet_other_teacher", "role": "instructor", "password": "other teacher pw"}
    assert admin.post("/api/admin/users", json=body).status_code == 201
    other = ApiClient(browser_service.base_url, username=body["username"], password=body["password"])
    [not_theirs] = rollout_room_answers(browser_service, other.token, {"rollout_id": rollout_id})
    assert not_theirs == {"success": False, "error": f"No rollout {rollout_id}"}
    owner = ApiClient(browser_service.base_url, username=INSTRUCTOR[0], password=INSTRUCTOR[1])
    for allowed in (owner, admin):
        [joined] = rollout_room_answers(browser_service, allowed.token, {"rollout_id": rollout_id})
        assert joined["success"] is True and joined["rollout_id"] == rollout_id
    # The fleet room (new rollouts): staff only.
    [refused] = rollout_room_answers(browser_service, student.token, {}, event="join_fleet")
    assert refused == {"success": False, "error": "Only instructors and admins may do this"}
    for allowed in (owner, other, admin):
        [joined] = rollout_room_answers(browser_service, allowed.token, {}, event="join_fleet")
        assert joined["success"] is True


def test_the_bots_terminal_follows_the_rollout(page: Page, browser_service: BrowserService, tmp_path: Path) -> None:
    bot = "term_bot_1"
    rollout = started_rollout(browser_service, tmp_path, "term-lab", (bot,), "2.3.0", 1)
    open_editor_as_bot(page, bot)
    label = r"Rollout 'spring <b>1\.2</b>' \(group 1\): "
    wait_for_terminal(page, label + "the image is offered to the bot", timeout=UI_TIMEOUT_MS)  # replayed
    update_like_the_bot(browser_service, bot, rollout["tokens"][bot])
    wait_for_terminal(page, label + "bot runs the new image — succeeded", timeout=SWEEP_TIMEOUT_MS)  # live
    wait_for_terminal_settled(page)
    lines = [line for line in terminal_text(page).splitlines() if line.startswith("Rollout ")]
    assert lines == [
        "Rollout 'spring <b>1.2</b>' (group 1): the image is offered to the bot",
        "Rollout 'spring <b>1.2</b>' (group 1): bot downloaded the image",
        "Rollout 'spring <b>1.2</b>' (group 1): bot runs the new image — succeeded",
    ]
    screenshot(page, "rollout-terminal")
