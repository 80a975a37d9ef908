"""Flashing a whole class with one compile per distinct (sketch, board), and reverting it to a golden build.

A class flash Uploads every bot's current sketch. Bots whose sketches are the same (the main file compared under
one name, since it is named after each bot) and whose boards are the same share one build: the first bot's build
compiles, the others' builds wait for it (``Build.compiled_by``) and get its log, diagnostics and image. Thirty
bots with the same hand-out cost one compile.
"""

from __future__ import annotations

import json
from collections import defaultdict
from typing import Any

from sqlalchemy import select

from ..extensions import current_settings, db
from ..models import Build, Classroom, Device, iso
from .assignments import class_bots
from .builds.queue import build_or_404, ensure_queue_reachable, queue_build
from .builds.status import COMPLETE
from .classes import check_open
from .deployments import deploy_artifact
from .errors import BadRequest, Conflict
from .events import announce
from .sketches import check_buildable, head_revision, main_file

MAIN_PLACEHOLDER = "\x00main"  # a name no file can have: the main file, whatever the bot calls it


def sketch_key(device: Device, files: list[dict[str, str]]) -> str:
    """Equal for two bots whose sketches compile to the same image."""
    main = main_file(device)
    named = sorted((MAIN_PLACEHOLDER if f["name"] == main else f["name"], f["content"]) for f in files)
    return json.dumps([device.fqbn, named])


def flash_class(classroom: Classroom, author: str) -> tuple[list[Build], list[Build]]:
    """Queue an Upload of every bot's sketch; returns (the builds that compile, every build). The caller commits,
    then dispatches only the compiling builds."""
    check_open(classroom, "flashing the class")
    settings = current_settings()
    groups: dict[str, list[tuple[Device, int]]] = defaultdict(list)
    for device in class_bots(classroom):
        head = head_revision(device)
        check_buildable(device, head.files, device.fqbn, settings)
        groups[sketch_key(device, head.files)].append((device, head.number))
    ensure_queue_reachable()
    compiling, everyone = [], []
    for members in groups.values():
        (first, first_revision), rest = members[0], members[1:]
        leader = queue_build(first, first_revision, first.fqbn, True, author)
        compiling.append(leader)
        everyone.append(leader)
        for device, number in rest:
            everyone.append(queue_follower(device, number, leader, len(members), author))
    return compiling, sorted(everyone, key=lambda b: b.device.product_id)


def queue_follower(device: Device, revision: int, leader: Build, group_size: int, author: str) -> Build:
    """A bot's build that waits for ``leader``'s compile instead of compiling the same sketch again."""
    build = queue_build(device, revision, leader.fqbn, True, author)
    build.compiled_by = leader.id
    build.message = f"Queued: one compile for {group_size} bots, on {leader.device.product_id}"
    db.session.flush()
    announce(
        device.product_id,
        "line",
        update_id=build.id,
        stream="compile",
        text=f"Class flash: this sketch is compiled once for {group_size} bots (build {leader.id} "
        f"on {leader.device.product_id}); its output follows here",
    )
    return build


def golden_build(classroom: Classroom, update_id: str) -> Build:
    """A finished build of one of the class's bots that produced firmware: what the class can go back to."""
    build = build_or_404(update_id)
    if build.classroom_id != classroom.id:
        raise BadRequest(f"Build {update_id[:32]!r} is not a build of class {classroom.name!r}")
    if build.status != COMPLETE or build.artifact is None:
        raise BadRequest(f"Build {update_id[:32]!r} did not produce firmware, so it cannot be a golden build")
    return build


def golden_candidates(classroom: Classroom, limit: int = 30) -> list[dict[str, Any]]:
    """The class's newest builds that produced firmware (one query), for choosing a golden build."""
    rows = db.session.execute(
        select(Build.id, Build.revision, Build.created_at, Build.requested_by, Device.product_id)
        .join(Device, Device.id == Build.device_id)
        .where(Build.classroom_id == classroom.id, Build.status == COMPLETE, Build.artifact_id.is_not(None))
        .order_by(Build.created_at.desc())
        .limit(limit)
    ).all()
    return [
        {
            "update_id": row.id,
            "product_id": row.product_id,
            "revision": row.revision,
            "requested_by": row.requested_by,
            "created_at": iso(row.created_at),
        }
        for row in rows
    ]


def revert_class(classroom: Classroom, update_id: str | None) -> tuple[Build, list[dict[str, Any]]]:
    """Make the golden build's image the target of every bot of the class (bots of another board are skipped)."""
    check_open(classroom, "reverting the class")
    chosen = update_id or classroom.golden_build_id
    if chosen is None:
        raise Conflict(f"Class {classroom.name!r} has no golden build; choose one first")
    build = golden_build(classroom, chosen)
    artifact = build.artifact
    assert artifact is not None
    results = []
    for device in class_bots(classroom):
        if device.fqbn != artifact.fqbn:
            results.append({"product_id": device.product_id, "reverted": False, "reason": f"board is {device.fqbn}"})
            continue
        deployment = deploy_artifact(device, artifact, build.id)
        results.append({"product_id": device.product_id, "reverted": True, "reason": f"build #{deployment.number}"})
    return build, results
