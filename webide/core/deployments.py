"""Deployments: an artifact becoming a bot's target, and the flash state machine that follows it.

waiting_for_button → downloading (n %) → rebooting → running, or failed / rolled_back at any point. Every
transition is recorded in the database (the truth) and streamed to the bot's room as a flash line.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, ScalarSelect, bindparam, func, select
from sqlalchemy.orm import InstrumentedAttribute, aliased

from compiler.text import one_line

from ..extensions import db
from ..models import Artifact, Deployment, Device, as_utc, utcnow
from .events import announce, announce_to_class
from .rolloutfeed import announce_download

WAITING, DOWNLOADING, REBOOTING = "waiting_for_button", "downloading", "rebooting"
RUNNING, FAILED, ROLLED_BACK = "running", "failed", "rolled_back"
FINAL_STATES = (RUNNING, FAILED, ROLLED_BACK)
FLASH_STATES = (WAITING, DOWNLOADING, REBOOTING, RUNNING, FAILED, ROLLED_BACK)

STATE_LINES = {
    WAITING: "Upload ready: press the button on your bot",
    DOWNLOADING: "Bot is downloading the new firmware: {progress}%",
    REBOOTING: "Download complete; bot is rebooting into the new firmware",
    RUNNING: "Bot is running the new firmware",
    FAILED: "Update failed: {message}",
    ROLLED_BACK: "Bot rolled back to its previous firmware: {message}",
}


def deploy_artifact(device: Device, artifact: Artifact, build_id: str | None) -> Deployment:
    """Make ``artifact`` the bot's target; the bot pulls it at its next button press."""
    device.build_counter += 1
    device.target_artifact = artifact
    deployment = Deployment(
        device_id=device.id,
        artifact_id=artifact.id,
        build_id=build_id,
        number=device.build_counter,
        state=WAITING,
        progress=0,
    )
    db.session.add(deployment)
    db.session.flush()
    announce_flash(device, flash_snapshot(deployment))
    return deployment


def newest_deployment_id(device_id: ColumnElement[int] | InstrumentedAttribute[int]) -> ScalarSelect[int]:
    """SQL for the id of a bot's newest deployment: the one that moves on the bot's reports.

    The subquery correlates with the bot's table wherever it appears in the enclosing query, however deeply nested
    (auto-correlation would only look one level up), and never with a Deployment of the outer query.
    """
    other = aliased(Deployment)
    return select(func.max(other.id)).where(other.device_id == device_id).correlate_except(other).scalar_subquery()


# Built once: the device path asks this for many requests.
NEWEST_DEPLOYMENT = (
    select(Deployment).where(Deployment.device_id == bindparam("device_id")).order_by(Deployment.id.desc()).limit(1)
)


def newest_deployment(device: Device) -> Deployment | None:
    """The bot's newest deployment (its current target's), if it ever had one."""
    return db.session.scalar(NEWEST_DEPLOYMENT, {"device_id": device.id})


def newest_deployments(device_ids: list[int]) -> dict[int, Deployment]:
    """{bot id: newest deployment} for many bots in one query."""
    if not device_ids:
        return {}
    rows = db.session.scalars(
        select(Deployment).where(
            Deployment.device_id.in_(device_ids), Deployment.id == newest_deployment_id(Deployment.device_id)
        )
    )
    return {row.device_id: row for row in rows}


def set_flash_state(
    device: Device, deployment: Deployment, state: str, progress: int | None = None, message: str = ""
) -> None:
    """Record a transition (a repeated identical state is not re-announced). ``message`` may come from the bot: it
    is kept as one line of plain text, as the terminal and the pages show it."""
    progress = deployment.progress if progress is None else max(0, min(100, progress))
    message = one_line(message, 300)
    if (deployment.state, deployment.progress, deployment.message) == (state, progress, message):
        return
    deployment.state, deployment.progress, deployment.message = state, progress, message
    deployment.updated_at = utcnow()
    announce_flash(device, flash_snapshot(deployment))
    if state == REBOOTING:
        announce_download(device, deployment)  # a rollout's bot: its terminal hears which rollout it was


def flash_snapshot(deployment: Deployment) -> dict[str, Any]:
    return {
        "state": deployment.state,
        "progress": deployment.progress,
        "message": deployment.message or "",
        "build_number": deployment.number,
        "build_id": deployment.build_id,
    }


