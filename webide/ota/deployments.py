"""Deployments: an artifact becoming a bot's target, and the flash state machine that follows it.

waiting_for_button → downloading (n %) → rebooting → running, or failed / rolled_back at any point. Every
transition is recorded in the database (the truth) and streamed to the bot's room as a flash line.
"""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import Artifact, Deployment, Device, utcnow
from ..realtime.events import publish

WAITING, DOWNLOADING, REBOOTING = "waiting_for_button", "downloading", "rebooting"
RUNNING, FAILED, ROLLED_BACK = "running", "failed", "rolled_back"
FINAL_STATES = (RUNNING, FAILED, ROLLED_BACK)

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
    deployment = Deployment(device_id=device.id, artifact_id=artifact.id, build_id=build_id,
                            number=device.build_counter, state=WAITING, progress=0)
    db.session.add(deployment)
    db.session.commit()
    announce(device, deployment)
    return deployment


def current_deployment(device: Device) -> Deployment | None:
    """The deployment of the bot's current target, if any."""
    if device.target_artifact_id is None:
        return None
    return db.session.scalar(select(Deployment).where(Deployment.device_id == device.id)
                             .order_by(Deployment.id.desc()).limit(1))


def set_flash_state(device: Device, deployment: Deployment, state: str, progress: int | None = None,
                    message: str = "") -> None:
    """Record a transition (a repeated identical state is not re-announced)."""
    progress = deployment.progress if progress is None else max(0, min(100, progress))
    if (deployment.state, deployment.progress, deployment.message) == (state, progress, message[:300]):
        return
    deployment.state, deployment.progress, deployment.message = state, progress, message[:300]
    deployment.updated_at = utcnow()
    db.session.commit()
    announce(device, deployment)


def announce(device: Device, deployment: Deployment) -> None:
    publish(device.product_id, "flash", state=deployment.state, progress=deployment.progress,
            message=deployment.message, build_number=deployment.number)
    line = STATE_LINES[deployment.state].format(progress=deployment.progress, message=deployment.message or "")
    publish(device.product_id, "line", update_id=deployment.build_id, stream="flash", text=line)
