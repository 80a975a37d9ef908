"""Staged rollouts: one image to many bots, group by group, counting a bot only when it really runs the image.

A group's bots get the image as their target when the group opens; bots of later groups keep their target, so the
stock HTTPUpdate client keeps getting 304. A bot **succeeds** only when it reports running the image's hash after its
reboot (its deployment reaches ``running``: hawkBit counts a device once the image is written, before it boots) and
**fails** when it reports a failure or a rollback, or stays silent for ``silence_s`` after the server saw its
download finish (a bricked bot never reports, hawkBit's issue 693). When a group reaches the success threshold the
next one opens; when it reaches the error threshold the rollout pauses with the reason.

Student Uploads (the policy): a student's bot stays theirs. An Upload during a rollout gives the bot the student's
build as its target and takes the bot out of the rollout (``left``): it counts neither as a success nor as a failure,
and a group that has not opened yet does not overwrite the student's build when it opens.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from itertools import pairwise
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..models import (
    Artifact,
    Build,
    Classroom,
    Deployment,
    Device,
    Release,
    Rollout,
    RolloutTarget,
    User,
    as_utc,
    iso,
    utcnow,
)
from .deployments import FAILED, REBOOTING, ROLLED_BACK, RUNNING, deploy_artifact, newest_deployments
from .errors import BadRequest, Conflict, NotFound
from .events import (
    ROLLOUT_CREATED_EVENT_NAME,
    ROLLOUT_EVENT_NAME,
    announce_to_room,
    fleet_room_for,
    rollout_room_for,
)
from .rolloutfeed import (
    FAILED_TARGET,
    LEFT,
    PENDING,
    SUCCEEDED,
    TARGET_STATES,
    UPDATING,
    announce_rollout_moved,
    announce_target_state,
)

READY, ACTIVE, PAUSED, DONE, CANCELLED = "ready", "running", "paused", "done", "cancelled"
OPEN_STATES = (READY, ACTIVE, PAUSED)
MAX_GROUPS = 20


@dataclass(frozen=True)
class Thresholds:
    success_percent: int
    error_count: int | None = None
    error_percent: int | None = None
    silence_s: int = 600

    def check(self) -> None:
        if not 1 <= self.success_percent <= 100:
            raise BadRequest("The success threshold must be between 1 and 100 %")
        if (self.error_count is None) == (self.error_percent is None):
            raise BadRequest("Give the error threshold either as a count or as a percentage")
        if self.error_count is not None and self.error_count < 1:
            raise BadRequest("The error threshold count must be at least 1")
        if self.error_percent is not None and not 1 <= self.error_percent <= 100:
            raise BadRequest("The error threshold percentage must be between 1 and 100")
        if self.silence_s < 10:
            raise BadRequest("The silence timeout must be at least 10 seconds")


@dataclass(frozen=True)
class Grouping:
    """Exactly one way to split the targets: a number of groups, percentages, or explicit lists of product IDs."""

    count: int | None = None
    percentages: Sequence[int] | None = None
    lists: Sequence[Sequence[str]] | None = None


def split_into_groups(devices: list[Device], grouping: Grouping) -> list[list[Device]]:
    """The targets in groups, in product ID order; every group has at least one bot."""
    ways = [grouping.count is not None, grouping.percentages is not None, grouping.lists is not None]
    if sum(ways) != 1:
        raise BadRequest("Give the groups as exactly one of count, percentages or lists")
    ordered = sorted(devices, key=lambda device: device.product_id)
    if grouping.lists is not None:
        return explicit_groups(ordered, grouping.lists)
    if grouping.count is not None:
        if not 1 <= grouping.count <= min(MAX_GROUPS, len(ordered)):
            raise BadRequest(f"The number of groups must be between 1 and {min(MAX_GROUPS, len(ordered))}")
        size = len(ordered) / grouping.count
        bounds = [round(size * index) for index in range(grouping.count + 1)]
    else:
        percentages = list(grouping.percentages or [])
        if not 1 <= len(percentages) <= MAX_GROUPS or any(p < 1 for p in percentages) or sum(percentages) != 100:
            raise BadRequest(
                f"Group percentages must be 1 to {MAX_GROUPS} whole numbers of at least 1 adding up to 100"
            )
        running, bounds = 0, [0]
        for percent in percentages:
            running += percent
            bounds.append(math.ceil(len(ordered) * running / 100))
    groups = [ordered[start:stop] for start, stop in pairwise(bounds)]
    if any(not group for group in groups):
        raise BadRequest(f"{len(ordered)} bots cannot fill {len(groups)} groups: a group would be empty")
    return groups


def explicit_groups(ordered: list[Device], lists: Sequence[Sequence[str]]) -> list[list[Device]]:
    by_id = {device.product_id: device for device in ordered}
    named = [product_id for group in lists for product_id in group]
    if not 1 <= len(lists) <= MAX_GROUPS or any(not group for group in lists):
        raise BadRequest(f"Give 1 to {MAX_GROUPS} non-empty lists of bots")
    if len(named) != len(set(named)) or set(named) != set(by_id):
        raise BadRequest("The group lists must name every target bot exactly once")
    return [[by_id[product_id] for product_id in group] for group in lists]


def create_rollout(
    name: str,
    artifact: Artifact,
    release: Release | None,
    build: Build | None,
    groups: list[list[Device]],
    thresholds: Thresholds,
    author: str,
) -> Rollout:
    """A rollout in ``ready`` state; nothing changes for any bot until it starts."""
    thresholds.check()
    devices = [device for group in groups for device in group]
    if not devices:
        raise BadRequest("A rollout needs at least one target bot")
    busy = bots_in_open_rollouts([device.id for device in devices])
    if busy:
        raise Conflict(f"Already in another rollout that is not finished: {', '.join(sorted(busy))[:200]}")
    rollout = Rollout(
        name=name[:120],
        artifact_id=artifact.id,
        release_id=release.id if release else None,
        build_id=build.id if build else None,
        state=READY,
        current_group=0,
        group_count=len(groups),
        success_percent=thresholds.success_percent,
        error_count=thresholds.error_count,
        error_percent=thresholds.error_percent,
        silence_s=thresholds.silence_s,
        created_by=author[:64],
        created_at=utcnow(),
    )
    db.session.add(rollout)
    db.session.flush()
    baseline = newest_deployments([device.id for device in devices])
    for number, group in enumerate(groups, start=1):
        for device in group:
            expected = baseline.get(device.id)
            db.session.add(
                RolloutTarget(
                    rollout_id=rollout.id,
                    device_id=device.id,
                    group_number=number,
                    state=PENDING,
                    deployment_id=expected.id if expected else None,
                    updated_at=utcnow(),
                )
            )
    db.session.flush()
    announce_new_rollout(rollout, devices)
    return rollout


def announce_new_rollout(rollout: Rollout, devices: list[Device]) -> None:
    """Tell the open firmware pages of those who may see the new rollout (see ``visible_rollouts``)."""
    instructors = {device.classroom.instructor_id if device.classroom else None for device in devices}
    rooms = [fleet_room_for(None)]
    if len(instructors) == 1 and None not in instructors:
        rooms.append(fleet_room_for(instructors.pop()))
    for room in rooms:
        announce_to_room(room, ROLLOUT_CREATED_EVENT_NAME, {"id": rollout.id})


def bots_in_open_rollouts(device_ids: list[int]) -> set[str]:
    """Product IDs of these bots that are still pending or updating in a rollout that is not finished."""
    rows = db.session.scalars(
        select(Device.product_id)
        .join(RolloutTarget, RolloutTarget.device_id == Device.id)
        .join(Rollout, Rollout.id == RolloutTarget.rollout_id)
        .where(
            Device.id.in_(device_ids),
            Rollout.state.in_(OPEN_STATES),
            RolloutTarget.state.in_((PENDING, UPDATING)),
        )
    )
    return set(rows)


def rollout_or_404(rollout_id: int, *, lock: bool = False) -> Rollout:
    """The rollout with its bots; with ``lock``, held until this transaction ends (see ``locked_rollout``)."""
    rollout = locked_rollout(rollout_id) if lock else load_rollout(rollout_id)
    if rollout is None:
        raise NotFound(f"No rollout {rollout_id}")
    return rollout


def load_rollout(rollout_id: int) -> Rollout | None:
    return db.session.get(
        Rollout,
        rollout_id,
        options=[selectinload(Rollout.targets).selectinload(RolloutTarget.device)],
        populate_existing=True,
    )


def locked_rollout(rollout_id: int) -> Rollout | None:
    """The rollout, read after taking its write lock, which this transaction keeps until it ends.

    Every worker process and web process sweeps, and teachers steer rollouts by hand: whoever comes second waits
    for the first to commit and then reads what it did, so a group is opened once and a bot is counted once. The
    lock is a no-op UPDATE because that is what both databases serialise: PostgreSQL locks the row, SQLite the file.
    """
    db.session.flush()
    statement = update(Rollout).where(Rollout.id == rollout_id).values(state=Rollout.state)
    if db.session.execute(statement.execution_options(synchronize_session=False)).rowcount == 0:  # type: ignore[attr-defined]
        return None
    db.session.expire_all()  # what this session read before the lock may be older than what the lock waited for
    return load_rollout(rollout_id)


def act(rollout: Rollout, action: str) -> None:
    """start, pause, resume, advance (open the next group by hand), cancel, retry (only the failed bots)."""
    if rollout.state in (DONE, CANCELLED):
        raise Conflict(f"The rollout is {rollout.state}")
    if action == "start":
        if rollout.state != READY:
            raise Conflict("The rollout has already started")
        rollout.state = ACTIVE
        open_group(rollout, 1)
    elif action == "pause":
        require_state(rollout, ACTIVE, "pause")
        pause(rollout, "paused by hand")
    elif action == "resume":
        require_state(rollout, PAUSED, "resume")
        resume(rollout)
    elif action == "advance":
        if rollout.state == READY:
            raise Conflict("Start the rollout first")
        open_next_group(rollout)
    elif action == "cancel":
        rollout.state = CANCELLED
        announce_rollout_moved(rollout, "cancelled")
    elif action == "retry":
        if rollout.state == READY:
            raise Conflict("Start the rollout first")
        retry_failed(rollout)
    else:
        raise NotFound(f"No rollout action {action!r}")
    db.session.flush()
    evaluate(rollout)
    announce_progress(rollout)


def require_state(rollout: Rollout, state: str, action: str) -> None:
    if rollout.state != state:
        raise Conflict(f"Only a {state} rollout can {action}; this one is {rollout.state}")


def pause(rollout: Rollout, reason: str) -> None:
    rollout.state, rollout.paused_reason = PAUSED, reason[:300]
    announce_rollout_moved(rollout, "paused")


def resume(rollout: Rollout) -> None:
    """A paused rollout runs again (resumed, advanced or retried by hand)."""
    if rollout.state == PAUSED:
        rollout.state, rollout.paused_reason = ACTIVE, ""
        announce_rollout_moved(rollout, "resumed")


def group_targets(rollout: Rollout, number: int) -> list[RolloutTarget]:
    return [target for target in rollout.targets if target.group_number == number]


def open_group(rollout: Rollout, number: int) -> None:
    """The group's bots get the image as their target, except those whose student uploaded in the meantime."""
    rollout.current_group = number
    targets = group_targets(rollout, number)
    newest = newest_deployments([target.device_id for target in targets])
    for target in targets:
        current = newest.get(target.device_id)
        if current is not None and current.artifact_id == rollout.artifact_id:
            # Already given this image another way (a class flash of the same build, say): not an Upload.
            target.deployment_id = current.id
            set_target_state(target, UPDATING, "")
        elif (current.id if current else None) != target.deployment_id:
            set_target_state(target, LEFT, "the bot got another target (an Upload) before its group opened")
        else:
            deploy(target, rollout)


