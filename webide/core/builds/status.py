"""A build's status only moves forward: pending → in_progress → complete | error, and is announced on each move."""

from __future__ import annotations

from ...models import Build, BuildStatus, utcnow
from ..errormap import announce_compile
from ..events import announce
from ..metrics import count_finished_build

PENDING, IN_PROGRESS = BuildStatus.PENDING.value, BuildStatus.IN_PROGRESS.value
COMPLETE, ERROR = BuildStatus.COMPLETE.value, BuildStatus.ERROR.value
MAX_MESSAGE = 300


def end_build(build: Build, status: str, message: str, error: str | None = None) -> bool:
    """Give an unfinished build its final status; a finished build never changes again. True if it changed."""
    if build.finished:
        return False
    build.status = status
    build.message = message[:MAX_MESSAGE]
    build.error = error
    build.progress = 100
    build.finished_at = utcnow()
    count_finished_build(build)
    announce_progress(build)
    announce_compile(build)
    return True


def announce_progress(build: Build) -> None:
    """Tell the bot's room where the build stands, once the change is committed."""
    announce(
        build.device.product_id,
        "progress",
        update_id=build.id,
        status=build.status,
        progress=build.progress,
        message=build.message,
        deploy=build.deploy,
    )
