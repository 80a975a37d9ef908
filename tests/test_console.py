"""The classroom console's API: classes, rosters, staff actions on bots and people, and the audit log."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from webide.extensions import db
from webide.models import AuditEntry, Build, Classroom, Device, SketchRevision, User, utcnow
from webide.tasks import sweep_once

from .conftest import AVR_FQBN, bearer, csrf_token


@pytest.fixture
def staff(app, client, accounts):  # type: ignore[no-untyped-def]
    """Two instructors with a class each, an admin, one bot per class; bearer headers for each person."""
    accounts.instructor("teacher_a", "password a", classes=("class-a",))
    accounts.instructor("teacher_b", "password b", classes=("class-b",))
    accounts.admin("root", "admin secret")
    accounts.bot("bot_a", "11111", class_name="class-a")
    accounts.bot("bot_b", "22222", class_name="class-b")
    return {
        "a": bearer(accounts.api_token(client, username="teacher_a", password="password a")),
        "b": bearer(accounts.api_token(client, username="teacher_b", password="password b")),
        "root": bearer(accounts.api_token(client, username="root", password="admin secret")),
    }


def bots_named(app) -> list[str]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return list(db.session.scalars(select(Device.product_id).order_by(Device.product_id)))


def user_id_of(app, username: str) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.scalar(select(User.id).where(User.username == username))


def entries(client, headers, **filters) -> list[dict]:  # type: ignore[no-untyped-def]
    response = client.get("/api/admin/activity", headers=headers, query_string=filters)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["entries"]


# --- classes ------------------------------------------------------------------------------------------------------


def test_an_instructor_creates_renames_archives_and_deletes_an_empty_class(client, staff):
    created = client.post("/api/classes", headers=staff["a"], json={"name": "Period 3"})
    assert created.status_code == 201
    assert created.get_json() | {"created_at": None} == {
        "success": True,
        "name": "Period 3",
        "instructor": "teacher_a",
        "bots": 0,
        "archived": False,
        "created_at": None,
    }
    listed = client.get("/api/classes", headers=staff["a"]).get_json()["classes"]
    assert [(c["name"], c["bots"]) for c in listed] == [("Period 3", 0), ("class-a", 1)]
    renamed = client.patch("/api/classes/Period 3", headers=staff["a"], json={"name": "Period 4"})
    assert renamed.status_code == 200 and renamed.get_json()["name"] == "Period 4"
    assert client.get("/api/classes/Period 3", headers=staff["a"]).status_code == 404
    archived = client.patch("/api/classes/Period 4", headers=staff["a"], json={"archived": True})
    assert archived.get_json()["archived"] is True
    refused = client.patch("/api/classes/Period 4", headers=staff["a"], json={"name": "Period 5"})
    assert refused.status_code == 409 and "archived" in refused.get_json()["error"]
    assert client.delete("/api/classes/Period 4", headers=staff["a"]).status_code == 200
    assert client.get("/api/classes/Period 4", headers=staff["a"]).status_code == 404
    actions = [e["action"] for e in entries(client, staff["root"], action="class")]
    assert actions == ["class.delete", "class.archive", "class.rename", "class.create"]


def test_a_class_with_bots_is_not_deleted(client, staff):
    response = client.delete("/api/classes/class-a", headers=staff["a"])
    assert response.status_code == 409 and "still has 1 bot" in response.get_json()["error"]


@pytest.mark.parametrize(
    "name,needle",
    [
        ("<b>x</b>", "invalid class name"),
        ("a/b", "invalid class name"),
        ("tab\there", "invalid class name"),
        (" padded", "invalid class name"),
        ("x" * 65, "longer than 64"),
        ("class-b", "already exists"),
    ],
)
def test_bad_class_names_are_refused(client, staff, name, needle):
    response = client.post("/api/classes", headers=staff["a"], json={"name": name})
    assert response.status_code in (400, 409) and needle in response.get_json()["error"]


def test_only_an_admin_reassigns_a_class(client, staff):
    refused = client.patch("/api/classes/class-a", headers=staff["a"], json={"instructor": "teacher_b"})
    assert refused.status_code == 403
    moved = client.patch("/api/classes/class-a", headers=staff["root"], json={"instructor": "teacher_b"})
    assert moved.status_code == 200 and moved.get_json()["instructor"] == "teacher_b"
    assert client.get("/api/classes/class-a", headers=staff["a"]).status_code == 404
    assert client.get("/api/classes/class-a", headers=staff["b"]).status_code == 200
    unknown = client.patch("/api/classes/class-a", headers=staff["root"], json={"instructor": "nobody"})
    assert unknown.status_code == 400 and "No instructor named 'nobody'" in unknown.get_json()["error"]


def test_an_archived_class_refuses_uploads_with_a_clear_message_but_verifies(client, staff, accounts):
    client.patch("/api/classes/class-a", headers=staff["a"], json={"archived": True})
    student = bearer(accounts.api_token(client, product_id="bot_a", password="11111"))
    upload = client.post("/api/devices/bot_a/builds", headers=student, json={"deploy": True})
    assert upload.status_code == 409
    assert "Class 'class-a' is archived, so Upload is turned off" in upload.get_json()["error"]
    push = client.post(
        "/api/classes/class-a/builds",
        headers=staff["a"],
        json={"files": [{"name": "x.ino", "content": "void setup(){}\nvoid loop(){}\n"}]},
    )
    assert push.status_code == 409 and "archived" in push.get_json()["error"]


# --- roster -------------------------------------------------------------------------------------------------------

GOOD_ROSTER = "product_id,password,name\r\nbot_10,1234,Ada\r\nbot_11,,Grace\r\n"


def roster(client, headers, body: bytes | str, preview: bool, class_name: str = "class-a"):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/classes/{class_name}/roster?preview={'true' if preview else 'false'}",
        headers={**headers, "Content-Type": "text/csv"},
        data=body.encode() if isinstance(body, str) else body,
    )


def test_a_roster_preview_judges_every_row_and_creates_nothing(app, client, staff):
    text = (
        "product_id,password,name,class\n"
        "bot_10,1234,Ada,\n"
        "bot_b,1234,taken,\n"
        "bad id!,1234,x,\n"
        "bot_12,1,short password,\n"
        "bot_13,1234,<script>alert(1)</script>,\n"
        "BOT_10,1234,dup,\n"
        "bot_14,1234,other class,class-b\n"
        "bot_15,1234,bell\x07,\n"
    )
    response = roster(client, staff["a"], text, preview=True)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert (body["valid"], body["invalid"], body["created"]) == (1, 7, [])
    verdicts = {row["line"]: row["errors"] for row in body["rows"]}
    assert verdicts[2] == []
    assert verdicts[3] == ["bot 'bot_b' already exists"]
    assert "invalid product ID" in verdicts[4][0]
    assert "at least 4 characters" in verdicts[5][0]
    assert verdicts[6] == ["name must not contain < or >"]
    assert "appears twice in the roster (also row 2)" in verdicts[7][0]
    assert "is not this class" in verdicts[8][0]
    assert "control character (U+0007)" in verdicts[9][0]
    assert bots_named(app) == ["bot_a", "bot_b"]


def test_a_roster_with_a_bad_row_imports_nothing(app, client, staff):
    response = roster(client, staff["a"], GOOD_ROSTER + "bot_a,1234,exists\r\n", preview=False)
    assert response.status_code == 400
    body = response.get_json()
    assert "1 of 3 rows have errors, nothing was imported: row 4: bot 'bot_a' already exists" in body["error"]
    assert body["rows"][0]["line"] == 4
    assert bots_named(app) == ["bot_a", "bot_b"]
    assert entries(client, staff["root"], action="device.create") == []


def test_a_good_roster_imports_every_bot_with_passwords_and_tokens_shown_once(app, client, staff, accounts):
    response = roster(client, staff["a"], "\ufeff" + GOOD_ROSTER, preview=False)
    assert response.status_code == 200, response.get_json()
    created = {bot["product_id"]: bot for bot in response.get_json()["created"]}
    assert set(created) == {"bot_10", "bot_11"}
    assert created["bot_10"]["password"] is None and len(created["bot_11"]["password"]) == 6
    accounts.api_token(client, product_id="bot_11", password=created["bot_11"]["password"])
    beat = client.post(
        "/api/devices/bot_10/heartbeat", headers=bearer(created["bot_10"]["device_token"]), json={"uptime": 3}
    )
    assert beat.status_code == 200
    shown = client.get("/api/classes/class-a", headers=staff["a"]).get_json()["bots"]
    assert [(b["product_id"], b["name"]) for b in shown] == [("bot_10", "Ada"), ("bot_11", "Grace"), ("bot_a", "")]
    logged = entries(client, staff["a"], action="device.create")
    assert sorted(e["target"] for e in logged) == ["bot_10", "bot_11"]
    assert {e["class_name"] for e in logged} == {"class-a"}


@pytest.mark.parametrize(
    "body,status,needle",
    [
        ("product_id\n" + "".join(f"b{n}\n" for n in range(50_000)), 413, "more than 2000 rows"),
        ("product_id,name\nbot_20,Jos\xe9\n".encode("latin-1"), 400, "not UTF-8"),
        ("name,password\nx,1234\n", 400, "product_id is required"),
        ("product_id,password\n", 400, "no rows"),
        ("", 400, "Send the roster"),
    ],
)
def test_unusable_roster_files_get_clear_errors(app, client, staff, body, status, needle):
    response = roster(client, staff["a"], body, preview=True)
    assert response.status_code == status and needle in response.get_json()["error"], response.get_json()
    assert bots_named(app) == ["bot_a", "bot_b"]


def test_a_roster_file_can_come_as_a_multipart_upload(app, client, staff):
    response = client.post(
        "/api/classes/class-a/roster?preview=false",
        headers=staff["a"],
        data={"file": (io.BytesIO(GOOD_ROSTER.encode()), "roster.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200 and response.get_json()["valid"] == 2
    assert "bot_10" in bots_named(app)


def test_the_roster_export_is_safe_to_open_in_a_spreadsheet(client, staff):
    created = client.post(
        "/api/devices/register",
        headers=staff["a"],
        json={"product_id": "bot_30", "name": "=cmd|' /C calc'!A0", "class": "class-a"},
    )
    assert created.status_code == 201, created.get_json()
    response = client.get("/api/classes/class-a/roster.csv", headers=staff["a"])
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["product_id", "name", "class", "fqbn", "blocked", "created_at", "last_seen"]
    assert [row[:3] for row in rows[1:]] == [["bot_30", "'=cmd|' /C calc'!A0", "class-a"], ["bot_a", "", "class-a"]]


# --- one bot ------------------------------------------------------------------------------------------------------


def test_registering_a_bot_returns_its_token_and_generated_password_once(app, client, staff, accounts):
    response = client.post(
        "/api/devices/register",
        headers=staff["a"],
        json={"product_id": "bot_40", "class": "class-a", "fqbn": AVR_FQBN, "name": "Rover"},
    )
    assert response.status_code == 201
    body = response.get_json()
    assert body["class_name"] == "class-a" and len(body["password"]) == 6 and len(body["device_token"]) >= 32
    accounts.api_token(client, product_id="bot_40", password=body["password"])
    with app.app_context():
        device = db.session.scalar(select(Device).where(Device.product_id == "bot_40"))
        assert device.name == "Rover" and device.fqbn == AVR_FQBN
        assert (
            db.session.scalar(
                select(func.count()).select_from(SketchRevision).where(SketchRevision.device_id == device.id)
            )
            == 1
        )


@pytest.mark.parametrize(
    "body,status,needle",
    [
        ({"product_id": "bot_a", "class": "class-a"}, 409, "already exists"),
        ({"product_id": "BOT_A", "class": "class-a"}, 409, "already exists"),
        ({"product_id": "../x", "class": "class-a"}, 400, "invalid product ID"),
        ({"product_id": "bot_41", "class": "class-a", "name": "<img src=x>"}, 400, "< or >"),
        ({"product_id": "bot_41", "class": "class-a", "name": "a\u202eb"}, 400, "control character"),
        ({"product_id": "bot_41", "class": "class-b"}, 404, "No class named"),
        ({"product_id": "bot_41", "class": "class-a", "password": "12"}, 400, "at least 4"),
    ],
)
def test_bad_bot_registrations_are_refused_and_create_nothing(app, client, staff, body, status, needle):
    response = client.post("/api/devices/register", headers=staff["a"], json=body)
    assert response.status_code == status and needle in response.get_json()["error"], response.get_json()
    assert bots_named(app) == ["bot_a", "bot_b"]


def test_a_password_reset_is_shown_once_and_ends_the_bots_tokens(client, staff, accounts):
    old = bearer(accounts.api_token(client, product_id="bot_a", password="11111"))
    response = client.post("/api/devices/bot_a/password", headers=staff["a"], json={})
    assert response.status_code == 200
    password = response.get_json()["password"]
    assert client.get("/api/auth/me", headers=old).status_code == 401
    assert client.post("/api/auth/login", json={"product_id": "bot_a", "password": "11111"}).status_code == 401
    accounts.api_token(client, product_id="bot_a", password=password)
    assert [e["action"] for e in entries(client, staff["a"], target="bot_a")][:3] == [
        "login.ok",
        "login.failed",
        "device.password_reset",
    ]


def test_a_new_device_token_ends_the_old_one(client, staff, accounts):
    old = accounts.bot("bot_50", "12345", class_name="class-a").device_token
    response = client.post("/api/devices/bot_50/token", headers=staff["a"])
    assert response.status_code == 200 and "provisioned again" in response.get_json()["warning"]
    new = response.get_json()["device_token"]

    def beat(token):
        return client.post(
            "/api/devices/bot_50/heartbeat",
            headers=bearer(token),
            json={"uptime": 1},
        ).status_code

    assert beat(old) == 401 and beat(new) == 200


def test_blocking_a_bot_ends_its_login_and_tokens_until_unblocked(client, staff, accounts):
    student = bearer(accounts.api_token(client, product_id="bot_a", password="11111"))
    for url in ("/api/devices/bot_a/block", "/api/admin/device/bot_a/block"):
        response = client.post(url, headers=staff["a"], json={"blocked": True})
        assert response.status_code == 200 and response.get_json()["blocked"] is True
    assert client.get("/api/auth/me", headers=student).status_code == 401
    login = client.post("/api/auth/login", json={"product_id": "bot_a", "password": "11111"})
    assert login.status_code == 401 and "blocked" in login.get_json()["error"]
    client.post("/api/admin/device/bot_a/block", headers=staff["a"], json={"blocked": False})
    accounts.api_token(client, product_id="bot_a", password="11111")
    assert [e["action"] for e in entries(client, staff["a"], action="device")] == ["device.unblock", "device.block"]


def test_a_bot_moves_between_the_callers_classes_only(client, staff):
    client.post("/api/classes", headers=staff["a"], json={"name": "class-c"})
    moved = client.put("/api/devices/bot_a/class", headers=staff["a"], json={"class": "class-c"})
    assert moved.status_code == 200 and moved.get_json()["class_name"] == "class-c"
    foreign = client.put("/api/devices/bot_a/class", headers=staff["a"], json={"class": "class-b"})
    assert foreign.status_code == 404
    client.patch("/api/classes/class-a", headers=staff["a"], json={"archived": True})
    into_archived = client.put("/api/devices/bot_a/class", headers=staff["a"], json={"class": "class-a"})
    assert into_archived.status_code == 409 and "archived" in into_archived.get_json()["error"]


def test_deleting_a_bot_removes_it_and_its_data(app, client, staff):
    with app.app_context():
        device = db.session.scalar(select(Device).where(Device.product_id == "bot_a"))
        db.session.add(Build(device_id=device.id, revision=1, fqbn=AVR_FQBN))
        db.session.commit()
        device_id = device.id
    assert client.delete("/api/devices/bot_a", headers=staff["a"]).status_code == 200
    assert client.get("/api/devices/bot_a", headers=staff["a"]).status_code == 404
    with app.app_context():
        for model in (SketchRevision, Build):
            assert db.session.scalar(select(func.count()).select_from(model).where(model.device_id == device_id)) == 0
    logged = entries(client, staff["a"], action="device.delete")
    assert [(e["actor"], e["target"], e["class_name"]) for e in logged] == [("teacher_a", "bot_a", "class-a")]


def test_status_shows_the_latest_heartbeat(client, staff, accounts):
    token = accounts.bot("bot_60", "12345", class_name="class-a").device_token
    client.post(
        "/api/devices/bot_60/heartbeat",
        headers=bearer(token),
        json={"uptime": 42, "heap": 120000, "rssi": -61, "temperature": 21.5},
    )
    status = client.get("/api/devices/bot_60/status", headers=staff["a"]).get_json()
    assert status["online"] is True and status["last_seen"].endswith("Z")
    assert status["telemetry"] | {"ip": None} == {
        "heap": 120000,
        "uptime": 42,
        "rssi": -61,
        "ip": None,
        "mac": None,
        "sensors": {"temperature": 21.5},
        "outputs": {},
    }


def test_the_dashboard_lists_the_callers_bots_with_presence(client, staff, accounts):
    token = accounts.bot("bot_61", "12345", class_name="class-a").device_token
    client.post("/api/devices/bot_61/heartbeat", headers=bearer(token), json={"uptime": 1, "rssi": -50})
    mine = client.get("/api/dashboard", headers=staff["a"]).get_json()
    assert (mine["total"], mine["online"]) == (2, 1)
    assert [(b["product_id"], b["online"], b["telemetry"].get("rssi")) for b in mine["bots"]] == [
        ("bot_61", True, -50),
        ("bot_a", False, None),
    ]
    assert client.get("/api/dashboard", headers=staff["root"]).get_json()["total"] == 3


# --- people -------------------------------------------------------------------------------------------------------


def test_an_admin_creates_people_and_lists_them_with_their_classes(client, staff, accounts):
    created = client.post("/api/admin/users", headers=staff["root"], json={"username": "carol", "role": "instructor"})
    assert created.status_code == 201
    password = created.get_json()["password"]
    assert len(password) >= 12
    accounts.api_token(client, username="carol", password=password)
    users = client.get("/api/admin/users", headers=staff["root"]).get_json()["users"]
    assert [(u["username"], u["role"], u["classes"]) for u in users] == [
        ("carol", "instructor", []),
        ("root", "admin", []),
        ("teacher_a", "instructor", ["class-a"]),
        ("teacher_b", "instructor", ["class-b"]),
    ]
    duplicate = client.post(
        "/api/admin/users",
        headers=staff["root"],
        json={"username": "Carol", "role": "admin", "password": "long enough"},
    )
    assert duplicate.status_code == 409


def test_a_blocked_person_cannot_log_in_and_their_tokens_stop(app, client, staff):
    user_id = user_id_of(app, "teacher_b")
    response = client.post(f"/api/admin/user/{user_id}/block", headers=staff["root"], json={"blocked": True})
    assert response.status_code == 200 and response.get_json()["blocked"] is True
    assert client.get("/api/classes", headers=staff["b"]).status_code == 401
    login = client.post("/api/auth/login", json={"username": "teacher_b", "password": "password b"})
    assert login.status_code == 401 and "This account is blocked" in login.get_json()["error"]
    browser = app.test_client()
    page = browser.post(
        "/login",
        data={"mode": "user", "identifier": "teacher_b", "password": "password b", "csrf_token": csrf_token(browser)},
    )
    assert page.status_code == 401
    client.post(f"/api/admin/user/{user_id}/block", headers=staff["root"], json={"blocked": False})
    assert client.post("/api/auth/login", json={"username": "teacher_b", "password": "password b"}).status_code == 200
    actions = [e["action"] for e in entries(client, staff["root"], target="teacher_b")]
    assert actions[:4] == ["login.ok", "user.unblock", "login.failed", "login.failed"]
    assert "user.block" in actions


def test_an_admin_cannot_block_themselves(app, client, staff):
    root_id = user_id_of(app, "root")
    response = client.post(f"/api/admin/user/{root_id}/block", headers=staff["root"], json={"blocked": True})
    assert response.status_code == 400 and "your own account" in response.get_json()["error"]


def test_an_admin_resets_a_persons_password(app, client, staff, accounts):
    user_id = user_id_of(app, "teacher_a")
    response = client.post(f"/api/admin/user/{user_id}/password", headers=staff["root"], json={})
    password = response.get_json()["password"]
    assert client.get("/api/classes", headers=staff["a"]).status_code == 401
    accounts.api_token(client, username="teacher_a", password=password)
    assert client.post("/api/admin/user/999999/password", headers=staff["root"], json={}).status_code == 404


def test_an_admin_searches_every_bot(client, staff):
    assert [d["product_id"] for d in client.get("/api/admin/devices", headers=staff["root"]).get_json()["devices"]] == [
        "bot_a",
        "bot_b",
    ]
    found = client.get("/api/admin/devices?q=CLASS-B", headers=staff["root"]).get_json()["devices"]
    assert [d["product_id"] for d in found] == ["bot_b"]
    assert client.get("/api/admin/devices?q=%25", headers=staff["root"]).get_json()["devices"] == []


def test_refresh_gives_a_new_token_and_revokes_the_old(client, staff):
    response = client.post("/api/auth/refresh", headers=staff["a"])
    assert response.status_code == 200
    fresh = bearer(response.get_json()["token"])
    assert client.get("/api/auth/me", headers=staff["a"]).status_code == 401
    assert client.get("/api/auth/me", headers=fresh).get_json()["name"] == "teacher_a"
    assert client.post("/api/auth/refresh", headers=staff["a"]).status_code == 401


# --- the audit log ------------------------------------------------------------------------------------------------


def test_instructors_see_only_their_classes_entries_and_admins_everything(client, staff):
    client.post("/api/devices/bot_a/password", headers=staff["a"], json={})
    client.post("/api/devices/bot_b/password", headers=staff["b"], json={})
    assert [e["target"] for e in entries(client, staff["a"], action="device.password_reset")] == ["bot_a"]
    assert [e["target"] for e in entries(client, staff["b"], action="device.password_reset")] == ["bot_b"]
    everything = entries(client, staff["root"], action="device.password_reset")
    assert [e["target"] for e in everything] == ["bot_b", "bot_a"]
    assert everything[0]["client_address"] == "127.0.0.1" and everything[0]["actor_kind"] == "user"
    # people's own logins have no class: admins only
    assert entries(client, staff["a"], action="login", actor="teacher_a") == []
    assert [e["actor"] for e in entries(client, staff["root"], action="login.ok", actor="teacher_a")] == ["teacher_a"]


def test_activity_filters_by_time_and_pages(client, staff):
    everything = entries(client, staff["root"])
    assert len(everything) >= 3
    newest = everything[0]["time"]
    assert entries(client, staff["root"], since="2999-01-01T00:00:00") == []
    assert entries(client, staff["root"], until="2000-01-01T00:00:00Z") == []
    assert entries(client, staff["root"], since="2000-01-01T00:00:00+02:00")[0]["time"] == newest
    first = client.get("/api/admin/activity?limit=2", headers=staff["root"]).get_json()
    second = client.get(f"/api/admin/activity?limit=2&before={first['next_before']}", headers=staff["root"]).get_json()
    assert [e["id"] for e in first["entries"] + second["entries"]] == [e["id"] for e in everything[:4]]
    assert client.get("/api/admin/activity?since=yesterday", headers=staff["root"]).status_code == 400


def test_an_absurd_page_id_in_the_audit_log_is_a_400(client, staff):
    huge = 2**63
    for path in ("/api/admin/activity", "/api/admin/activity.csv"):
        refused = client.get(f"{path}?before={huge}", headers=staff["root"])
        assert refused.status_code == 400 and "before" in refused.get_json()["error"]


def test_the_activity_export_neutralises_formulas(client, staff):
    for name in ('=HYPERLINK("http://x")', "+1", "-1", "@SUM(A1)"):
        client.post("/api/auth/login", json={"username": name, "password": "wrong password"})
    response = client.get("/api/admin/activity.csv?action=login.failed", headers=staff["root"])
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [row["target"] for row in rows] == ["'@SUM(A1)", "'-1", "'+1", '\'=HYPERLINK("http://x")']
    assert all(row["actor_kind"] == "anonymous" and row["client_address"] == "127.0.0.1" for row in rows)


def test_a_rolled_back_action_leaves_no_entry(app, client, staff):
    response = client.post(
        "/api/devices/register", headers=staff["a"], json={"product_id": "bot_a", "class": "class-a"}
    )
    assert response.status_code == 409
    with app.app_context():
        assert (
            db.session.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "device.create"))
            == 0
        )


def test_the_sweeper_applies_the_retention(app, client, staff):
    with app.app_context():
        old = db.session.scalar(select(AuditEntry).order_by(AuditEntry.id))
        old.created_at = utcnow() - timedelta(days=400)
        old_id = old.id
        db.session.commit()
        before = db.session.scalar(select(func.count()).select_from(AuditEntry))
        sweep_once(purge_audit=True)
        db.session.expire_all()
        assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == before - 1
        assert db.session.get(AuditEntry, old_id) is None


def test_bots_see_none_of_the_console(client, staff, accounts):
    student = bearer(accounts.api_token(client, product_id="bot_a", password="11111"))
    assert client.get("/api/dashboard", headers=student).status_code == 403
    assert client.get("/api/admin/activity", headers=student).status_code == 403
    assert client.get("/api/classes", headers=student).get_json()["classes"] == []
    assert client.post("/api/devices/bot_a/password", headers=student, json={}).status_code == 403
    assert client.post("/api/classes", headers=student, json={"name": "mine"}).status_code == 403
    with client.application.app_context():
        assert db.session.scalar(select(func.count()).select_from(Classroom)) == 2


@pytest.mark.parametrize("path", ["/api/dashboard", "/api/admin/devices", "/api/classes"])
def test_console_lists_cost_the_same_for_five_and_fifty_bots(app, client, accounts, path):
    from .test_queries import add_bots, counted_queries

    accounts.instructor("teacher", "teacher pw", classes=("lab",))
    accounts.admin("root", "admin secret")
    token = bearer(accounts.api_token(client, username="root", password="admin secret"))
    add_bots(app, accounts, 1, 5)
    with counted_queries(app) as small:
        assert client.get(path, headers=token).status_code == 200
    add_bots(app, accounts, 6, 45)
    with counted_queries(app) as large:
        response = client.get(path, headers=token)
    body = response.get_json()
    listed = body.get("bots") or body.get("devices") or body["classes"][0]["bots"]
    assert (len(listed) if isinstance(listed, list) else listed) == 50
    assert len(large) == len(small), f"{len(small)} queries for 5 bots but {len(large)} for 50"


@pytest.mark.parametrize("user_id", [2**31, 2**70])  # beyond PostgreSQL's INTEGER, beyond SQLite's
def test_an_absurd_user_id_is_a_404(client, staff, user_id):
    response = client.post(f"/api/admin/user/{user_id}/block", headers=staff["root"], json={"blocked": True})
    assert response.status_code == 404 and "No user with id" in response.get_json()["error"]


def test_failed_logins_are_logged_but_throttled_ones_are_not(client, staff):
    statuses = [
        client.post("/api/auth/login", json={"username": "teacher_a", "password": "wrong"}).status_code
        for _ in range(14)
    ]
    assert 401 in statuses and 429 in statuses
    failed = entries(client, staff["root"], action="login.failed", target="teacher_a")
    assert len(failed) == statuses.count(401)
    assert failed[0]["details"]["reason"] == "Wrong username or password"