def deploy(target: RolloutTarget, rollout: Rollout) -> None:
    deployment = deploy_artifact(target.device, rollout.artifact, rollout.build_id)
    target.deployment_id = deployment.id
    set_target_state(target, UPDATING, "")


def open_next_group(rollout: Rollout) -> None:
    if rollout.current_group >= rollout.group_count:
        rollout.state = DONE
        return
    resume(rollout)
    open_group(rollout, rollout.current_group + 1)


def retry_failed(rollout: Rollout) -> None:
    for target in rollout.targets:
        if target.state == FAILED_TARGET:
            deploy(target, rollout)
    resume(rollout)


def set_target_state(target: RolloutTarget, state: str, reason: str) -> None:
    """Move a bot in the rollout; the bot's terminal gets a line for each move."""
    moved = target.state != state
    target.state, target.reason, target.updated_at = state, reason[:300], utcnow()
    if moved:
        announce_target_state(target)


def observe(rollout: Rollout) -> None:
    """Move each updating bot on what its deployment shows: running the image, failed, silent, or gone elsewhere."""
    updating = [target for target in rollout.targets if target.state == UPDATING]
    newest = newest_deployments([target.device_id for target in updating])
    silent_before = utcnow() - timedelta(seconds=rollout.silence_s)
    for target in updating:
        deployment = newest.get(target.device_id)
        if deployment is not None and deployment.artifact_id == rollout.artifact_id:
            target.deployment_id = deployment.id  # the same image given again another way, not an Upload
        if deployment is None or deployment.id != target.deployment_id:
            set_target_state(target, LEFT, "the bot got another target (an Upload) during the rollout")
        elif deployment.state == RUNNING and runs_image(target.device, rollout.artifact):
            set_target_state(target, SUCCEEDED, "")
        elif deployment.state in (FAILED, ROLLED_BACK):
            set_target_state(target, FAILED_TARGET, deployment.message or deployment.state)
        elif deployment.state == REBOOTING and silent_after_download(target.device, deployment, silent_before):
            set_target_state(target, FAILED_TARGET, f"silent for {rollout.silence_s} s after its download")


