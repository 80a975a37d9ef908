"""A 3-group rollout to simulated bots on the real service: the worker's housekeeping opens group 2 once group 1
runs the image, and pauses the rollout when group 2 fails, with group 3 untouched."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import redis
from sqlalchemy import select

from webide import create_app
from webide.config import Settings
from webide.core.registry import create_device
from webide.core.releases import ReleaseInfo, publish_release
from webide.core.rollouts import Grouping, Thresholds, act, create_rollout, rollout_or_404, split_into_groups
from webide.core.security import argon2_hash
from webide.database import migrate_database
from webide.extensions import db
from webide.models import Device, Rollout
from webide.simulator import SimulatedBot

from .conftest import ESP32_FQBN, live_processes
from .test_images import write_image

pytestmark = pytest.mark.slow
BOTS = 30


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator:
    folder = tmp_path_factory.mktemp("rollout")
    url = redis_url.rsplit("/", 1)[0] + "/4"
    redis.Redis.from_url(url).flushdb()
    settings = Settings(data_dir=folder / "instance", redis_url=url, async_mode="threading", default_fqbn=ESP32_FQBN)
    app = create_app(settings)
    migrate_database(app)
    with live_processes(settings, folder) as live:
        live.app = app
        live.folder = folder
        yield live


def fleet(service) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """BOTS bots of one class (one real Argon2 hash shared: passwords play no part here); product ID → token."""
    password_hash = argon2_hash("12345")
    tokens = {}
    with pytest.MonkeyPatch.context() as patch, service.app.app_context():
        patch.setattr("webide.core.registry.hash_password", lambda _password: password_hash)
        for number in range(BOTS):
            created = create_device(f"fleet_{number:02d}", "12345", "", ESP32_FQBN, "fleet")
            tokens[created.product_id] = created.device_token
        db.session.commit()
    return tokens


def press_all(bots: list[SimulatedBot]) -> list[str]:
    results: list[str] = []
    threads = [threading.Thread(target=lambda b=bot: results.append(b.press_button().result)) for bot in bots]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def wait_for(service, rollout_id: int, predicate, timeout: float = 90) -> Rollout:  # type: ignore[no-untyped-def]
    """Poll the rollout until the worker's housekeeping moved it as expected (it runs every few seconds)."""
    deadline = time.monotonic() + timeout
    while True:
        with service.app.app_context():
            rollout = rollout_or_404(rollout_id)
            state = (rollout.state, rollout.current_group, rollout.paused_reason)
            if predicate(rollout):
                return state
        assert time.monotonic() < deadline, f"rollout stuck at {state}"
        time.sleep(0.5)


def test_three_group_rollout_pauses_on_group_two_with_group_three_untouched(service):
    tokens = fleet(service)
    image = write_image(service.folder / "release.bin")
    with service.app.app_context():
        release = publish_release(
            service.app.config["SETTINGS"], image, ReleaseInfo("2.0.0", board=ESP32_FQBN), "teacher"
        )
        devices = list(db.session.scalars(select(Device).where(Device.product_id.in_(tokens))))
        groups = split_into_groups(devices, Grouping(count=3))
        rollout = create_rollout(
            "live", release.artifact, release, None, groups, Thresholds(80, error_count=2, silence_s=600), "teacher"
        )
        act(rollout, "start")
        db.session.commit()
        rollout_id = rollout.id
        members = [[device.product_id for device in group] for group in groups]
    # two bots of group 2 report a failure, one rolls back; everyone else is fine
    fates = {members[1][0]: "fail", members[1][1]: "fail", members[1][2]: "rollback"}
    bots = {
        product_id: SimulatedBot(
            service.base_url, product_id, token, say=lambda _line: None, fate=fates.get(product_id, "ok")
        )
        for product_id, token in tokens.items()
    }

    assert press_all([bots[p] for p in members[0]]) == ["updated"] * 10
    wait_for(service, rollout_id, lambda r: r.current_group == 2)

    results = press_all([bots[p] for p in members[1]])
    assert sorted(results) == ["failed"] * 3 + ["updated"] * 7
    state, group, reason = wait_for(service, rollout_id, lambda r: r.state == "paused")
    assert (state, group) == ("paused", 2) and reason.startswith("group 2: ") and "bots failed" in reason

    with service.app.app_context():
        third = db.session.scalars(select(Device).where(Device.product_id.in_(members[2]))).all()
        assert {device.target_artifact_id for device in third} == {None}  # never offered the image
        rollout = rollout_or_404(rollout_id)
        assert {t.state for t in rollout.targets if t.group_number == 3} == {"pending"}
    assert press_all([bots[p] for p in members[2]]) == ["no_update"] * 10  # nothing is offered to group 3
