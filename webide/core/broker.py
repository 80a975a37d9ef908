"""What Mosquitto needs to let each bot in with its own credentials and only onto its own topics.

A bot logs in to the broker with its product ID as the username and its device token as the password. Only the
token's SHA-256 is stored for the HTTP path, which Mosquitto cannot check a password against, so when a token is
issued its Mosquitto form (``$7$``: PBKDF2-HMAC-SHA512, as ``mosquitto_passwd`` writes it) is stored next to it.
The password file lists every bot that is not blocked; a rotated token or a block changes the file, and the broker
rereads it on SIGHUP (the bridge checks every ``WEBIDE_MQTT_RELOAD_S`` seconds). The ACL file is fixed: ``pattern``
lines, where ``%u`` is the username, give every bot its own topics and nothing else; the bridge may do everything.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from sqlalchemy import select

from ..config import Settings, is_bot_broker_url
from ..extensions import db
from ..models import Device
from .hosts import is_loopback_host

# A product ID starts with a letter or digit, so no bot can be called this.
BRIDGE_USERNAME = "_webide_bridge"
PBKDF2_ITERATIONS = 101  # mosquitto_passwd's default; tokens are 256-bit random, so more rounds add nothing
SALT_BYTES = 12
TOPIC_ROOT = "devices"
# What a bot may publish (its reports) and subscribe to (what is sent to it), below devices/<product ID>/.
BOT_PUBLISHES = ("health", "status", "ota/status", "logs", "result")
BOT_SUBSCRIBES = ("command", "ota")
MAX_PACKET_BYTES = 16384  # the broker drops a client sending a larger packet
PASSWORD_FILE, ACL_FILE, CONFIG_FILE, PID_FILE = "passwd", "acl", "mosquitto.conf", "mosquitto.pid"


def topic(product_id: str, leaf: str) -> str:
    return f"{TOPIC_ROOT}/{product_id}/{leaf}"


def bot_broker_url(settings: Settings) -> str:
    """The broker as bots reach it, for the heartbeat reply ("" when there is none a bot could use).

    ``WEBIDE_MQTT_PUBLIC_URL`` when set; else the host and port of ``WEBIDE_MQTT_URL`` without its credentials, when
    that host is not this machine's loopback; else, for the private broker of `webide run` listening on all
    addresses (``WEBIDE_MQTT_HOST=0.0.0.0``) or on one LAN address, that address (``WEBIDE_PUBLIC_URL``'s host for
    all addresses) with the broker's port. A broker only this machine can reach is never named.
    """
    if settings.mqtt_public_url:
        return settings.mqtt_public_url
    if not settings.mqtt_url:
        return ""
    parts = urlsplit(settings.mqtt_url)
    try:
        port = parts.port
    except ValueError:
        return ""
    host = parts.hostname or ""
    if host and not is_loopback_host(host):
        scheme = parts.scheme
        port = port or (8883 if scheme == "mqtts" else 1883)
    else:  # the private broker `webide run` started, reached by the bridge over loopback
        scheme, port = "mqtt", port or settings.mqtt_port
        host = settings.mqtt_host
        if host in ("0.0.0.0", "::", ""):
            host = urlsplit(settings.public_url).hostname or ""
        if not host or is_loopback_host(host):
            return ""
    url = f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"
    return url if is_bot_broker_url(url) else ""


def mosquitto_password_hash(secret: str, salt: bytes | None = None) -> str:
    """``$7$<iterations>$<salt>$<hash>``: the sha512-pbkdf2 form of Mosquitto 2's password file."""
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", secret.encode(), salt, PBKDF2_ITERATIONS, 64)
    encoded = base64.b64encode(salt).decode(), base64.b64encode(digest).decode()
    return f"$7${PBKDF2_ITERATIONS}${encoded[0]}${encoded[1]}"


def mosquitto_password_matches(stored: str, secret: str) -> bool:
    """What Mosquitto does with a ``$7$`` line (used by tests and `webide doctor`)."""
    try:
        _, kind, iterations, salt, digest = stored.split("$")
        computed = hashlib.pbkdf2_hmac("sha512", secret.encode(), base64.b64decode(salt), int(iterations), 64)
    except ValueError:
        return False
    return kind == "7" and hmac.compare_digest(base64.b64encode(computed).decode(), digest)


def bridge_password_hash(password: str) -> str:
    """The bridge's entry, with a salt derived from its password, so rewriting the file does not change it."""
    return mosquitto_password_hash(password, hashlib.sha256(b"webide bridge salt" + password.encode()).digest()[:12])


def password_file_text(entries: Iterable[tuple[str, str]]) -> str:
    return "".join(f"{username}:{password_hash}\n" for username, password_hash in entries)


def acl_text() -> str:
    """The bridge may use every topic; every other user only its own (``pattern``), never a wildcard beyond."""
    lines = [f"user {BRIDGE_USERNAME}", "topic readwrite #", ""]
    lines += [f"pattern write {topic('%u', leaf)}" for leaf in BOT_PUBLISHES]
    lines += [f"pattern read {topic('%u', leaf)}" for leaf in BOT_SUBSCRIBES]
    return "\n".join(lines) + "\n"


def bot_credentials() -> list[tuple[str, str]]:
    """(product ID, Mosquitto password hash) of every bot allowed on the broker: not blocked, token issued."""
    rows = db.session.execute(
        select(Device.product_id, Device.mqtt_password_hash)
        .where(Device.blocked.is_(False), Device.mqtt_password_hash.is_not(None))
        .order_by(Device.product_id)
    )
    return [(product_id, password_hash) for product_id, password_hash in rows if password_hash]


@dataclass(frozen=True)
class BrokerFiles:
    """The generated files of one broker, in its folder."""

    folder: Path

    @property
    def password_file(self) -> Path:
        return self.folder / PASSWORD_FILE

    @property
    def acl_file(self) -> Path:
        return self.folder / ACL_FILE

    @property
    def pid_file(self) -> Path:
        return self.folder / PID_FILE

    def write(self, bridge_password: str) -> bool:
        """Bring the password and ACL files up to date from the database; True when either changed."""
        self.folder.mkdir(parents=True, exist_ok=True)
        passwords = password_file_text([(BRIDGE_USERNAME, bridge_password_hash(bridge_password)), *bot_credentials()])
        changed = write_if_changed(self.password_file, passwords)
        return write_if_changed(self.acl_file, acl_text()) or changed

    def config_text(self, host: str, port: int) -> str:
        """A private Mosquitto: one listener, no anonymous clients, the generated files, nothing kept on disk."""
        return "\n".join(
            [
                "per_listener_settings false",
                f"listener {port} {host}",
                "allow_anonymous false",
                f"password_file {self.password_file.resolve()}",
                f"acl_file {self.acl_file.resolve()}",
                f"pid_file {self.pid_file.resolve()}",
                "persistence false",
                f"max_packet_size {MAX_PACKET_BYTES}",
                "max_queued_messages 100",
                "max_inflight_messages 20",
                "log_dest stdout",
                "log_type error",
                "log_type warning",
                "log_type notice",
                "connection_messages true",
                "",
            ]
        )

    def broker_pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None


def write_if_changed(path: Path, text: str) -> bool:
    """Replace ``path`` atomically (mode 0600: password hashes) when its content differs."""
    try:
        if path.read_text() == text:
            return False
    except FileNotFoundError:
        pass
    temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(temp, path)
    return True