def runs_image(device: Device, artifact: Artifact) -> bool:
    return device.running_sha256 == artifact.sha256 or device.running_md5 == artifact.md5


def silent_after_download(device: Device, deployment: Deployment, silent_before: Any) -> bool:
    downloaded = as_utc(deployment.updated_at)
    seen = as_utc(device.last_seen_at)
    last_sign = max(moment for moment in (downloaded, seen) if moment is not None) if downloaded else None
    return last_sign is not None and last_sign < silent_before


def evaluate(rollout: Rollout) -> None:
    """Count the open group; pause at the error threshold, open the next group at the success threshold."""
    if rollout.state != ACTIVE:
        return
    observe(rollout)
    counted = [target for target in group_targets(rollout, rollout.current_group) if target.state != LEFT]
    failed = sum(target.state == FAILED_TARGET for target in counted)
    succeeded = sum(target.state == SUCCEEDED for target in counted)
    if too_many_failures(rollout, failed, len(counted)):
        pause(rollout, f"group {rollout.current_group}: {failed} of {len(counted)} bots failed")
    elif not counted or succeeded * 100 >= rollout.success_percent * len(counted):
        open_next_group(rollout)
        if rollout.state == ACTIVE:
            evaluate(rollout)  # a next group whose bots all left is passed at once


