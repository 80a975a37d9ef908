"""Staged rollouts API: create (release or build, targets, groups, thresholds), follow, and steer."""

from __future__ import annotations

from flask_login import current_user, login_required

from ..api import acting, documented
from ..core.accounts import accessible_device
from ..core.audit import record
from ..core.classes import visible_classroom
from ..core.errors import BadRequest
from ..core.ota_updates import check_release_fits
from ..core.presenters import is_online
from ..core.releases import release_or_404
from ..core.rollouts import (
    Grouping,
    Thresholds,
    act,
    create_rollout,
    managed_rollout,
    rollout_view,
    split_into_groups,
    visible_rollouts,
)
from ..extensions import current_settings, db
from ..models import Device
from ..schemas import RolloutCreate, RolloutList, RolloutReply, RolloutTargets
from . import bp
from .views import visible_build

ERRORS = (400, 401, 403, 404, 409)
ACTIONS = ("start", "pause", "resume", "advance", "cancel", "retry")


@bp.post("/api/rollouts")
@login_required
@documented("fleet", RolloutReply, status=201, errors=ERRORS, access="staff")
def new_rollout(json: RolloutCreate) -> tuple[dict, int]:
    """A rollout of a release (``version``) or a build (``build``) to the target bots, in groups, with a success
    threshold (% of a group confirmed running) and an error threshold (a count or a %) that pauses it; it starts
    with ``POST /api/rollouts/{id}/start``. A bot already in an unfinished rollout is a 409."""
    if (json.version is None) == (json.build is None):
        raise BadRequest("Send exactly one of version or build")
    devices = target_bots(json.targets)
    settings = current_settings()
    release = build = None
    if json.version is not None:
        release = release_or_404(json.version)
        for device in devices:
            check_release_fits(device, release, settings)
        artifact = release.artifact
    else:
        build = visible_build(json.build or "")
        if build.artifact is None or build.status != "complete":
            raise BadRequest("Only a build that finished successfully and produced firmware can be rolled out")
        artifact = build.artifact
        wrong = [device.product_id for device in devices if device.fqbn != build.fqbn]
        if wrong:
            raise BadRequest(f"Build {build.id} is for {build.fqbn}; these bots are not: {', '.join(wrong)[:200]}")
    groups = split_into_groups(devices, Grouping(json.groups.count, json.groups.percentages, json.groups.lists))
    thresholds = Thresholds(
        json.success_threshold, json.error_threshold_count, json.error_threshold_percent, json.silence_s
    )
    rollout = create_rollout(json.name, artifact, release, build, groups, thresholds, current_user.display_name)
    record(acting(), "rollout.create", f"rollout {rollout.id}", target_kind="rollout", bots=len(devices))
    db.session.commit()
    return {"success": True, "rollout": rollout_view(rollout)}, 201


@bp.get("/api/rollouts")
@login_required
@documented("fleet", RolloutList, errors=(401, 403), access="staff")
def list_rollouts() -> dict:
    """The rollouts the caller may see (admins: all; instructors: those whose bots are all in their classes), newest first."""
    return {"success": True, "rollouts": [rollout_view(rollout) for rollout in visible_rollouts(current_user)]}


@bp.get("/api/rollouts/<int:rollout_id>")
@login_required
@documented("fleet", RolloutReply, errors=ERRORS, access="staff")
def show_rollout(rollout_id: int) -> dict:
    """Progress per group and per bot (pending, updating, succeeded, failed, left)."""
    return {"success": True, "rollout": rollout_view(managed_rollout(current_user, rollout_id))}


@bp.post("/api/rollouts/<int:rollout_id>/<action>")
@login_required
@documented("fleet", RolloutReply, errors=ERRORS, access="staff")
def steer_rollout(rollout_id: int, action: str) -> dict:
    """``start``, ``pause``, ``resume``, ``advance`` (open the next group by hand), ``cancel`` (bots already
    updated keep the image; the others keep theirs) or ``retry`` (only the failed bots get the image again)."""
    if action not in ACTIONS:
        raise BadRequest(f"Action must be one of {', '.join(ACTIONS)}")
    rollout = managed_rollout(current_user, rollout_id, lock=True)
    act(rollout, action)
    record(acting(), f"rollout.{action}", f"rollout {rollout.id}", target_kind="rollout")
    db.session.commit()
    return {"success": True, "rollout": rollout_view(rollout)}


def target_bots(targets: RolloutTargets) -> list[Device]:
    """The bots named by a class or a list (or all the caller manages), narrowed by board, version and presence."""
    if targets.class_name is not None and targets.product_ids is not None:
        raise BadRequest("Name the targets by class or by list, not both")
    if targets.product_ids is not None:
        devices = [accessible_device(current_user, product_id) for product_id in dict.fromkeys(targets.product_ids)]
    elif targets.class_name is not None:
        devices = list(visible_classroom(current_user, targets.class_name).devices)
    else:
        devices = list(db.session.scalars(current_user.visible_devices()))
    settings = current_settings()
    chosen = [
        device
        for device in devices
        if (targets.board is None or device.fqbn == targets.board)
        and (targets.running_version is None or device.running_version == targets.running_version)
        and (targets.online is None or is_online(device, settings) == targets.online)
    ]
    if not chosen:
        raise BadRequest("No bot matches the targets: a rollout needs at least one")
    return chosen
