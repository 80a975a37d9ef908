"""The live class dashboard in Chromium: a heartbeat and a failed Verify (real worker, real AVR toolchain) appear
without a reload; the error map counts two students with the same mistake as 2; filters; names stay text."""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import Page, expect

from ..live import ApiClient, InOrderClient
from .conftest import ADMIN, BOT_PASSWORD, BUILD_TIMEOUT_MS, INSTRUCTOR, BrowserService, log_in, screenshot

pytestmark = pytest.mark.browser

CLASS = "dash-1"
BOTS = {"dash_a": "Ada's rover &amp; co", "dash_b": "Ben's bot", "dash_c": "Cleo's bot"}
UNDECLARED = "void setup() {{\n  pinMode({name}, OUTPUT);\n}}\n\nvoid loop() {{\n}}\n"


@pytest.fixture(scope="module")
def dashboard_class(browser_service: BrowserService) -> dict[str, str]:
    """A class of three AVR bots made through the API as an instructor would; their device tokens."""
    teacher = ApiClient(browser_service.base_url, username=INSTRUCTOR[0], password=INSTRUCTOR[1])
    assert teacher.post("/api/classes", json={"name": CLASS}).status_code == 201
    tokens = {}
    for product_id, name in BOTS.items():
        body = {"product_id": product_id, "password": BOT_PASSWORD, "name": name, "class": CLASS}
        body["fqbn"] = "arduino:avr:uno"
        response = teacher.post("/api/devices/register", json=body)
        assert response.status_code == 201, response.text
        tokens[product_id] = response.json()["device_token"]
    return tokens


def heartbeat(service: BrowserService, token: str, product_id: str, **fields: float) -> None:
    response = requests.post(
        f"{service.base_url}/api/devices/{product_id}/heartbeat",
        headers={"Authorization": f"Bearer {token}"},
        json=fields,
        timeout=10,
    )
    assert response.status_code == 200, response.text


def verify_as_student(service: BrowserService, product_id: str, source: str) -> None:
    student = ApiClient(service.base_url, product_id=product_id, password=BOT_PASSWORD)
    update_id = student.submit(product_id, [{"name": f"{product_id}.ino", "content": source}])
    assert student.wait(update_id, timeout=BUILD_TIMEOUT_MS / 1000)["status"] == "error"


def open_dashboard(page: Page) -> None:
    log_in(page, *INSTRUCTOR, mode="user")
    page.goto(f"/classes/{CLASS}/dashboard")
    expect(page.locator("#connection-status")).to_have_attribute("data-state", "connected")
    page.evaluate("() => { window.loadedOnce = true; }")  # gone if the page reloads


def row(page: Page, product_id: str):  # type: ignore[no-untyped-def]
    return page.locator(f'#bot-table tbody tr[data-product-id="{product_id}"]')


