"""Run the benchmarks and print one table: `python -m bench` (all), `python -m bench compile`, or one row such as
`python -m bench flood` (row (d) of the compile benchmarks alone)."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

SUITES = {
    "compile": "bench.compile_bench:run",
    "ota": "bench.ota_bench:run",
    "flood": "bench.compile_bench:run_output_flood",
    "diagnostics": "bench.diagnostics_bench:run",
    "device": "bench.device_bench:run",
    "dashboard": "bench.dashboard_bench:run",
    "scaleout": "bench.scaleout_bench:run",
    "workers": "bench.scaleout_bench:run_workers",
    "store": "bench.scaleout_bench:run_store",
    "link": "bench.link_bench:run",
    "rollout": "bench.rollout_bench:run",
}
EVERYTHING = ("compile", "ota", "diagnostics", "device", "dashboard", "scaleout", "link", "rollout")
RESULTS = Path(__file__).resolve().parent / "results"


def main(names: list[str]) -> None:
    rows: list[tuple[str, str, str]] = []
    for name in names or EVERYTHING:
        print(f"running {name} benchmarks…", flush=True)
        module, function = SUITES[name].split(":")
        rows += getattr(importlib.import_module(module), function)()
    width = max(len(row[0]) for row in rows)
    print(f"\n{'benchmark':<{width}}  measured  (target)")
    for benchmark, measured, target in rows:
        print(f"{benchmark:<{width}}  {measured}  ({target})")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
