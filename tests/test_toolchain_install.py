"""`webide toolchain install`: a pinned arduino-cli from a local release server, then the pinned ESP32 core."""

from __future__ import annotations

import hashlib
import io
import json
import platform
import shutil
import tarfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from compiler import Compiler, CompilerConfig, SketchFile
from compiler.download import ChecksumMismatch, DownloadError, HostUnreachable, Limits
from compiler.toolchain_install import (
    MACHINE_PLATFORMS,
    Layout,
    Pins,
    ToolchainInstallError,
    install_toolchain,
    make_readable,
    toolchain_status,
    write_configuration,
)
from webide.cli import main
from webide.config import Settings
from webide.core.toolchain import arduino_cli_command
from webide.runner import free_port

from .conftest import traversable
from .fake_arduino_cli import FAKE_ARDUINO_CLI

VERSION = "1.1.1"
ARCHIVE = f"arduino-cli_{VERSION}_{MACHINE_PLATFORMS[platform.machine().lower()]}.tar.gz"

# A stand-in for the arduino-cli release binary, for these tests only (the real one cannot be downloaded here).
# It answers the commands the installer uses the way arduino-cli 1.x documents them (`version --json` ->
# {"VersionString"}, `core list --json` -> {"platforms": [{"id", "installed_version"}]}, `core update-index`,
# `core install <core>@<version>` into `directories.data`/packages/<vendor>/hardware/<arch>/<version>), reads the
# data folder from the `--config-file` it is given, and records every call.
STAND_IN = r"""#!/usr/bin/env python3
import json, sys
from pathlib import Path
RECORD = Path(__RECORD__)
args = sys.argv[1:]
with RECORD.open("a") as log:
    log.write(json.dumps(args) + "\n")
config = Path(args[args.index("--config-file") + 1]).read_text() if "--config-file" in args else ""
data = next(json.loads(line.split(":", 1)[1]) for line in config.splitlines() if line.strip().startswith("data:"))
words = [a for a in args if not a.startswith("--")]
words = [w for w in words if w not in (args[args.index("--config-file") + 1],)]
hardware = Path(data, "packages", "esp32", "hardware", "esp32")
if words[:1] == ["version"]:
    print(json.dumps({"Application": "arduino-cli", "VersionString": "__VERSION__"}))
elif words[:2] == ["core", "list"]:
    installed = sorted(p.name for p in hardware.iterdir()) if hardware.is_dir() else []
    print(json.dumps({"platforms": [{"id": "esp32:esp32", "installed_version": v} for v in installed]}))
elif words[:2] == ["core", "update-index"]:
    Path(data, "package_esp32_index.json").write_text("{}")
elif words[:2] == ["core", "install"]:
    core, _, version = words[2].partition("@")
    if core != "esp32:esp32" or not Path(data, "package_esp32_index.json").exists():
        sys.exit("Error during install: platform not found in the index")
    (hardware / version).mkdir(parents=True)
else:
    sys.exit("unknown command")
"""


def release_archive(record: Path, members: dict[str, tuple[bytes, int]] | None = None) -> bytes:
    """A .tar.gz laid out like arduino-cli's release archives: `arduino-cli` and `LICENSE.txt` at the top."""
    script = STAND_IN.replace("__RECORD__", json.dumps(str(record))).replace("__VERSION__", VERSION)
    members = members or {"arduino-cli": (script.encode(), 0o755), "LICENSE.txt": (b"GPL-3.0\n", 0o644)}
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, (content, mode) in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(content), mode
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


