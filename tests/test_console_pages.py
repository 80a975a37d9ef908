"""The classroom console's pages (classes, roster, cards, admin, audit log, account) and the account's own tokens."""

from __future__ import annotations

import re

import pytest

from .conftest import bearer, csrf_token


@pytest.fixture
def people(app, accounts):  # type: ignore[no-untyped-def]
    """Two instructors with a class each (one bot in class-a), an admin, and a browser session for each person."""
    accounts.instructor("teacher_a", "password a", classes=("class-a", "empty class"))
    accounts.instructor("teacher_b", "password b", classes=("class-b",))
    accounts.admin("root", "admin secret")
    accounts.bot("bot_a", "11111", class_name="class-a")
    accounts.bot("bot_b", "22222", class_name="class-b")
    sessions = {}
    for key, (mode, name, password) in {
        "a": ("user", "teacher_a", "password a"),
        "b": ("user", "teacher_b", "password b"),
        "root": ("user", "root", "admin secret"),
        "bot": ("device", "bot_a", "11111"),
    }.items():
        session = app.test_client()
        accounts.browser_login(session, name, password, mode)
        session.environ_base["HTTP_X_CSRFTOKEN"] = csrf_token(session)
        sessions[key] = session
    return sessions


def test_staff_start_on_their_classes_and_bots_on_their_editor(people):
    start = people["a"].get("/")
    assert start.status_code == 302 and start.headers["Location"].endswith("/classes")
    page = people["a"].get("/classes").get_data(as_text=True)
    assert 'data-class="class-a"' in page and 'data-class="empty class"' in page  # empty classes too
    assert 'data-class="class-b"' not in page
    assert "/classes/class-a/dashboard" in page and "/classes/class-a/assignments" in page
    shown_text = re.sub(r"<[^>]+>", " ", page)  # machine-readable times stay in attributes, people read minutes
    assert not re.search(r"\d{2}:\d{2}:\d{2}", shown_text) and re.search(
        r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} UTC", shown_text
    )
    assert people["bot"].get("/").status_code == 200
    assert people["bot"].get("/classes").status_code == 403


def test_an_admin_sees_every_class_and_can_reassign(people):
    page = people["root"].get("/classes").get_data(as_text=True)
    assert 'data-class="class-a"' in page and 'data-class="class-b"' in page
    assert 'class="reassign-class' in page
    assert 'class="reassign-class' not in people["a"].get("/classes").get_data(as_text=True)


def test_the_roster_page_names_boards_and_hides_other_classes(people):
    page = people["a"].get("/classes/class-a").get_data(as_text=True)
    assert 'data-product-id="bot_a"' in page
    assert re.search(r"title=\"arduino:avr:uno\">Arduino Uno</td>", page, re.IGNORECASE)  # the name, not the FQBN
    assert 'value="empty class"' in page  # a class to move the bot to
    other = people["a"].get("/classes/class-b")
    assert other.status_code == 404 and "No class named" in other.get_data(as_text=True)
    assert people["bot"].get("/classes/class-a").status_code == 404


def test_an_archived_class_is_shown_read_only(people):
    people["a"].patch("/api/classes/class-a", json={"archived": True})
    page = people["a"].get("/classes/class-a").get_data(as_text=True)
    assert "Archived — read-only" in page
    assert 'id="add-bot-form"' not in page and 'class="delete-bot' not in page
    listing = people["a"].get("/classes").get_data(as_text=True)
    assert 'data-archived="true"' in listing and "Archived · read-only" in listing


def test_cards_carry_a_qr_code_of_the_login_address_and_never_a_password(people):
    page = people["a"].get("/classes/class-a/cards").get_data(as_text=True)
    assert page.count("<svg") == 1 and "qrline" in page
    assert "/login?mode=device&amp;product_id=bot_a" in page
    assert "11111" not in page
    assert 'id="cards-loopback"' in page and "WEBIDE_PUBLIC_URL" in page  # the test client's host is localhost
    assert people["b"].get("/classes/class-a/cards").status_code == 404


def test_the_login_page_fills_in_the_product_id_from_a_card(client):
    page = client.get("/login?mode=device&product_id=bot_7").get_data(as_text=True)
    assert 'value="bot_7"' in page
    marked = client.get('/login?mode=device&product_id=<b>"x').get_data(as_text=True)
    assert '<b>"x' not in marked


def test_admin_pages_are_for_admins_and_the_audit_log_for_staff(people):
    assert people["root"].get("/admin").status_code == 200
    assert 'data-user="teacher_a"' in people["root"].get("/admin").get_data(as_text=True)
    found = people["root"].get("/admin/devices?q=bot_b").get_data(as_text=True)
    assert 'data-product-id="bot_b"' in found and 'data-product-id="bot_a"' not in found
    for path in ("/admin", "/admin/devices"):
        assert people["a"].get(path).status_code == 403
        assert people["bot"].get(path).status_code == 403
    assert people["a"].get("/admin/activity").status_code == 200
    assert people["bot"].get("/admin/activity").status_code == 403


