"""Run the benchmarks and print one table: `python -m bench` (all) or `python -m bench compile`."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

SUITES = {"compile": "bench.compile_bench", "ota": "bench.ota_bench", "diagnostics": "bench.diagnostics_bench",
          "device": "bench.device_bench"}
RESULTS = Path(__file__).resolve().parent / "results"


def main(names: list[str]) -> None:
    rows: list[tuple[str, str, str]] = []
    for name in names or list(SUITES):
        print(f"running {name} benchmarks…", flush=True)
        rows += importlib.import_module(SUITES[name]).run()
    width = max(len(row[0]) for row in rows)
    print(f"\n{'benchmark':<{width}}  measured  (target)")
    for benchmark, measured, target in rows:
        print(f"{benchmark:<{width}}  {measured}  ({target})")
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
