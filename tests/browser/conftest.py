"""A live service with a few bots and an instructor, a headless Chromium, and helpers to log in and look around."""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from webide.core.registry import create_device, create_user, get_or_create_class
from webide.extensions import db
from webide.simulator import SimulatedBot

from ..conftest import AVR_FQBN, ESP32_FQBN, ROOT, LiveService, live_processes, scratch_app
from ..fake_arduino_cli import service_environment

logger = logging.getLogger(__name__)

REDIS_DATABASE = 9
BOT_PASSWORD = "12345"
INSTRUCTOR = ("teacher", "correct horse")
ADMIN = ("root", "admin secret")
CLASS_NAME = "robotics-1"
BOTS = (
    "bot_login",
    "bot_type",
    "bot_verify",
    "bot_upload",
    "bot_usb",
    "bot_tabs",
    "bot_import",
    "bot_history",
    "bot_class",
    "bot_layout",
    "bot_live",
    "bot_flood",
    "bot_overflow",
    "bot_serial",
    "bot_command",
)
ESP32_BOTS = {"bot_upload"}  # the bots whose Upload is pulled over the air
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
DESKTOP = {"width": 1280, "height": 720}
# Compiles take a few seconds (the core is cached after the first); a cold one on a busy 2-core machine takes longer.
BUILD_TIMEOUT_MS = 180_000
UI_TIMEOUT_MS = 20_000


@dataclass
class BrowserService:
    """The live web server and worker, plus the device tokens of the bots created for the browser tests."""

    live: LiveService
    device_tokens: dict[str, str]
    app: Flask  # the same database and Redis, for work done in the test process (the device link's bridge)

    @property
    def base_url(self) -> str:
        return self.live.base_url


