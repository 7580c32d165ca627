"""Reproduce the published zero-cost proxy correlations on NAS-Bench-201 and check against Suite-Zero.

Usage: python benchmarks/proxy_correlations.py [--sample 1000] [--seed 0] [--datasets cifar10,cifar100,imagenet16]
Writes benchmarks/results/proxy_correlations.{json,md} after each dataset (scores are cached, so an
interrupted run resumes). Spearman ρ is against 200-epoch test accuracy, batch 64, seed 0.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from proxynas import metrics, proxies, scoring
from proxynas.bench import nb201_store as store, suite_zero
from proxynas.data import BatchSpec
from proxynas.paths import data_dir
from proxynas.spaces import nb201

RESULTS = Path(__file__).resolve().parent / "results"
# Abdelfattah et al., ICLR 2021 (all 15,625 cells, batch 64) and NAS-Bench-Suite-Zero (nwot, params, flops).
PUBLISHED = {
    "synflow": (0.737, 0.763, 0.751), "jacob_cov": (0.731, 0.704, 0.701), "grad_norm": (0.594, 0.637, 0.578),
    "snip": (0.596, 0.637, 0.578), "grasp": (0.514, 0.547, 0.549), "fisher": (0.36, 0.385, 0.327),
    "nwot": (0.79, 0.81, 0.80), "params": (0.74, 0.74, 0.74), "flops": (0.71, 0.71, 0.71),
}
DATASETS = ("cifar10", "cifar100", "imagenet16")
# Ours -> Suite-Zero's name. grasp is left out only because it is the slowest proxy (1.3 s per cell).
SUITE_ZERO_NAMES = {"synflow": "synflow", "params": "params", "flops": "flops", "l2_norm": "l2_norm",
                    "nwot": "nwot", "jacob_cov": "jacov", "grad_norm": "grad_norm", "snip": "snip", "fisher": "fisher"}
THEIRS_ONLY = {"grasp": "grasp"}  # their ρ on the same cells costs nothing; ours would cost an hour
REQUIRED_AGREEMENT = ("synflow", "params", "flops", "l2_norm", "nwot", "jacob_cov")


def suite_zero_comparison(bench, dataset: str, seed: int) -> dict:
    """On the cells of the Suite-Zero file: rank agreement of our scores with theirs, and each side's
    Spearman ρ with test accuracy (the same cells, so the difference is the implementation's)."""
    path = data_dir() / "nb201" / "sources" / "suite_zero" / "zc_nasbench201_725.json"
    theirs = suite_zero.read_suite_zero(path, bench.index)[dataset]
    covered = np.flatnonzero(~np.isnan(theirs["jacov"]["score"]))
    archs = [bench.index.arch_at(int(i)) for i in covered]
    ours = scoring.score(archs, [proxies.get(p) for p in SUITE_ZERO_NAMES], BatchSpec(dataset, seed=seed))
    truth = bench.column(dataset, "test_acc")[covered]
    return {"archs": len(archs),
            "spearman": {p: metrics.spearman(ours.scores[p], theirs[name]["score"][covered])
                         for p, name in SUITE_ZERO_NAMES.items()},
            "rho_ours": {p: metrics.spearman(ours.scores[p], truth) for p in SUITE_ZERO_NAMES},
            "rho_suite_zero": {p: metrics.spearman(theirs[name]["score"][covered], truth)
                               for p, name in (SUITE_ZERO_NAMES | THEIRS_ONLY).items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--proxies", default="all")
    args = parser.parse_args()
    bench = store.open_bench()
    out_json = RESULTS / "proxy_correlations.json"
    result = json.loads(out_json.read_text()) if out_json.exists() else {}
    result.update({"sample": args.sample, "seed": args.seed, "batch_size": 64, "metric": "test_acc (200 epochs)"})
    archs = nb201.sample(args.sample, args.seed)
    chosen = proxies.parse_list(args.proxies)
    for dataset in args.datasets.split(","):
        start = time.perf_counter()
        table = scoring.score(archs, chosen, BatchSpec(dataset, seed=args.seed),
                              progress=lambda d, t: print(f"\r{dataset}: {d}/{t}", end="", flush=True))
        truth = bench.column(dataset, "test_acc")[bench.index.indices_of(archs)]
        result.setdefault("datasets", {})[dataset] = {
            "correlations": metrics.correlation_table(table.scores, truth, proxies.directions(table.scores)),
            "bootstrap_95": {p: metrics.spearman_interval(v, truth, args.seed) for p, v in table.scores.items()},
            "failures": {p: len(f) for p, f in table.failures.items()},
            "scoring_seconds": time.perf_counter() - start,
            "suite_zero": suite_zero_comparison(bench, dataset, args.seed),
        }
        RESULTS.mkdir(exist_ok=True)
        out_json.write_text(json.dumps(result, indent=2, allow_nan=True) + "\n")
        write_markdown(result)
        print(f"\n{dataset} done in {time.perf_counter() - start:.0f} s")


def write_markdown(result: dict) -> None:
    done = [d for d in DATASETS if "suite_zero" in result.get("datasets", {}).get(d, {})]
    lines = [f"Spearman ρ vs 200-epoch test accuracy, {result['sample']} NB201 cells sampled with seed "
             f"{result['seed']}, batch 64 (ours) vs published (all 15,625 cells).", "",
             "Ours with its 95% bootstrap interval over the sampled cells.", "",
             "| proxy | " + " | ".join(f"{d} ours | {d} published" for d in done) + " |",
             "|---|" + "---|---|" * len(done)]
    names = sorted({p for d in done for p in result["datasets"][d]["correlations"]}, key=lambda p: (p == "vote", p))
    for name in names:
        cells = []
        for d in done:
            row = result["datasets"][d]["correlations"].get(name)
            published = PUBLISHED.get(name, (None,) * 3)[DATASETS.index(d)]
            low, high = result["datasets"][d]["bootstrap_95"].get(name, (None, None))
            interval = f" [{low:.2f}, {high:.2f}]" if low is not None else ""
            cells += [f"{row['spearman']:.3f}{interval}" if row else "", f"{published:.3f}" if published else "—"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "On the cells of the NAS-Bench-Suite-Zero file (725 per dataset): rank agreement of our scores "
              "with theirs, and Spearman ρ with test accuracy of ours and of theirs on those same cells "
              f"(agreement required ≥ 0.9 for {', '.join(REQUIRED_AGREEMENT)}).", "",
              "| proxy | " + " | ".join(f"{d} agreement | {d} ρ ours | {d} ρ Suite-Zero" for d in done) + " |",
              "|---|" + "---|---|---|" * len(done)]
    for name in SUITE_ZERO_NAMES:
        cells = []
        for d in done:
            sz = result["datasets"][d]["suite_zero"]
            cells += [f"{sz['spearman'][name]:.3f}", f"{sz['rho_ours'][name]:.3f}", f"{sz['rho_suite_zero'][name]:.3f}"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "Where ours differs from the published ρ by more than 0.05, the evidence beside it:", "",
              "| proxy | dataset | published | ours (1,000 cells) | 95% interval | ρ ours, 725 cells | "
              "ρ Suite-Zero's code, 725 cells |", "|---|---|---|---|---|---|---|"]
    for name, published in PUBLISHED.items():
        for d in done:
            ours = result["datasets"][d]["correlations"][name]["spearman"]
            if abs(ours - published[DATASETS.index(d)]) <= 0.05:
                continue
            low, high = result["datasets"][d]["bootstrap_95"][name]
            sz = result["datasets"][d]["suite_zero"]
            same_cells = [f"{sz[k][name]:.3f}" if name in sz[k] else "—" for k in ("rho_ours", "rho_suite_zero")]
            lines.append(f"| {name} | {d} | {published[DATASETS.index(d)]:.3f} | {ours:.3f} | [{low:.2f}, {high:.2f}] | "
                         + " | ".join(same_cells) + " |")
    lines += ["", "Reading: the published ρ is over all 15,625 cells with the authors' code and batches. The last two "
              "columns hold the cell set fixed: where our ρ and the ρ of Suite-Zero's own scores (the reference "
              "code family) agree on those cells, and both differ from the published value in the same direction, "
              "the difference comes from which cells and which batch/initialisation were used, not from our "
              "implementation. The interval shows how far ρ moves between samples of 1,000 cells. "
              "ImageNet16-120 uses 278 stand-in photos, not the official images."]
    (RESULTS / "proxy_correlations.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
