"""Role boundaries: a bot sees only itself, an instructor their classes, an admin everything — on every endpoint."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from webide.extensions import db
from webide.models import Build, BuildStatus, Device

from .conftest import bearer, csrf_token

SAMPLE_VALUES = {"rev": "1", "update_id": None, "example_id": "blink", "name": "x.ino", "command_id": "0" * 32}
# Endpoints that take a product ID but authenticate the bot's firmware (device token), not a user.
DEVICE_FIRMWARE_ENDPOINTS = {
    "ota.firmware",
    "ota.check",
    "ota.status",
    "ota.heartbeat",
    "ota.command_result",
    "ota.logs",
}


def product_routes(app):  # type: ignore[no-untyped-def]
    """(method, url template, endpoint) for every route of the app that names a bot or a build."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint in DEVICE_FIRMWARE_ENDPOINTS or rule.endpoint == "static":
            continue
        if not {"product_id", "update_id"} & set(rule.arguments):
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, rule, rule.endpoint


def url_for_rule(rule, product_id: str, update_id: str) -> str:  # type: ignore[no-untyped-def]
    values = {arg: SAMPLE_VALUES.get(arg) for arg in rule.arguments}
    values.update({k: v for k, v in {"product_id": product_id, "update_id": update_id}.items() if k in values})
    return rule.build(values, append_unknown=False)[1]


@pytest.fixture
def two_classes(app, accounts):  # type: ignore[no-untyped-def]
    accounts.instructor("teacher_a", "password a", classes=("class-a",))
    accounts.instructor("teacher_b", "password b", classes=("class-b",))
    accounts.admin("root", "admin secret")
    accounts.bot("bot_a", "11111", class_name="class-a")
    accounts.bot("bot_b", "22222", class_name="class-b")
    with app.app_context():
        bot_b = db.session.scalar(select(Device).where(Device.product_id == "bot_b"))
        build = Build(device_id=bot_b.id, revision=1, fqbn="arduino:avr:uno", status=BuildStatus.COMPLETE.value)
        db.session.add(build)
        db.session.commit()
        return build.id


def test_every_bot_endpoint_hides_other_bots(app, client, accounts, two_classes):
    token = accounts.api_token(client, product_id="bot_a", password="11111")
    routes = list(product_routes(app))
    assert len(routes) >= 7, "the route table should have been found"
    for method, rule, endpoint in routes:
        url = url_for_rule(rule, "bot_b", two_classes)
        response = client.open(url, method=method, headers=bearer(token), json={})
        assert response.status_code == 404, f"{method} {url} ({endpoint}) gave {response.status_code}"
        assert b"bot_b" not in response.data or b"No bot named" in response.data


def test_every_bot_endpoint_hides_other_classes_from_an_instructor(app, client, accounts, two_classes):
    token = accounts.api_token(client, username="teacher_a", password="password a")
    for method, rule, endpoint in product_routes(app):
        url = url_for_rule(rule, "bot_b", two_classes)
        response = client.open(url, method=method, headers=bearer(token), json={})
        assert response.status_code == 404, f"{method} {url} ({endpoint}) gave {response.status_code}"


def test_unknown_and_forbidden_bots_look_the_same(client, accounts, two_classes):
    token = accounts.api_token(client, product_id="bot_a", password="11111")
    hidden = client.get("/api/devices/bot_b", headers=bearer(token))
    missing = client.get("/api/devices/no_such_bot", headers=bearer(token))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.get_json()["error"].replace("bot_b", "X") == missing.get_json()["error"].replace("no_such_bot", "X")


@pytest.mark.parametrize(
    "who,credentials,visible",
    [
        ("bot", {"product_id": "bot_a", "password": "11111"}, ["bot_a"]),
        ("instructor", {"username": "teacher_a", "password": "password a"}, ["bot_a"]),
        ("admin", {"username": "root", "password": "admin secret"}, ["bot_a", "bot_b"]),
    ],
)
def test_device_list_shows_what_the_caller_may_see(client, accounts, two_classes, who, credentials, visible):
    token = accounts.api_token(client, **credentials)
    listed = client.get("/api/devices", headers=bearer(token)).get_json()["devices"]
    assert [d["product_id"] for d in listed] == visible
    shown = client.get(f"/api/devices/{visible[0]}", headers=bearer(token)).get_json()
    assert shown["class_name"] == "class-a" and shown["fqbn"] == "arduino:avr:uno"
    assert shown["created_at"].endswith("Z") and shown["last_seen"] is None


