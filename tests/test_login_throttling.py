"""Failed-login throttling that slows attackers without locking out owners or classrooms (OWASP device cookies).

Each test plays the attack over HTTP from chosen client addresses; "time passing" is simulated by ending lockouts
in the database, never by sleeping.
"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import update

from webide import create_app
from webide.auth.views import DEVICE_COOKIE
from webide.core.accounts import account_name
from webide.core.security import throttle_key
from webide.database import migrate_database
from webide.extensions import db
from webide.models import LoginThrottle

from .conftest import Accounts

OWNER_ADDRESS, ATTACKER_ADDRESS, SCHOOL_NAT = "198.51.100.7", "203.0.113.66", "192.0.2.1"


def api_login(client, product_id: str, password: str, address: str) -> int:  # type: ignore[no-untyped-def]
    response = client.post(
        "/api/auth/login", json={"product_id": product_id, "password": password}, environ_base={"REMOTE_ADDR": address}
    )
    return response.status_code


def lockouts_end(app) -> None:  # type: ignore[no-untyped-def]
    """Every running lockout ends, as if its time had passed; the failure counts stay."""
    with app.app_context():
        db.session.execute(update(LoginThrottle).values(locked_until=None))
        db.session.commit()


def lockout_seconds(app, key: str) -> float:  # type: ignore[no-untyped-def]
    with app.app_context():
        row = db.session.get(LoginThrottle, key)
        return (row.locked_until - row.last_failure_at).total_seconds()


def test_guessing_one_password_from_one_address_is_slowed_with_growing_delays(app, client, accounts, settings):
    accounts.bot("bot_001", "12345")
    for _ in range(settings.login_free_attempts):
        assert api_login(client, "bot_001", "00000", ATTACKER_ADDRESS) == 401
    # Further tries are refused before the password is even checked, including the right one.
    locked = client.post(
        "/api/auth/login",
        json={"product_id": "bot_001", "password": "12345"},
        environ_base={"REMOTE_ADDR": ATTACKER_ADDRESS},
    )
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) >= 1
    pair = throttle_key("client", account_name("device", "bot_001"), ATTACKER_ADDRESS)
    delays = [lockout_seconds(app, pair)]
    for _ in range(3):
        lockouts_end(app)
        assert api_login(client, "bot_001", "11111", ATTACKER_ADDRESS) == 401
        delays.append(lockout_seconds(app, pair))
    assert delays == [1, 2, 4, 8]


def test_guessing_one_password_from_many_addresses_runs_into_the_shared_unknown_client_budget(
    client, accounts, settings
):
    accounts.bot("bot_001", "12345")
    for n in range(settings.login_unknown_free_attempts):
        assert api_login(client, "bot_001", "00000", f"203.0.113.{n + 1}") == 401
    assert api_login(client, "bot_001", "12345", "203.0.113.200") == 429, "a fresh address gets no fresh budget"


@pytest.fixture
def spray_app(settings):  # type: ignore[no-untyped-def]
    application = create_app(settings.with_overrides(login_ip_free_attempts=12))
    application.config["TESTING"] = True
    migrate_database(application)
    yield application
    with application.app_context():
        db.engine.dispose()


def test_spraying_many_accounts_from_one_address_is_slowed(spray_app):
    accounts = Accounts(spray_app)
    accounts.bot("bot_001", "12345")
    accounts.bot("bot_002", "12345")
    regular = spray_app.test_client()
    assert api_login(regular, "bot_002", "12345", ATTACKER_ADDRESS) == 200  # this browser now has a device cookie
    attacker = spray_app.test_client()
    for n in range(12):
        assert api_login(attacker, f"bot_{n + 100}", "12345", ATTACKER_ADDRESS) == 401
    assert api_login(attacker, "bot_001", "12345", ATTACKER_ADDRESS) == 429
    assert api_login(spray_app.test_client(), "bot_001", "12345", ATTACKER_ADDRESS) == 429, "any unknown client"
    # Repeating one account does not add to the address count: only distinct accounts do.
    assert api_login(spray_app.test_client(), "bot_001", "12345", OWNER_ADDRESS) == 200
    assert api_login(regular, "bot_002", "12345", ATTACKER_ADDRESS) == 200, "a known browser is never blocked"


def test_the_owner_with_a_device_cookie_gets_in_while_an_attacker_hammers_the_account(app, accounts, settings):
    accounts.bot("bot_001", "12345")
    accounts.bot("bot_002", "12345")
    owner = app.test_client()
    assert accounts.browser_login(owner, "bot_001", "12345").status_code == 302
    assert DEVICE_COOKIE in {cookie.key for cookie in owner._cookies.values()}
    owner.post("/logout", data={"csrf_token": owner.get("/api/auth/csrf").get_json()["csrf_token"]})
    attacker = app.test_client()
    for round_ in range(4):  # the attacker keeps going for hours, from the owner's address and from many others
        for n in range(settings.login_unknown_free_attempts + 2):
            api_login(attacker, "bot_001", f"{round_}{n:04d}", OWNER_ADDRESS if n % 2 else f"203.0.113.{n}")
        lockouts_end(app)
    for n in range(settings.login_unknown_free_attempts + 2):
        api_login(attacker, "bot_001", f"9{n:04d}", f"203.0.113.{n}")
    assert api_login(app.test_client(), "bot_001", "12345", OWNER_ADDRESS) == 429, "unknown clients are locked"
    response = accounts.browser_login(owner, "bot_001", "12345")
    assert response.status_code == 302 and owner.get("/api/devices").status_code == 200
    assert api_login(owner, "bot_001", "12345", "198.51.100.99") == 200, "the allowance travels with the browser"


def test_a_device_cookie_for_another_account_or_a_forged_one_gives_no_allowance(app, accounts, settings):
    accounts.bot("bot_001", "12345")
    accounts.bot("bot_002", "12345")
    attacker = app.test_client()
    assert api_login(attacker, "bot_002", "12345", ATTACKER_ADDRESS) == 200  # a genuine cookie, for bot_002
    for n in range(settings.login_unknown_free_attempts):
        api_login(app.test_client(), "bot_001", "00000", f"203.0.113.{n + 1}")
    assert api_login(attacker, "bot_001", "12345", ATTACKER_ADDRESS) == 429
    attacker.set_cookie(DEVICE_COOKIE, attacker.get_cookie(DEVICE_COOKIE).value[:-3] + "AAA")
    assert api_login(attacker, "bot_001", "12345", ATTACKER_ADDRESS) == 429


def test_a_device_cookie_has_its_own_limit_and_then_counts_as_unknown(app, accounts, settings):
    accounts.bot("bot_001", "12345")
    stolen = app.test_client()
    assert api_login(stolen, "bot_001", "12345", OWNER_ADDRESS) == 200
    for _ in range(settings.login_free_attempts):
        assert api_login(stolen, "bot_001", "00000", ATTACKER_ADDRESS) == 401
    # Its own allowance used up, the cookie's holder is an unknown client: it still has that budget's tries.
    assert api_login(stolen, "bot_001", "00000", ATTACKER_ADDRESS) == 401
    # Then it is locked out like any unknown client. Lockouts double from 1 s, so keep guessing (waiting out short
    # lockouts, as an attacker would) until one is long enough that the check below cannot race the clock.
    for _ in range(12):
        response = stolen.post(
            "/api/auth/login",
            json={"product_id": "bot_001", "password": "00000"},
            environ_base={"REMOTE_ADDR": ATTACKER_ADDRESS},
        )
        wait = int(response.headers.get("Retry-After", "0")) if response.status_code == 429 else 0
        if wait >= 4:
            break
        time.sleep(wait)
    assert wait >= 4, "the guesses were never locked out for long"
    assert api_login(stolen, "bot_001", "12345", ATTACKER_ADDRESS) == 429


def test_thirty_classmates_behind_one_address_keep_logging_in_while_one_account_is_attacked(app, accounts, settings):
    class_size = 30
    accounts.bot("target", "12345")
    for n in range(class_size):
        accounts.bot(f"bot_{n:03d}", f"pw{n:03d}9")
    attacker = app.test_client()
    real_failures, tries = 0, 0
    while real_failures <= 40:  # the attacker behind the same NAT keeps guessing for hours
        tries += 1
        if api_login(attacker, "target", f"{tries:05d}", SCHOOL_NAT) == 401:
            real_failures += 1
        else:
            lockouts_end(app)
    assert tries > real_failures, "the attacker was slowed down"
    for n in range(class_size):  # every classmate on a fresh browser, and one typo each on top
        classmate = app.test_client()
        assert api_login(classmate, f"bot_{n:03d}", "typo!", SCHOOL_NAT) == 401
        assert api_login(classmate, f"bot_{n:03d}", f"pw{n:03d}9", SCHOOL_NAT) == 200
    assert api_login(attacker, "target", "00000", SCHOOL_NAT) in (401, 429)
