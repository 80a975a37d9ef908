"""The editor's command buttons drive a bot on the live device link (real Mosquitto, the bridge, a simulated bot on
MQTT), and the editor and the class dashboard say when the link is offline."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import pytest
from playwright.sync_api import Browser, Page, expect

from webide.bridge import Bridge, BrokerAddress
from webide.runner import free_port
from webide.simulator import MqttLink, SimulatedBot

from ..conftest import Broker
from ..mqtt_probe import wait_until
from .conftest import CLASS_NAME, INSTRUCTOR, UI_TIMEOUT_MS, BrowserService, log_in, open_editor_as_bot, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BOT = "bot_command"


class RunningBridge:
    def __init__(self, service: BrowserService, broker: Broker):
        self.bridge = Bridge(service.app, BrokerAddress.from_url(broker.bridge_url))
        self.thread = threading.Thread(target=self.bridge.run, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.bridge.stopping = True
        self.thread.join(15)
        assert not self.thread.is_alive(), "the bridge did not stop"


@pytest.fixture
def device_link(browser_service: BrowserService) -> Iterator[tuple[Broker, RunningBridge]]:
    """A private Mosquitto holding the browser service's bots, and the bridge running in this process."""
    settings = replace(browser_service.live.settings, mqtt_port=free_port())
    broker = Broker(browser_service.app, settings)
    broker.start()
    running = RunningBridge(browser_service, broker)
    try:
        yield broker, running
    finally:
        if running.thread.is_alive():
            running.stop()
        broker.stop()


@contextmanager
def bot_on_the_link(
    page: Page, browser_service: BrowserService, device_link: tuple[Broker, RunningBridge]
) -> Iterator[MqttLink]:
    """The simulated bot logged in to the broker, the bridge connected, and the bot's editor open in ``page``."""
    broker, running = device_link
    bot = SimulatedBot(browser_service.base_url, BOT, browser_service.device_tokens[BOT], say=lambda _: None)
    link = MqttLink(bot, "127.0.0.1", broker.port)
    try:
        assert link.connected.wait(30), f"the simulated bot could not log in to the broker: {link.refused}"
        assert wait_until(lambda: running.bridge.marked_connected, timeout=30), "the bridge did not connect"
        open_editor_as_bot(page, BOT)
        yield link
    finally:
        link.close()


def open_device_panel(page: Page) -> None:
    page.click("#btn-device")
    expect(page.locator("#device-panel")).to_be_visible()


def test_led_on_reaches_done_and_a_stopped_bridge_shows_the_link_offline(
    page: Page, chromium: Browser, browser_service: BrowserService, device_link: tuple[Broker, RunningBridge]
) -> None:
    broker, running = device_link
    with bot_on_the_link(page, browser_service, device_link) as link:
        open_device_panel(page)
        expect(page.locator("#device-link")).to_have_text("device link online")

        page.click("#device-commands button[data-command='led'][data-state='on']")
        expect(page.locator("#command-state")).to_have_text("LED on: done", timeout=UI_TIMEOUT_MS)
        assert link.outputs["led"] is True
        page.click("#btn-monitor")
        expect(page.locator("#monitor-log li", has_text="command led done")).to_have_count(1)
        page.locator("#command-state").scroll_into_view_if_needed()
        expect(page.locator("#command-state")).to_be_in_viewport()  # reachable at 1280×720
        screenshot(page, "device-commands-led-on-done")

        page.click("#device-commands button[data-command='reboot']")  # asks first; Cancel sends nothing
        expect(page.locator("#ask-dialog")).to_be_visible()
        screenshot(page, "device-commands-reboot-confirmation")
        page.click("#ask-cancel")
        expect(page.locator("#command-state")).to_have_text("LED on: done")  # no "Reboot: sending…"

        dashboard = chromium.new_page(base_url=browser_service.base_url, viewport={"width": 1280, "height": 720})
        log_in(dashboard, *INSTRUCTOR, mode="user")
        dashboard.goto(f"/classes/{CLASS_NAME}/dashboard")
        expect(dashboard.locator("#device-link")).to_have_text("device link online")

        expect(page.locator("#device-presence")).to_have_text("bot connected")
        expect(dashboard.locator(f"tr[data-product-id='{BOT}']")).to_have_attribute("data-live-link", "true")

        running.stop()  # no reload: the open pages hear it
        expect(page.locator("#device-link")).to_have_text("device link offline")
        screenshot(page, "device-link-offline-editor")
        expect(dashboard.locator("#device-link")).to_have_text("device link offline")
        screenshot(dashboard, "device-link-offline-dashboard")

        restarted = RunningBridge(browser_service, broker)
        try:
            expect(page.locator("#device-link")).to_have_text("device link online", timeout=UI_TIMEOUT_MS)
            expect(dashboard.locator("#device-link")).to_have_text("device link online", timeout=UI_TIMEOUT_MS)
            link.drop()  # the bot loses power: the broker publishes its last will
            expect(page.locator("#device-presence")).to_have_text("bot not connected", timeout=UI_TIMEOUT_MS)
            expect(page.locator("#monitor-log li", has_text="live link lost")).to_have_count(1)
            row = dashboard.locator(f"tr[data-product-id='{BOT}']")
            expect(row).to_have_attribute("data-live-link", "false", timeout=UI_TIMEOUT_MS)
            expect(row).to_contain_text("bot not connected")
        finally:
            restarted.stop()
        dashboard.close()


def test_a_line_typed_in_the_device_monitor_reaches_the_sketch_and_comes_back(
    page: Page, browser_service: BrowserService, device_link: tuple[Broker, RunningBridge]
) -> None:
    with bot_on_the_link(page, browser_service, device_link) as link:
        page.click("#btn-monitor")
        expect(page.locator("#monitor-panel")).to_be_visible()

        page.fill("#serial-line", "speed 42 <b>été</b>")
        page.press("#serial-line", "Enter")
        expect(page.locator("#serial-state")).to_have_text('Serial "speed 42 <b>été</b>": done', timeout=UI_TIMEOUT_MS)
        echo = page.locator("#monitor-log li.serial", has_text="> speed 42 <b>été</b>")
        expect(echo).to_have_count(1)  # shown as text, not markup
        expect(page.locator("#monitor-log li.serial b")).to_have_count(0)
        expect(page.locator("#serial-line")).to_have_value("")
        expect(page.locator("#serial-state")).to_be_in_viewport()  # at 1280×720, without scrolling
        screenshot(page, "device-monitor-serial-input-echo")

        expect(page.locator("#device-heartbeat")).to_contain_text("Bot online (bot connected)")

        link.serial(*(f"reading {n}" for n in range(80)))  # more than the panel holds at 1280×720
        expect(page.locator("#monitor-log li.serial", has_text="reading 79")).to_have_count(1, timeout=UI_TIMEOUT_MS)
        expect(page.locator("#monitor-log li.serial", has_text="reading 79")).to_be_in_viewport()  # log follows
        expect(page.locator("#serial-line")).to_be_in_viewport()  # pinned below the log, no scrolling
        screenshot(page, "device-monitor-full-log-serial-input-pinned")

        page.fill("#serial-line", "é" * 129)  # 258 bytes: refused before sending
        page.click("#serial-send")
        expect(page.locator("#serial-state")).to_have_text("Not sent: the line is 258 bytes; at most 256 go to the bot")
        assert link.commands_done == ["serial"]
