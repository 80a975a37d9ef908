"""Login and logout for every kind of principal, in the browser and over the API; throttling; CSRF; sessions."""

from __future__ import annotations

import re
from xml.etree import ElementTree

import pytest

from webide.core.accounts import change_password, find_principal
from webide.extensions import db

from .conftest import bearer, csrf_token


def test_bot_logs_in_with_product_id_and_password_and_lands_on_its_editor(client, accounts):
    accounts.bot("bot_001", "12345")
    response = accounts.browser_login(client, "bot_001", "12345")
    assert response.status_code == 302
    page = client.get("/")
    assert page.status_code == 200
    assert b'id="page-config"' in page.data and b"bot_001" in page.data


def test_instructor_logs_in_and_sees_their_classes(client, accounts):
    accounts.instructor("teacher", "correct horse", classes=("robotics-a",))
    accounts.bot("bot_001", class_name="robotics-a")
    accounts.bot("bot_002", class_name="other-class")
    assert accounts.browser_login(client, "teacher", "correct horse", mode="user").status_code == 302
    start = client.get("/", follow_redirects=True)
    assert start.request.path == "/classes"
    page = start.get_data(as_text=True)
    assert 'data-class="robotics-a"' in page and 'data-class="other-class"' not in page
    roster = client.get("/classes/robotics-a").get_data(as_text=True)
    assert "bot_001" in roster and "bot_002" not in roster


@pytest.mark.parametrize("identifier,password", [("bot_001", "wrong"), ("nobody", "12345"), ("BOT_001 ", "12345")])
def test_wrong_credentials_are_refused_with_the_same_message(client, accounts, identifier, password):
    accounts.bot("bot_001", "12345")
    response = accounts.browser_login(client, identifier, password)
    assert response.status_code == 401
    assert b"Wrong product ID or password" in response.data
    assert client.get("/api/devices").status_code == 401


