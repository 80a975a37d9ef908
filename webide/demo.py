"""Demo accounts for `webide run --demo`: an instructor, a class and a bot, with credentials to try them."""

from __future__ import annotations

import json
import os
import secrets

from .config import Settings
from .core.accounts import find_principal
from .core.registry import create_device, create_user, get_or_create_class
from .core.security import tokens_match, verify_password
from .core.toolchain import default_board

DEMO_FILE = "demo-credentials.json"


def ensure_demo_accounts(settings: Settings) -> str:
    """Create the demo accounts once and return the text that tells how to log in with them.

    The credentials are kept in the data folder (mode 0600) so every later start can print them again.
    """
    path = settings.data_dir / DEMO_FILE
    if path.exists() and find_principal("device", json.loads(path.read_text())["bot"]["product_id"]):
        credentials = json.loads(path.read_text())
    else:
        credentials = create_demo_accounts(settings)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(credentials, handle)
    teacher, bot = credentials["instructor"], credentials["bot"]
    works = working_credentials(credentials)
    changed = "(changed since it was printed first: reset it on the class's roster page)"
    return (
        f"Demo instructor: username {teacher['username']}  "
        f"password {teacher['password'] if works['instructor'] else changed}\n"
        f"Demo bot:        product ID {bot['product_id']}  "
        f"password {bot['password'] if works['bot'] else changed}  "
        f"device token {bot['device_token'] if works['device_token'] else '(replaced by a newer one: use the bot’s first-flash kit)'}"
    )


def working_credentials(credentials: dict) -> dict[str, bool]:
    """Which stored demo credentials still work: a password reset or a new device token from the console since the
    first start must not leave the start banner printing ones that fail."""
    teacher = find_principal("user", credentials["instructor"]["username"])
    bot = find_principal("device", credentials["bot"]["product_id"])
    return {
        "instructor": teacher is not None
        and verify_password(teacher.password_hash, credentials["instructor"]["password"]),
        "bot": bot is not None and verify_password(bot.password_hash, credentials["bot"]["password"]),
        "device_token": bot is not None and tokens_match(bot.device_token_hash, credentials["bot"]["device_token"]),
    }


def create_demo_accounts(settings: Settings) -> dict:
    username = "teacher" if find_principal("user", "teacher") is None else f"teacher_{secrets.token_hex(2)}"
    teacher_password = secrets.token_urlsafe(9)
    teacher = create_user(username, teacher_password, "instructor")
    get_or_create_class("demo-class", teacher)
    product_id = "bot_001" if find_principal("device", "bot_001") is None else f"bot_{secrets.token_hex(2)}"
    bot = create_device(product_id, "12345", "Demo bot", default_board(settings), "demo-class")
    return {
        "instructor": {"username": username, "password": teacher_password},
        "bot": {"product_id": product_id, "password": "12345", "device_token": bot.device_token},
    }
