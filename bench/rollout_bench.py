"""The device path while a 1,000-bot staged rollout advances.

Run: `python -m bench rollout` (defaults) or `python -m bench.rollout_bench [--bots N --rate R --seconds S]`.

1,000 ESP32 bots run release A; a rollout of release B splits them into five groups of 200 (success threshold 95 %,
error threshold 10 %). While it runs, for the given seconds:

- **updaters**: every bot of the open group among groups 1-3 presses its button like a real one (stock HTTPUpdate
  request, download, reboot, heartbeat on probation), 1 % of them failing on purpose; the web and worker processes'
  sweeps (every `WEBIDE_BUILD_STALE_S / 10` s, here 1 s) count each group and open the next;
- **checks**: the bots of groups 4 and 5, which the rollout has not reached, send the stock "is there an update"
  firmware request at a fixed rate, open loop (latency counts from each request's scheduled start, so a server that
  falls behind shows it); each must be answered 304.

The load generator runs on the same cores as the service. It measures and prints; it asserts nothing.
"""

from __future__ import annotations

import argparse
import random
import statistics
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from unittest import mock

from flask import Flask
from sqlalchemy import select

from tests.ota_support import ESP32_FQBN, esp32_image
from webide import create_app
from webide.core.deployments import RUNNING, deploy_artifact
from webide.core.firmware.store import APP_IMAGE, artifact_store, publish_artifact
from webide.core.registry import reset_device_token
from webide.core.rollouts import Grouping, Thresholds, act, create_rollout, rollout_view, split_into_groups
from webide.core.security import argon2_hash
from webide.extensions import db
from webide.models import Device, Rollout, utcnow
from webide.simulator import SimulatedBot

from .ota_bench import paced_not_modified, percentile
from .service import BenchService, bench_service

BOTS, GROUPS, UPDATED_GROUPS = 1000, 5, 3
IMAGE_BYTES = 64 * 1024
FAIL_RATE = 0.01
Row = tuple[str, str, str]


def prepare_rollout(app: Flask, service: BenchService, folder: Path) -> tuple[int, list[list[SimulatedBot]]]:
    """Every bot runs image A; a started rollout of image B in five groups. Returns its id and the bots per group."""
    old, new = (esp32_image(folder / f"{name}.bin", IMAGE_BYTES, seed=seed) for name, seed in (("a", 1), ("b", 2)))
    with app.app_context():
        store = artifact_store(service.settings)
        artifacts = [publish_artifact(store, ESP32_FQBN, {APP_IMAGE: folder / f"{name}.bin"}) for name in "ab"]
        devices = db.session.scalars(select(Device).order_by(Device.product_id)).all()
        tokens = {}
        for device in devices:
            device.fqbn = ESP32_FQBN
            tokens[device.product_id] = reset_device_token(device)
            deploy_artifact(device, artifacts[0], None).state = RUNNING
            device.running_md5, device.running_sha256 = artifacts[0].md5, artifacts[0].sha256
            device.last_seen_at = utcnow()
        groups = split_into_groups(list(devices), Grouping(count=GROUPS))
        rollout = create_rollout(
            "bench", artifacts[1], None, None, groups, Thresholds(success_percent=95, error_percent=10), "bench"
        )
        act(rollout, "start")
        db.session.commit()
        fates = random.Random(7)
        bots = [
            [
                SimulatedBot(
                    service.base_url,
                    device.product_id,
                    tokens[device.product_id],
                    say=lambda _line: None,
                    running=old,
                    fate="fail" if fates.random() < FAIL_RATE else "ok",
                    probation_heartbeat_s=0.5,
                )
                for device in group
            ]
            for group in groups
        ]
        assert new != old
        return rollout.id, bots


def rollout_state(app: Flask, rollout_id: int) -> dict:
    with app.app_context():
        rollout = db.session.get(Rollout, rollout_id)
        assert rollout is not None
        return rollout_view(rollout)


def update_groups(app: Flask, rollout_id: int, groups: list[list[SimulatedBot]], stop: threading.Event) -> int:
    """Press the button of every bot of the open group (among the first UPDATED_GROUPS); returns the bots updated."""
    done: set[str] = set()
    with ThreadPoolExecutor(max_workers=8) as pool:
        while not stop.is_set():
            state = rollout_state(app, rollout_id)
            number = state["current_group"]
            if state["state"] != "running" or number > UPDATED_GROUPS:
                break
            waiting = [bot for bot in groups[number - 1] if bot.product_id not in done]
            if not waiting:
                stop.wait(0.2)  # the sweep has not counted the group yet
                continue
            for outcome, bot in zip(pool.map(lambda bot: bot.pull(), waiting), waiting, strict=True):
                if outcome.result in ("updated", "failed"):
                    done.add(bot.product_id)
    return len(done)


def measure(bots: int, rate: float, seconds: float) -> list[Row]:
    one_hash = argon2_hash("12345")  # every bench bot has the same password; hashing 1,000 would take minutes
    with (
        mock.patch("webide.core.registry.hash_password", lambda _password: one_hash),
        bench_service(bots=bots, WEBIDE_BUILD_STALE_S="10") as service,
    ):
        app = create_app(service.settings)
        rollout_id, groups = prepare_rollout(app, service, service.settings.data_dir.parent)
        checkers = [bot for group in groups[UPDATED_GROUPS:] for bot in group]
        stop = threading.Event()
        updated: list[int] = []
        updater = threading.Thread(target=lambda: updated.append(update_groups(app, rollout_id, groups, stop)))
        began = time.perf_counter()
        updater.start()
        latencies, not_304 = paced_not_modified(service.base_url, checkers, rate, seconds, workers=64)
        elapsed = time.perf_counter() - began
        stop.set()
        updater.join()
        state = rollout_state(app, rollout_id)
    answered = len(latencies) / elapsed
    succeeded = sum(group["succeeded"] for group in state["groups"])
    failed = sum(group["failed"] for group in state["groups"])
    return [
        (
            f"rollout of {bots} bots: checks offered at {rate:.0f}/s for {seconds:.0f} s, answered per second",
            f"{answered:.0f}",
            f"target ≥ 2,000/s; {len(latencies)} checks, {not_304} not 304",
        ),
        (
            "same: check latency p50 / p95 / p99 / max (ms)",
            f"{statistics.median(latencies):.1f} / {percentile(latencies, 0.95):.1f} / "
            f"{percentile(latencies, 0.99):.1f} / {max(latencies):.1f}",
            "target p99 ≤ 20 ms",
        ),
        (
            "same: the rollout meanwhile",
            f"group {state['current_group']} open, {state['state']}; {succeeded} bots confirmed running B, "
            f"{failed} failed",
            f"{updated[0] if updated else 0} bots pulled B",
        ),
    ]


def run() -> list[Row]:
    """Entry point of `python -m bench rollout`."""
    return measure(BOTS, rate=2000, seconds=20)


def main() -> None:
    parser = argparse.ArgumentParser(description="The device path while a staged rollout advances")
    parser.add_argument("--bots", type=int, default=BOTS)
    parser.add_argument("--rate", type=float, default=2000, help="checks offered per second")
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    for name, value, note in measure(args.bots, args.rate, args.seconds):
        print(f"{name}  {value}  ({note})")


if __name__ == "__main__":
    main()
