"""A bot created without a board gets the default of `default_board`, whichever way it is created."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from sqlalchemy import select

from webide.config import Settings
from webide.extensions import db
from webide.models import Device

from .conftest import AVR_FQBN, ESP32_FQBN, bearer, traversable
from .fake_arduino_cli import FAKE_ARDUINO_CLI, install_platform

NOT_INSTALLED = "esp32:esp32:esp32s3"  # WEBIDE_DEFAULT_FQBN naming a board no installed toolchain has


@pytest.fixture(params=["esp32 installed", "avr only"])
def settings(settings: Settings, request: pytest.FixtureRequest, tmp_path: Path, monkeypatch) -> Settings:  # type: ignore[no-untyped-def]
    """Debian's AVR toolchain, with or without the ESP32 stand-in platform next to it."""
    if request.param == "avr only":
        return dataclasses.replace(settings, default_fqbn=NOT_INSTALLED)
    monkeypatch.setenv("ARDUINO_DIRECTORIES_DATA", str(install_platform(traversable(tmp_path) / "arduino-data")))
    return dataclasses.replace(
        settings, default_fqbn=NOT_INSTALLED, toolchain="auto", arduino_cli=str(FAKE_ARDUINO_CLI)
    )


def test_a_bot_registered_without_a_board_gets_the_first_installed_board_that_updates_over_the_air(
    app, client, accounts, settings: Settings
):
    expected = ESP32_FQBN if settings.toolchain == "auto" else AVR_FQBN
    accounts.instructor("teacher", "correct horse", classes=("robotics",))
    staff = bearer(accounts.api_token(client, username="teacher", password="correct horse"))
    registered = client.post("/api/devices/register", headers=staff, json={"product_id": "bot_1", "class": "robotics"})
    assert registered.status_code == 201, registered.get_json()
    roster = "product_id,password,name\nbot_2,12345,Rover\n"
    preview = client.post(
        "/api/classes/robotics/roster?preview=true", headers=staff, data=roster, content_type="text/csv"
    )
    assert preview.status_code == 200 and preview.get_json()["valid"] == 1, preview.get_json()
    imported = client.post(
        "/api/classes/robotics/roster?preview=false", headers=staff, data=roster, content_type="text/csv"
    )
    assert imported.status_code == 200, imported.get_json()
    with app.app_context():
        boards = {device.product_id: device.fqbn for device in db.session.scalars(select(Device))}
    assert boards == {"bot_1": expected, "bot_2": expected}
    page = client.get("/classes/robotics", headers=staff)
    assert page.status_code == 200
    assert f'<option value="{expected}" selected>' in page.get_data(as_text=True), "the add-a-bot form's choice"
