"""The classroom console in Chromium, as an instructor and an admin use it: classes, a roster import with a bad row,
credential cards, a password reset, blocking a person, the audit log; with the keyboard where a teacher would."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from .conftest import ADMIN, DESKTOP, INSTRUCTOR, BrowserService, log_in, screenshot, wait_for_editor

pytestmark = pytest.mark.browser

BAD_ROSTER = "product_id,password,name\ncard_bot_1,,Ada\nnot a valid id!,12345,Grace\ncard_bot_2,24680,Linus\n"
GOOD_ROSTER = "product_id,password,name\ncard_bot_1,,Ada\ncard_bot_3,13579,Grace\ncard_bot_2,24680,Linus\n"


def wait_for_console(page: Page) -> None:
    """The console script marks the page once its controls work (they call the API only from then on)."""
    expect(page.locator("html")).to_have_attribute("data-console", "ready")


def create_class(page: Page, name: str) -> None:
    """On the classes page: type the name, press Create, wait for the reloaded page with the new row."""
    page.goto("/classes")
    wait_for_console(page)
    page.fill("#new-class-name", name)
    page.get_by_role("button", name="Create class").click()
    expect(page.locator(f'#classes tr[data-class="{name}"]')).to_be_visible()
    expect(page.locator("#page-message")).to_have_text("Class created.")


def open_roster(page: Page, class_name: str) -> None:
    page.locator(f'#classes tr[data-class="{class_name}"] .class-link').click()
    expect(page.locator("h1")).to_contain_text(class_name)
    wait_for_console(page)


def choose_roster(page: Page, text: str) -> None:
    page.set_input_files(
        "#roster-file", files=[{"name": "roster.csv", "mimeType": "text/csv", "buffer": text.encode()}]
    )


def import_roster(page: Page, text: str) -> dict[str, str]:
    """Check and import a roster on the roster page; returns the passwords the server generated, by product ID."""
    choose_roster(page, text)
    page.click("#btn-roster-preview")
    expect(page.locator("#btn-roster-import")).to_be_enabled()
    page.click("#btn-roster-import")
    dialog = page.locator("#secret-dialog")
    expect(dialog).to_be_visible()
    shown = {
        cell.get_attribute("data-product-id") or "": cell.inner_text()
        for cell in dialog.locator('dd[data-secret="password"]').all()
    }
    page.click("#secret-close")
    expect(page.locator("#page-message")).to_contain_text("imported.")  # the reloaded page's script says so
    return shown


def confirm(page: Page) -> None:
    dialog = page.locator("#ask-dialog")
    expect(dialog).to_be_visible()
    page.click("#ask-ok")


def test_an_instructor_creates_a_class_imports_a_roster_with_a_bad_row_and_prints_cards(page: Page) -> None:
    log_in(page, *INSTRUCTOR, mode="user")
    expect(page).to_have_url(re.compile(r"/classes$"))
    create_class(page, "Period 3")
    row = page.locator('#classes tr[data-class="Period 3"]')
    expect(row.locator("td").nth(0)).to_have_text("0")  # empty classes are listed
    expect(row.get_by_role("link", name="Dashboard")).to_have_attribute("href", "/classes/Period%203/dashboard")
    expect(row.locator("time")).to_have_text(re.compile(r"^(just now|\d+ s ago)$"))
    screenshot(page, "console-classes")

    open_roster(page, "Period 3")
    choose_roster(page, BAD_ROSTER)
    page.click("#btn-roster-preview")
    bad = page.locator('#roster-preview tr[data-ok="false"]')
    expect(bad).to_have_count(1)
    expect(bad).to_have_attribute("data-line", "3")
    expect(bad.locator(".verdict")).to_contain_text("invalid product ID")
    expect(page.locator('#roster-preview tr[data-ok="true"]')).to_have_count(2)
    expect(page.locator("#roster-summary")).to_contain_text("1 of 3 rows has errors")
    expect(page.locator("#btn-roster-import")).to_be_disabled()
    screenshot(page, "console-roster-preview-bad-row")
    page.reload()
    expect(page.locator("#no-bots")).to_be_visible()  # nothing was imported
    wait_for_console(page)

    passwords = import_roster(page, GOOD_ROSTER)
    assert list(passwords) == ["card_bot_1"] and re.fullmatch(r"\d{6}", passwords["card_bot_1"])
    expect(page.locator("#roster tbody tr")).to_have_count(3)
    expect(page.locator("#page-message")).to_have_text("3 bots imported.")
    screenshot(page, "console-roster")

    page.click("#link-cards")
    wait_for_console(page)
    cards = page.locator(".cred-card")
    expect(cards).to_have_count(3)
    first = page.locator('.cred-card[data-product-id="card_bot_1"]')
    expect(first.locator(".card-qr svg")).to_be_visible()
    expect(first.locator(".card-password")).to_have_text(passwords["card_bot_1"])
    expect(first.locator(".card-url")).to_have_text(re.compile(r"/login\?mode=device&product_id=card_bot_1$"))
    expect(page.locator('.cred-card[data-product-id="card_bot_2"] .card-password')).to_have_text("ask your instructor")
    screenshot(page, "console-cards")
    page.emulate_media(media="print")
    expect(page.locator(".topbar")).to_be_hidden()
    expect(page.locator("#btn-print")).to_be_hidden()
    screenshot(page, "console-cards-print")
    page.emulate_media(media="screen")
    page.reload()  # shown once: the password is gone
    expect(first.locator(".card-password")).to_have_text("ask your instructor")


def test_an_instructor_resets_a_password_and_the_bot_logs_in_with_it(
    page: Page, chromium: Browser, browser_service: BrowserService
) -> None:
    log_in(page, *INSTRUCTOR, mode="user")
    create_class(page, "Reset lab")
    open_roster(page, "Reset lab")
    import_roster(page, "product_id,password,name\nreset_bot,11111,Sam\n")
    page.locator('#roster tr[data-product-id="reset_bot"] .reset-password').click()
    confirm(page)
    secret = page.locator('#secret-dialog dd[data-secret="password"] code')
    expect(secret).to_have_text(re.compile(r"^\d{6}$"))
    new_password = secret.inner_text()
    screenshot(page, "console-password-reset")
    page.click("#secret-close")
    expect(page.locator("#page-message")).to_have_text("reset_bot has a new password.")

    page.locator('#roster tr[data-product-id="reset_bot"] .kit').click()
    confirm(page)  # the kit says why it cannot be made yet, and the bot's token is left alone
    expect(page.locator("#page-message")).to_have_attribute("data-kind", "error")
    expect(page.locator("#page-message")).to_contain_text("No Wi-Fi settings are stored for reset_bot")

    student = chromium.new_context(base_url=browser_service.base_url, viewport=DESKTOP)
    try:
        bot_page = student.new_page()
        log_in(bot_page, "reset_bot", "11111")
        expect(bot_page.locator("#login-error")).to_have_text("Wrong product ID or password")
        log_in(bot_page, "reset_bot", new_password)
        wait_for_editor(bot_page)
    finally:
        student.close()


def test_an_admin_blocks_a_person_who_then_cannot_log_in_and_the_audit_log_shows_it(
    page: Page, chromium: Browser, browser_service: BrowserService
) -> None:
    log_in(page, *ADMIN, mode="user")
    page.click("#nav-admin")
    wait_for_console(page)
    page.fill("#new-user-name", "substitute")
    page.fill("#new-user-password", "temporary pw")
    page.get_by_role("button", name="Create account").click()
    row = page.locator('#users tr[data-user="substitute"]')
    expect(row).to_be_visible()
    expect(page.locator("#page-message")).to_have_text("Account created.")
    row.locator(".block-user").click()
    confirm(page)
    expect(row.locator(".blocked-badge")).to_have_text("Blocked")
    screenshot(page, "console-admin-people")

    other = chromium.new_context(base_url=browser_service.base_url, viewport=DESKTOP)
    try:
        blocked = other.new_page()
        log_in(blocked, "substitute", "temporary pw", mode="user")
        expect(blocked.locator("#login-error")).to_have_text("This account is blocked; ask an administrator")
    finally:
        other.close()

    page.click("#nav-activity")
    expect(page.locator('#activity tr[data-action="user.block"][data-target="substitute"]')).to_have_count(1)
    expect(page.locator('#activity tr[data-action="user.create"][data-target="substitute"]')).to_have_count(1)
    expect(page.locator('#activity tr[data-action="login.failed"][data-target="substitute"]')).to_have_count(1)
    page.fill("#f-target", "substitute")
    page.fill("#f-action", "user")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#activity tbody tr")).to_have_count(2)
    expect(page.locator("#link-activity-csv")).to_have_attribute(
        "href", "/api/admin/activity.csv?target=substitute&action=user"
    )
    screenshot(page, "console-audit-log")


def test_the_audit_log_shows_an_instructors_roster_actions(page: Page) -> None:
    log_in(page, *INSTRUCTOR, mode="user")
    create_class(page, "Audit lab")
    open_roster(page, "Audit lab")
    import_roster(page, "product_id,password,name\naudit_bot,11111,Kim\n")
    page.locator('#roster tr[data-product-id="audit_bot"] .block-bot').click()
    confirm(page)
    expect(page.locator('#roster tr[data-product-id="audit_bot"] .blocked-badge')).to_be_visible()
    expect(page.locator("#page-message")).to_have_text("audit_bot is blocked.")
    page.click("#nav-activity")
    for action in ("class.create", "device.create", "device.block"):
        expect(page.locator(f'#activity tr[data-action="{action}"]').first).to_be_visible()
    expect(page.locator('#activity tr[data-action="user.block"]')).to_have_count(0)  # admins' business only


def test_classes_are_created_renamed_and_deleted_with_the_keyboard(page: Page) -> None:
    log_in(page, *INSTRUCTOR, mode="user")
    wait_for_console(page)
    page.locator("#nav-classes").focus()
    page.keyboard.press("Tab")
    expect(page.locator("#nav-firmware")).to_be_focused()  # the top bar is one Tab stop per page
    page.locator("#new-class-name").focus()
    page.keyboard.type("Keyboard class")
    page.keyboard.press("Enter")
    row = page.locator('#classes tr[data-class="Keyboard class"]')
    expect(row).to_be_visible()
    expect(page.locator("#page-message")).to_have_text("Class created.")

    row.locator(".rename-class").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#ask-input")).to_be_focused()
    page.keyboard.press("Control+A")
    page.keyboard.type("Keys only")
    page.keyboard.press("Enter")
    renamed = page.locator('#classes tr[data-class="Keys only"]')
    expect(renamed).to_be_visible()
    expect(page.locator("#page-message")).to_have_text("Class renamed.")

    renamed.locator(".delete-class").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#ask-ok")).to_be_focused()
    page.keyboard.press("Escape")  # cancel: nothing happens, focus returns to the button
    expect(renamed.locator(".delete-class")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#ask-ok")).to_be_focused()
    # The browser fires a dialog's close event a task after closing it: cancelling and reopening within one task
    # (as a quick Escape-then-Enter can) must leave the reopened question waiting for its own answer.
    page.evaluate("""() => {
        document.querySelector('#ask-cancel').click();
        document.querySelector('#classes tr[data-class="Keys only"] .delete-class').click();
    }""")
    expect(page.locator("#ask-ok")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("#page-message")).to_have_text("Keys only is deleted.")
    expect(renamed).to_have_count(0)
    overflow = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0


def test_a_student_changes_the_password_on_the_account_page(
    page: Page, chromium: Browser, browser_service: BrowserService
) -> None:
    log_in(page, *INSTRUCTOR, mode="user")
    create_class(page, "Account lab")
    open_roster(page, "Account lab")
    import_roster(page, "product_id,password,name\naccount_bot,11111,Noor\n")

    student = chromium.new_context(base_url=browser_service.base_url, viewport=DESKTOP)
    try:
        bot_page = student.new_page()
        log_in(bot_page, "account_bot", "11111")
        wait_for_editor(bot_page)
        bot_page.goto("/account")
        wait_for_console(bot_page)
        bot_page.fill("#current-password", "11111")
        bot_page.fill("#new-password", "new secret")
        bot_page.fill("#repeat-password", "new secrets")
        bot_page.get_by_role("button", name="Change password").click()
        expect(bot_page.locator("#password-form .form-error")).to_have_text("The two new passwords differ.")
        bot_page.fill("#repeat-password", "new secret")
        bot_page.keyboard.press("Enter")
        expect(bot_page.locator("#page-message")).to_have_text(
            "Password changed. Your other sessions and API tokens have ended."
        )
        screenshot(bot_page, "console-account")
        bot_page.click("#btn-logout")
        log_in(bot_page, "account_bot", "new secret")
        wait_for_editor(bot_page)
    finally:
        student.close()


def test_a_bot_gets_a_new_device_token_moves_to_another_class_and_is_deleted(page: Page) -> None:
    log_in(page, *INSTRUCTOR, mode="user")
    create_class(page, "Move target")
    create_class(page, "Move lab")
    open_roster(page, "Move lab")
    import_roster(page, "product_id,password,name\nmove_bot,11111,Ira\n")
    row = page.locator('#roster tr[data-product-id="move_bot"]')

    row.locator(".new-token").click()
    expect(page.locator("#ask-message")).to_contain_text("stays offline until it is provisioned again")
    confirm(page)
    expect(page.locator("#secret-warning")).to_contain_text("provisioned again with this token")
    expect(page.locator('#secret-dialog dd[data-secret="device_token"] code')).to_have_text(re.compile(r"\S{20,}"))
    page.click("#secret-close")
    expect(page.locator("#page-message")).to_have_text("move_bot has a new device token: provision the bot again.")

    row.locator(".move-bot select").select_option("Move target")
    row.locator(".move-bot button").click()
    expect(page.locator("#page-message")).to_have_text("move_bot moved to another class.")
    expect(page.locator("#no-bots")).to_be_visible()

    page.goto("/classes")
    open_roster(page, "Move target")
    page.locator('#roster tr[data-product-id="move_bot"] .delete-bot').click()
    expect(page.locator("#ask-message")).to_contain_text("Delete move_bot and all its data")
    confirm(page)
    expect(page.locator("#page-message")).to_have_text("move_bot and its data are deleted.")
    expect(page.locator("#no-bots")).to_be_visible()
