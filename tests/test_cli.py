"""The `webide` command: accounts, bots, roster import, doctor."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from webide import create_app
from webide.cli import main
from webide.config import load_settings
from webide.core.security import token_digest
from webide.extensions import db
from webide.models import Device

from .conftest import traversable
from .fake_arduino_cli import FAKE_ARDUINO_CLI, assemble_agent, install_platform


@pytest.fixture
def cli_env(tmp_path: Path) -> dict[str, str]:
    return {
        "WEBIDE_DATA_DIR": str(traversable(tmp_path) / "instance"),
        "WEBIDE_ASYNC_MODE": "threading",
        "WEBIDE_TOOLCHAIN": "arduino-builder",
        "WEBIDE_DEFAULT_FQBN": "arduino:avr:uno",
        "REDIS_URL": "",
    }


def invoke(env: dict[str, str], *args: str):  # type: ignore[no-untyped-def]
    return CliRunner(env=env).invoke(main, list(args), catch_exceptions=False)


def stored_devices(env: dict[str, str]) -> dict[str, Device]:
    app = create_app(load_settings(env))
    with app.app_context():
        devices = {d.product_id: d for d in db.session.scalars(select(Device))}
        for device in devices.values():
            db.session.expunge(device)
        db.engine.dispose()
        return devices


def test_device_create_prints_a_token_that_is_stored_hashed(cli_env):
    result = invoke(cli_env, "device", "create", "--product-id", "bot_001", "--password", "12345", "--json")
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed["product_id"] == "bot_001" and len(printed["device_token"]) >= 32
    device = stored_devices(cli_env)["bot_001"]
    assert device.device_token_hash == token_digest(printed["device_token"])
    assert printed["device_token"] not in device.device_token_hash
    assert device.password_hash.startswith("$argon2id$")
    assert device.fqbn == "arduino:avr:uno"


def test_device_create_with_class_and_board(cli_env):
    result = invoke(
        cli_env,
        "device",
        "create",
        "--product-id",
        "bot_7",
        "--password",
        "12345",
        "--name",
        "Rover",
        "--fqbn",
        "esp32:esp32:esp32",
        "--class",
        "robotics",
    )
    assert result.exit_code == 0 and "device token:" in result.output
    device = stored_devices(cli_env)["bot_7"]
    assert (device.name, device.fqbn) == ("Rover", "esp32:esp32:esp32")


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--product-id", "../etc", "--password", "12345"], "invalid product ID"),
        (["--product-id", "bot 1", "--password", "12345"], "invalid product ID"),
        (["--product-id", "bot_1", "--password", "12"], "at least 4"),
        (["--product-id", "bot_1", "--password", "12345", "--fqbn", "uno"], "invalid board"),
    ],
)
def test_device_create_refuses_bad_input(cli_env, args, needle):
    result = invoke(cli_env, "device", "create", *args)
    assert result.exit_code == 1
    assert needle in result.output
    assert stored_devices(cli_env) == {}


def test_device_create_refuses_a_duplicate_whatever_its_case(cli_env):
    invoke(cli_env, "device", "create", "--product-id", "bot_001", "--password", "12345")
    result = invoke(cli_env, "device", "create", "--product-id", "BOT_001", "--password", "12345")
    assert result.exit_code == 1 and "already exists" in result.output


def test_user_create_and_class_ownership(cli_env):
    assert (
        invoke(
            cli_env, "user", "create", "--role", "instructor", "--username", "teacher", "--password", "correct horse"
        ).exit_code
        == 0
    )
    assert invoke(cli_env, "class", "create", "robotics", "--instructor", "teacher").exit_code == 0
    assert invoke(cli_env, "class", "create", "robotics", "--instructor", "nobody").exit_code == 1
    again = invoke(cli_env, "user", "create", "--role", "admin", "--username", "teacher", "--password", "other pw")
    assert again.exit_code == 1 and "already exists" in again.output
    bad_role = invoke(cli_env, "user", "create", "--role", "root", "--username", "x", "--password", "other pw")
    assert bad_role.exit_code == 2


def test_roster_import_creates_every_bot_and_prints_generated_passwords(cli_env, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text(
        "product_id,password,name,class\nbot_001,12345,Ada,robotics\nbot_002,,Bob,robotics\nbot_003,54321,,\n"
    )
    result = invoke(cli_env, "device", "import", str(roster), "--json")
    assert result.exit_code == 0, result.output
    rows = {row["product_id"]: row for row in json.loads(result.output)}
    assert set(rows) == {"bot_001", "bot_002", "bot_003"}
    assert rows["bot_001"]["password"] is None and rows["bot_002"]["password"].isdigit()
    devices = stored_devices(cli_env)
    assert devices["bot_002"].name == "Bob"
    assert all(len(row["device_token"]) >= 32 for row in rows.values())


@pytest.mark.parametrize(
    "body,needle",
    [
        ("product_id,password,name,class\nbot_001,12345,,\nbad id,12345,,\n", "row 3: invalid product ID"),
        ("product_id,password,name,class\nbot_001,12345,,\nbot_001,12345,,\n", "row 3: product ID 'bot_001' appears"),
        ("product_id,password,name,class\nbot_001,12345,,\nbot_002,1,,\n", "row 3: password must have"),
        ("name,class\nAda,robotics\n", "header row"),
        ("product_id,password\n", "no rows"),
    ],
)
def test_roster_import_is_all_or_nothing_and_names_the_bad_row(cli_env, tmp_path, body, needle):
    roster = tmp_path / "roster.csv"
    roster.write_text(body)
    result = invoke(cli_env, "device", "import", str(roster))
    assert result.exit_code == 1
    assert needle in result.output
    assert stored_devices(cli_env) == {}


def test_roster_import_refuses_a_bot_that_already_exists(cli_env, tmp_path):
    invoke(cli_env, "device", "create", "--product-id", "bot_002", "--password", "12345")
    roster = tmp_path / "roster.csv"
    roster.write_text("product_id,password\nbot_001,12345\nbot_002,12345\n")
    result = invoke(cli_env, "device", "import", str(roster))
    assert result.exit_code == 1 and "row 3: bot 'bot_002' already exists" in result.output
    assert set(stored_devices(cli_env)) == {"bot_002"}


def test_roster_import_refuses_binary_files(cli_env, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_bytes(b"\xff\xfe\x00bad")
    result = invoke(cli_env, "device", "import", str(roster))
    assert result.exit_code == 1 and "not UTF-8" in result.output


def test_device_token_reset_replaces_the_old_token(cli_env):
    first = json.loads(
        invoke(cli_env, "device", "create", "--product-id", "bot_1", "--password", "12345", "--json").output
    )["device_token"]
    second = invoke(cli_env, "device", "token", "bot_1").output.strip()
    assert second != first
    assert stored_devices(cli_env)["bot_1"].device_token_hash == token_digest(second)


def test_doctor_reports_toolchains_sandbox_and_redis(cli_env):
    result = invoke(cli_env, "doctor")
    assert result.exit_code == 0, result.output
    assert "[ok ] toolchain arduino-builder" in result.output and "arduino:avr:uno" in result.output
    assert "[ok ] sandbox: bubblewrap sandbox usable" in result.output
    assert "[ok ] redis" in result.output and "[ok ] disk" in result.output
    assert "[ok ] mosquitto" in result.output


def test_doctor_says_when_the_sandbox_is_off_or_unusable(cli_env, tmp_path):
    off = invoke(dict(cli_env, WEBIDE_SANDBOX="false"), "doctor")
    assert "sandbox: DISABLED by WEBIDE_SANDBOX=false" in off.output
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    unreachable = invoke(dict(cli_env, WEBIDE_DATA_DIR=str(private / "instance")), "doctor")
    assert unreachable.exit_code == 1
    assert "[MISSING] sandbox: the sandbox user cannot reach" in unreachable.output and "fix:" in unreachable.output


def test_doctor_names_the_fix_for_a_missing_toolchain(cli_env):
    env = dict(
        cli_env,
        WEBIDE_ARDUINO_BUILDER="no-such-arduino-builder",
        WEBIDE_ARDUINO_CLI="no-such-cli",
        WEBIDE_TOOLCHAIN="auto",
    )
    result = invoke(env, "doctor")
    assert result.exit_code == 1
    assert "[MISSING] toolchain" in result.output and "apt-get install arduino-builder" in result.output


def test_doctor_compile_builds_blink_with_the_agent_and_checks_the_image(cli_env, tmp_path):
    toolchain = traversable(tmp_path) / "toolchain"
    env = dict(
        cli_env,
        WEBIDE_TOOLCHAIN="arduino-cli",
        WEBIDE_ARDUINO_CLI=str(FAKE_ARDUINO_CLI),
        WEBIDE_DEFAULT_FQBN="esp32:esp32:lolin_s3",
        WEBIDE_AGENT_LIBRARY=str(assemble_agent(toolchain / "WebideAgent")),
        ARDUINO_DIRECTORIES_DATA=str(install_platform(toolchain / "arduino-data")),
    )
    result = invoke(env, "doctor", "--compile")
    assert result.exit_code == 0, result.output
    assert "[ok ] test compile esp32:esp32:lolin_s3: Done compiling" in result.output
    assert "core compiled, image valid" in result.output
    assert "test compile" not in invoke(env, "doctor").output, "only --compile compiles"


def test_configuration_errors_name_the_variable(cli_env):
    result = CliRunner(env=dict(cli_env, WEBIDE_ASYNC_MODE="tornado")).invoke(main, ["db", "upgrade"])
    assert result.exit_code == 1 and "WEBIDE_ASYNC_MODE" in result.output
    result = CliRunner(env=dict(cli_env, WEBIDE_BUILD_WALL_S="ten")).invoke(main, ["db", "upgrade"])
    assert result.exit_code == 1 and "WEBIDE_BUILD_WALL_S" in result.output


def test_device_count_unchanged_by_failed_commands(cli_env):
    invoke(cli_env, "device", "create", "--product-id", "bot_1", "--password", "12345")
    invoke(cli_env, "device", "create", "--product-id", "bot_1", "--password", "12345")
    app = create_app(load_settings(cli_env))
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Device)) == 1
        db.engine.dispose()


def test_commands_print_what_they_did_and_no_warnings(cli_env):
    """Only the web server needs an async library; a command never imports one (eventlet warns on import)."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("WEBIDE_")},
        **cli_env,
        "WEBIDE_ASYNC_MODE": "eventlet",
    }
    completed = subprocess.run(
        [sys.executable, "-m", "webide.cli", "device", "create", "--product-id", "bot_q", "--password", "12345"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0 and completed.stderr == "", completed.stderr
    assert completed.stdout.startswith("created bot bot_q\ndevice token: ")
