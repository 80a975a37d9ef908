"""Device simulator: bots without hardware, speaking exactly the protocol of the bootstrap firmware's OTA agent.

A simulated bot sends heartbeats, presses its "trigger button" (check the manifest, then pull the static firmware URL
with the stock Arduino-ESP32 HTTPUpdate client's request: HTTP/1.0 and the same ``x-ESP32-*`` headers), reports its
progress, checks what the real client checks (a ``Content-Length``, the size against its free sketch space, the
first byte 0xE9, the MD5 of what it received against ``x-MD5``), "reboots" into the new image and reports the new
hash in its next heartbeat. Unlike the stock client it can resume a dropped download with ``Range``/``If-Range``.

It is a simulator for trying a class without hardware, for tests and for benchmarks; no real device is involved.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

USER_AGENT = "ESP32-http-Update"
SDK_VERSION = "v5.1.4-simulated"
DEFAULT_FREE_SPACE = 0x140000  # the app partition of the default ESP32 partition scheme
CHIP_SIZE = 4 * 1024 * 1024
ESP_IMAGE_MAGIC = 0xE9
MAX_HEADER_BYTES = 64 * 1024
RECEIVE_BYTES = 256 * 1024
REPORT_AT_PERCENT = (25, 50, 75)
MAX_RESUMES = 3

Say = Callable[[str], None]


class SimulatorError(Exception):
    """A request could not be made (connection refused, malformed answer, timeout)."""


@dataclass
class HttpReply:
    status: int
    headers: dict[str, str]  # lowercase names
    body: bytes
    complete: bool = True  # False when the connection was dropped on purpose before the end of the body

    def json(self) -> Any:
        try:
            return json.loads(self.body)
        except ValueError:
            return None


@dataclass(frozen=True)
class BodyPlan:
    """How to read a body: stop (simulating a Wi-Fi drop) after some bytes, see progress, refuse from headers."""

    drop_after: int | None = None
    on_headers: Callable[[int, dict[str, str]], str | None] | None = None  # returns a reason to stop reading
    on_bytes: Callable[[int], None] | None = None


def http_exchange(
    base_url: str,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes = b"",
    timeout: float = 30,
    plan: BodyPlan = BodyPlan(),
) -> HttpReply:
    """One HTTP/1.0 request on its own connection, as the ESP32 HTTPClient makes it for updates."""
    url = urlsplit(base_url)
    host = url.hostname or "127.0.0.1"
    port = url.port or (443 if url.scheme == "https" else 80)
    lines = [f"{method} {path} HTTP/1.0", f"Host: {host}:{port}", *(f"{k}: {v}" for k, v in headers.items())]
    if body or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            connection = (
                ssl.create_default_context().wrap_socket(raw, server_hostname=host) if url.scheme == "https" else raw
            )
            connection.sendall(request)
            return read_reply(connection, method, plan)
    except OSError as error:
        raise SimulatorError(f"{method} {path}: {error}") from None


def read_reply(connection: socket.socket, method: str, plan: BodyPlan) -> HttpReply:
    buffer = bytearray()
    while b"\r\n\r\n" not in buffer:
        chunk = connection.recv(RECEIVE_BYTES)
        if not chunk or len(buffer) > MAX_HEADER_BYTES:
            raise SimulatorError("the server closed the connection before the end of the headers")
        buffer += chunk
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    status, headers = parse_head(head)
    if method == "HEAD" or status in (204, 304):
        return HttpReply(status, headers, b"")
    length = int(headers["content-length"]) if headers.get("content-length", "").isdigit() else None
    if plan.on_headers is not None:
        refusal = plan.on_headers(status, headers)
        if refusal is not None:
            return HttpReply(status, headers, rest, complete=False)
    return read_body(connection, status, headers, bytearray(rest), length, plan)


def parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    parts = status_line.split(" ", 2)
    if len(parts) < 2 or not parts[1].isdigit():
        raise SimulatorError(f"malformed status line {status_line!r}")
    headers: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(parts[1]), headers


def read_body(
    connection: socket.socket, status: int, headers: dict[str, str], body: bytearray, length: int | None, plan: BodyPlan
) -> HttpReply:
    wanted = length if length is not None else None
    while wanted is None or len(body) < wanted:
        if plan.drop_after is not None and len(body) >= plan.drop_after:
            return HttpReply(status, headers, bytes(body[: plan.drop_after]), complete=False)
        chunk = connection.recv(RECEIVE_BYTES)
        if not chunk:
            break
        body += chunk
        if plan.on_bytes is not None:
            plan.on_bytes(len(body))
    if plan.drop_after is not None and len(body) > plan.drop_after:
        return HttpReply(status, headers, bytes(body[: plan.drop_after]), complete=False)
    return HttpReply(
        status,
        headers,
        bytes(body[:wanted] if wanted is not None else body),
        complete=wanted is None or len(body) >= wanted,
    )


def factory_image(product_id: str) -> bytes:
    """The image a simulated bot runs before its first update (the bootstrap firmware stand-in)."""
    return bytes([ESP_IMAGE_MAGIC]) + hashlib.sha256(f"bootstrap:{product_id}".encode()).digest() * 64


def mac_for(product_id: str, salt: str = "sta") -> str:
    digest = hashlib.sha256(f"{salt}:{product_id}".encode()).digest()
    return ":".join(f"{b:02X}" for b in (0x24, 0x0A, 0xC4, *digest[:3]))


@dataclass(frozen=True)
class FailureModes:
    """How a simulated fleet misbehaves after a download, each bot's fate drawn once from a seeded generator:
    ``fail`` reports FAILED, ``silent`` never speaks again (a bricked bot), ``rollback`` boots the old image."""

    fail_rate: float = 0.0
    silent_rate: float = 0.0
    rollback_rate: float = 0.0
    seed: int = 0

    def __post_init__(self) -> None:
        rates = (self.fail_rate, self.silent_rate, self.rollback_rate)
        if any(not 0 <= rate <= 1 for rate in rates) or sum(rates) > 1:
            raise ValueError("failure rates must be between 0 and 1 and add up to at most 1")

    def fates(self, count: int) -> list[str]:
        """One fate per bot: ok, fail, silent or rollback."""
        draw = random.Random(self.seed)
        fates = []
        for _ in range(count):
            value = draw.random()
            if value < self.fail_rate:
                fates.append("fail")
            elif value < self.fail_rate + self.silent_rate:
                fates.append("silent")
            elif value < self.fail_rate + self.silent_rate + self.rollback_rate:
                fates.append("rollback")
            else:
                fates.append("ok")
        return fates


@dataclass
class PullOutcome:
    result: str  # updated | no_update | failed | interrupted
    detail: str = ""


@dataclass
class SimulatedBot:
    """One simulated bot; each method is one thing the firmware does, and says what happened."""

    server: str
    product_id: str
    token: str
    say: Say = print
    auth: str = "bearer"  # bearer (agent on core 3.x) | basic (core 2.x)
    free_space: int = DEFAULT_FREE_SPACE
    firmware_version: str = "bootstrap"
    reject_new_firmware: bool = False  # the new image "crashes" on probation and the bootloader rolls back
    fate: str = "ok"  # after a download: ok | fail (reports FAILED) | silent (never speaks again) | rollback
    running: bytes = b""
    booted_at: float = field(default_factory=time.monotonic)
    partial: bytearray = field(default_factory=bytearray)
    partial_etag: str | None = None
    last_result: str = ""
    last_status: int | None = None  # HTTP status of the last firmware request
    # Like the agent (WEBIDE_CONFIRM_WINDOW_MS, kProbationHeartbeatMs): a new image stays on probation, sending a
    # heartbeat this often, until the server accepts one; if none is accepted within the window it is rolled back.
    confirm_window_s: float = 180.0
    probation_heartbeat_s: float = 5.0

    def __post_init__(self) -> None:
        self.running = self.running or factory_image(self.product_id)

    @property
    def running_md5(self) -> str:
        return hashlib.md5(self.running).hexdigest()

    @property
    def uptime_s(self) -> int:
        return int(time.monotonic() - self.booted_at)

    def log(self, text: str) -> None:
        self.say(f"[{self.product_id}] {text}")

    def credentials(self) -> dict[str, str]:
        if self.auth == "basic":
            pair = base64.b64encode(f"{self.product_id}:{self.token}".encode()).decode()
            return {"Authorization": f"Basic {pair}"}
        return {"Authorization": f"Bearer {self.token}"}

    def post_json(self, path: str, payload: dict[str, Any]) -> HttpReply:
        headers = {**self.credentials(), "Content-Type": "application/json", "User-Agent": "ESP32HTTPClient"}
        return http_exchange(self.server, "POST", path, headers, json.dumps(payload).encode())

    def health(self, rolled_back: bool = False, **sensors: float) -> dict[str, Any]:
        """What the agent reports as a heartbeat (HTTP) or on its health topic (MQTT)."""
        payload: dict[str, Any] = {
            "fw": self.firmware_version,
            "md5": self.running_md5,
            "heap": 182_000,
            "uptime": self.uptime_s,
            "rssi": -61,
            "ip": "192.0.2.10",
            "mac": mac_for(self.product_id),
            **sensors,
        }
        if rolled_back:
            payload["rolled_back"] = True
        return payload

    def heartbeat(self, rolled_back: bool = False, **sensors: float) -> HttpReply:
        """POST /api/devices/<id>/heartbeat with what the agent sends (plus any sensor readings)."""
        reply = self.post_json(f"/api/devices/{self.product_id}/heartbeat", self.health(rolled_back, **sensors))
        answer = reply.json() or {}
        self.log(
            f"heartbeat md5={self.running_md5} -> {reply.status}"
            + (
                f" update_available={str(answer.get('update_available')).lower()}"
                if reply.status == 200
                else f" {answer.get('error', '')}"
            )
        )
        return reply

    def report(self, status: str, progress: int = 0, message: str = "") -> HttpReply:
        """POST /api/ota/<id>/status, as the agent does at each step of a pull."""
        reply = self.post_json(
            f"/api/ota/{self.product_id}/status", {"status": status, "progress": progress, "message": message}
        )
        self.log(f"status {status} {progress}%{(' ' + message) if message else ''} -> {reply.status}")
        return reply

    def check(self) -> HttpReply:
        """GET /api/ota/<id>/check with the running sketch's MD5, like the agent."""
        headers = {**self.credentials(), "x-ESP32-sketch-md5": self.running_md5}
        reply = http_exchange(self.server, "GET", f"/api/ota/{self.product_id}/check", headers)
        manifest = reply.json() or {}
        self.log(
            f"check -> {reply.status} update_available={str(manifest.get('updateAvailable')).lower()}"
            f" latest={manifest.get('latestVersion')}"
        )
        return reply

    def update_headers(self) -> dict[str, str]:
        """The request headers of Arduino-ESP32 3.x's HTTPUpdate (plus the agent's token)."""
        return {
            **self.credentials(),
            "User-Agent": USER_AGENT,
            "Cache-Control": "no-cache",
            "x-ESP32-BASE-MAC": mac_for(self.product_id, "base"),
            "x-ESP32-STA-MAC": mac_for(self.product_id),
            "x-ESP32-AP-MAC": mac_for(self.product_id, "ap"),
            "x-ESP32-free-space": str(self.free_space),
            "x-ESP32-sketch-size": str(len(self.running)),
            "x-ESP32-sketch-md5": self.running_md5,
            "x-ESP32-chip-size": str(CHIP_SIZE),
            "x-ESP32-sdk-version": SDK_VERSION,
            "x-ESP32-mode": "sketch",
            "x-ESP32-version": self.firmware_version,
        }

    def press_button(self, drop_after: int | None = None) -> PullOutcome:
        """Short press: check the manifest and pull when it offers another image (or cannot be read)."""
        self.log("button pressed")
        try:
            manifest = self.check().json() or {}
        except SimulatorError as error:
            self.log(f"check failed ({error}); pulling anyway")
            manifest = {}
        if manifest.get("updateAvailable") is False:
            self.last_result = "no update"
            return PullOutcome("no_update", "the manifest offers nothing new")
        return self.pull(drop_after=drop_after, version=manifest.get("latestVersion"))

    def pull(self, drop_after: int | None = None, version: str | None = None) -> PullOutcome:
        """GET /<id>.ino.bin the way HTTPUpdate does, verify, then reboot into the image."""
        headers = self.update_headers()
        resuming = bool(self.partial) and self.partial_etag is not None
        if resuming:
            headers.update({"Range": f"bytes={len(self.partial)}-", "If-Range": str(self.partial_etag)})
        progress = ProgressReports(self, already=len(self.partial) if resuming else 0)

        def on_headers(status: int, reply_headers: dict[str, str]) -> str | None:
            refusal = self.refusal_from_headers(status, reply_headers)
            if refusal is None and status in (200, 206):
                progress.begin(status, reply_headers)
            return refusal

        plan = BodyPlan(drop_after=drop_after, on_headers=on_headers, on_bytes=progress.received)
        reply = http_exchange(self.server, "GET", f"/{self.product_id}.ino.bin", headers, plan=plan)
        self.last_status = reply.status
        outcome = self.conclude_pull(reply, progress, version)
        self.last_result = f"{outcome.result} {outcome.detail}".strip()
        self.log(f"pull -> {reply.status}: {self.last_result}")
        return outcome

    def refusal_from_headers(self, status: int, headers: dict[str, str]) -> str | None:
        if status not in (200, 206):
            return None
        length = headers.get("content-length", "")
        if not length.isdigit() or int(length) == 0:
            return "Server Did Not Report Size"
        total = int(headers["content-range"].rpartition("/")[2]) if status == 206 else int(length)
        if total > self.free_space:
            return "Not Enough space"
        return None

    def conclude_pull(self, reply: HttpReply, progress: ProgressReports, version: str | None) -> PullOutcome:
        if reply.status == 304:
            return PullOutcome("no_update", "304 Not Modified")
        if reply.status not in (200, 206):
            message = (reply.json() or {}).get("error", "") if reply.body else ""
            return self.fail(f"HTTP {reply.status} {message}".strip())
        refusal = self.refusal_from_headers(reply.status, reply.headers)
        if refusal is not None:
            return self.fail(refusal)
        image = self.assemble(reply)
        if not reply.complete:
            self.partial_etag = reply.headers.get("etag")
            self.log(f"connection dropped after {len(image)} of {progress.total or '?'} bytes")
            return PullOutcome("interrupted", f"{len(image)} bytes kept for resuming")
        self.partial, self.partial_etag = bytearray(), None
        problem = self.verify(image, reply.headers.get("x-md5", ""))
        if problem is not None:
            return self.fail(problem)
        if self.fate == "fail":
            return self.fail("flash write failed (simulated)")
        if self.fate == "silent":
            self.log("downloaded, then went silent (simulated bricked bot)")
            return PullOutcome("failed", "silent")
        self.report("SUCCESS", 100, "verified; rebooting")
        return self.reboot_into(image, version)

    def assemble(self, reply: HttpReply) -> bytes:
        """The image so far: a 206 continues the kept bytes, a 200 starts over."""
        if reply.status == 206:
            start = int(reply.headers.get("content-range", "bytes 0-").split(" ")[1].split("-")[0])
            if start != len(self.partial):
                self.partial = bytearray()
                raise SimulatorError(f"server resumed at byte {start}, but {len(self.partial)} bytes are kept")
            self.partial += reply.body
        else:
            self.partial = bytearray(reply.body)
        return bytes(self.partial)

    def verify(self, image: bytes, expected_md5: str) -> str | None:
        """What HTTPUpdate and Update check: the magic byte and the MD5 of everything written."""
        if not image or image[0] != ESP_IMAGE_MAGIC:
            return "Verify Bin Header Failed"
        if expected_md5 and hashlib.md5(image).hexdigest() != expected_md5.lower():
            return "Wrong MD5"
        return None

    def fail(self, reason: str) -> PullOutcome:
        self.report("FAILED", 0, reason)
        return PullOutcome("failed", reason)

    def reboot_into(self, image: bytes, version: str | None) -> PullOutcome:
        """Restart; the new image heartbeats on probation, or the bootloader returns to the old one."""
        previous, previous_version = self.running, self.firmware_version
        self.booted_at = time.monotonic()
        if self.reject_new_firmware or self.fate == "rollback":
            self.log("new firmware failed on probation; bootloader returned to the previous image")
            return self.roll_back(previous, previous_version, "rolled back to the previous firmware")
        self.running = image
        self.firmware_version = f"build-{version}" if version else "downloaded"
        self.log(f"rebooted into md5={self.running_md5}; on probation until the server accepts a heartbeat")
        if not self.confirmed_by_server():
            self.log("the server did not confirm the new firmware in time; rolling back")
            return self.roll_back(previous, previous_version, "rolled back: the server did not confirm it in time")
        self.log("new firmware confirmed by the server; marked valid")
        return PullOutcome("updated", f"md5={self.running_md5}")

    def confirmed_by_server(self) -> bool:
        """Heartbeats on probation until the server accepts one (200) or the confirmation window closes."""
        deadline = time.monotonic() + self.confirm_window_s
        while True:
            try:
                if self.heartbeat().status == 200:
                    return True
            except SimulatorError as error:
                self.log(f"heartbeat on probation failed: {error}")
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            time.sleep(min(self.probation_heartbeat_s, left))

    def roll_back(self, previous: bytes, previous_version: str, message: str) -> PullOutcome:
        """Boot the previous image again and tell the server (status FAILED naming the rollback, then a heartbeat)."""
        self.running, self.firmware_version = previous, previous_version
        self.booted_at = time.monotonic()
        self.report("FAILED", 0, message)
        self.heartbeat(rolled_back=True)
        return PullOutcome("failed", "rolled back")


