"""What a rollout tells a bot's terminal: one plain line each time the rollout moves the bot.

The lines go to the bot's room like the flash lines (``line`` events of stream ``flash``, through
:func:`events.announce`, so they are numbered, stored for replay and sent once the change is committed):

    Rollout 'spring-1.2' (group 2): the image is offered to the bot
    Rollout 'spring-1.2' (group 2): bot downloaded the image
    Rollout 'spring-1.2' (group 2): bot runs the new image — succeeded
    Rollout 'spring-1.2' (group 2): bot failed — the bot restarted with its previous firmware
    Rollout 'spring-1.2' (group 2): bot left the rollout — the bot got another target (an Upload) …
    Rollout 'spring-1.2' (group 3): rollout paused — 2 of 10 bots failed; the bot keeps its firmware for now

A rollout's name comes from a person and a failure reason partly from the bot, so both are made plain text here:
terminal control sequences removed, whitespace folded to single spaces, length bounded.
This module knows the bot states of a rollout so the flash state machine (``deployments``) can report a download
without depending on the rollouts module, which depends on it.
"""

from __future__ import annotations

from sqlalchemy import select

from compiler.text import one_line

from ..extensions import db
from ..models import Deployment, Device, Rollout, RolloutTarget
from .events import announce

PENDING, UPDATING, SUCCEEDED, FAILED_TARGET, LEFT = "pending", "updating", "succeeded", "failed", "left"
TARGET_STATES = (PENDING, UPDATING, SUCCEEDED, FAILED_TARGET, LEFT)
MAX_NAME = 120
MAX_REASON = 300

TARGET_LINES = {
    UPDATING: "the image is offered to the bot",
    SUCCEEDED: "bot runs the new image — succeeded",
    FAILED_TARGET: "bot failed — {reason}",
    LEFT: "bot left the rollout — {reason}",
}
DOWNLOADED_LINE = "bot downloaded the image"
# What pausing, resuming or cancelling the whole rollout means for a bot, by the bot's state in it.
ROLLOUT_LINES = {
    ("paused", PENDING): "rollout paused — {reason}; the bot keeps its firmware for now",
    ("paused", UPDATING): "rollout paused — {reason}; the bot still takes the image it was offered",
    ("resumed", PENDING): "rollout resumed",
    ("resumed", UPDATING): "rollout resumed",
    ("cancelled", PENDING): "rollout cancelled — the bot keeps its firmware",
    ("cancelled", UPDATING): "rollout cancelled — the bot still takes the image it was offered",
}


def rollout_label(rollout: Rollout) -> str:
    name = one_line(rollout.name or "", MAX_NAME)
    return f"Rollout '{name}'" if name else f"Rollout {rollout.id}"


def announce_target_line(target: RolloutTarget, sentence: str) -> None:
    """One line in the bot's terminal about what the rollout did with it."""
    text = f"{rollout_label(target.rollout)} (group {target.group_number}): {sentence}"
    announce(target.device.product_id, "line", stream="flash", text=text, rollout=target.rollout_id)


def announce_target_state(target: RolloutTarget) -> None:
    """The line for the bot's new state in the rollout (none for ``pending``)."""
    template = TARGET_LINES.get(target.state)
    if template is not None:
        reason = one_line(target.reason or "no reason given", MAX_REASON)
        announce_target_line(target, template.format(reason=reason))


def announce_rollout_moved(rollout: Rollout, moved: str) -> None:
    """A line for each bot still waiting for or taking the image: the rollout was paused, resumed or cancelled."""
    reason = one_line(rollout.paused_reason or "no reason given", MAX_REASON)
    for target in rollout.targets:
        template = ROLLOUT_LINES.get((moved, target.state))
        if template is not None:
            announce_target_line(target, template.format(reason=reason))


def announce_download(device: Device, deployment: Deployment) -> None:
    """The bot finished downloading an image a rollout gave it (its deployment is now ``rebooting``)."""
    target = db.session.scalar(
        select(RolloutTarget).where(
            RolloutTarget.device_id == device.id,
            RolloutTarget.deployment_id == deployment.id,
            RolloutTarget.state == UPDATING,
        )
    )
    if target is not None:
        announce_target_line(target, DOWNLOADED_LINE)
