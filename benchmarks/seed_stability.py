"""How much of a proxy's disagreement with NAS-Bench-Suite-Zero's own scores is the proxy's own noise?

Usage: python benchmarks/seed_stability.py --space nb201|tnb101 --task T --proxies grasp,fisher [--cells 200]

On the first N cells (benchmark index order) that Suite-Zero's file scores for the task (an NB201 dataset
or a TransNAS task), each proxy is scored twice, with seed 0 and seed 1: the seed draws both the input batch
and the weights. Reported per proxy: the rank agreement (Spearman) of our seed 0 with our seed 1 and with
Suite-Zero's scores, and the ρ of each with the accuracy column. Where ours rank-agrees with itself no
better than with theirs, the disagreement is the proxy's sensitivity to the batch and initialisation, not
a difference of definition. Batch settings are the ones the correlation tables use: NB201, 64 of the
dataset's default images, against `test_acc`; TransNAS, 16 Gaussian inputs, against `val_score`.
Writes benchmarks/results/seed_stability.{json,md}, keeping the other (space, task) entries.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from proxynas import metrics, proxies, scoring
from proxynas.bench import open_benchmark, suite_zero
from proxynas.data import BatchSpec
from proxynas.paths import data_dir
from proxynas.tasks import get_task

RESULTS = Path(__file__).resolve().parent / "results"
SEEDS = (0, 1)
SETTINGS = {  # space -> (Suite-Zero file under the data folder, batch kind, batch size, accuracy column)
    "nb201": ("nb201/sources/suite_zero/zc_nasbench201_725.json", None, 64, "test_acc"),
    "tnb101": ("tnb101/zc_transbench101_micro_subset.json", "noise", 16, "val_score"),
}


def measure(space: str, task: str, names: list[str], cells: int) -> dict:
    file, kind, batch, metric = SETTINGS[space]
    bench = open_benchmark(space)
    theirs = suite_zero.read_suite_zero(data_dir() / file, bench.index)[task]
    rows = np.flatnonzero(np.all([~np.isnan(theirs[suite_zero.their_name(n)]["score"]) for n in names], axis=0))[:cells]
    archs = [bench.index.arch_at(int(i)) for i in rows]
    ours = {seed: scoring.score(archs, [proxies.get(n) for n in names], BatchSpec(task, kind, batch, seed),
                                progress=lambda d, t: print(f"\rseed {seed}: {d}/{t}", end="", flush=True)).scores
            for seed in SEEDS}
    print()
    truth = bench.column(task, metric)[rows]
    result = {"cells": len(rows), "metric": metric, "batch": {"kind": kind or "images", "size": batch}, "proxies": {}}
    for name in names:
        first, second, other = ours[0][name], ours[1][name], theirs[suite_zero.their_name(name)]["score"][rows]
        result["proxies"][name] = {
            "ours_seed0_vs_ours_seed1": metrics.spearman(first, second),
            "ours_seed0_vs_suite_zero": metrics.spearman(first, other),
            "rho_ours_seed0": metrics.spearman(first, truth), "rho_ours_seed1": metrics.spearman(second, truth),
            "rho_suite_zero": metrics.spearman(other, truth),
            "nan": {"seed0": int(np.isnan(first).sum()), "seed1": int(np.isnan(second).sum())}}
    return result


def markdown(saved: dict) -> str:
    lines = ["Our proxy scored with seeds 0 and 1 (each seed draws the batch and the weights) on the first cells "
             "of Suite-Zero's file, against Suite-Zero's own scores (`python benchmarks/seed_stability.py`).", "",
             "| space | task | cells | proxy | ours 0 vs ours 1 | ours 0 vs Suite-Zero | ρ ours 0 | ρ ours 1 | "
             "ρ Suite-Zero | column |", "|---|---|---|---|---|---|---|---|---|---|"]
    for key, entry in sorted(saved.items()):
        space, task = key.split("/")
        for name, p in entry["proxies"].items():
            lines.append(f"| {space} | {task} | {entry['cells']} | {name} | {p['ours_seed0_vs_ours_seed1']:.3f} | "
                         f"{p['ours_seed0_vs_suite_zero']:.3f} | {p['rho_ours_seed0']:.3f} | "
                         f"{p['rho_ours_seed1']:.3f} | {p['rho_suite_zero']:.3f} | `{entry['metric']}` |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space", choices=tuple(SETTINGS), default="nb201")
    parser.add_argument("--task", default="cifar10", help="an NB201 dataset or a TransNAS task")
    parser.add_argument("--proxies", default="grasp")
    parser.add_argument("--cells", type=int, default=200)
    args = parser.parse_args()
    task = get_task(args.task).name
    out = RESULTS / "seed_stability.json"
    saved = json.loads(out.read_text()) if out.exists() else {}
    saved[f"{args.space}/{task}"] = measure(args.space, task, args.proxies.split(","), args.cells)
    out.write_text(json.dumps(saved, indent=2, allow_nan=True) + "\n")
    out.with_suffix(".md").write_text(markdown(saved))
    print(markdown(saved))


if __name__ == "__main__":
    main()