class ProgressReports:
    """STARTED once the body begins, IN_PROGRESS at 25/50/75 % — the agent's report schedule."""

    def __init__(self, bot: SimulatedBot, already: int):
        self.bot = bot
        self.already = already
        self.total: int | None = None
        self.sent: set[int] = set()

    def begin(self, status: int, headers: dict[str, str]) -> None:
        if status == 200:
            self.already = 0
            self.total = int(headers["content-length"])
        else:
            self.total = int(headers["content-range"].rpartition("/")[2])
        self.bot.report("STARTED", self.percent(0))

    def percent(self, count: int) -> int:
        return (self.already + count) * 100 // self.total if self.total else 0

    def received(self, count: int) -> None:
        percent = self.percent(count)
        for step in REPORT_AT_PERCENT:
            if percent >= step and step not in self.sent:
                self.sent.add(step)
                self.bot.report("IN_PROGRESS", step)


def load_roster(path: Path) -> list[tuple[str, str]]:
    """(product_id, device_token) pairs from the JSON that `webide device import --json` prints.

    A JSON object mapping product IDs to tokens is accepted too.
    """
    data = json.loads(path.read_text(encoding="utf-8"))
    if isinstance(data, dict):
        pairs = list(data.items())
    else:
        pairs = [(row.get("product_id"), row.get("device_token")) for row in data if isinstance(row, dict)]
    valid = [(str(pid), str(token)) for pid, token in pairs if isinstance(pid, str) and isinstance(token, str)]
    if not valid:
        raise ValueError(f"{path} names no bots: expected [{{'product_id': ..., 'device_token': ...}}, ...]")
    return valid