@pytest.fixture(scope="session")
def browser_service(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[BrowserService]:
    """One gunicorn + Celery worker for every browser test, on its own Redis database and data folder."""
    folder, settings, app = scratch_app(tmp_path_factory, redis_url, REDIS_DATABASE, "browser")
    with app.app_context():
        tokens = {
            bot: create_device(
                bot, BOT_PASSWORD, "", ESP32_FQBN if bot in ESP32_BOTS else AVR_FQBN, CLASS_NAME
            ).device_token
            for bot in BOTS
        }
        teacher = create_user(*INSTRUCTOR, "instructor")
        create_user(*ADMIN, "admin")
        get_or_create_class(CLASS_NAME, teacher)
        db.session.commit()
    # ESP32 bots build with the arduino-cli stand-in (the ESP32 core cannot be installed here), AVR bots with
    # Debian's toolchain: only an ESP32 bot's Upload becomes an over-the-air target.
    toolchain = Path(tempfile.mkdtemp(prefix="esp32-toolchain-"))  # pytest's own folders are private (0700)
    toolchain.chmod(0o711)
    esp32 = service_environment(toolchain)
    with live_processes(settings, folder, **esp32) as live:
        yield BrowserService(live, tokens, app)
    with app.app_context():
        db.engine.dispose()
    shutil.rmtree(toolchain, ignore_errors=True)


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def chromium(playwright_driver: Playwright) -> Iterator[Browser]:
    """Debian's Chromium, headless; Playwright never downloads a browser of its own here."""
    browser = playwright_driver.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def context(chromium: Browser, browser_service: BrowserService) -> Iterator[BrowserContext]:
    """A fresh browser profile per test: no cookies, no local storage carried over."""
    ctx = chromium.new_context(base_url=browser_service.base_url, viewport=DESKTOP)
    ctx.set_default_timeout(UI_TIMEOUT_MS)
    expect.set_options(timeout=UI_TIMEOUT_MS)
    yield ctx
    ctx.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """Remember each phase's outcome on the test item, so fixtures can tell whether the test failed."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"report_{report.when}", report)


@pytest.fixture
def page(context: BrowserContext, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A page whose console errors are logged; when the test fails, its screen and terminal are kept for a look.
    An uncaught script error fails the test even when the page looked right: it breaks the next live update."""
    opened = context.new_page()
    uncaught = watch_console(opened)
    yield opened
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed and not opened.is_closed():
        keep_failure_evidence(opened, request.node.name)
    assert not uncaught, f"uncaught script errors on the page: {uncaught}"


def keep_failure_evidence(page: Page, test_name: str) -> None:
    path = screenshot(page, f"failed-{test_name}")
    terminal = page.evaluate("() => window.webide ? window.webide.terminalText() : ''")
    path.with_suffix(".terminal.txt").write_text(terminal, encoding="utf-8")
    logger.warning("failure screenshot: %s", path)


def watch_console(page: Page) -> list[str]:
    """Page errors end up in the test log, which makes a failing browser test much easier to understand; the
    uncaught ones are also collected in the list returned."""
    uncaught: list[str] = []

    def page_error(error: Exception) -> None:
        logger.warning("page error: %s", error)
        uncaught.append(str(error))

    page.on("pageerror", page_error)
    page.on("console", lambda message: message.type == "error" and logger.warning("console: %s", message.text))
    return uncaught


def log_in(page: Page, identifier: str, password: str, mode: str = "device") -> None:
    """Fill the login page like a person: pick the mode tab, type the identifier and password, press Log in."""
    page.goto(f"/login?mode={mode}")
    page.fill("#identifier", identifier)
    page.fill("#password", password)
    page.click("#btn-login")


def open_editor_as_bot(page: Page, product_id: str) -> None:
    """Log in as the bot and wait until its editor has loaded the sketch and joined its live room."""
    log_in(page, product_id, BOT_PASSWORD)
    wait_for_editor(page)


def wait_for_editor(page: Page) -> None:
    page.wait_for_function("() => window.webide !== undefined")
    expect(page.locator("#save-status")).to_have_attribute("data-state", "saved")
    expect(page.locator("#connection-status")).to_have_attribute("data-state", "connected")


def editor_text(page: Page, name: str | None = None) -> str:
    return page.evaluate("(name) => window.webide.editorText(name)", name)


def terminal_text(page: Page) -> str:
    return page.evaluate("() => window.webide.terminalText()")


def wait_for_terminal(page: Page, pattern: str, timeout: float = BUILD_TIMEOUT_MS) -> None:
    """Wait until the terminal's text matches the regular expression ``pattern``."""
    page.wait_for_function(
        "(pattern) => new RegExp(pattern).test(window.webide.terminalText())", arg=pattern, timeout=timeout
    )


def wait_for_build_end(page: Page) -> str:
    """Wait until the build started by the last click or shortcut has ended; returns its outcome (ok or error).

    The page marks the status line busy synchronously when Verify or Upload is pressed, so this cannot see the
    outcome of an earlier build.
    """
    status = page.locator("#build-status")
    expect(status).not_to_have_attribute("data-kind", "busy", timeout=BUILD_TIMEOUT_MS)
    wait_for_terminal_settled(page)
    return status.get_attribute("data-kind") or ""


def wait_for_terminal_settled(page: Page) -> None:
    """Lines reach the terminal in batches, once per animation frame: wait until every one has been drawn."""
    page.wait_for_function("() => window.webide.terminalSettled()")


def replace_main_text(page: Page, text: str) -> None:
    """Select all in the editor and type ``text`` with the real keyboard (auto-indent and brackets included)."""
    page.locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(text)


def wait_until_saved(page: Page) -> None:
    expect(page.locator("#save-status")).to_have_attribute("data-state", "saved")


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page PNG under test-artifacts/screenshots/ for people to look at after the run."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^a-z0-9_-]+', '-', name.lower())}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def pull_firmware_like_the_bot(service: BrowserService, product_id: str) -> None:
    """Heartbeat, press the simulated bot's button and let it download, verify, reboot into and report its target."""
    bot = SimulatedBot(
        service.base_url, product_id, service.device_tokens[product_id], say=lambda text: logger.info("%s", text)
    )
    reply = bot.heartbeat()
    assert reply.status == 200, (reply.status, reply.body[:500])
    outcome = bot.press_button()
    assert outcome.result == "updated", outcome
