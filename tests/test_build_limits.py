"""Queue fairness and limits: one running build per bot, per-class and global caps, stale builds, time limits."""

from __future__ import annotations

import os
from datetime import timedelta

import pytest
import redis
from sqlalchemy import select

from webide import create_app
from webide.core.builds.queue import expire_stale_builds
from webide.core.builds.worker import try_start
from webide.core.registry import create_device
from webide.core.toolchain import get_compiler
from webide.database import migrate_database
from webide.extensions import db
from webide.models import Build, BuildStatus, Device, utcnow

from .conftest import AVR_FQBN, live_processes
from .live import ApiClient
from .test_builds import SLOW, files_for

RUNNING, PENDING = BuildStatus.IN_PROGRESS.value, BuildStatus.PENDING.value


def add_build(product_id: str, status: str, heartbeat_age_s: float = 0) -> Build:
    device = db.session.scalar(select(Device).where(Device.product_id == product_id))
    build = Build(
        device_id=device.id,
        classroom_id=device.classroom_id,
        revision=1,
        fqbn=device.fqbn,
        status=status,
        heartbeat_at=utcnow() - timedelta(seconds=heartbeat_age_s),
    )
    db.session.add(build)
    db.session.commit()
    return build


@pytest.fixture
def limited_app(settings):  # type: ignore[no-untyped-def]
    app = create_app(settings.with_overrides(builds_global_limit=3, builds_per_class_limit=2, build_stale_s=30))
    migrate_database(app)
    with app.app_context():
        for product_id, class_name in (("a1", "a"), ("a2", "a"), ("a3", "a"), ("b1", "b"), ("b2", "b")):
            create_device(product_id, "12345", "", AVR_FQBN, class_name)
        db.session.commit()
        yield app
        db.session.remove()
        db.engine.dispose()


def slots(settings) -> redis.Redis:  # type: ignore[no-untyped-def]
    return redis.Redis.from_url(settings.redis_url)


def test_one_running_build_per_bot(limited_app, settings):
    add_build("a1", RUNNING)
    waiting = add_build("a1", PENDING)
    assert try_start(waiting, slots(settings)) is False
    assert db.session.get(Build, waiting.id).status == PENDING
    other = add_build("a2", PENDING)
    assert try_start(other, slots(settings)) is True
    assert db.session.get(Build, other.id).status == RUNNING


def test_per_class_limit(limited_app, settings):
    add_build("a1", RUNNING)
    add_build("a2", RUNNING)
    third_in_class = add_build("a3", PENDING)
    assert try_start(third_in_class, slots(settings)) is False
    other_class = add_build("b1", PENDING)
    assert try_start(other_class, slots(settings)) is True


def test_global_limit(limited_app, settings):
    add_build("a1", RUNNING)
    add_build("b1", RUNNING)
    add_build("b2", RUNNING)
    assert try_start(add_build("a2", PENDING), slots(settings)) is False


def test_a_silent_running_build_is_marked_failed(limited_app):
    stale = add_build("a1", RUNNING, heartbeat_age_s=31)
    alive = add_build("a2", RUNNING, heartbeat_age_s=5)
    assert expire_stale_builds() == 1
    assert db.session.get(Build, stale.id).status == "error"
    assert "worker stopped" in db.session.get(Build, stale.id).message
    assert db.session.get(Build, alive.id).status == RUNNING


def test_a_lost_build_has_its_orphaned_work_folder_swept(limited_app, settings):
    compiler = get_compiler(settings)
    folder, lease = compiler.work_folders.acquire()
    (folder / "build").mkdir()
    (folder / "build" / "sketch.o").write_bytes(b"\0" * 1024)
    os.close(lease)  # the kernel drops the lease when a worker dies; closing it here is the same
    add_build("a1", RUNNING, heartbeat_age_s=5)
    assert expire_stale_builds() == 0 and folder.exists(), "no build was lost, so nothing is swept"
    held, held_lease = compiler.work_folders.acquire()  # a build still running elsewhere keeps its folder
    add_build("a2", RUNNING, heartbeat_age_s=31)
    assert expire_stale_builds() == 1
    assert not folder.exists()
    assert held.exists()
    compiler.work_folders.release(held, held_lease)


@pytest.mark.slow
def test_a_build_over_the_wall_time_limit_is_killed_with_a_clear_message(app, accounts, settings, tmp_path):
    accounts.bot("bot_1")
    with live_processes(settings, tmp_path, WEBIDE_BUILD_WALL_S="2") as service:
        api = ApiClient(service.base_url, product_id="bot_1", password="12345")
        result = api.wait(api.submit("bot_1", files_for("bot_1", SLOW)), timeout=60)
    assert result["status"] == "error"
    assert result["message"] == "Killed: wall time limit 2 s"
    assert result["error"] == "limit_exceeded"