def run_bot(bot: SimulatedBot, presses: int, interval: float, mqtt: tuple[str, int] | None = None) -> bool:
    """A bot's session: a heartbeat, then ``presses`` button presses ``interval`` seconds apart. True if all went.

    With ``mqtt`` (host, port) the bot is also on the live link for the session: health, a boot line, and the
    commands it receives meanwhile.
    """
    link = MqttLink(bot, *mqtt) if mqtt else None
    try:
        if link is not None:
            if not link.connected.wait(10):
                bot.log(f"mqtt: not connected ({link.refused or 'no answer'})")
                return False
            link.serial("boot: simulated bot", f"running firmware {bot.running_md5}")
            link.send_health()
        return run_presses(bot, presses, interval)
    finally:
        if link is not None:
            link.close()


def run_presses(bot: SimulatedBot, presses: int, interval: float) -> bool:
    ok = True
    try:
        ok = bot.heartbeat().status == 200
        for press in range(presses):
            if press:
                time.sleep(interval)
            outcome = bot.press_button()
            for _ in range(MAX_RESUMES):
                if outcome.result != "interrupted":
                    break
                outcome = bot.pull()
            ok = ok and outcome.result in ("updated", "no_update")
    except SimulatorError as error:
        bot.log(f"error: {error}")
        return False
    return ok


