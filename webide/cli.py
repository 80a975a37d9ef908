"""The `webide` command: run the service, manage accounts and bots, check the installation."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from flask import Flask

from . import create_app
from .config import ConfigError, load_settings
from .core.errors import ApiError
from .database import migrate_database, new_migration
from .extensions import db


def make_app() -> Flask:
    """The app for a command: no Socket.IO server (only the web server needs it, and its async library)."""
    try:
        app = create_app(load_settings(), realtime_server=False)
    except ConfigError as error:
        raise click.ClickException(str(error)) from None
    migrate_database(app)
    return app


@contextmanager
def unit_of_work() -> Iterator[Flask]:
    """An app context for one command: committed when the block succeeds; a domain error becomes a clear message."""
    app = make_app()
    with app.app_context():
        try:
            yield app
            db.session.commit()
        except ApiError as error:
            db.session.rollback()
            raise click.ClickException(error.message) from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """webide: a Web IDE with sandboxed server-side compilation for ESP32 bots."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address the web server listens on.")
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64), help="Celery worker processes.")
@click.option(
    "--concurrency", default=2, show_default=True, type=click.IntRange(1, 64), help="Builds each worker runs at once."
)
@click.option("--demo", is_flag=True, help="Create a demo instructor and bot and print their credentials.")
def run(host: str, port: int, workers: int, concurrency: int, demo: bool) -> None:
    """Run everything on this machine: Redis and Mosquitto (unless REDIS_URL / WEBIDE_MQTT_URL are set), the web
    server, Celery workers and the device link's bridge."""
    from .core.builds.queue import fail_interrupted_builds
    from .runner import run_all

    announce = ""
    with unit_of_work() as app:
        if not app.config["SETTINGS"].redis_url:
            fail_interrupted_builds()  # a fresh private Redis has an empty queue: nothing would ever run them
        if not app.config["SETTINGS"].mqtt_url:
            from .core.broker import BrokerFiles
            from .runner import bridge_password

            BrokerFiles(app.config["SETTINGS"].mqtt_dir).write(bridge_password(app.config["SETTINGS"]))
        if demo:
            from .demo import ensure_demo_accounts

            announce = ensure_demo_accounts(app.config["SETTINGS"])
    sys.exit(run_all(app.config["SETTINGS"], host, port, workers, concurrency, announce))


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=click.IntRange(0, 65535))
def web(host: str, port: int) -> None:
    """Run only the web server (gunicorn with the configured async mode)."""
    from .runner import serve_web

    settings = make_app().config["SETTINGS"]
    if not settings.redis_url:
        raise click.ClickException("REDIS_URL must be set for `webide web` (or use `webide run`)")
    serve_web(settings, host, port)


