"""Compile-service benchmarks, side by side in one run on the AVR toolchain (medians and ratios, no assertions).

(a) pipeline overhead: submit → published through web, Redis, Celery and the sandbox, against the bare
    arduino-builder command on the same warm sketch (target ratio ≤ 1.10)
(b) a build-cache hit against a real compile (target ≥ 20× faster)
(c) a classroom burst: 30 different sketches at once, 2 builds at a time, shared core cache on vs off (≥ 2.5×)
(d) 10 builds of ≥ 5,000 lines reaching a Socket.IO client complete and in order, and the p95 delay from a line's
    emission (its server timestamp) to the client
plus the memory of the web process with 100 connected browsers and of the Celery worker during the burst.
"""

from __future__ import annotations

import itertools
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from compiler import Compiler
from compiler.drivers import CompileJob
from tests.live import ApiClient, RoomListener
from webide.core.toolchain import compiler_config

from .service import AVR_FQBN, BenchService, bench_service, scratch_dir

ROUNDS = 7
BURST = 30
FLOOD_WARNINGS = 1700  # gcc prints three lines per #warning: ≥ 5,000 lines
FLOOD_RUNS = 10

# A typical classroom sketch: a sensor on I2C, a radio on SPI, settings in EEPROM, a debug port in software.
SKETCH = """// variant {n}
#include <Wire.h>
#include <SPI.h>
#include <EEPROM.h>
#include <SoftwareSerial.h>

SoftwareSerial debugPort(10, 11);
const int LED = 13;
int threshold;

int readDistance() {{
  Wire.beginTransmission(0x29);
  Wire.write(0x00);
  Wire.endTransmission();
  Wire.requestFrom(0x29, 2);
  return (Wire.read() << 8) | Wire.read();
}}

void setup() {{
  pinMode(LED, OUTPUT);
  Serial.begin(115200);
  debugPort.begin(9600);
  Wire.begin();
  SPI.begin();
  threshold = EEPROM.read(0) * 4 + {n};
}}

void loop() {{
  int distance = readDistance();
  digitalWrite(LED, distance < threshold ? HIGH : LOW);
  SPI.transfer(distance & 0xFF);
  Serial.print("distance ");
  Serial.println(distance);
  debugPort.println(threshold);
  delay(100);
}}
"""


# A first-lesson sketch: only the Arduino core, no libraries.
BLINK = """// variant {n}
void setup() {{ pinMode(13, OUTPUT); }}
void loop() {{ digitalWrite(13, HIGH); delay({n}); digitalWrite(13, LOW); delay(100); }}
"""
SKETCHES = {"with libraries": SKETCH, "core only": BLINK}


def sketch_files(product_id: str, variant: int, body: str = SKETCH) -> list[dict[str, str]]:
    return [{"name": f"{product_id}.ino", "content": body.format(n=variant)}]


def timed_build(api: ApiClient, listener: RoomListener, product_id: str, files: list[dict[str, str]]) -> dict:
    """Submit and wait for the result event; returns the build details with the measured seconds."""
    started = time.perf_counter()
    update_id = api.submit(product_id, files)
    listener.wait_for(
        lambda events: any(e["type"] == "result" and e["update_id"] == update_id for e in events), timeout=300
    )
    seconds = time.perf_counter() - started
    details = api.get(f"/api/builds/{update_id}").json()
    assert details["status"] == "complete", details["log"][-2000:]
    return {**details, "seconds": seconds}


def bare_compile(service: BenchService, variant: int, cache_dir: Path, body: str) -> float:
    """The same arduino-builder command the driver runs, without web, queue or sandbox."""
    compiler = Compiler(compiler_config(service.settings))
    driver = compiler.driver_for(AVR_FQBN)
    with tempfile.TemporaryDirectory() as folder:
        sketch_dir, build_dir = Path(folder, "bare"), Path(folder, "build")
        sketch_dir.mkdir()
        build_dir.mkdir()
        (sketch_dir / "bare.ino").write_text(body.format(n=variant))
        job = CompileJob(
            sketch_name="bare",
            sketch_dir=str(sketch_dir),
            build_dir=str(build_dir),
            output_dir=str(build_dir),
            cache_dir=str(cache_dir),
            fqbn=AVR_FQBN,
            build_properties=driver.server_properties(AVR_FQBN),
            sandboxed=False,
        )
        started = time.perf_counter()
        subprocess.run(driver.compile_argv(job), check=True, capture_output=True)
        return time.perf_counter() - started


