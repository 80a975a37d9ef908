"""The first-flash kit of a bot: an NVS image with everything its agent needs, plus instructions, as one ZIP.

The agent reads its settings from NVS (namespace ``webide``, see ``bootstrap_firmware/WebideAgent/src/platform/
device_store.cpp``). Writing them as a partition image saves the maker from typing a 43-character token into the
captive portal. The image matches the ``nvs`` partition of Arduino-ESP32's default partition tables
(``tools/partitions/default.csv`` and ``min_spiffs.csv``: offset 0x9000, size 0x5000).

Only the hash of a device token is stored, so a kit always carries a newly issued token: downloading one ends the
previous token.
"""

from __future__ import annotations

import io
import json
import logging
import zipfile
from dataclasses import asdict, dataclass
from datetime import datetime
from urllib.parse import urlsplit

from esp_idf_nvs_partition_gen import nvs_partition_gen as nvs_gen

from compiler.drivers.base import AGENT_LINK_FLAGS_FILE, AGENT_LINK_PROPERTY

from ..config import Settings
from ..extensions import public_base_url
from ..models import Device, User, utcnow
from .accounts import Principal
from .errors import BadRequest, Conflict
from .firmware.signing import signing_key
from .firmware.urls import firmware_url
from .hosts import is_loopback_host
from .registry import reset_device_token
from .toolchain import BUNDLED_AGENT, agent_library
from .wifi import wifi_credentials

log = logging.getLogger(__name__)

NVS_NAMESPACE = "webide"
NVS_PARTITION_OFFSET = 0x9000
NVS_PARTITION_SIZE = 0x5000
NVS_PAGE_SIZE = 0x1000
# ProvisioningSettings field -> the NVS key the agent's DeviceStore reads it from.
NVS_KEYS = {
    "wifi_ssid": "ssid",
    "wifi_password": "pass",
    "server_url": "server",
    "product_id": "product",
    "device_token": "token",
    "signing_key": "signkey",
}
MAX_SERVER_URL_BYTES = 128
KIT_FILES = ("nvs.bin", "README.txt", "settings.json")


@dataclass(frozen=True)
class ProvisioningSettings:
    """Everything a bot's agent reads from NVS on boot."""

    wifi_ssid: str
    wifi_password: str
    server_url: str
    product_id: str
    device_token: str
    signing_key: str  # base64 of the uncompressed P-256 point that signs every image (see firmware/signing.py)


@dataclass(frozen=True)
class ProvisioningKit:
    """The ZIP to send and the name to save it under."""

    filename: str
    content: bytes


def check_server_url(url: str) -> str:
    """Refuse a server URL the agent would not accept or would cut (it could then never reach the server)."""
    if not url.startswith(("http://", "https://")):
        raise BadRequest(f"The server URL {url!r} must start with http:// or https://; check WEBIDE_PUBLIC_URL")
    if is_loopback_host(urlsplit(url).hostname or ""):
        raise BadRequest(
            f"The server URL {url!r} only reaches this computer itself, so a bot could never reach it; "
            f"set WEBIDE_PUBLIC_URL to the address bots use (e.g. http://192.168.1.10:5000)"
        )
    if len(url.encode()) > MAX_SERVER_URL_BYTES:
        raise BadRequest(
            f"The server URL {url!r} is longer than the {MAX_SERVER_URL_BYTES} bytes the bot can "
            f"store; set WEBIDE_PUBLIC_URL to a shorter address"
        )
    return url


def check_reflash_allowed(principal: Principal, confirmed: bool) -> None:
    """A kit ends the bot's current device token: instructors and admins may issue one, a student must confirm."""
    if not isinstance(principal, User) and not confirmed:
        raise Conflict(
            "A first-flash kit replaces the bot's device token: the bot goes offline until it is flashed "
            "with the new kit. Ask your instructor, or confirm that you will re-flash it "
            "(confirm_reflash: true)",
            confirm_required=True,
        )


def nvs_image(settings: ProvisioningSettings) -> bytes:
    """An NVS partition image (format version 2) holding the agent's settings in its namespace."""
    buffer = io.BytesIO()
    # The generator keeps the last page free (NVS needs one spare page for garbage collection), so it is given
    # the size without it, as its own command line does.
    image = nvs_gen.nvs_open(buffer, NVS_PARTITION_SIZE - NVS_PAGE_SIZE, nvs_gen.Page.VERSION2)
    nvs_gen.write_entry(image, NVS_NAMESPACE, "namespace", "", "")
    for field, key in NVS_KEYS.items():
        nvs_gen.write_entry(image, key, "data", "string", getattr(settings, field))
    nvs_gen.nvs_close(image)
    return buffer.getvalue()


def settings_json(settings: ProvisioningSettings) -> str:
    """The same settings as JSON, for makers who type them into the bot's setup portal instead."""
    return json.dumps({**asdict(settings), "nvs_namespace": NVS_NAMESPACE, "nvs_keys": dict(NVS_KEYS)}, indent=2) + "\n"


