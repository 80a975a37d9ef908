"""`webide doctor`: what is installed, what is missing, and the fix for each."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime

import redis

from .config import ConfigError, Settings
from .core.firmware.store import ArtifactStore, StoreUnavailable, artifact_store
from .core.sketches import STARTER_SKETCH


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    optional: bool = False  # missing is reported but is not a problem (the service runs without it)


def check_redis(settings: Settings) -> Check:
    if settings.redis_url:
        try:
            redis.Redis.from_url(settings.redis_url, socket_connect_timeout=2).ping()
            return Check("redis", True, "REDIS_URL answers")
        except redis.exceptions.RedisError as error:
            return Check("redis", False, f"REDIS_URL does not answer: {error}", "start Redis or fix REDIS_URL")
    path = shutil.which("redis-server")
    if path:
        return Check("redis", True, f"`webide run` starts a private {path}")
    return Check("redis", False, "no REDIS_URL and no redis-server on PATH", "apt-get install redis-server")


def check_toolchains(settings: Settings) -> list[Check]:
    from compiler import CompilerError

    from .core.toolchain import get_compiler

    compiler = get_compiler(settings)
    usable, message = compiler.sandbox_status()
    checks = [
        Check(
            "sandbox",
            usable or not settings.sandbox,
            message if settings.sandbox else f"DISABLED by WEBIDE_SANDBOX=false ({message})",
            "apt-get install bubblewrap (and allow unprivileged user namespaces)",
        )
    ]
    try:
        toolchains = compiler.toolchains()
    except CompilerError as error:
        toolchains, detail = [], str(error)
    else:
        detail = "none found"
    for toolchain in toolchains:
        boards = ", ".join(board.fqbn for board in toolchain.boards)
        checks.append(
            Check(
                f"toolchain {toolchain.name}",
                True,
                f"{toolchain.version} at {toolchain.path}; {len(toolchain.boards)} boards: {boards}",
            )
        )
    if not toolchains:
        checks.append(
            Check(
                "toolchain",
                False,
                detail,
                "install arduino-cli with the esp32:esp32 core (see the Dockerfile), or for AVR boards: "
                "apt-get install arduino-builder arduino-core-avr gcc-avr avr-libc arduino-ctags",
            )
        )
    return checks


def check_esp32_toolchain(settings: Settings) -> Check:
    """What `webide toolchain install` put in the data folder (the AVR toolchain needs no such install)."""
    from compiler.toolchain_install import Pins, toolchain_status

    pins, status = Pins(), toolchain_status(settings.toolchain_dir)
    if status.complete:
        return Check(
            "esp32 toolchain",
            True,
            f"arduino-cli {status.arduino_cli_version} with {pins.core} "
            f"{status.core_version} in {settings.toolchain_dir}",
        )
    found = (
        f"arduino-cli {status.arduino_cli_version} without the {pins.core} core"
        if status.arduino_cli_version
        else "not installed"
    )
    return Check(
        "esp32 toolchain",
        False,
        f"{found} in {settings.toolchain_dir} (ESP32 boards cannot be built)",
        "webide toolchain install (needs internet access)",
        optional=True,
    )


def check_disk(settings: Settings) -> Check:
    folder = settings.data_dir if settings.data_dir.exists() else settings.data_dir.resolve().parent
    free = shutil.disk_usage(folder).free
    needed = settings.min_free_bytes + settings.build_max_disk_bytes  # what the compiler requires to start a build
    return Check(
        "disk",
        free >= needed,
        f"{free / 1024**3:.1f} GiB free under {folder} (builds need {needed / 1024**3:.1f} GiB)",
        "free some space or point WEBIDE_DATA_DIR at a larger disk",
    )


def check_artifact_store(settings: Settings) -> Check:
    """The store answers (an S3 bucket is reachable with the credentials given); a folder is named."""
    try:
        store: ArtifactStore = artifact_store(settings)
        store.exists("0" * 64)  # a key that is never stored: a lookup that must answer "no"
    except (ConfigError, StoreUnavailable) as error:
        fix = "check WEBIDE_ARTIFACT_STORE, AWS_ENDPOINT_URL and the AWS credentials"
        return Check("artifact store", False, str(error), fix)
    return Check("artifact store", True, repr(store))


def check_formatter() -> Check:
    path = shutil.which("clang-format")
    return Check(
        "clang-format",
        path is not None,
        path or "not found (Auto Format is unavailable)",
        "apt-get install clang-format",
    )


def check_test_compile(settings: Settings) -> Check:
    """Compile Blink for the default board in the sandbox, the OTA agent linked in for ESP32 boards, and check
    the image: the one check that proves the installed toolchain and core work the way webide drives them."""
    from compiler import CompilerError, SketchFile

    from .core.firmware.images import ImageRejected, check_app_image
    from .core.toolchain import get_compiler

    fqbn = settings.default_fqbn
    # a new comment every time, so the build cache cannot answer instead of the toolchain
    sketch = f"{STARTER_SKETCH}// webide doctor {datetime.now(UTC).isoformat()}\n"
    try:
        result = get_compiler(settings).build("Blink", [SketchFile("Blink.ino", sketch)], fqbn)
    except CompilerError as error:
        return Check(f"test compile {fqbn}", False, str(error), "see the toolchain check above")
    if not result.ok:
        return Check(
            f"test compile {fqbn}", False, f"{result.message}\n{result.log[-2000:]}", "see the compiler output above"
        )
    try:
        check_app_image(fqbn, result.artifacts["app_bin"], result.mcu)
    except ImageRejected as error:
        return Check(f"test compile {fqbn}", False, f"invalid image: {error}", "report this toolchain/core version")
    return Check(
        f"test compile {fqbn}",
        True,
        f"{result.message} in {result.duration_s:.0f} s, "
        f"{'core from the cache' if result.core_cache_hit else 'core compiled'}, image valid",
    )


def check_mosquitto(settings: Settings) -> Check:
    """The live device link's broker: an existing one (WEBIDE_MQTT_URL) or Debian's mosquitto for `webide run`."""
    if settings.mqtt_url:
        return Check("mosquitto", True, "WEBIDE_MQTT_URL names the broker (the bridge reconnects until it answers)")
    path = shutil.which("mosquitto") or next(
        (candidate for candidate in ("/usr/sbin/mosquitto", "/sbin/mosquitto") if os.access(candidate, os.X_OK)), None
    )
    if path:
        return Check("mosquitto", True, f"`webide run` starts a private {path} on port {settings.mqtt_port}")
    return Check(
        "mosquitto",
        False,
        "no WEBIDE_MQTT_URL and no mosquitto installed: bots can use HTTP only",
        "apt-get install mosquitto",
    )


def run_checks(settings: Settings, test_compile: bool = False) -> list[Check]:
    checks = [
        check_redis(settings),
        check_mosquitto(settings),
        check_esp32_toolchain(settings),
        *check_toolchains(settings),
        check_disk(settings),
        check_artifact_store(settings),
        check_formatter(),
    ]
    return [*checks, check_test_compile(settings)] if test_compile else checks