def overhead_and_cache_hit(service: BenchService, body: str) -> dict[str, Any]:
    api = ApiClient(service.base_url, product_id="bench_1", password="12345")
    listener = RoomListener(service.base_url, api.token, "bench_1")
    bare_cache = scratch_dir()
    try:
        timed_build(api, listener, "bench_1", sketch_files("bench_1", 1000, body))  # warm the shared core cache
        bare_compile(service, 1000, bare_cache, body)  # and the bare command's own
        pipeline, bare, hits = [], [], []
        for n in range(ROUNDS):  # alternate, so drift on the machine hits both sides alike
            files = sketch_files("bench_1", 2000 + n, body)
            pipeline.append(timed_build(api, listener, "bench_1", files)["seconds"])
            bare.append(bare_compile(service, 2000 + n, bare_cache, body))
            hit = timed_build(api, listener, "bench_1", files)
            assert hit["cache_hit"], "the repeated request should be a cache hit"
            hits.append(hit["seconds"])
    finally:
        listener.close()
    return {
        "pipeline_s": statistics.median(pipeline),
        "bare_s": statistics.median(bare),
        "cache_hit_s": statistics.median(hits),
    }


def burst(service: BenchService, body: str) -> dict[str, Any]:
    """30 bots press Verify at once with different sketches; wall time until the last one is published."""
    clients = [ApiClient(service.base_url, product_id=f"bench_{n}", password="12345") for n in range(1, BURST + 1)]
    worker_peak = WorkerMemory(service.worker.process.pid)
    worker_peak.start()
    started = time.perf_counter()
    ids = [
        (api, api.submit(f"bench_{n}", sketch_files(f"bench_{n}", 3000 + n, body)))
        for n, api in enumerate(clients, start=1)
    ]
    results = [api.wait(update_id, timeout=900) for api, update_id in ids]
    seconds = time.perf_counter() - started
    worker_peak.stop()
    failed = [(r["status"], r["message"]) for r in results if r["status"] != "complete"]
    assert not failed, failed
    return {"seconds": seconds, "worker_rss_mb": worker_peak.peak_mb}