class ReleaseServer:
    """A local HTTP server for release archives; `truncate` makes it close the connection half way."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: list[str] = []
        self.truncate = False
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body[: len(body) // 2] if server.truncate else body)

            def log_message(self, *_args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}/releases"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def publish(self, body: bytes) -> str:
        self.files[f"/releases/{ARCHIVE}"] = body
        return hashlib.sha256(body).hexdigest()


@pytest.fixture
def release_server() -> Iterator[ReleaseServer]:
    server = ReleaseServer()
    server.thread.start()
    yield server
    server.httpd.shutdown()
    server.httpd.server_close()


def pins_for(server_base: str, checksum: str) -> Pins:
    machine_platform = MACHINE_PLATFORMS[platform.machine().lower()]
    return Pins(arduino_cli_version=VERSION, releases=server_base, checksums={(VERSION, machine_platform): checksum})


def calls(record: Path) -> list[list[str]]:
    return [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []


def leftovers(root: Path) -> list[str]:
    """Anything a failed install must not leave behind: the binary, the wrapper, temporary files or folders."""
    return sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.name.startswith(".")
        or p.name.endswith(".part")
        or p.name.startswith("release-")
        or (p.name == "arduino-cli" and p.is_file())
    )


def test_install_verifies_the_archive_installs_the_core_with_its_own_configuration_and_is_idempotent(
    release_server, tmp_path
):
    record, root = tmp_path / "calls.jsonl", tmp_path / "instance" / "toolchain"
    pins = pins_for(release_server.base, release_server.publish(release_archive(record)))

    status = install_toolchain(root, pins)

    assert (status.arduino_cli_version, status.core_version) == (VERSION, "3.0.7")
    assert status.arduino_cli == root / "arduino-cli" / "arduino-cli"
    config = root / "arduino-cli" / "arduino-cli.yaml"
    steps = [call for call in calls(record) if "version" not in call and "list" not in call]
    assert steps == [
        ["--config-file", str(config), "core", "update-index"],
        ["--config-file", str(config), "core", "install", "esp32:esp32@3.0.7"],
    ]
    text = config.read_text()
    assert '"https://espressif.github.io/arduino-esp32/package_esp32_index.json"' in text
    assert f'data: "{(root / "arduino15").resolve()}"' in text and "enable_notification: false" in text
    assert (root / "arduino15" / "packages" / "esp32" / "hardware" / "esp32" / "3.0.7").is_dir()

    before = (len(release_server.requests), len(calls(record)))
    again = install_toolchain(root, pins)
    assert again == status
    assert len(release_server.requests) == before[0]  # nothing downloaded a second time
    assert not any("install" in call or "update-index" in call for call in calls(record)[before[1] :])


def test_the_service_finds_the_installed_arduino_cli_unless_one_is_configured(release_server, tmp_path):
    data_dir = tmp_path / "instance"
    settings = Settings(data_dir=data_dir)
    assert arduino_cli_command(settings) == "arduino-cli"
    install_toolchain(
        settings.toolchain_dir, pins_for(release_server.base, release_server.publish(release_archive(tmp_path / "r")))
    )
    assert arduino_cli_command(settings) == str((settings.toolchain_dir / "arduino-cli" / "arduino-cli").resolve())
    assert arduino_cli_command(settings.with_overrides(arduino_cli="/opt/cli/arduino-cli")) == "/opt/cli/arduino-cli"


def test_a_checksum_mismatch_is_refused_and_nothing_is_installed(release_server, tmp_path):
    root = tmp_path / "toolchain"
    release_server.publish(release_archive(tmp_path / "calls.jsonl"))
    with pytest.raises(ChecksumMismatch, match="refused"):
        install_toolchain(root, pins_for(release_server.base, "0" * 64))
    assert leftovers(root) == []
    assert toolchain_status(root).arduino_cli is None


@pytest.mark.parametrize("case", ["broken off", "over the size limit"])
def test_a_partial_or_oversized_download_is_cleaned_up(release_server, tmp_path, case):
    root = tmp_path / "toolchain"
    body = release_archive(tmp_path / "calls.jsonl") + bytes(64 * 1024)  # padding: large enough to break off
    checksum = release_server.publish(body)
    limits = Limits()
    if case == "broken off":
        release_server.truncate = True
    else:
        limits = Limits(max_bytes=len(body) - 1)
    with pytest.raises(DownloadError, match=r"closed after|broke off|limit"):
        install_toolchain(root, pins_for(release_server.base, checksum), limits)
    assert leftovers(root) == []


def test_an_archive_with_links_is_refused(release_server, tmp_path):
    root = tmp_path / "toolchain"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        link = tarfile.TarInfo("arduino-cli")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    checksum = release_server.publish(buffer.getvalue())
    with pytest.raises(DownloadError, match="links or special files"):
        install_toolchain(root, pins_for(release_server.base, checksum))
    assert leftovers(root) == []


def test_an_unreachable_host_is_reported_in_one_clear_line(tmp_path):
    closed = f"http://127.0.0.1:{free_port()}/releases"
    with pytest.raises(HostUnreachable, match="cannot be reached"):
        install_toolchain(tmp_path / "toolchain", pins_for(closed, "0" * 64))
    env = {"WEBIDE_DATA_DIR": str(traversable(tmp_path) / "instance"), "WEBIDE_ARDUINO_CLI_RELEASES": closed}
    optional = CliRunner(env=env).invoke(main, ["toolchain", "install", "--optional"])
    lines = optional.output.strip().splitlines()
    assert optional.exit_code == 0 and len(lines) == 1, optional.output
    assert lines[0].startswith("webide: ESP32 toolchain not installed: 127.0.0.1:")
    assert "cannot be reached" in lines[0] and "install it later with `webide toolchain install`" in lines[0]
    assert CliRunner(env=env).invoke(main, ["toolchain", "install"]).exit_code == 1


def test_status_and_doctor_show_what_is_installed(release_server, tmp_path):
    data_dir = traversable(tmp_path) / "instance"
    env = {
        "WEBIDE_DATA_DIR": str(data_dir),
        "WEBIDE_ARDUINO_CLI_RELEASES": release_server.base,
        "WEBIDE_TOOLCHAIN": "arduino-builder",
        "REDIS_URL": "",
    }
    before = CliRunner(env=env).invoke(main, ["toolchain", "status"])
    assert "arduino-cli  not installed" in before.output and "webide toolchain install" in before.output
    doctor = CliRunner(env=env).invoke(main, ["doctor"])
    assert "[optional] esp32 toolchain: not installed" in doctor.output and doctor.exit_code == 0, doctor.output

    install_toolchain(
        data_dir / "toolchain", pins_for(release_server.base, release_server.publish(release_archive(tmp_path / "r")))
    )
    after = CliRunner(env=env).invoke(main, ["toolchain", "status"])
    assert f"arduino-cli  {VERSION}" in after.output and "esp32:esp32  3.0.7" in after.output, after.output
    assert "webide toolchain install" not in after.output
    doctor = CliRunner(env=env).invoke(main, ["doctor"])
    assert f"[ok ] esp32 toolchain: arduino-cli {VERSION} with esp32:esp32 3.0.7" in doctor.output


def test_the_installed_layout_detects_and_compiles_inside_the_sandbox(tmp_path):
    """The wrapper, its configuration and the release travel together into the sandbox (its folder is mounted).

    The release here is the arduino-cli stand-in's folder, which is self-contained like a real release; its data
    folder plays the installed core.
    """
    root = traversable(tmp_path) / "toolchain"
    layout = Layout(root)
    shutil.copytree(
        FAKE_ARDUINO_CLI.parent,
        layout.release_dir(VERSION),
        ignore=shutil.ignore_patterns("data", "__pycache__", "__init__.py"),
    )
    shutil.copytree(FAKE_ARDUINO_CLI.parent / "data", layout.directories()["data"])
    write_configuration(layout, Pins(arduino_cli_version=VERSION))
    make_readable(root)
    compiler = Compiler(
        CompilerConfig(
            work_root=tmp_path / "work",
            cache_root=tmp_path / "cache",
            toolchain="arduino-cli",
            arduino_cli=str(layout.wrapper),
        )
    )
    (info,) = compiler.toolchains()
    assert info.path == str(layout.wrapper) and "esp32:esp32:esp32" in [board.fqbn for board in info.boards]
    result = compiler.build(
        "Blink", [SketchFile("Blink.ino", "void setup() {}\nvoid loop() {}\n")], "esp32:esp32:esp32"
    )
    assert result.status == "success", result.log
    assert result.artifacts["app_bin"].name == "Blink.ino.bin"
    assert "packages/esp32/hardware/esp32/3.0.7" in result.log  # the core of the configured data folder


def test_the_pins_name_the_official_archive_and_refuse_a_machine_without_a_pinned_checksum():
    url, checksum = Pins().archive("x86_64")
    assert url == "https://downloads.arduino.cc/arduino-cli/arduino-cli_1.1.1_Linux_64bit.tar.gz"
    assert len(checksum) == 64 and int(checksum, 16) >= 0
    with pytest.raises(ToolchainInstallError, match=r"no SHA-256 is pinned .* Linux_ARM64; add it to ARCHIVE_SHA256"):
        Pins().archive("aarch64")
    with pytest.raises(ToolchainInstallError, match="no Linux release for this machine"):
        Pins().archive("riscv64")
