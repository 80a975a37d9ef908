"""A build's status only moves forward: pending → in_progress → complete | error, and is announced on each move."""

from __future__ import annotations

from sqlalchemy import select

from ...extensions import db
from ...models import Build, BuildStatus, utcnow
from ..errormap import announce_compile
from ..events import announce, announce_to_class
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
    if status == ERROR:
        for follower in waiting_followers(build):
            end_build(follower, ERROR, f"The class build on {build.device.product_id} failed: {message}", error)
    return True


def waiting_followers(build: Build) -> list[Build]:
    """The unfinished builds of other bots that wait for this one's compile (a class flash compiles once)."""
    return list(
        db.session.scalars(
            select(Build)
            .where(Build.compiled_by == build.id, Build.status.in_((PENDING, IN_PROGRESS)))
            .order_by(Build.id)
        )
    )


def announce_progress(build: Build) -> None:
    """Tell the bot's room where the build stands, once the change is committed; while it is queued or compiling,
    its class dashboards too (its end reaches them as the compile's result)."""
    announce(
        build.device.product_id,
        "progress",
        update_id=build.id,
        status=build.status,
        progress=build.progress,
        message=build.message,
        deploy=build.deploy,
    )
    if not build.finished:
        announce_to_class(build.device.classroom_id, build.device.product_id, "build", build=building_view(build))


def building_view(build: Build) -> dict[str, object]:
    """An unfinished build as the class dashboard shows it: queued or compiling, for Verify or Upload."""
    return {"update_id": build.id, "status": build.status, "deploy": build.deploy, "message": build.message}