def too_many_failures(rollout: Rollout, failed: int, size: int) -> bool:
    if failed == 0:
        return False
    if rollout.error_count is not None:
        return failed >= rollout.error_count
    return failed * 100 >= (rollout.error_percent or 100) * size


def advance_rollouts() -> bool:
    """Evaluate every running rollout, one at a time under its lock (every process's sweep does this every few
    seconds), and tell its page when a count moved; True when there was one, so the caller commits and lets the
    next sweep in."""
    running = db.session.scalars(select(Rollout.id).where(Rollout.state == ACTIVE).order_by(Rollout.id)).all()
    for rollout_id in running:
        rollout = locked_rollout(rollout_id)
        if rollout is None:
            continue
        before = rollout_summary(rollout)
        evaluate(rollout)
        if rollout_summary(rollout) != before:
            announce_progress(rollout)
    return bool(running)


def visible_rollouts(user: User) -> list[Rollout]:
    """The rollouts ``user`` may see, newest first: admins every one, an instructor those whose bots are all in
    their classes (the bots they may update one by one)."""
    query = (
        select(Rollout)
        .options(selectinload(Rollout.targets).selectinload(RolloutTarget.device))
        .order_by(Rollout.id.desc())
    )
    if not user.is_admin:
        someone_elses_bot = (
            select(RolloutTarget.id)
            .join(Device, Device.id == RolloutTarget.device_id)
            .outerjoin(Classroom, Classroom.id == Device.classroom_id)
            .where(
                RolloutTarget.rollout_id == Rollout.id,
                or_(Classroom.instructor_id.is_(None), Classroom.instructor_id != user.id),
            )
            .correlate(Rollout)
        )
        query = query.where(~someone_elses_bot.exists())
    return list(db.session.scalars(query))