@main.command()
@click.option("--concurrency", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option("--hostname", default=None, help="Worker name (default: celery@<host>).")
def worker(concurrency: int, hostname: str | None) -> None:
    """Run only a Celery build worker (scale out by starting more, on any machine)."""
    from .runner import serve_worker

    settings = make_app().config["SETTINGS"]
    if not settings.redis_url:
        raise click.ClickException("REDIS_URL must be set for `webide worker` (or use `webide run`)")
    serve_worker(settings, concurrency, hostname)


@main.command()
def bridge() -> None:
    """Run only the device link's bridge to the MQTT broker (WEBIDE_MQTT_URL, with the bridge's credentials)."""
    import logging

    from .bridge import serve_bridge

    app = make_app()
    if not app.config["SETTINGS"].mqtt_url:
        raise click.ClickException("WEBIDE_MQTT_URL must be set for `webide bridge` (or use `webide run`)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    serve_bridge(app)


@main.group()
def user() -> None:
    """Admins and instructors."""


@user.command("create")
@click.option("--role", type=click.Choice(["admin", "instructor"]), required=True)
@click.option("--username", required=True)
@click.option("--password", required=True, prompt=True, hide_input=True, confirmation_prompt=True)
def user_create(role: str, username: str, password: str) -> None:
    """Create an admin or an instructor."""
    from .core.registry import create_user

    with unit_of_work():
        create_user(username, password, role)
    click.echo(f"created {role} {username}")


@user.command("passwd")
@click.option("--username", required=True)
@click.option("--password", required=True, prompt=True, hide_input=True, confirmation_prompt=True)
def user_passwd(username: str, password: str) -> None:
    """Set a new password (ends every session and API token of that user)."""
    from .core.accounts import change_password, find_principal

    with unit_of_work():
        principal = find_principal("user", username)
        if principal is None:
            raise click.ClickException(f"no user {username!r}")
        change_password(principal, password)
    click.echo(f"password changed for {username}")


@main.group("class")
def classroom() -> None:
    """Classes of bots, each owned by an instructor."""


@classroom.command("create")
@click.argument("name")
@click.option("--instructor", required=True, help="Username of the instructor who owns the class.")
def classroom_create(name: str, instructor: str) -> None:
    """Create a class (or hand an existing one to another instructor)."""
    from .core.accounts import find_principal
    from .core.registry import get_or_create_class

    with unit_of_work():
        owner = find_principal("user", instructor)
        if owner is None:
            raise click.ClickException(f"no user {instructor!r}")
        get_or_create_class(name, owner)
    click.echo(f"class {name} belongs to {instructor}")


@main.group()
def device() -> None:
    """Bots: create, import a roster, reset tokens, simulate."""


@device.command("create")
@click.option("--product-id", required=True)
@click.option("--password", required=True)
@click.option("--name", default="")
@click.option("--fqbn", default=None, help="Board, e.g. esp32:esp32:esp32 (default: WEBIDE_DEFAULT_FQBN).")
@click.option("--class", "class_name", default=None, help="Class name (created when new).")
@click.option("--json", "as_json", is_flag=True, help="Print {product_id, device_token} as JSON.")
def device_create(
    product_id: str, password: str, name: str, fqbn: str | None, class_name: str | None, as_json: bool
) -> None:
    """Create a bot and print its device token (shown once; the firmware uses it)."""
    from .core.registry import create_device
    from .core.toolchain import default_board

    with unit_of_work() as app:
        created = create_device(product_id, password, name, fqbn or default_board(app.config["SETTINGS"]), class_name)
    if as_json:
        click.echo(json.dumps({"product_id": created.product_id, "device_token": created.device_token}))
    else:
        click.echo(f"created bot {created.product_id}\ndevice token: {created.device_token}")


@device.command("import")
@click.argument("roster", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--fqbn", default=None, help="Board for every bot of the roster.")
@click.option("--json", "as_json", is_flag=True)
def device_import(roster: Path, fqbn: str | None, as_json: bool) -> None:
    """Create every bot of a CSV roster (product_id,password,name,class) or none of them."""
    from .core.registry import import_roster
    from .core.toolchain import default_board

    try:
        text = roster.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise click.ClickException("the roster is not UTF-8 text") from None
    with unit_of_work() as app:
        created = import_roster(text, fqbn or default_board(app.config["SETTINGS"]))
    rows = [{"product_id": c.product_id, "device_token": c.device_token, "password": c.password} for c in created]
    if as_json:
        click.echo(json.dumps(rows))
        return
    for row in rows:
        generated = f"  password: {row['password']}" if row["password"] else ""
        click.echo(f"{row['product_id']}  device token: {row['device_token']}{generated}")
    click.echo(f"created {len(rows)} bots")


@device.command("token")
@click.argument("product_id")
def device_token(product_id: str) -> None:
    """Issue a new device token for a bot (the old one stops working)."""
    from .core.accounts import find_principal
    from .core.registry import reset_device_token

    with unit_of_work():
        found = find_principal("device", product_id)
        if found is None:
            raise click.ClickException(f"no bot {product_id!r}")
        token = reset_device_token(found)
    click.echo(token)


@device.command("simulate")
@click.argument("product_id", required=False)
@click.option("--token", default=None, help="The bot's device token (for a single bot).")
@click.option(
    "--roster",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="JSON list of {product_id, device_token}, e.g. the output of `webide device import --json`.",
)
@click.option(
    "--count",
    default=1,
    show_default=True,
    type=click.IntRange(1, 10000),
    help="How many bots of the roster to simulate at once.",
)
@click.option("--server", default="http://127.0.0.1:5000", show_default=True, help="Base URL of the webide server.")
@click.option(
    "--presses",
    default=1,
    show_default=True,
    type=click.IntRange(0, 1000),
    help="Trigger-button presses per bot (each checks and pulls the new firmware).",
)
@click.option(
    "--interval", default=1.0, show_default=True, type=click.FloatRange(0, 3600), help="Seconds between presses."
)
@click.option(
    "--free-space",
    default=0x140000,
    show_default=True,
    type=click.IntRange(0),
    help="Free sketch space each simulated bot reports (x-ESP32-free-space).",
)
@click.option(
    "--mqtt",
    "mqtt_address",
    default=None,
    metavar="HOST:PORT",
    help="Also use the live link: log in to this broker, send health and serial lines, answer commands.",
)
@click.option("--fail-rate", default=0.0, type=click.FloatRange(0, 1), help="Share of bots that report FAILED.")
@click.option(
    "--silent-rate", default=0.0, type=click.FloatRange(0, 1), help="Share of bots that go silent after a download."
)
@click.option(
    "--rollback-rate", default=0.0, type=click.FloatRange(0, 1), help="Share of bots whose new image rolls back."
)
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of the draw of each bot's failure mode.")
def device_simulate(
    product_id: str | None,
    token: str | None,
    roster: Path | None,
    count: int,
    server: str,
    presses: int,
    interval: float,
    free_space: int,
    mqtt_address: str | None,
    fail_rate: float,
    silent_rate: float,
    rollback_rate: float,
    seed: int,
) -> None:
    """Device simulator: pretend to be bots (no hardware) speaking the OTA agent's protocol.

    Each simulated bot sends a heartbeat, then presses its button: checks for an update, pulls its firmware URL with
    the stock ESP32 HTTPUpdate headers, verifies size, magic byte and MD5, "reboots" and reports the new hash.
    """
    from .simulator import FailureModes, load_roster, simulate

    try:
        failures = FailureModes(fail_rate, silent_rate, rollback_rate, seed)
    except ValueError as error:
        raise click.ClickException(str(error)) from None

    if roster is not None:
        try:
            bots = load_roster(roster)[:count]
        except ValueError as error:
            raise click.ClickException(str(error)) from None
        if product_id:
            bots = [bot for bot in bots if bot[0] == product_id]
    elif product_id and token:
        if count > 1:
            raise click.ClickException("--count above 1 needs --roster (every bot has its own token)")
        bots = [(product_id, token)]
    else:
        raise click.ClickException("give PRODUCT_ID and --token, or --roster FILE")
    mqtt = None
    if mqtt_address:
        host, _, port = mqtt_address.rpartition(":")
        if not host or not port.isdigit():
            raise click.ClickException("--mqtt needs HOST:PORT, e.g. 127.0.0.1:1883")
        mqtt = (host, int(port))
    succeeded, total = simulate(
        server, bots, presses, interval, say=click.echo, free_space=free_space, mqtt=mqtt, failures=failures
    )
    click.echo(f"simulated {total} bot(s): {succeeded} succeeded")
    sys.exit(0 if succeeded == total else 1)


@main.group()
def toolchain() -> None:
    """The ESP32 toolchain (arduino-cli and the esp32:esp32 core, pinned) in the data folder."""


@toolchain.command("install")
@click.option(
    "--optional", is_flag=True, help="When it cannot be installed (e.g. no internet), say so in one line and exit 0."
)
def toolchain_install(optional: bool) -> None:
    """Download and verify the pinned arduino-cli, then install the pinned esp32:esp32 core (kept when present)."""
    from compiler.download import DownloadError
    from compiler.toolchain_install import Pins, ToolchainInstallError, install_toolchain

    settings = settings_or_fail()
    pins = Pins(releases=settings.arduino_cli_releases) if settings.arduino_cli_releases else Pins()
    try:
        status = install_toolchain(settings.toolchain_dir, pins, say=lambda line: click.echo(f"webide: {line}"))
    except (DownloadError, ToolchainInstallError) as error:
        click.echo(
            f"webide: ESP32 toolchain not installed: {error}. The service runs with Debian's AVR "
            "toolchain; install it later with `webide toolchain install`.",
            err=True,
        )
        sys.exit(0 if optional else 1)
    click.echo(
        f"webide: ESP32 toolchain ready: arduino-cli {status.arduino_cli_version}, esp32:esp32 {status.core_version}"
    )


@toolchain.command("status")
def toolchain_status() -> None:
    """Show what `webide toolchain install` has installed, next to the pinned versions."""
    from compiler.toolchain_install import Pins
    from compiler.toolchain_install import toolchain_status as installed_status

    settings, pins = settings_or_fail(), Pins()
    status = installed_status(settings.toolchain_dir, pins)
    rows = [
        ("arduino-cli", status.arduino_cli_version, pins.arduino_cli_version),
        (pins.core, status.core_version, pins.core_version),
    ]
    for name, installed, pinned in rows:
        click.echo(f"{name:<12} {installed or 'not installed':<14} (pinned {pinned})")
    click.echo(f"folder       {settings.toolchain_dir.resolve()}")
    if not status.complete:
        click.echo(
            "install with `webide toolchain install` (needs to reach the arduino-cli and Espressif download hosts)"
        )


def settings_or_fail():  # type: ignore[no-untyped-def]
    try:
        return load_settings()
    except ConfigError as error:
        raise click.ClickException(str(error)) from None


@main.command()
@click.option(
    "--compile",
    "test_compile",
    is_flag=True,
    help="Also compile Blink (with the OTA agent on ESP32) for the default board and check the image.",
)
def doctor(test_compile: bool) -> None:
    """Report what is installed and what is missing, with the fix for each."""
    from .doctor import run_checks

    settings = load_settings()
    problems = 0
    for check in run_checks(settings, test_compile):
        mark = "ok " if check.ok else ("optional" if check.optional else "MISSING")
        click.echo(f"[{mark}] {check.name}: {check.detail}")
        if not check.ok:
            problems += 0 if check.optional else 1
            click.echo(f"        fix: {check.fix}")
    sys.exit(1 if problems else 0)


@main.command()
@click.argument("archive", type=click.Path(dir_okay=False, path_type=Path))
def backup(archive: Path) -> None:
    """Write a backup: a consistent database snapshot, the firmware it names and the keys, in one archive.

    Safe while the service runs."""
    from .core.backup import BackupError, create_backup

    app = make_app()
    with app.app_context():
        try:
            summary = create_backup(app.config["SETTINGS"], archive)
        except BackupError as error:
            raise click.ClickException(str(error)) from None
        finally:
            db.engine.dispose()
    rows = sum(summary.tables.values())
    click.echo(
        f"backup written to {archive}: {rows} rows, {summary.artifacts} firmware artifacts, schema {summary.revision}"
    )


@main.command()
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask before replacing everything.")
def restore(archive: Path, yes: bool) -> None:
    """Replace the database, the firmware and the keys with a backup's. Stop the web server and workers first.

    The archive is checked completely before anything changes; a damaged or foreign one changes nothing."""
    from .core.backup import BackupError, restore_backup

    if not yes:
        click.confirm("This replaces every account, bot, sketch and build with the backup's. Continue?", abort=True)
    app = make_app()
    with app.app_context():
        try:
            summary = restore_backup(app.config["SETTINGS"], archive)
        except BackupError as error:
            raise click.ClickException(f"nothing was changed: {error}") from None
        finally:
            db.engine.dispose()
    rows = sum(summary.tables.values())
    click.echo(f"restored {rows} rows and {summary.artifacts} firmware artifacts from {archive}")


@main.group("db")
def database() -> None:
    """Database schema."""


@database.command("upgrade")
def db_upgrade() -> None:
    """Apply pending migrations (also done on every start)."""
    make_app()
    click.echo("database is up to date")


@database.command("revision")
@click.option("-m", "--message", required=True)
def db_revision(message: str) -> None:
    """Write a new migration from model changes (for developers)."""
    new_migration(create_app(load_settings()), message)


if __name__ == "__main__":
    main()
