"""How much proxy scores move with the number of CPU threads (float sums are reordered by threads).

Usage: python benchmarks/thread_determinism.py [--cells 50] [--threads 1,2]
Scores a seeded sample of NB201 cells (seed 0, CIFAR-10 images, batch 64) with every proxy once per thread
count, each in a fresh process with a fresh cache, and reports per proxy the largest relative difference
|a - b| / max(|a|, |b|) between thread counts, and whether the runs rank the cells identically.
Writes results/thread_determinism.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from scipy import stats

RESULTS = Path(__file__).resolve().parent / "results"
CHILD = """
import json, sys, torch
torch.set_num_threads(int(sys.argv[1]))
from pathlib import Path
from proxynas import proxies, scoring
from proxynas.cache import ScoreCache
from proxynas.data import BatchSpec
from proxynas.spaces import nb201
table = scoring.score(nb201.sample(int(sys.argv[2]), 0), proxies.parse_list("all"), BatchSpec("cifar10", seed=0),
                      cache=ScoreCache(Path(sys.argv[3])))
print(json.dumps({p: [None if v != v else v for v in table.scores[p].tolist()] for p in table.proxies}))
"""


def scores_at(threads: int, cells: int) -> dict[str, np.ndarray]:
    with tempfile.TemporaryDirectory() as cache:
        out = subprocess.run([sys.executable, "-c", CHILD, str(threads), str(cells), cache], check=True,
                             capture_output=True, text=True).stdout
    return {p: np.array([np.nan if v is None else v for v in values]) for p, values in json.loads(out).items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=50)
    parser.add_argument("--threads", default="1,2")
    args = parser.parse_args()
    counts = [int(t) for t in args.threads.split(",")]
    runs = {t: scores_at(t, args.cells) for t in counts}
    base, other = runs[counts[0]], runs[counts[1]]
    result = {"cells": args.cells, "threads": counts, "proxies": {}}
    for name in base:
        a, b = base[name], other[name]
        both = np.isfinite(a) & np.isfinite(b)
        scale = np.maximum(np.abs(a[both]), np.abs(b[both]))
        relative = np.where(scale > 0, np.abs(a[both] - b[both]) / np.where(scale > 0, scale, 1), 0.0)
        result["proxies"][name] = {
            "max_relative_difference": float(relative.max()) if both.any() else None,
            "median_relative_difference": float(np.median(relative)) if both.any() else None,
            "same_nan": bool(np.array_equal(np.isnan(a), np.isnan(b))),
            "kendall_tau": float(stats.kendalltau(a[both], b[both])[0]) if both.sum() > 2 else None}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "thread_determinism.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [f"Proxy scores of {args.cells} NB201 cells (seed 0, CIFAR-10, batch 64) with {counts[0]} vs {counts[1]} "
             "CPU threads, each in a fresh process and cache.", "",
             "| proxy | max relative difference | median | Kendall τ between the runs | same NaN cells |",
             "|---|---|---|---|---|"]
    for name, row in result["proxies"].items():
        cells = [f"{row[k]:.1e}" if row[k] is not None else "—"
                 for k in ("max_relative_difference", "median_relative_difference")]
        tau = f"{row['kendall_tau']:.4f}" if row["kendall_tau"] is not None else "—"
        lines.append(f"| {name} | {cells[0]} | {cells[1]} | {tau} | {'yes' if row['same_nan'] else 'no'} |")
    (RESULTS / "thread_determinism.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
