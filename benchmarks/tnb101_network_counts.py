"""Our TransNAS-Bench-101 micro networks against NAS-Bench-Suite-Zero's parameter and FLOP counts.

Usage: python benchmarks/tnb101_network_counts.py
For every cell and task of Suite-Zero's TransNAS file (711 cells x 7 tasks): our parameter count (equal
to the built network's, which tests check) against their `params` (millions), and our multiply-adds
against their `flops` (MFLOPs). Writes results/tnb101_network_counts.{json,md}.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from proxynas import metrics
from proxynas.paths import data_dir
from proxynas.spaces import tnb101

RESULTS = Path(__file__).resolve().parent / "results"
SUBSET = "tnb101/zc_transbench101_micro_subset.json"


def compare(entries: dict, task: str) -> dict:
    archs = [tnb101.SPACE.parse(key) for key in entries]
    params = np.array([tnb101.SPACE.count_params(a, task) for a in archs]) / 1e6
    flops = np.array([tnb101.SPACE.count_flops(a, task) for a in archs]) / 1e6
    their_params = np.array([e["params"]["score"] for e in entries.values()])
    their_flops = np.array([e["flops"]["score"] for e in entries.values()])
    return {"cells": len(archs),
            "params_equal": int(np.sum(np.abs(params - their_params) < 5e-7)),
            "params_max_abs_diff_m": float(np.abs(params - their_params).max()),
            "params_spearman": metrics.spearman(params, their_params),
            "flops_spearman": metrics.spearman(flops, their_flops),
            "flops_ratio_ours_to_theirs": [float((flops / their_flops).min()), float((flops / their_flops).max())]}


def main() -> None:
    with open(data_dir() / SUBSET) as handle:
        theirs = json.load(handle)
    result = {task: compare(theirs[task], task) for task in tnb101.SPACE.tasks}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "tnb101_network_counts.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = ["Our TransNAS-Bench-101 micro networks vs NAS-Bench-Suite-Zero's `params` and `flops`, on the 711 cells "
             "of its file, per task.", "",
             "| task | cells | params equal | max abs diff (M) | params ρ | FLOPs ρ | our/their FLOPs |",
             "|---|---|---|---|---|---|---|"]
    for task, r in result.items():
        low, high = r["flops_ratio_ours_to_theirs"]
        lines.append(f"| {task} | {r['cells']} | {r['params_equal']} | {r['params_max_abs_diff_m']:.1e} | "
                     f"{r['params_spearman']:.4f} | {r['flops_spearman']:.4f} | {low:.3f}–{high:.3f} |")
    lines += ["", "FLOPs: ours are the multiply-adds of every conv, transposed conv and linear layer for one input. "
              "Suite-Zero's (tensorwatch) also count BN, ReLU and other element-wise work, leave out the decoders' "
              "transposed convs, and count jigsaw's shared encoder once instead of once per tile (9 tiles)."]
    (RESULTS / "tnb101_network_counts.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
