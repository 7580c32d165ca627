"""Scoring speed on a busy machine: a quiet run against the same run beside CPU-bound processes.

Usage: python benchmarks/speed_under_load.py [--cells 8] [--hogs 2]
Each measurement is a fresh process scoring the same seeded NB201 cells (seed 0, CIFAR-10 images,
batch 64, synflow + grad_norm + jacob_cov, fresh cache) with torch's default thread count: quiet,
then with `--hogs` busy-looping processes running beside it, for each OpenMP setting in POLICIES
(proxynas's default, libgomp's, and the two wait policies). Goal (issue 16): under the load, at most
2x the quiet time.
Writes results/speed_under_load.{json,md}. Run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
CHILD = """
import sys, time
from pathlib import Path
import proxynas
from proxynas import proxies, scoring
from proxynas.cache import ScoreCache
from proxynas.data import BatchSpec
from proxynas.spaces import nb201
archs = nb201.sample(int(sys.argv[1]), 0)
start = time.perf_counter()
scoring.score(archs, proxies.parse_list("synflow,grad_norm,jacob_cov"), BatchSpec("cifar10", seed=0),
              cache=ScoreCache(Path(sys.argv[2])))
print(time.perf_counter() - start)
"""


# OpenMP settings compared (environment of the scoring process): {} = what proxynas sets when the user set
# nothing; libgomp's own default is reached with an empty GOMP_SPINCOUNT (ignored by libgomp, and proxynas
# leaves a set variable alone).
POLICIES = {"proxynas default (GOMP_SPINCOUNT=10000)": {}, "libgomp default": {"GOMP_SPINCOUNT": ""},
            "OMP_WAIT_POLICY=PASSIVE": {"OMP_WAIT_POLICY": "PASSIVE"},
            "OMP_WAIT_POLICY=ACTIVE": {"OMP_WAIT_POLICY": "ACTIVE"}}


def _hog() -> None:
    while True:
        pass


def timed(cells: int, settings: dict) -> float:
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")} | settings
    with tempfile.TemporaryDirectory() as cache:
        out = subprocess.run([sys.executable, "-c", CHILD, str(cells), cache], check=True, capture_output=True,
                             text=True, env=env).stdout
    return float(out.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=8)
    parser.add_argument("--hogs", type=int, default=2)
    args = parser.parse_args()
    result = {"cells": args.cells, "hogs": args.hogs, "cpus": os.cpu_count(), "seconds": {}}
    for label, settings in POLICIES.items():
        quiet = timed(args.cells, settings)
        hogs = [multiprocessing.Process(target=_hog, daemon=True) for _ in range(args.hogs)]
        for hog in hogs:
            hog.start()
        try:
            loaded = timed(args.cells, settings)
        finally:
            for hog in hogs:
                hog.terminate()
        result["seconds"][label] = {"quiet": quiet, "loaded": loaded, "ratio": loaded / quiet}
        print(label, result["seconds"][label], flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "speed_under_load.json").write_text(json.dumps(result, indent=2) + "\n")
    quietest = min(row["quiet"] for row in result["seconds"].values())
    lines = [f"Scoring {args.cells} NB201 cells (synflow, grad_norm, jacob_cov; CIFAR-10 batch 64) on this "
             f"{result['cpus']}-core CPU, quiet and beside {args.hogs} busy-looping processes; seconds, fresh "
             "process and cache each time.", "",
             "| OpenMP setting | quiet | loaded | loaded / its quiet | loaded / fastest quiet |", "|---|---|---|---|---|"]
    for label, row in result["seconds"].items():
        lines.append(f"| {label} | {row['quiet']:.1f} | {row['loaded']:.1f} | {row['ratio']:.2f} | "
                     f"{row['loaded'] / quietest:.2f} |")
    (RESULTS / "speed_under_load.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