def test_logout_ends_the_browser_session(client, accounts):
    accounts.bot("bot_001", "12345")
    accounts.browser_login(client, "bot_001", "12345")
    assert client.get("/api/devices").status_code == 200
    response = client.post("/logout", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 302
    assert client.get("/api/devices").status_code == 401


@pytest.mark.parametrize("kind", ["bot", "instructor", "admin"])
def test_api_login_token_and_logout_for_every_role(client, accounts, kind):
    if kind == "bot":
        accounts.bot("bot_001", "12345")
        credentials = {"product_id": "bot_001", "password": "12345"}
    elif kind == "instructor":
        accounts.instructor("teacher", "correct horse")
        credentials = {"username": "teacher", "password": "correct horse"}
    else:
        accounts.admin("root", "admin secret")
        credentials = {"username": "root", "password": "admin secret"}
    token = accounts.api_token(client, **credentials)
    me = client.get("/api/auth/me", headers=bearer(token))
    assert me.status_code == 200
    assert me.get_json()["kind"] == ("device" if kind == "bot" else "user")
    assert client.post("/api/auth/logout", headers=bearer(token)).status_code == 200
    assert client.get("/api/auth/me", headers=bearer(token)).status_code == 401


@pytest.mark.parametrize(
    "body,status,needle",
    [
        ({}, 400, "product_id or username"),
        ({"product_id": "bot_001"}, 400, "password"),
        ({"product_id": 5, "password": "12345"}, 400, "must be a string"),
        ({"product_id": "bot_001", "password": ["12345"]}, 400, "must be a string"),
        ({"product_id": "x" * 5000, "password": "12345"}, 400, "longer than"),
        ({"product_id": "bot_001", "password": "nope"}, 401, "Wrong product ID"),
        ({"username": "bot_001", "password": "12345"}, 401, "Wrong username"),
    ],
)
def test_api_login_bad_input_gets_a_clear_json_error(client, accounts, body, status, needle):
    accounts.bot("bot_001", "12345")
    response = client.post("/api/auth/login", json=body)
    assert response.status_code == status
    payload = response.get_json()
    assert payload["success"] is False and needle in payload["error"]


def test_api_login_refuses_non_json(client, accounts):
    response = client.post(
        "/api/auth/login", data="product_id=bot_001&password=12345", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 400
    assert "JSON" in response.get_json()["error"]


def test_invalid_or_revoked_tokens_are_refused(client, accounts):
    accounts.bot("bot_001", "12345")
    assert client.get("/api/devices", headers=bearer("not-a-token")).status_code == 401
    token = accounts.api_token(client, product_id="bot_001", password="12345")
    client.post("/api/auth/logout", headers=bearer(token))
    response = client.get("/api/devices", headers=bearer(token))
    assert response.status_code == 401
    assert response.get_json() == {"success": False, "error": "Log in first"}


def test_a_bearer_request_never_falls_back_to_the_session_cookie(client, accounts):
    accounts.bot("bot_001", "12345")
    accounts.browser_login(client, "bot_001", "12345")
    assert client.get("/api/devices").status_code == 200
    assert client.get("/api/devices", headers=bearer("forged")).status_code == 401


def test_browser_forms_without_csrf_token_are_refused(client, accounts):
    accounts.bot("bot_001", "12345")
    response = client.post("/login", data={"mode": "device", "identifier": "bot_001", "password": "12345"})
    assert response.status_code == 400
    assert b"CSRF token is missing" in response.data
    accounts.browser_login(client, "bot_001", "12345")
    # A logged-in browser session still cannot change state through the JSON API without the token header.
    refused = client.post("/api/auth/password", json={"current_password": "12345", "new_password": "54321"})
    assert refused.status_code == 400 and "CSRF token is missing" in refused.get_json()["error"]
    accepted = client.post(
        "/api/auth/password",
        json={"current_password": "12345", "new_password": "54321"},
        headers={"X-CSRFToken": csrf_token(client)},
    )
    assert accepted.status_code == 200


def test_password_change_ends_other_sessions_and_tokens(app, accounts):
    created = accounts.bot("bot_001", "12345")
    first, second = app.test_client(), app.test_client()
    accounts.browser_login(first, "bot_001", "12345")
    accounts.browser_login(second, "bot_001", "12345")
    token = accounts.api_token(first, product_id="bot_001", password="12345")
    response = first.post(
        "/api/auth/password",
        json={"current_password": "12345", "new_password": "67890"},
        headers={"X-CSRFToken": csrf_token(first)},
    )
    assert response.status_code == 200
    assert first.get("/api/devices").status_code == 200  # the browser that changed it stays signed in
    assert second.get("/api/devices").status_code == 401
    assert first.get("/api/devices", headers=bearer(token)).status_code == 401
    assert created.product_id == "bot_001"


def test_password_change_from_the_command_side_ends_sessions(app, client, accounts):
    accounts.bot("bot_001", "12345")
    accounts.browser_login(client, "bot_001", "12345")
    with app.app_context():
        change_password(find_principal("device", "bot_001"), "99999")
        db.session.commit()
    assert client.get("/api/devices").status_code == 401


def test_session_cookie_flags(client, accounts):
    accounts.bot("bot_001", "12345")
    response = accounts.browser_login(client, "bot_001", "12345")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_blocked_bot_cannot_log_in(app, client, accounts):
    accounts.bot("bot_001", "12345")
    with app.app_context():
        find_principal("device", "bot_001").blocked = True
        db.session.commit()
    response = client.post("/api/auth/login", json={"product_id": "bot_001", "password": "12345"})
    assert response.status_code == 401 and "blocked" in response.get_json()["error"]


def test_oversized_request_is_refused_with_413(client, settings):
    response = client.post(
        "/api/auth/login", data=b"x" * (settings.max_request_bytes + 1), content_type="application/json"
    )
    assert response.status_code == 413
    assert response.get_json()["success"] is False


def test_unknown_api_path_is_json_404_and_pages_are_html(client):
    api = client.get("/api/nothing-here")
    assert api.status_code == 404 and api.get_json()["success"] is False
    page = client.get("/nothing-here", headers={"Accept": "text/html"})
    assert page.status_code == 404 and page.mimetype == "text/html"


def test_secret_key_is_generated_once_with_private_permissions(app, settings):
    path = settings.data_dir / "secret_key"
    assert path.stat().st_mode & 0o777 == 0o600
    assert app.config["SECRET_KEY"] == path.read_text().strip()
    assert len(app.config["SECRET_KEY"]) >= 64


def test_pages_link_a_favicon_that_is_served_as_svg(client):
    page = client.get("/login").get_data(as_text=True)
    href = re.search(r'<link rel="icon" type="image/svg\+xml" href="([^"]+)"', page).group(1)
    icon = client.get(href)
    assert icon.status_code == 200 and icon.mimetype == "image/svg+xml"
    assert ElementTree.fromstring(icon.get_data()).tag == "{http://www.w3.org/2000/svg}svg"
    icon.close()