def simulate(
    server: str,
    bots: Iterable[tuple[str, str]],
    presses: int,
    interval: float,
    say: Say = print,
    free_space: int = DEFAULT_FREE_SPACE,
    mqtt: tuple[str, int] | None = None,
    failures: FailureModes | None = None,
) -> tuple[int, int]:
    """Run every bot in its own thread; returns (bots that succeeded, bots in all)."""
    lock = threading.Lock()

    def locked_say(text: str) -> None:
        with lock:
            say(text)

    roster = list(bots)
    fates = (failures or FailureModes()).fates(len(roster))
    simulated = [
        SimulatedBot(server.rstrip("/"), product_id, token, say=locked_say, free_space=free_space, fate=fate)
        for (product_id, token), fate in zip(roster, fates)
    ]
    results: list[bool] = []
    threads = [
        threading.Thread(target=lambda b=bot: results.append(run_bot(b, presses, interval, mqtt)), daemon=True)
        for bot in simulated
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(results), len(simulated)


class MqttLink:
    """The live link of a simulated bot: it logs in with its product ID and device token, publishes health, output
    state and serial lines, and runs the commands it receives (acked, then done or failed), as the agent does."""

    def __init__(self, bot: SimulatedBot, host: str, port: int):
        import paho.mqtt.client as mqtt

        self.bot, self.outputs = bot, {"led": False, "relay": False}
        self.connected = threading.Event()
        self.refused: str | None = None
        self.dropped = False
        self.commands_done: list[str] = []
        self.client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2, client_id=f"sim-{bot.product_id}", protocol=mqtt.MQTTv311
        )
        self.client.username_pw_set(bot.product_id, bot.token)
        # The broker says "offline" for the bot when it drops off without a word (its last will).
        self.client.will_set(self.topic("status"), json.dumps({"online": False}), qos=1, retain=True)
        self.client.reconnect_delay_set(1, 30)
        self.client.on_connect = self.on_connect
        self.client.on_message = self.on_message
        self.client.connect_async(host, port, keepalive=30)
        self.client.loop_start()

    def topic(self, leaf: str) -> str:
        return f"devices/{self.bot.product_id}/{leaf}"

    def on_connect(self, client, _userdata, _flags, reason_code, _properties) -> None:  # type: ignore[no-untyped-def]
        if reason_code.is_failure:
            self.refused = str(reason_code)
            self.bot.log(f"mqtt refused: {reason_code}")
            return
        client.subscribe(self.topic("command"), qos=1)
        client.publish(self.topic("status"), json.dumps({"online": True}), qos=1, retain=True)
        self.connected.set()
        self.bot.log("mqtt connected")

    def send(self, leaf: str, payload: dict[str, Any] | str) -> None:
        body = payload if isinstance(payload, str) else json.dumps(payload)
        self.client.publish(self.topic(leaf), body, qos=1)

    def send_health(self, **sensors: float) -> None:
        self.send("health", self.bot.health(**sensors))

    def serial(self, *lines: str) -> None:
        """What the sketch prints, forwarded line by line (one message may carry several)."""
        self.send("logs", "\n".join(lines))

    def on_message(self, _client, _userdata, message) -> None:  # type: ignore[no-untyped-def]
        try:
            command = json.loads(message.payload)
            command_id, name, args = command["id"], command["command"], command
        except (ValueError, KeyError, TypeError):
            self.bot.log("mqtt: unreadable command ignored")
            return
        self.send("result", {"id": command_id, "state": "acked"})
        state, detail = self.run(name, args)
        self.send("result", {"id": command_id, "state": state, "message": detail})
        self.commands_done.append(name)
        self.bot.log(f"command {name} {state}")

    def run(self, name: str, args: dict[str, Any]) -> tuple[str, str]:
        if name in ("led", "relay"):
            wanted = args.get("state")
            self.outputs[name] = (not self.outputs[name]) if wanted == "toggle" else wanted == "on"
            self.send("status", self.outputs)
            return "done", f"{name} {'on' if self.outputs[name] else 'off'}"
        if name == "reboot":
            self.bot.booted_at = time.monotonic()
            self.serial("rebooting", "ets Jun  8 2016 00:22:57", "running firmware " + self.bot.running_md5)
            self.send_health()
            return "done", "rebooted"
        if name == "identify":
            return "done", f"blinking for {args.get('seconds', 5)} s"
        if name in ("update_now", "test_update"):
            outcome = self.bot.press_button()
            return ("done" if outcome.result in ("updated", "no_update") else "failed"), outcome.result
        if name == "serial":  # the sketch reads the line from Serial and, here, prints it back
            line = str(args.get("line", ""))
            self.serial(f"> {line}" if line else ">")
            return "done", f"{len(line.encode())} bytes to Serial"
        if name == "reset_wifi":
            return "done", "Wi-Fi settings cleared"
        return "failed", f"unknown command {name}"

    def close(self) -> None:
        """Leave the link cleanly (the broker does not send the last will then, so say "offline" first)."""
        if self.dropped:
            return
        if self.client.is_connected():
            self.client.publish(
                self.topic("status"), json.dumps({"online": False}), qos=1, retain=True
            ).wait_for_publish(5)
        self.client.disconnect()
        self.client.loop_stop()

    def drop(self) -> None:
        """Vanish without a word, as a bot that loses power does: the broker publishes the last will."""
        self.dropped = True
        self.client.loop_stop()
        connection = self.client.socket()
        if connection is not None:
            connection.close()