def managed_rollout(user: User, rollout_id: int, *, lock: bool = False) -> Rollout:
    """The rollout if ``user`` may follow and steer it (admins every one, an instructor one whose bots are all in
    their classes); another's is a 404, like one that does not exist. ``lock`` as in ``rollout_or_404``."""
    rollout = rollout_or_404(rollout_id, lock=lock)
    if not all(user.can_access(target.device) for target in rollout.targets):
        raise NotFound(f"No rollout {rollout_id}")
    return rollout


def rollout_view(rollout: Rollout) -> dict[str, Any]:
    """Progress per group and per bot."""
    summary = rollout_summary(rollout)
    for group in summary["groups"]:
        group["bots"] = [
            {"product_id": t.device.product_id, "state": t.state, "reason": t.reason or None}
            for t in group_targets(rollout, group["number"])
        ]
    return {
        **summary,
        "name": rollout.name,
        "sha256": rollout.artifact.sha256,
        "build_id": rollout.build_id,
        "success_threshold": rollout.success_percent,
        "error_threshold_count": rollout.error_count,
        "error_threshold_percent": rollout.error_percent,
        "silence_s": rollout.silence_s,
        "created_by": rollout.created_by,
        "created_at": iso(rollout.created_at),
    }


def rollout_summary(rollout: Rollout) -> dict[str, Any]:
    """The rollout's state and each group's counts (no bots: small whatever the rollout's size)."""
    counts = [dict.fromkeys(TARGET_STATES, 0) for _ in range(rollout.group_count)]
    for target in rollout.targets:
        counts[target.group_number - 1][target.state] += 1
    return {
        "id": rollout.id,
        "state": rollout.state,
        "current_group": rollout.current_group,
        "paused_reason": rollout.paused_reason or None,
        "groups": [
            {"number": number, "size": sum(group.values()), **group} for number, group in enumerate(counts, start=1)
        ],
    }


def announce_progress(rollout: Rollout) -> None:
    """Tell the rollout's room (the firmware pages following it) its new summary once the change is committed."""
    announce_to_room(rollout_room_for(rollout.id), ROLLOUT_EVENT_NAME, rollout_summary(rollout))