def test_the_audit_page_filters_and_an_instructor_sees_only_their_classes(people):
    people["a"].post("/api/devices/bot_a/block", json={"blocked": True})
    people["b"].post("/api/devices/bot_b/block", json={"blocked": True})
    mine = people["a"].get("/admin/activity?action=device.block").get_data(as_text=True)
    assert 'data-target="bot_a"' in mine and 'data-target="bot_b"' not in mine
    everything = people["root"].get("/admin/activity?action=device&since=&until=").get_data(as_text=True)
    assert 'data-target="bot_a"' in everything and 'data-target="bot_b"' in everything
    assert "/api/admin/activity.csv?action=device" in everything
    bad = people["root"].get("/admin/activity?since=yesterday")
    assert bad.status_code == 400 and "since" in bad.get_data(as_text=True)


def test_navigation_names_the_console_pages(people):
    admin = people["root"].get("/account").get_data(as_text=True)
    assert 'id="nav-classes"' in admin and 'id="nav-admin"' in admin and 'id="nav-account"' in admin
    teacher = people["a"].get("/account").get_data(as_text=True)
    assert 'id="nav-classes"' in teacher and 'id="nav-admin"' not in teacher and 'id="nav-firmware"' in teacher
    bot = people["bot"].get("/account").get_data(as_text=True)
    assert 'id="nav-account"' in bot and 'id="nav-editor"' in bot and 'id="nav-classes"' not in bot
    assert 'id="nav-firmware"' not in bot


# --- the account's own API tokens ---------------------------------------------------------------------------------


def test_an_account_lists_and_revokes_its_own_tokens(client, accounts):
    accounts.instructor("teacher", "correct horse")
    first = accounts.api_token(client, username="teacher", password="correct horse")
    second = accounts.api_token(client, username="teacher", password="correct horse")
    listed = client.get("/api/auth/tokens", headers=bearer(second)).get_json()["tokens"]
    assert [token["current"] for token in listed] == [True, False]
    assert all(token["expires_at"].endswith("Z") for token in listed)
    assert first not in str(listed) and second not in str(listed)
    revoked = client.delete(f"/api/auth/tokens/{listed[1]['id']}", headers=bearer(second))
    assert revoked.status_code == 200
    assert client.get("/api/auth/me", headers=bearer(first)).status_code == 401
    again = client.delete(f"/api/auth/tokens/{listed[1]['id']}", headers=bearer(second))
    assert again.status_code == 404
    assert len(client.get("/api/auth/tokens", headers=bearer(second)).get_json()["tokens"]) == 1
    root = accounts.admin("root", "admin secret") or accounts.api_token(
        client, username="root", password="admin secret"
    )
    log = client.get("/api/admin/activity?action=account.token_revoke", headers=bearer(root)).get_json()["entries"]
    assert [(e["actor"], e["target"]) for e in log] == [("teacher", "teacher")]


@pytest.mark.parametrize(
    "owner,credentials",
    [
        ("another person", {"username": "teacher_b", "password": "password b"}),
        ("a bot", {"product_id": "bot_a", "password": "11111"}),
        ("an admin", {"username": "root", "password": "admin secret"}),
    ],
)
def test_nobody_revokes_or_sees_another_accounts_token(client, accounts, people, owner, credentials):
    victim = accounts.api_token(client, username="teacher_a", password="password a")
    victim_id = client.get("/api/auth/tokens", headers=bearer(victim)).get_json()["tokens"][0]["id"]
    other = accounts.api_token(client, **credentials)
    assert victim_id not in [
        t["id"] for t in client.get("/api/auth/tokens", headers=bearer(other)).get_json()["tokens"]
    ]
    response = client.delete(f"/api/auth/tokens/{victim_id}", headers=bearer(other))
    assert response.status_code == 404 and response.get_json()["error"] == f"No token with id {victim_id}"
    assert client.get("/api/auth/me", headers=bearer(victim)).status_code == 200


@pytest.mark.parametrize("token_id", ["0", "99999", str(2**63), "-1", "x"])
def test_unknown_token_ids_are_a_404(client, accounts, token_id):
    accounts.instructor("teacher", "correct horse")
    token = accounts.api_token(client, username="teacher", password="correct horse")
    assert client.delete(f"/api/auth/tokens/{token_id}", headers=bearer(token)).status_code == 404


def test_the_token_endpoints_need_a_login(client):
    assert client.get("/api/auth/tokens").status_code == 401
    assert client.delete("/api/auth/tokens/1", headers={"X-CSRFToken": csrf_token(client)}).status_code == 401
    assert client.get("/account").status_code == 302


def test_the_account_page_lists_tokens_and_offers_the_password_form(people, client, accounts):
    accounts.api_token(client, username="teacher_a", password="password a")
    page = people["a"].get("/account").get_data(as_text=True)
    assert 'id="password-form"' in page and 'class="revoke-token"' in page


# --- the demo credentials printed at start ------------------------------------------------------------------------


def test_the_demo_banner_never_prints_credentials_that_stopped_working(app, settings):
    from webide.core.accounts import find_principal, reset_password
    from webide.core.registry import reset_device_token
    from webide.demo import ensure_demo_accounts
    from webide.extensions import db

    with app.app_context():
        first = ensure_demo_accounts(settings)
        db.session.commit()
        assert ensure_demo_accounts(settings) == first  # a restart prints the same, still valid, credentials
        assert "changed since" not in first and "replaced" not in first
        bot = find_principal("device", "bot_001")
        reset_device_token(bot)
        reset_password(bot, "54321")
        db.session.commit()
        later = ensure_demo_accounts(settings)
    assert "password (changed since it was printed first" in later and "password 12345" not in later
    assert "device token (replaced by a newer one" in later
    assert later.splitlines()[0] == first.splitlines()[0]  # the instructor's still work
