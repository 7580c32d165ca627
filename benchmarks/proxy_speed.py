"""Seconds per NB201 cell for each proxy, for synflow+grad_norm+jacob_cov together, for all of them, and for
each zero-shot ensemble (its members scored together).

Usage: python benchmarks/proxy_speed.py [--sample 30] [--seed 0] [--device cpu] [--dataset cifar10]
                                        [--reference DIR]   (per-cell table)
       python benchmarks/proxy_speed.py --full   (then: all 15,625 cells with the three, end to end)
Each measurement scores the same seeded sample into a fresh, empty score cache through the public
engine (`scoring.score`), so nothing is reused between measurements; each network's time is
taken between successive progress callbacks (the first one's also covers loading the batch).
`--reference DIR` (a checkout of SamsungLabs/zero-cost-nas, the reference zero-cost code; not part of
proxynas, only imported from DIR) times it on the same cells and batch in the same command, right after
ours for each of its proxies and the three together: per cell, build its NB201 network with the
reference's model code and call its `find_measures`, as its `nasbench2_pred.py` does (default init).
`--full` scores all 15,625 cells with the three proxies from an empty cache and records the
wall-clock time; each mode keeps the other's last result in the JSON.
Writes benchmarks/results/proxy_speed{,_<device>}{,_<dataset>}.{json,md} (no suffix for the CPU and CIFAR-10).
The dataset matters: vkdnw takes one backward pass per class or per input of the final layer, whichever is fewer
(10, 64 and 64 on the three datasets), and ImageNet16-120's networks see 16-pixel images.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from proxynas import ensembles, proxies, scoring
from proxynas.bench.nb201_source import DATASETS
from proxynas.cache import ScoreCache
from proxynas.data import BatchSpec, make_batch
from proxynas.spaces import nb201
from proxynas.tasks import get_task

RESULTS = Path(__file__).resolve().parent / "results"
THREE = "synflow,grad_norm,jacob_cov"
REFERENCE_RUNS = ("synflow", "grad_norm", "jacob_cov", THREE)  # what the reference code is timed on


def timed_run(archs, proxy_list: str, spec: BatchSpec, device: str) -> dict:
    """One engine run over `archs` into an empty cache: seconds per evaluated network and per cell.

    A network is evaluated once per job; with per-cell and per-class proxies mixed, one cell may
    need two networks (its own and its class representative's), so both figures are reported.
    """
    stamps = [time.perf_counter()]
    with tempfile.TemporaryDirectory() as tmp:
        scoring.score(archs, proxies.parse_list(proxy_list), spec, device, ScoreCache(Path(tmp)),
                      progress=lambda done, total: stamps.append(time.perf_counter()))
    per_network = np.diff(stamps)
    return {"median_s": float(np.median(per_network)), "networks": len(per_network),
            "seconds_per_cell": (stamps[-1] - stamps[0]) / len(archs), "cells": len(archs)}


def reference_run(folder: Path, archs, proxy_list: str, spec: BatchSpec) -> dict:
    """The reference code over `archs` on our batch: per cell, its NB201 network and `find_measures` (CPU)."""
    if str(folder) not in sys.path:  # called once per timed row
        sys.path.insert(0, str(folder))
    try:
        from foresight.models import nasbench2
        from foresight.pruners import predictive
    except ImportError as exc:
        raise SystemExit(f"--reference {folder}: not a checkout of SamsungLabs/zero-cost-nas ({exc})")
    inputs, targets = make_batch(spec)
    classes = get_task(spec.dataset).num_classes
    seconds = []
    for arch in archs:
        start = time.perf_counter()
        net = nasbench2.get_model_from_arch_str(nb201.SPACE.format(arch), classes)
        predictive.find_measures(net, [(inputs, targets)], ("random", 1, classes), torch.device("cpu"),
                                 measure_names=proxy_list.split(","))
        seconds.append(time.perf_counter() - start)
    return {"median_s": float(np.median(seconds)), "seconds_per_cell": float(np.mean(seconds)), "cells": len(archs)}


def full_space(spec: BatchSpec, device: str) -> dict:
    """Wall-clock seconds to score all 15,625 cells with the three proxies, from an empty cache."""
    archs = list(nb201.all_archs())
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        table = scoring.score(archs, proxies.parse_list(THREE), spec, device, ScoreCache(Path(tmp)),
                              progress=lambda d, t: print(f"\rfull space: {d}/{t}", end="", flush=True))
        seconds = time.perf_counter() - start
    print()
    return {"seconds": seconds, "cells": len(archs), "computed_cells": table.computed_cells,
            "nan": table.nan_counts(), "load_average_15min_at_end": os.getloadavg()[2]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=30)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--dataset", default="cifar10", choices=DATASETS)
    parser.add_argument("--full", action="store_true", help="Score the whole space with the three, end to end.")
    parser.add_argument("--reference", type=Path, help="A checkout of SamsungLabs/zero-cost-nas to time beside ours.")
    args = parser.parse_args()
    spec = BatchSpec(args.dataset, batch_size=64, seed=args.seed)
    suffixes = [s for s in (args.device, args.dataset) if s not in ("cpu", "cifar10")]
    out = RESULTS / "_".join(["proxy_speed", *suffixes])
    result = json.loads(out.with_suffix(".json").read_text()) if out.with_suffix(".json").exists() else {}
    if (args.full or args.reference) and args.dataset != "cifar10":
        raise SystemExit("--full and --reference are measured on CIFAR-10 only (the reference's setting)")
    if args.reference and args.device != "cpu":
        raise SystemExit("--reference is timed on the CPU only")
    if args.full:  # the long end-to-end run alone; the per-cell table is kept from the last run
        result["full_space_three"] = full_space(spec, args.device)
    else:
        result.update(per_cell(args, spec))
    RESULTS.mkdir(exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown(result))


def per_cell(args, spec: BatchSpec) -> dict:
    archs = nb201.sample(args.sample, args.seed)
    runs = ({name: name for name in proxies.names()} | {THREE: THREE, f"all {len(proxies.names())}": "all"}
            | {f"ensemble {name}": ",".join(members) for name, members in ensembles.ENSEMBLES.items()})
    rows = {}
    for label, proxy_list in runs.items():
        rows[label] = timed_run(archs, proxy_list, spec, args.device)
        print(f"{label}: median {rows[label]['median_s']:.3f} s per network")
        if args.reference and label in REFERENCE_RUNS:
            rows[label]["reference"] = reference_run(args.reference, archs, proxy_list, spec)
            print(f"{label}, reference: median {rows[label]['reference']['median_s']:.3f} s per cell")
    three = rows[THREE]["median_s"]
    classes = int(nb201.class_ids(nb201.all_archs(), "function").max()) + 1
    return {"device": args.device, "cpu_threads": torch.get_num_threads(), "torch": torch.__version__,
            "machine": platform.processor() or platform.machine(), "sample": args.sample, "seed": args.seed,
            "batch_size": 64, "dataset": args.dataset, "per_cell": rows, "reference_code": (
                "SamsungLabs/zero-cost-nas, timed in this command" if args.reference else None),
            "projection_three_s": {"all_cells": three * nb201.NUM_ARCHS, "function_classes": three * classes}}


def markdown(result: dict) -> str:
    lines = [f"Seconds per NB201 cell, {result['sample']} cells (seed {result['seed']}), {result['dataset']} batch "
             f"{result['batch_size']}, device {result['device']}, {result['cpu_threads']} CPU threads, "
             f"torch {result['torch']}." + (f" Reference: {result['reference_code']}, on the same cells and batch, "
                                            "median s per cell (it builds each network once per call)."
                                            if result.get("reference_code") else " Reference code not run."), "",
             "| proxies | ours: median s per network | ours: s per cell (total / cells) | reference median s | "
             "speed-up (median) |", "|---|---|---|---|---|"]
    for label, row in result["per_cell"].items():
        ours, ref = row["median_s"], row.get("reference", {}).get("median_s")
        ref_text, speedup = (f"{ref:.3f}", f"{ref / ours:.1f}×") if ref else ("—", "—")
        lines.append(f"| {label} | {ours:.3f} | {row['seconds_per_cell']:.3f} | {ref_text} | {speedup} |")
    projection = result["projection_three_s"]
    lines += ["", f"Projected time for {THREE} over the whole space: "
              f"{projection['all_cells'] / 60:.0f} min cell by cell, "
              f"{projection['function_classes'] / 60:.0f} min with one cell per function class (what the engine does)."]
    if "full_space_three" in result:
        full = result["full_space_three"]
        lines.append(f"Measured end to end: all {full['cells']:,} cells scored in {full['seconds'] / 60:.1f} min "
                     f"({full['computed_cells']:,} networks evaluated; NaN counts {full['nan']}; 15-minute load "
                     f"average at the end {full['load_average_15min_at_end']:.1f} on {os.cpu_count()} cores).")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