def test_admin_reaches_every_bot(client, accounts, two_classes):
    token = accounts.api_token(client, username="root", password="admin secret")
    assert client.get("/api/devices/bot_b", headers=bearer(token)).status_code == 200
    assert client.get(f"/api/builds/{two_classes}", headers=bearer(token)).status_code == 200


def test_unauthenticated_requests_get_401_json_or_the_login_page(app, client, two_classes):
    for method, rule, endpoint in product_routes(app):
        url = url_for_rule(rule, "bot_a", two_classes)
        response = client.open(url, method=method, json={}, headers={"X-CSRFToken": csrf_token(client)})
        if response.status_code == 302:
            assert "/login" in response.headers["Location"], f"{method} {url}"
        else:
            assert response.status_code == 401, f"{method} {url} ({endpoint}) gave {response.status_code}"


# --- the classroom console ----------------------------------------------------------------------------------------

# Console routes an instructor may use too (scoped to their classes and bots); every other /api/admin route is admins'.
SHARED_ADMIN_ENDPOINTS = {"admin.activity", "admin.activity_csv", "devices.block_device"}
# Staff actions on one bot: a bot may not do them to itself either.
STAFF_DEVICE_ENDPOINTS = {
    "devices.remove_device",
    "devices.reset_device_password",
    "devices.new_device_token",
    "devices.block_device",
    "devices.move_to_class",
}


def console_routes(app):  # type: ignore[no-untyped-def]
    """(method, rule) of every route that only instructors and admins may use at all."""
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if (
                rule.rule.startswith(("/api/admin/", "/api/firmware/", "/api/rollouts"))
                or rule.rule in ("/api/dashboard", "/api/devices/register")
                or (rule.rule == "/api/classes" and method == "POST")
            ):
                yield method, rule


def class_routes(app):  # type: ignore[no-untyped-def]
    for rule in app.url_map.iter_rules():
        if "class_name" in rule.arguments:
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield method, rule


def console_url(rule, user_id: int, product_id: str = "bot_a", class_name: str = "class-a") -> str:  # type: ignore[no-untyped-def]
    values = {"user_id": user_id, "product_id": product_id, "class_name": class_name, "assignment_id": 1}
    values.update({"version": "1.0.0", "rollout_id": 1, "action": "start"})
    return rule.build({arg: values[arg] for arg in rule.arguments}, append_unknown=False)[1]


def teacher_id(app) -> int:  # type: ignore[no-untyped-def]
    from webide.models import User

    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == "teacher_b"))


def test_a_bot_reaches_none_of_the_console(app, client, accounts, two_classes):
    token = accounts.api_token(client, product_id="bot_a", password="11111")
    routes = list(console_routes(app))
    assert len(routes) >= 10, "the console's routes should have been found"
    for method, rule in routes:
        url = console_url(rule, teacher_id(app))
        response = client.open(url, method=method, headers=bearer(token), json={"blocked": True})
        assert response.status_code == 403, f"{method} {url} gave {response.status_code}"
    assert client.get("/api/auth/me", headers=bearer(token)).status_code == 200  # nothing was blocked


def test_fleet_routes_need_a_login(app, client, two_classes):
    routes = [
        (method, rule)
        for method, rule in console_routes(app)
        if rule.rule.startswith(("/api/firmware/", "/api/rollouts"))
    ]
    assert len(routes) >= 10, "the release and rollout routes should have been found"
    urls = [(method, console_url(rule, 0)) for method, rule in routes]
    for method, url in [*urls, ("POST", "/ota-update"), ("POST", "/ota-configure")]:
        response = client.open(url, method=method, json={}, headers={"X-CSRFToken": csrf_token(client)})
        assert response.status_code == 401, f"{method} {url} gave {response.status_code}"


