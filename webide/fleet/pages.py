"""The firmware page for instructors and admins: releases (upload, block, delete) and staged rollouts.

Rendered here from the same domain functions as the JSON API; the console script (frontend/, bundled into
static/dist/console.js) sends every change through that API.
"""

from __future__ import annotations

from typing import Any

from flask import render_template
from flask_login import current_user, login_required

from ..api import documented
from ..core.accounts import require_staff
from ..core.classes import visible_classrooms
from ..core.presenters import board_names
from ..core.releases import CHANNELS, all_releases, release_view
from ..core.rollouts import rollout_view, visible_rollouts
from ..core.toolchain import available_boards
from ..extensions import current_settings
from ..models import Release, Rollout
from . import bp


@bp.get("/firmware")
@login_required
@documented("pages", other={200: None}, errors=(401, 403), access="staff")
def firmware_page() -> str:
    """Releases (upload, block, unblock, delete) and rollouts (create for a class, start, pause, resume, advance,
    cancel, retry the failed) with each group's progress."""
    user = require_staff(current_user)
    settings = current_settings()
    releases = all_releases()
    return render_template(
        "fleet/firmware.html",
        releases=[release_view(release) for release in releases],
        rollouts=[rollout_row(rollout, releases) for rollout in visible_rollouts(user)],
        classes=[classroom.name for classroom in visible_classrooms(user) if not classroom.archived],
        boards=available_boards(settings),
        board_names=board_names(settings),
        channels=CHANNELS,
    )


def rollout_row(rollout: Rollout, releases: list[Release]) -> dict[str, Any]:
    """A rollout's progress with the version of the release it rolls out (none for a build)."""
    version = next((release.version for release in releases if release.id == rollout.release_id), None)
    return {**rollout_view(rollout), "version": version}
