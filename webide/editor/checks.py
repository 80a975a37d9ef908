"""Checks before a sketch or a board is stored: the compiler's own rules, so the editor and the build agree.

Kept apart from ``sketches`` because it needs the compiler configured by ``builds``, whose views import ``sketches``.
"""

from __future__ import annotations

import logging

from compiler import SketchError, SketchFile

from ..builds.toolchain import available_boards, get_compiler
from ..config import Settings
from ..errors import BadRequest, TooLarge
from ..extensions import db
from ..models import Device
from .sketches import sketch_name

log = logging.getLogger(__name__)


def check_sketch(device: Device, files: list[dict[str, str]], settings: Settings) -> None:
    """Refuse a sketch the compiler would refuse: 413 when over the size or file-count limit, else 400 listing
    one message per broken file-name rule (the compiler's own rules, so the editor and the build agree)."""
    if len(files) > settings.sketch_max_files:
        raise TooLarge(f"A sketch may have at most {settings.sketch_max_files} files; this one has {len(files)}")
    total = sum(len(f["content"].encode("utf-8", "surrogatepass")) for f in files)
    if total > settings.sketch_max_bytes:
        raise TooLarge(f"The sketch is {total} bytes; the limit is {settings.sketch_max_bytes} bytes")
    try:
        get_compiler(settings).validate(sketch_name(device), [SketchFile(**f) for f in files])
    except SketchError as error:
        raise BadRequest("; ".join(error.problems), problems=error.problems) from None


def check_board(fqbn: str, settings: Settings) -> str:
    """``fqbn`` if an installed toolchain can build it; else 400 naming the installed boards."""
    installed = [board.fqbn for board in available_boards(settings)]
    if fqbn not in installed:
        raise BadRequest(f"No installed toolchain can build {fqbn!r}. Installed boards: "
                         f"{', '.join(installed) or 'none'}", installed=installed)
    return fqbn


def set_board(device: Device, fqbn: str, settings: Settings) -> None:
    """Make ``fqbn`` the bot's board, after :func:`check_board`."""
    check_board(fqbn, settings)
    if device.fqbn != fqbn:
        log.info("Board of %s changed from %s to %s", device.product_id, device.fqbn, fqbn)
        device.fqbn = fqbn
        db.session.commit()
