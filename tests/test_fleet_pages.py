"""The firmware page: releases with their metadata and blocked state, rollouts with each group's progress, and
the controls the console script sends to the API."""

from __future__ import annotations

import re

from .conftest import bearer
from .test_rollouts import ESP32, classroom, one_password_hash, sweep, update_fails, update_succeeds  # noqa: F401


def page(client, headers) -> str:  # type: ignore[no-untyped-def]
    response = client.get("/firmware", headers=headers)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def row(html: str, marker: str) -> str:
    """The table row or rollout section that carries ``marker`` (e.g. data-version="1.1.0")."""
    found = re.search(rf"<(tr|section)[^>]*{re.escape(marker)}.*?</\1>", html, re.S)
    assert found, marker
    return found.group(0)


def shown(html: str, button_class: str) -> bool:
    """Whether the control is rendered visible (the live script shows and hides the others as the state moves)."""
    found = re.search(rf'<button[^>]*class="{button_class}[ "][^>]*>', html)
    assert found, button_class
    return " hidden" not in found.group(0)


def cell(html: str, css_class: str) -> str:
    found = re.search(rf'class="{css_class}"[^>]*>([^<]*)<', html)
    assert found, css_class
    return found.group(1)


def test_the_page_lists_releases_and_a_rollouts_progress_per_group(app, client, classroom):  # noqa: F811
    teacher = classroom["teacher"]
    created = client.post(
        "/api/rollouts",
        headers=teacher,
        json={
            "version": "1.1.0",
            "targets": {"class_name": "lab"},
            "groups": {"count": 2},
            "success_threshold": 100,
            "error_threshold_count": 2,
        },
    )
    assert created.status_code == 201, created.get_json()
    rollout = created.get_json()["rollout"]
    ready = row(page(client, teacher), f'data-rollout="{rollout["id"]}"')
    assert 'data-state="ready"' in ready and shown(ready, "rollout-start") and not shown(ready, "rollout-pause")
    assert client.post(f"/api/rollouts/{rollout['id']}/start", headers=teacher).status_code == 200
    first_group = rollout["groups"][0]["bots"]
    update_succeeds(client, classroom, first_group[0]["product_id"])
    update_fails(client, classroom, first_group[1]["product_id"], "flash write failed")
    sweep(app)  # the worker's housekeeping counts the open group

    html = page(client, teacher)
    assert 'id="nav-firmware" aria-current="page"' in html
    release = row(html, 'data-version="1.1.0"')
    assert "stable" in release and "ESP32 · " in release and ESP32 in release and "teacher" in release
    assert 'data-blocked="false"' in release and "block-release" in release
    section = row(html, f'data-rollout="{rollout["id"]}"')
    assert 'data-state="running"' in section and "1.1.0" in section and shown(section, "rollout-pause")
    assert not shown(section, "rollout-start") and not shown(section, "rollout-resume")
    group_one = row(section, 'data-group="1"')
    assert (cell(group_one, "succeeded"), cell(group_one, "failed"), cell(group_one, "updating")) == (
        "1",
        "1",
        str(len(first_group) - 2),
    )
    assert cell(group_one, "pending") == "0"
    failed_bot = row(section, f'data-bot="{first_group[1]["product_id"]}"')
    assert cell(failed_bot, "bot-state") == "failed" and cell(failed_bot, "bot-reason") == "flash write failed"
    assert cell(row(section, 'data-group="2"'), "succeeded") == "0"


def test_a_blocked_release_shows_its_reason_as_text(client, classroom):  # noqa: F811
    teacher = classroom["teacher"]
    reason = "<script>alert(1)</script> bricks the motor driver"
    blocked = client.post(
        "/api/firmware/releases/1.1.0/block", headers=teacher, json={"blocked": True, "reason": reason}
    )
    assert blocked.status_code == 200
    html = page(client, teacher)
    release = row(html, 'data-version="1.1.0"')
    assert 'data-blocked="true"' in release and "unblock-release" in release
    assert "&lt;script&gt;alert(1)&lt;/script&gt; bricks the motor driver" in release and "<script>alert" not in html
    rollout_choices = re.search(r'<select id="rollout-version".*?</select>', html, re.S)
    assert rollout_choices and "1.0.0" in rollout_choices.group(0) and "1.1.0" not in rollout_choices.group(0)


def test_another_instructor_sees_the_releases_but_neither_the_rollouts_nor_the_controls(
    client,
    accounts,
    classroom,  # noqa: F811
):
    created = client.post(
        "/api/rollouts",
        headers=classroom["teacher"],
        json={
            "version": "1.1.0",
            "targets": {"class_name": "lab"},
            "groups": {"count": 1},
            "success_threshold": 90,
            "error_threshold_percent": 10,
        },
    )
    assert created.status_code == 201
    # The classroom fixture gives every new account the hash of "12345" (hashing is slow and plays no part here).
    accounts.instructor("other", "12345", classes=("art",))
    accounts.admin("root", "12345")
    other = page(client, bearer(accounts.api_token(client, username="other", password="12345")))
    assert 'data-version="1.1.0"' in other and "block-release" not in other and "delete-release" not in other
    assert "data-rollout=" not in other and 'value="lab"' not in other and 'value="art"' in other
    admin = page(client, bearer(accounts.api_token(client, username="root", password="12345")))
    assert f'data-rollout="{created.get_json()["rollout"]["id"]}"' in admin and "block-release" in admin