class WorkerMemory(threading.Thread):
    """Peak RSS of the Celery processes themselves (main + pool), not of the compilers they start."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.peak_mb = 0.0
        self.running = True

    def celery_processes(self) -> list[psutil.Process]:
        processes = [self.root, *self.root.children(recursive=True)]
        return [p for p in processes if "celery" in " ".join(p.cmdline())]

    def run(self) -> None:
        while self.running:
            try:
                sizes = [p.memory_info().rss for p in self.celery_processes()]
            except psutil.Error:
                sizes = []
            self.peak_mb = max([self.peak_mb, *(size / 2**20 for size in sizes)])
            time.sleep(0.1)

    def stop(self) -> None:
        self.running = False
        self.join()


def output_flood(service: BenchService) -> dict[str, Any]:
    """FLOOD_RUNS builds of ≥ 5,000 lines each, followed by one Socket.IO client that applies events the documented
    way (by ``seq``, tests/live.py): per run, are its lines the stored log (complete) and did the server send them
    in number order (in order)? Plus the delay from each line's emission (its server timestamp) to the moment the
    client applied it — the same clock, since everything runs on this machine."""
    api = ApiClient(service.base_url, product_id="bench_2", password="12345")
    listener = RoomListener(service.base_url, api.token, "bench_2")
    runs, delays_ms = [], []
    try:
        for run in range(FLOOD_RUNS):
            body = "\n".join(f"#warning flood line {n} of run {run}" for n in range(FLOOD_WARNINGS)) + "\n" + SKETCH
            result = timed_build(api, listener, "bench_2", sketch_files("bench_2", 7 + run, body))
            with listener.arrived:
                applied = [
                    (event, at)
                    for event, at in zip(listener.events, listener.applied_at)
                    if event["type"] == "line" and event.get("update_id") == result["update_id"]
                ]
                arrivals = [seq for connection in listener.arrivals for seq in connection]
            lines = [event["text"] for event, _ in applied]
            seqs = [event["seq"] for event, _ in applied]
            delays_ms += [at * 1000 - event["ts"] for event, at in applied]
            runs.append(
                {
                    "lines": len(lines),
                    "complete": lines == result["log"].split("\n"),
                    "in_order": seqs == sorted(seqs) and all(a < b for a, b in itertools.pairwise(arrivals)),
                }
            )
    finally:
        listener.close()
    return {
        "lines": min(r["lines"] for r in runs),
        "runs": len(runs),
        "complete": sum(r["complete"] for r in runs),
        "in_order": sum(r["in_order"] for r in runs),
        "p95_ms": statistics.quantiles(delays_ms, n=20)[-1],
        "gap_fetches": listener.gap_fetches,
        "reconnects": listener.unexpected_disconnects,
    }


def flood_row(flood: dict[str, Any]) -> tuple[str, str, str]:
    return (
        f"(d) compiler output to a Socket.IO client, {flood['runs']} runs: complete, in order; p95 delay from emission",
        f"{flood['lines']:,} lines: {flood['complete']}/{flood['runs']} complete, "
        f"{flood['in_order']}/{flood['runs']} in order; p95 {flood['p95_ms']:.0f} ms"
        f" ({flood['gap_fetches']} gap fetches, {flood['reconnects']} reconnects)",
        f"≥ 5,000 lines, {FLOOD_RUNS}/{FLOOD_RUNS} complete and in order",
    )


def run_output_flood() -> list[tuple[str, str, str]]:
    """Only row (d): `python -m bench flood`."""
    with bench_service(bots=3) as service:
        return [flood_row(output_flood(service))]


def web_memory_with_browsers(service: BenchService, browsers: int = 100) -> dict[str, float]:
    web = next(p for p in psutil.Process(service.web.process.pid).children(recursive=True))
    before = web.memory_info().rss / 2**20
    api = ApiClient(service.base_url, product_id="bench_3", password="12345")
    listeners = [RoomListener(service.base_url, api.token, "bench_3") for _ in range(browsers)]
    time.sleep(1)
    during = web.memory_info().rss / 2**20
    for listener in listeners:
        listener.close()
    return {"idle_mb": before, "with_browsers_mb": during, "browsers": browsers}


def run() -> list[tuple[str, str, str]]:
    """Run every compile benchmark; returns (name, measured, target) rows."""
    rows: list[tuple[str, str, str]] = []
    timing, bursts = {}, {}
    with bench_service(bots=BURST) as service:
        for kind, body in SKETCHES.items():
            timing[kind] = overhead_and_cache_hit(service, body)
        flood = output_flood(service)
        memory = web_memory_with_browsers(service)
    for cache, env in (("on", {}), ("off", {"WEBIDE_CORE_CACHE_BYTES": "0"})):
        for kind, body in SKETCHES.items():
            with bench_service(bots=BURST, **env) as service:
                bursts[kind, cache] = burst(service, body)
    for kind, measured in timing.items():
        rows.append(
            (
                f"(a) submit→published vs bare arduino-builder, {kind} (warm, medians of {ROUNDS})",
                f"{measured['pipeline_s']:.2f} s vs {measured['bare_s']:.2f} s = "
                f"{measured['pipeline_s'] / measured['bare_s']:.2f}×",
                "≤ 1.10×",
            )
        )
    for kind, measured in timing.items():
        rows.append(
            (
                f"(b) cache hit vs real compile, {kind} (medians of {ROUNDS})",
                f"{measured['cache_hit_s'] * 1000:.0f} ms vs {measured['pipeline_s']:.2f} s = "
                f"{measured['pipeline_s'] / measured['cache_hit_s']:.0f}× faster",
                "≥ 20×",
            )
        )
    for kind in SKETCHES:
        on, off = bursts[kind, "on"]["seconds"], bursts[kind, "off"]["seconds"]
        rows.append(
            (
                f"(c) burst of {BURST} sketches, {kind}, 2 at a time: core cache on vs off",
                f"{on:.1f} s vs {off:.1f} s = {off / on:.1f}× faster",
                "≥ 2.5×",
            )
        )
    rows.append(flood_row(flood))
    rows.append(
        (
            "web process RSS, idle → 100 connected browsers",
            f"{memory['idle_mb']:.0f} MB → {memory['with_browsers_mb']:.0f} MB",
            "≤ 150 MB",
        )
    )
    rows.append(
        (
            "Celery worker peak RSS during the bursts (per process, toolchain excluded)",
            f"{max(b['worker_rss_mb'] for b in bursts.values()):.0f} MB",
            "≤ 250 MB",
        )
    )
    return rows