def announce_flash(device: Device, snapshot: dict[str, Any]) -> None:
    """The flash state and its sentence for the terminal (and the class dashboards), sent once committed."""
    product_id = device.product_id
    announce_to_class(
        device.classroom_id,
        product_id,
        "flash",
        flash={key: snapshot[key] for key in ("state", "progress", "message")},
        build_number=snapshot["build_number"],
    )
    announce(
        product_id,
        "flash",
        state=snapshot["state"],
        progress=snapshot["progress"],
        message=snapshot["message"],
        build_number=snapshot["build_number"],
    )
    line = STATE_LINES[snapshot["state"]].format(progress=snapshot["progress"], message=snapshot["message"])
    announce(product_id, "line", update_id=snapshot["build_id"], stream="flash", text=line)


# How the flash state moves on the device's own reports (see webide/ota/reports.py for their parsing).
DEVICE_STATUSES = ("STARTED", "IN_PROGRESS", "SUCCESS", "FAILED")
ROLLBACK_WORDS = "rolled back"


def record_running_image(
    device: Device,
    md5: str | None,
    sha256: str | None,
    on_target: bool,
    uptime_s: int | None = None,
    says_rolled_back: bool = False,
) -> None:
    """Remember which image the bot reports running and move its deployment on.

    Reporting the target's hash confirms the deployment (``running``). Reporting another image after the server saw
    the whole download go out (``rebooting``) means the new image did not stay: rolled back — when the bot says so,
    or when its uptime shows it restarted after the download finished.
    """
    target = device.target_artifact
    if on_target and target is not None:
        md5, sha256 = target.md5, target.sha256
    remember_hashes(device, md5, sha256)
    if not on_target and uptime_s is None and not says_rolled_back:
        return  # without a sign of a restart, another image says nothing about the deployment
    deployment = newest_deployment(device)
    if deployment is None:
        return
    if on_target:
        if deployment.state != RUNNING:
            set_flash_state(device, deployment, RUNNING, 100)
    elif deployment.state == REBOOTING and (says_rolled_back or restarted_since(deployment, uptime_s)):
        set_flash_state(device, deployment, ROLLED_BACK, message="the bot restarted with its previous firmware")


def remember_hashes(device: Device, md5: str | None, sha256: str | None) -> bool:
    """Store reported hashes; a new value for one hash makes the other one stale. True when anything changed."""
    if md5 is None and sha256 is None:
        return False
    before = (device.running_md5, device.running_sha256)
    if md5 is not None and md5 != device.running_md5:
        device.running_md5, device.running_sha256 = md5, sha256
    elif sha256 is not None and sha256 != device.running_sha256:
        device.running_sha256 = sha256
        if md5 is None:
            device.running_md5 = None
    return before != (device.running_md5, device.running_sha256)


def restarted_since(deployment: Deployment, uptime_s: int | None) -> bool:
    entered = as_utc(deployment.updated_at)
    return uptime_s is not None and entered is not None and utcnow() - timedelta(seconds=uptime_s) > entered


def record_download_progress(device: Device, deployment: Deployment, percent: int, finished: bool) -> None:
    """Server-measured download progress: ``downloading n%``, then ``rebooting`` once every byte went out."""
    if deployment.state == RUNNING:
        return
    if finished:
        set_flash_state(device, deployment, REBOOTING, 100)
    elif deployment.state != DOWNLOADING or percent > deployment.progress:
        set_flash_state(device, deployment, DOWNLOADING, percent)


def apply_status_report(device: Device, status: str, progress: int | None, message: str) -> Deployment | None:
    """Move the current deployment on a report of the agent; stale reports never move it backwards."""
    deployment = newest_deployment(device)
    if deployment is None:
        return None
    rolled_back = status == "FAILED" and ROLLBACK_WORDS in message.lower()
    if rolled_back or (status == "FAILED" and deployment.state != RUNNING):
        set_flash_state(
            device,
            deployment,
            ROLLED_BACK if rolled_back else FAILED,
            message=message or "the bot reported a failed update",
        )
    elif deployment.state in (RUNNING, REBOOTING):
        return deployment  # a late progress report: the download already finished
    elif status == "SUCCESS":
        set_flash_state(device, deployment, REBOOTING, 100)
    else:
        reported = progress or 0
        current = deployment.progress if deployment.state == DOWNLOADING else 0
        set_flash_state(device, deployment, DOWNLOADING, max(reported, current))
    return deployment