def test_the_dashboard_follows_heartbeats_and_failed_verifies_live(
    page: Page, browser_service: BrowserService, dashboard_class: dict[str, str]
) -> None:
    open_dashboard(page)
    expect(page.locator("#bot-table tbody tr")).to_have_count(3)
    expect(page.locator("#online-summary")).to_have_text("0 of 3 online")
    expect(row(page, "dash_a").locator("th a")).to_have_text(
        "Ada's rover &amp; co"
    )  # an entity-like name is shown as text

    for n in range(3):
        heartbeat(
            browser_service, dashboard_class["dash_a"], "dash_a", rssi=-55, heap=180_000, uptime=60 + n, light=300 + n
        )
    expect(row(page, "dash_a")).to_have_attribute("data-online", "true")
    expect(row(page, "dash_a")).to_contain_text("-55 dBm")
    expect(row(page, "dash_a")).to_contain_text("176 KiB")
    expect(row(page, "dash_a")).to_contain_text("last seen")
    expect(page.locator("#online-summary")).to_have_text("1 of 3 online")
    expect(page.locator("#field-select")).to_have_value("light")
    expect(row(page, "dash_a").locator(".chart canvas")).to_have_count(1)  # uPlot drew the series
    expect(row(page, "dash_b").locator(".chart canvas")).to_have_count(0)  # no samples, no chart
    page.wait_for_function(
        "() => (window.webideDashboard.series.dash_a || []).length === 3 && window.webideDashboard.series.dash_a[2]"
        ".values.light === 302"
    )

    verify_as_student(browser_service, "dash_b", UNDECLARED.format(name="ledPin"))
    verify_as_student(browser_service, "dash_c", UNDECLARED.format(name="motorPin"))
    expect(row(page, "dash_b")).to_have_class("has-error", timeout=BUILD_TIMEOUT_MS)
    expect(row(page, "dash_c")).to_have_class("has-error")
    expect(row(page, "dash_b")).to_contain_text("dash_b.ino:2: \u2018ledPin\u2019 was not declared in this scope")
    expect(page.locator("#clean-summary")).to_have_text("0 of 3 compile clean")
    group = page.locator('#error-map li[data-count="2"]')
    expect(group).to_have_count(1)
    expect(group.locator(".count")).to_have_text("2 students")
    expect(group.locator(".message")).to_have_text("'…' was not declared in this scope")
    expect(group.locator(".who")).to_have_text("Ben's bot (dash_b.ino:2), Cleo's bot (dash_c.ino:2)")
    assert page.evaluate("() => window.loadedOnce") is True, "the page reloaded"

    page.get_by_label("errors only").check()
    expect(page.locator("#bot-table tbody tr")).to_have_count(2)
    page.get_by_label("all bots").check()
    expect(page.locator("#bot-table tbody tr")).to_have_count(3)
    page.set_viewport_size({"width": 1280, "height": 720})
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"), "horizontal scrolling"
    screenshot(page, "class-dashboard")


def test_the_filters_and_sort_work_from_the_keyboard(page: Page, dashboard_class: dict[str, str]) -> None:
    open_dashboard(page)
    page.locator('input[name="filter"][value="all"]').focus()
    page.keyboard.press("ArrowRight")  # radio group: the next option is "errors only"
    expect(page.locator('input[name="filter"][value="errors"]')).to_be_checked()
    page.keyboard.press("ArrowRight")
    expect(page.locator('input[name="filter"][value="offline"]')).to_be_checked()
    page.locator("#sort-select").focus()
    page.keyboard.press("ArrowDown")
    expect(page.locator("#sort-select")).to_have_value("status")


def class_room_answers(service: BrowserService, token: str, *requests_: dict) -> list[dict]:
    """What the server answers to each join_class request of one Socket.IO client logged in with ``token``."""
    client = InOrderClient(reconnection=False)
    client.connect(
        service.base_url, namespaces=["/ota-update"], auth={"token": token}, transports=["websocket"], wait_timeout=10
    )
    try:
        return [client.call("join_class", body, namespace="/ota-update", timeout=10) for body in requests_]
    finally:
        client.disconnect()


def test_a_bot_cannot_join_a_class_room(browser_service: BrowserService, dashboard_class: dict[str, str]) -> None:
    student = ApiClient(browser_service.base_url, product_id="dash_b", password=BOT_PASSWORD)
    named, empty = class_room_answers(browser_service, student.token, {"class_name": CLASS}, {})
    assert named == {"success": False, "error": f"No class named {CLASS!r}"}
    assert empty["success"] is False


def test_only_the_class_instructor_and_admins_join_its_room(
    browser_service: BrowserService, dashboard_class: dict[str, str]
) -> None:
    admin = ApiClient(browser_service.base_url, username=ADMIN[0], password=ADMIN[1])
    body = {"username": "dash_other_teacher", "role": "instructor", "password": "other teacher pw"}
    assert admin.post("/api/admin/users", json=body).status_code == 201
    other = ApiClient(browser_service.base_url, username=body["username"], password=body["password"])
    owner = ApiClient(browser_service.base_url, username=INSTRUCTOR[0], password=INSTRUCTOR[1])
    [refused] = class_room_answers(browser_service, other.token, {"class_name": CLASS})
    assert refused == {"success": False, "error": f"No class named {CLASS!r}"}
    for allowed in (owner, admin):
        [joined] = class_room_answers(browser_service, allowed.token, {"class_name": CLASS})
        assert joined["success"] is True and joined["class_name"] == CLASS