def test_an_instructor_reaches_only_the_shared_parts_of_admin(app, client, accounts, two_classes):
    token = accounts.api_token(client, username="teacher_a", password="password a")
    for method, rule in console_routes(app):
        if not rule.rule.startswith("/api/admin/") or rule.endpoint in SHARED_ADMIN_ENDPOINTS:
            continue
        url = console_url(rule, teacher_id(app))
        response = client.open(url, method=method, headers=bearer(token), json={"blocked": True})
        assert response.status_code == 403, f"{method} {url} ({rule.endpoint}) gave {response.status_code}"
    assert (
        client.get(
            "/api/auth/me", headers=bearer(accounts.api_token(client, username="teacher_b", password="password b"))
        ).status_code
        == 200
    )


@pytest.mark.parametrize(
    "who,credentials",
    [
        ("a bot of the class", {"product_id": "bot_a", "password": "11111"}),
        ("another class's instructor", {"username": "teacher_b", "password": "password b"}),
    ],
)
def test_every_class_route_hides_the_class(app, client, accounts, two_classes, who, credentials):
    token = accounts.api_token(client, **credentials)
    routes = list(class_routes(app))
    assert len(routes) >= 6
    for method, rule in routes:
        url = console_url(rule, 0)
        response = client.open(url, method=method, headers=bearer(token), json={"name": "renamed"})
        assert response.status_code == 404, f"{method} {url} ({rule.endpoint}) gave {response.status_code}"
        assert b"No class named" in response.data
    assert (
        client.get(
            "/api/classes/class-a",
            headers=bearer(accounts.api_token(client, username="teacher_a", password="password a")),
        ).status_code
        == 200
    )


def test_class_routes_need_a_login(app, client, two_classes):
    for method, rule in class_routes(app):
        url = console_url(rule, 0)
        response = client.open(url, method=method, json={}, headers={"X-CSRFToken": csrf_token(client)})
        if not rule.rule.startswith("/api/"):  # a page sends the browser to the login page
            assert response.status_code == 302 and "/login" in response.headers["Location"], f"{method} {url}"
        else:
            assert response.status_code == 401, f"{method} {url} gave {response.status_code}"


# Console pages outside a class: who may open each (a class's own pages are covered by the class routes above).
CONSOLE_PAGES = {
    "classroom.classes_page": "staff",
    "fleet.firmware_page": "staff",
    "admin.users_page": "admin",
    "admin.devices_page": "admin",
    "admin.activity_page": "staff",
    "auth.account_page": "anyone",
}


@pytest.mark.parametrize(
    "who,credentials,allowed",
    [
        ("bot", {"product_id": "bot_a", "password": "11111"}, {"anyone"}),
        ("instructor", {"username": "teacher_a", "password": "password a"}, {"anyone", "staff"}),
        ("admin", {"username": "root", "password": "admin secret"}, {"anyone", "staff", "admin"}),
    ],
)
def test_console_pages_open_only_for_their_roles(app, client, accounts, two_classes, who, credentials, allowed):
    token = accounts.api_token(client, **credentials)
    pages = {rule.endpoint: rule.rule for rule in app.url_map.iter_rules() if rule.endpoint in CONSOLE_PAGES}
    assert set(pages) == set(CONSOLE_PAGES)
    for endpoint, path in pages.items():
        response = client.get(path, headers=bearer(token))
        expected = 200 if CONSOLE_PAGES[endpoint] in allowed else 403
        assert response.status_code == expected, f"{who}: GET {path} gave {response.status_code}"


def test_a_bot_cannot_manage_itself(app, client, accounts, two_classes):
    token = accounts.api_token(client, product_id="bot_a", password="11111")
    routes = [(m, r) for m, r in product_routes_with_methods(app) if r.endpoint in STAFF_DEVICE_ENDPOINTS]
    assert {r.endpoint for _, r in routes} == STAFF_DEVICE_ENDPOINTS
    for method, rule in routes:
        url = console_url(rule, 0)
        response = client.open(url, method=method, headers=bearer(token), json={"blocked": True, "class": "class-a"})
        assert response.status_code == 403, f"{method} {url} gave {response.status_code}"
    assert client.get("/api/devices/bot_a", headers=bearer(token)).status_code == 200


def product_routes_with_methods(app):  # type: ignore[no-untyped-def]
    for method, rule, _endpoint in product_routes(app):
        yield method, rule
