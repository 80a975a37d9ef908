"""Prometheus metrics: what each is, where it is counted, and how a scrape gathers them.

Three kinds, each kept where it stays correct when the service runs as many processes on many machines:

- **Per web process** (firmware downloads and bytes, login failures): plain in-memory counters, bumped in the
  request with no I/O, so the device path gets no slower and needs no Redis. A web instance is one gunicorn worker
  (Socket.IO keeps its connections in that process), so each instance's ``/metrics`` shows all of its own counts;
  Prometheus scrapes every instance and sums them.
- **Cluster-wide counters** (builds by outcome, board and cache, build durations): builds finish in Celery workers
  on any machine, which have no HTTP endpoint, so each finished build adds to counters in Redis (which every worker
  already needs as its broker) after its transaction commits. Every web instance reports the same totals.
- **Gauges read at scrape time** (builds queued and running, bots online): counted in the database when scraped.

Labels never name a person or a bot: outcomes, board FQBNs (only boards an installed toolchain builds) and kinds.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from datetime import timedelta

import redis
from prometheus_client import CollectorRegistry, Counter, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import event as sa_event
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ..config import Settings
from ..extensions import current_event_log, db
from ..models import Build, BuildStatus, Device, as_utc, utcnow

log = logging.getLogger(__name__)

PROCESS = CollectorRegistry()
ProcessCollector(registry=PROCESS)

FIRMWARE_DOWNLOADS = Counter(
    "webide_firmware_downloads",
    "Firmware downloads started on the bots' static URL, by answer (full 200, partial 206, handed to nginx)",
    ["answer"],
    registry=PROCESS,
)
FIRMWARE_BYTES = Counter(
    "webide_firmware_bytes", "Firmware bytes sent to bots (or handed to nginx to send)", registry=PROCESS
)
FIRMWARE_NOT_MODIFIED = Counter(
    "webide_firmware_not_modified", "Firmware pulls answered 304: the bot already runs its target", registry=PROCESS
)
LOGIN_FAILURES = Counter(
    "webide_login_failures",
    "Failed logins by kind of account (device or user) and reason (rejected credentials or throttled)",
    ["kind", "reason"],
    registry=PROCESS,
)

# Every label combination exists from the start, at zero, so rates and alerts see a series before the first event.
for _answer in ("full", "partial", "nginx"):
    FIRMWARE_DOWNLOADS.labels(_answer)
for _kind in ("device", "user"):
    for _reason in ("rejected", "throttled"):
        LOGIN_FAILURES.labels(_kind, _reason)

BUILDS_KEY = "webide:metrics:builds"  # field "outcome|board|cache" -> count
DURATIONS_KEY = "webide:metrics:build_seconds"  # fields "board|le", "board|sum", "board|count"
DURATION_BUCKETS = (0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 180.0)
PENDING_BUILDS = "webide_pending_build_metrics"
QUIET_AFTER_FAILURE_S = 5.0


def build_outcome(build: Build) -> str:
    """``complete``, ``cancelled`` or ``error``: what a finished build counts as."""
    if build.status == BuildStatus.COMPLETE.value:
        return "complete"
    return "cancelled" if build.cancel_requested else "error"


def count_finished_build(build: Build) -> None:
    """Count a build that just got its final status, once its transaction commits (never for a rolled-back one)."""
    duration = None
    started, finished = as_utc(build.started_at), as_utc(build.finished_at)  # SQLite returns them without a zone
    if started is not None and finished is not None:
        duration = max(0.0, (finished - started).total_seconds())
    entry = (build_outcome(build), build.fqbn, "hit" if build.cache_hit else "miss", duration)
    db.session.info.setdefault(PENDING_BUILDS, []).append(entry)


def add_build_counts(client: redis.Redis, entries: Iterable[tuple[str, str, str, float | None]]) -> None:
    """Add finished builds to the cluster-wide counters in one round trip."""
    pipe = client.pipeline(transaction=False)
    for outcome, board, cache, duration in entries:
        pipe.hincrby(BUILDS_KEY, f"{outcome}|{board}|{cache}", 1)
        if duration is None:
            continue
        for bound in DURATION_BUCKETS:
            if duration <= bound:
                pipe.hincrby(DURATIONS_KEY, f"{board}|{bound}", 1)
        pipe.hincrbyfloat(DURATIONS_KEY, f"{board}|sum", duration)
        pipe.hincrby(DURATIONS_KEY, f"{board}|count", 1)
    pipe.execute()


_quiet_until = 0.0


@sa_event.listens_for(Session, "after_commit")
def _count_committed_builds(session: Session) -> None:
    global _quiet_until
    entries = session.info.pop(PENDING_BUILDS, [])
    event_log = current_event_log() if entries else None
    if event_log is None or time.monotonic() < _quiet_until:
        return
    try:
        add_build_counts(event_log.publisher, entries)
    except redis.exceptions.RedisError as error:  # metrics must never fail or stall the build's own work
        _quiet_until = time.monotonic() + QUIET_AFTER_FAILURE_S
        log.warning("Build metrics not recorded (Redis: %s)", error)


@sa_event.listens_for(Session, "after_rollback")
def _drop_uncommitted_builds(session: Session) -> None:
    session.info.pop(PENDING_BUILDS, None)


class ClusterCollector(Collector):
    """What every web instance reports alike: builds from Redis, queue and bots from the database."""

    def __init__(self, settings: Settings, client: redis.Redis | None):
        self.settings, self.client = settings, client

    def collect(self) -> Iterator[Metric]:
        yield from self.database_gauges()
        yield from self.build_counters()

    def database_gauges(self) -> Iterator[Metric]:
        counts = dict(
            db.session.execute(
                select(Build.status, func.count())
                .where(Build.status.in_([BuildStatus.PENDING.value, BuildStatus.IN_PROGRESS.value]))
                .group_by(Build.status)
            ).all()
        )
        queue = GaugeMetricFamily("webide_builds_waiting", "Builds not finished yet, by state", labels=["state"])
        queue.add_metric(["queued"], counts.get(BuildStatus.PENDING.value, 0))
        queue.add_metric(["running"], counts.get(BuildStatus.IN_PROGRESS.value, 0))
        yield queue
        since = utcnow() - timedelta(seconds=self.settings.device_offline_s)
        online = db.session.scalar(select(func.count()).select_from(Device).where(Device.last_seen_at >= since))
        total = db.session.scalar(select(func.count()).select_from(Device))
        yield GaugeMetricFamily(
            "webide_bots_online", "Bots heard from within WEBIDE_DEVICE_OFFLINE_S", value=online or 0
        )
        yield GaugeMetricFamily("webide_bots", "Bots registered", value=total or 0)

    def build_counters(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("webide_metrics_redis_up", "1 if the cluster-wide build counters could be read")
        try:
            builds, durations = self.read_redis()
        except redis.exceptions.RedisError as error:
            log.warning("Build metrics unavailable (Redis: %s)", error)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield builds_family(builds)
        yield durations_family(durations)

    def read_redis(self) -> tuple[dict[str, int], dict[str, float]]:
        if self.client is None:
            raise redis.exceptions.ConnectionError("no Redis configured")
        pipe = self.client.pipeline(transaction=False)
        pipe.hgetall(BUILDS_KEY)
        pipe.hgetall(DURATIONS_KEY)
        builds, durations = pipe.execute()
        return (
            {key.decode(): int(value) for key, value in builds.items()},
            {key.decode(): float(value) for key, value in durations.items()},
        )


def builds_family(builds: dict[str, int]) -> CounterMetricFamily:
    family = CounterMetricFamily(
        "webide_builds",
        "Finished builds by outcome (complete, error, cancelled), board and build cache (hit, miss)",
        labels=["outcome", "board", "cache"],
    )
    for field, count in sorted(builds.items()):
        family.add_metric(field.split("|", 2), count)
    return family


def durations_family(durations: dict[str, float]) -> HistogramMetricFamily:
    family = HistogramMetricFamily(
        "webide_build_duration_seconds", "Time from a build's start on a worker to its end", labels=["board"]
    )
    boards = sorted({field.rsplit("|", 1)[0] for field in durations})
    for board in boards:
        buckets = [(str(bound), durations.get(f"{board}|{bound}", 0.0)) for bound in DURATION_BUCKETS]
        count = durations.get(f"{board}|count", 0.0)
        family.add_metric([board], [*buckets, ("+Inf", count)], sum_value=durations.get(f"{board}|sum", 0.0))
    return family


def exposition(settings: Settings) -> bytes:
    """The text a scrape gets: this process's counters, then the cluster-wide ones."""
    event_log = current_event_log()
    cluster = CollectorRegistry()
    cluster.register(ClusterCollector(settings, event_log.publisher if event_log else None))
    return generate_latest(PROCESS) + generate_latest(cluster)