def readme_text(settings: ProvisioningSettings, static_firmware_url: str, link_flags: str) -> str:
    """Step-by-step instructions for the first USB flash of this bot."""
    pid = settings.product_id
    network = settings.wifi_ssid
    password_line = "(an open network, no password)" if not settings.wifi_password else "(password in settings.json)"
    return f"""First flash of bot {pid}
{"=" * (19 + len(pid))}

This kit holds the settings of bot {pid}: Wi-Fi network "{network}" {password_line}, server
{settings.server_url}, and a NEW device token. Downloading it replaced the bot's device token: the previous
token no longer works, so a bot still running with it is refused until it gets this kit (or the new token
in its setup portal). Keep the kit private: the token and the Wi-Fi password are in it in plain text.

Files
  nvs.bin        the settings as an NVS partition image (namespace "{NVS_NAMESPACE}") for offset
                 0x{NVS_PARTITION_OFFSET:X}, size 0x{NVS_PARTITION_SIZE:X} (the nvs partition of Arduino-ESP32's default
                 partition tables)
  settings.json  the same settings, to type into the setup portal instead
  README.txt     this file

1. Flash the bootstrap sketch once over USB

   From a copy of the webide sources (folder bootstrap_firmware/), with Arduino-ESP32 2.x or 3.x installed
   in arduino-cli (on Linux its recipes run python3 with pyserial: apt-get install python3-serial), and the
   bot on /dev/ttyUSB0 (COM3 or similar on Windows):

     arduino-cli compile --fqbn esp32:esp32:esp32 \\
       --library bootstrap_firmware/WebideAgent \\
       --build-property "{AGENT_LINK_PROPERTY}={link_flags}" \\
       --output-dir build bootstrap_firmware/bootstrap
     arduino-cli upload --fqbn esp32:esp32:esp32 -p /dev/ttyUSB0 --input-dir build bootstrap_firmware/bootstrap

   Keep a partition scheme with two OTA app slots and the nvs partition at 0x{NVS_PARTITION_OFFSET:X}
   ("Default 4MB with spiffs" or "Minimal SPIFFS").

2. Write the settings

     esptool.py --chip esp32 -p /dev/ttyUSB0 write_flash 0x{NVS_PARTITION_OFFSET:x} nvs.bin

   esptool restarts the bot afterwards. The serial monitor (115200 baud) shows
     [webide] OTA agent starting
     [webide] joining Wi-Fi '{network}'
     [webide] online as {pid}, status page http://<bot-ip>/
   If the LED blinks instead, the bot could not join "{network}" within a minute and opened its setup
   portal (Wi-Fi network webide-XXXX, page http://192.168.4.1/): join it and enter the values of
   settings.json there.

3. Press the button

   Press the bot's BOOT button (GPIO 0) briefly: the bot asks the server for its firmware and installs it.
   It fetches it from its static firmware URL

     {static_firmware_url}

   The LED stays on while the image downloads; the serial monitor shows "status STARTED", "IN_PROGRESS",
   "SUCCESS", then "update installed, restarting" and "new firmware on probation" until the server confirms
   it ("new firmware confirmed"). "already running the latest firmware" means nothing newer was uploaded.
   From now on press Upload in the editor, then the button on the bot.

Holding the button for 3 seconds forgets the Wi-Fi network and opens the setup portal again.
"""


def kit_zip(settings: ProvisioningSettings, static_firmware_url: str, link_flags: str, made_at: datetime) -> bytes:
    """The ZIP with ``nvs.bin``, ``README.txt`` and ``settings.json``."""
    contents = {
        "nvs.bin": nvs_image(settings),
        "README.txt": readme_text(settings, static_firmware_url, link_flags).encode(),
        "settings.json": settings_json(settings).encode(),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in KIT_FILES:
            entry = zipfile.ZipInfo(name, date_time=made_at.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o600 << 16
            archive.writestr(entry, contents[name])
    return buffer.getvalue()


def agent_link_flags(settings: Settings) -> str:
    """The linker flags every ESP32 build of the agent needs, as shipped with the agent library."""
    library = agent_library(settings) or BUNDLED_AGENT
    return (library / AGENT_LINK_FLAGS_FILE).read_text().strip()


def server_url(settings: Settings) -> str:
    """The base URL bots reach this server at: WEBIDE_PUBLIC_URL, else the URL this request came in on."""
    return public_base_url(settings)


def provisioning_kit(device: Device, settings: Settings) -> ProvisioningKit:
    """Issue a new device token for ``device`` and pack its first-flash kit.

    Everything is checked before the token is replaced, so a refused request leaves the old token working.
    """
    wifi = wifi_credentials(device, settings.data_dir)
    if wifi is None:
        raise BadRequest(
            f"No Wi-Fi settings are stored for {device.product_id} yet (or its password can no longer "
            f"be decrypted): save the bot's Wi-Fi network first, then download the kit"
        )
    url = check_server_url(server_url(settings))
    link_flags = agent_link_flags(settings)
    public_key = signing_key(settings).public_key_b64
    provisioning = ProvisioningSettings(
        wifi.ssid, wifi.password, url, device.product_id, reset_device_token(device), public_key
    )
    content = kit_zip(provisioning, firmware_url(device, settings), link_flags, utcnow())
    log.info("First-flash kit issued for %s; its previous device token no longer works", device.product_id)
    return ProvisioningKit(f"{device.product_id}-provisioning.zip", content)
