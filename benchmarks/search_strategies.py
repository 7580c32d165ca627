"""Search strategies on a tabular benchmark: validation regret and reported score vs full trainings; laptop speed.

Usage: python benchmarks/search_strategies.py [--space nb201|tnb101] [--seeds 100] [--budget 100]
                                              [--datasets ...] [--strategies ...]
       python benchmarks/search_strategies.py --speed   (cold and warm `proxynas search --budget 20`)
       python benchmarks/search_strategies.py --tune prior|radius|kappa   (a guided+zs setting, on tuning seeds)
Each run gets seed s = 0..seeds-1 and a fresh evaluator; a full training is a counted query of the
task's search metric (NB201: 200-epoch validation accuracy; TransNAS: the validation score).
Regret = the search metric's optimum - the best value found. The guided search scores with
data-free proxies on NB201 and with the benchmark's precomputed zen scores on TransNAS (its networks take
256-pixel inputs: about a second per cell and proxy on this CPU), as `proxynas search` does by default.
`guided+zs` is the guided search with the zero-shot ensemble zs (its members, warm start and prior), from
the whole space when its scores are shipped or cached for every cell, as `proxynas search --proxies zs`.
Writes benchmarks/results/search_strategies{,_<space>}.{json,md,png} (search_speed.{json,md} with --speed,
search_<name>_tuning.{json,md} with --tune NAME).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from proxynas.atomic import update_json
from proxynas.bench import open_benchmark
from proxynas.data import BatchSpec
from proxynas.features import precomputed_scorer
from proxynas.plots import optional_grid, save_figure
from proxynas.scoring import scorer
from proxynas.tasks import get_task
from proxynas.search import (SearchSetup, TabularEvaluator, get_strategy, get_strategy_class, run_search,
                             strategy_names)

RESULTS = Path(__file__).resolve().parent / "results"
DATASETS = ("cifar10", "cifar100", "imagenet16")
CHECKPOINTS = (10, 25, 50, 100)
TUNING_SEEDS = range(100, 120)  # --tune's; the reported runs use seeds 0..seeds-1
# The settings --tune NAME chooses: parameter, values tried, tuning datasets, what it does, and the other
# settings as they were when it was chosen (prior_shrink came first, before the search had a radius).
TUNINGS = {
    "prior": ("prior_shrink", (30.0, 10.0, 3.0, 1.0, 0.0), ("cifar10",),
              "the trees weigh n² / (n² + prior_shrink²) against the prior after n trainings.", {"radius": None}),
    "radius": ("radius", (None, 1, 2), ("cifar10", "cifar100"),
               "after the warm start the trees rank only cells within `radius` edits of the 3 best trained "
               "(none: every cell).", {}),
    "kappa": ("kappa", (0.0, 0.5, 2.0), ("cifar10", "cifar100"),
              "after the warm start the trees rank candidates by their mean + kappa * their ensemble's spread.", {}),
}
# CIFAR-10 mean best validation accuracy after 100 queries (validation optimum 91.57).
ANCHORS_CIFAR10 = {"ls": 91.30, "rea": 91.17, "random": 90.71, "bananas+proxies (Suite-Zero)": 91.23}


def proxy_options(bench, dataset: str, prior: str | None) -> dict:
    """What a proxy-guided strategy scores with: the engine on NB201, imported zen scores on TransNAS; with a
    prior, its members, and as `proxynas search --proxies <prior>` chooses it, the pool."""
    if bench.space.name == "tnb101":
        return {"score": precomputed_scorer(bench, "zen", dataset), "proxies": ("zen",)}
    options = {"score": scorer(BatchSpec(dataset))}
    if prior:
        options.update(SearchSetup(space=bench.space.name, dataset=dataset).proxy_options((prior,), "engine"))
    return options


def runs(bench, dataset: str, strategy: str, seeds: range, budget: int, **settings) -> list[dict]:
    """One record per seed: best search-metric value after each training, the report metric of the
    cell held best at each checkpoint, and compute seconds. `guided+zs`: the guided search with the
    zero-shot ensemble zs as its proxies, warm start and prior. `settings` go to the strategy."""
    test = bench.column(dataset, get_task(dataset).report_metric.name)
    strategy, _, prior = strategy.partition("+")
    options = proxy_options(bench, dataset, prior or None) if get_strategy_class(strategy).uses_proxies else {}
    options.update(settings)
    if options.get("pool"):
        print(f"{dataset} {strategy}+{prior}: every cell is a candidate ({options['pool']})")
    records = []
    for seed in seeds:
        result = run_search(get_strategy(strategy, bench.space.name, seed, **options),
                            TabularEvaluator(bench, dataset), budget, seed)
        best_arch = [s.best_arch for s in result.trajectory]
        records.append({
            "best_val": [s.best_val_acc for s in result.trajectory],
            "test_at": {k: float(test[bench.index.index_of(bench.index.resolve(best_arch[k - 1]))])
                        for k in CHECKPOINTS if k <= budget},
            "compute_seconds": result.compute_seconds})
        print(f"\r{dataset} {strategy}: seed {seed} ({seeds.start}-{seeds.stop - 1})", end="", flush=True)
    print()
    return records


def summarise(records: list[dict], optimum: float, budget: int) -> dict:
    best = np.array([r["best_val"] for r in records])
    regret = optimum - best
    found = [int(np.argmax(row >= optimum - 1e-9)) + 1 if (row >= optimum - 1e-9).any() else None for row in best]
    summary = {"runs": len(records), "median_compute_seconds": float(np.median([r["compute_seconds"] for r in records])),
               "found_optimum_fraction": {str(k): float(np.mean([f is not None and f <= k for f in found]))
                                          for k in CHECKPOINTS if k <= budget},
               "median_trainings_to_optimum": float(np.median([f if f is not None else np.inf for f in found])),
               "checkpoints": {}}
    for k in (k for k in CHECKPOINTS if k <= budget):
        r, t = regret[:, k - 1], np.array([rec["test_at"][k] for rec in records])
        summary["checkpoints"][str(k)] = {
            "regret_quartiles": [float(np.percentile(r, q)) for q in (25, 50, 75)],
            "test_quartiles": [float(np.percentile(t, q)) for q in (25, 50, 75)],
            "mean_best_val": float(best[:, k - 1].mean())}
    summary["median_regret_curve"] = [float(v) for v in np.median(regret, axis=0)]
    summary["regret_curve_quartiles"] = [[float(v) for v in np.percentile(regret, q, axis=0)] for q in (25, 75)]
    return summary


def speed(budget: int = 20) -> dict:
    """Seconds for `proxynas search --budget 20` with an empty cache, then again with it warm."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "PROXYNAS_CACHE": tmp}
        command = [sys.executable, "-m", "proxynas.cli", "search", "--budget", str(budget), "--quiet", "--json"]
        timings = {}
        for label in ("cold", "warm"):
            start = time.perf_counter()
            done = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
            timings[label] = {"seconds": time.perf_counter() - start,
                              "val_acc": json.loads(done.stdout)["val_acc"]}
    return {"command": "proxynas search --budget 20 (guided, cifar10, seed 0)", **timings,
            "note": "cold: empty cache folder (the benchmark store is rebuilt too); warm: the same folder after"}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=100)
    parser.add_argument("--budget", type=int, default=100)
    parser.add_argument("--space", default="nb201", help="nb201 or tnb101")
    parser.add_argument("--datasets", help="Tasks to run (default: NB201's three, or every task of the space).")
    parser.add_argument("--strategies", default=",".join(strategy_names()),
                        help='Strategies to run ("" runs none: only the optimum statistics and the report).')
    parser.add_argument("--speed", action="store_true", help="Measure cold/warm CLI search time instead.")
    parser.add_argument("--tune", choices=sorted(TUNINGS), help="Choose one of guided+zs's settings on tuning seeds.")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    if args.tune:
        return tune(open_benchmark("nb201"), args.tune, args.budget)
    if args.speed:
        result = speed()
        (RESULTS / "search_speed.json").write_text(json.dumps(result, indent=2) + "\n")
        (RESULTS / "search_speed.md").write_text(
            f"`{result['command']}` on this machine: cold {result['cold']['seconds']:.1f} s, "
            f"warm {result['warm']['seconds']:.1f} s ({result['note']}).\n")
        return
    bench = open_benchmark(args.space)
    stem = RESULTS / ("search_strategies" if args.space == "nb201" else f"search_strategies_{args.space}")
    out = stem.with_suffix(".json")
    settings = {"seeds": args.seeds, "budget": args.budget, "space": args.space}
    if args.space == "nb201":
        settings["anchors_cifar10_mean_val_at_100"] = ANCHORS_CIFAR10
    datasets = args.datasets.split(",") if args.datasets else DATASETS if args.space == "nb201" else bench.tasks
    functions = function_rows(bench)
    for dataset in datasets:
        optimum = bench.best(dataset, get_task(dataset).search_metric.name)[1]
        statistics = optimum_function(bench.column(dataset, get_task(dataset).search_metric.name), functions)

        def record_dataset(result: dict) -> None:
            result.update(settings)
            entry_of(result, dataset, optimum)["optimum_function"] = statistics

        update_json(out, record_dataset)
        for strategy in filter(None, args.strategies.split(",")):
            summary = summarise(runs(bench, dataset, strategy, range(args.seeds), args.budget), optimum, args.budget)
            update_json(out, lambda result: entry_of(result, dataset, optimum)["strategies"].update({strategy: summary}))
    result = json.loads(out.read_text())
    stem.with_suffix(".md").write_text(markdown(result))
    plot(result, stem.with_suffix(".png"))


def entry_of(result: dict, dataset: str, optimum: float) -> dict:
    return result.setdefault("datasets", {}).setdefault(dataset, {"val_optimum": optimum, "strategies": {}})


def tune(bench, name: str, budget: int) -> None:
    """One of guided+zs's settings (`TUNINGS`) on seeds the benchmark never reports, judged by the mean of the
    median regret curve over trainings 1..budget (one number for the whole run, no single checkpoint),
    averaged over the tuning datasets."""
    parameter, values, datasets, meaning, fixed = TUNINGS[name]
    result = {"parameter": parameter, "datasets": list(datasets), "seeds": [TUNING_SEEDS.start, TUNING_SEEDS.stop - 1],
              "budget": budget, "criterion": "mean of the median regret curve, averaged over the datasets",
              parameter: {}}
    for value in values:
        row = result[parameter][f"{value:g}" if value is not None else "none"] = {}
        for dataset in datasets:
            optimum = bench.best(dataset, get_task(dataset).search_metric.name)[1]
            summary = summarise(runs(bench, dataset, "guided+zs", TUNING_SEEDS, budget, **fixed, **{parameter: value}),
                                optimum, budget)
            row[dataset] = {"mean_median_regret": float(np.mean(summary["median_regret_curve"])), **summary}
        row["criterion"] = float(np.mean([row[d]["mean_median_regret"] for d in datasets]))
    best = min(result[parameter], key=lambda k: result[parameter][k]["criterion"])
    result["chosen"] = best
    stem = RESULTS / f"search_{name}_tuning"
    stem.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    marks = [k for k in CHECKPOINTS if k <= budget]
    lines = [f"guided+zs on {', '.join(datasets)}, tuning seeds {TUNING_SEEDS.start}-{TUNING_SEEDS.stop - 1} "
             f"(never reported), budget {budget}: {meaning} Criterion: the mean of the median validation-regret "
             f"curve, averaged over the datasets; chosen: **{best}**.", "",
             f"| {parameter} | dataset | mean median regret | " + " | ".join(f"regret @{k}" for k in marks)
             + " | found optimum by " + " / ".join(map(str, marks)) + " | median trainings to optimum |",
             "|---|---|---|" + "---|" * len(marks) + "---|---|"]
    for value, row in result[parameter].items():
        for dataset in datasets:
            summary = row[dataset]
            to_optimum = summary["median_trainings_to_optimum"]
            reached = f"{to_optimum:g}" if np.isfinite(to_optimum) else f"> {budget}"
            lines.append(f"| {value} | {dataset} | {summary['mean_median_regret']:.3f} | "
                         + " | ".join(f"{summary['checkpoints'][str(k)]['regret_quartiles'][1]:.2f}" for k in marks)
                         + " | " + " / ".join(f"{summary['found_optimum_fraction'][str(k)]:.0%}" for k in marks)
                         + f" | {reached} |")
    stem.with_suffix(".md").write_text("\n".join(lines) + "\n")


def function_rows(bench) -> list[list[int]]:
    """The benchmark rows of each network function's cells (by the space's `function_key`)."""
    members: dict[str, list[int]] = {}
    for row in range(bench.space.size):
        members.setdefault(bench.space.function_key(bench.index.arch_at(row)), []).append(row)
    return list(members.values())


def optimum_function(metric: np.ndarray, functions: list[list[int]]) -> dict:
    """How far training noise hides the optimum from a search that trains each network function once: the
    benchmark trained every cell, and cells computing one function differ only by their training runs."""
    best_row = int(np.nanargmax(metric))
    best = next(rows for rows in functions if best_row in rows)
    shared = [rows for rows in functions if len(rows) > 1]
    return {"functions": len(functions), "optimum_function_cells": len(best),
            "optimum_function_median": float(np.median(metric[best])),
            "median_range_within_functions": float(np.median([np.ptp(metric[rows]) for rows in shared]))}


def markdown(result: dict) -> str:
    lines = [f"Space {result.get('space', 'nb201')}: {result['seeds']} seeds per strategy, budget {result['budget']} "
             "full trainings (queries of the task's validation metric). Regret = validation optimum − best found: "
             "median [25%, 75%]; test = the reported metric of the returned cell (TransNAS: the validation "
             "score, there is no test split), median.", ""]
    for dataset, entry in result["datasets"].items():
        f = "{:.2f}" if abs(entry["val_optimum"]) >= 10 else "{:.4f}"  # scores in % or in 0-1 units
        lines += [f"**{dataset}** (validation optimum {f.format(entry['val_optimum'])})", ""]
        if "optimum_function" in entry:
            o = entry["optimum_function"]
            lines += [f"The optimum's network function is computed by {o['optimum_function_cells']} cell(s) (their "
                      f"median {f.format(o['optimum_function_median'])}); among the {o['functions']} functions, the "
                      f"cells of one function span {f.format(o['median_range_within_functions'])} (median).", ""]
        lines += ["| strategy | " + " | ".join(f"regret @{k} | test @{k}" for k in CHECKPOINTS) +
                  " | mean val @100 | found optimum by 50 / 100 | median trainings to optimum | s per run |",
                  "|---|" + "---|---|" * len(CHECKPOINTS) + "---|---|---|---|"]
        for strategy, s in entry["strategies"].items():
            cells = []
            for k in CHECKPOINTS:
                c = s["checkpoints"].get(str(k))
                low, median, high = (f.format(q) for q in c["regret_quartiles"]) if c else ("",) * 3
                cells += [f"{median} [{low}, {high}]", f.format(c["test_quartiles"][1])] if c else ["—", "—"]
            at100 = s["checkpoints"].get("100", {}).get("mean_best_val")
            found = s["found_optimum_fraction"]
            to_optimum = s["median_trainings_to_optimum"]
            to_optimum = f"{to_optimum:.0f}" if np.isfinite(to_optimum) else f"> {result['budget']}"
            lines.append(f"| {strategy} | " + " | ".join(cells) +
                         f" | {f.format(at100)} | {found.get('50', 0):.0%} / {found.get('100', 0):.0%} | "
                         f"{to_optimum} | {s['median_compute_seconds']:.1f} |")
        lines.append("")
    if "anchors_cifar10_mean_val_at_100" in result:
        anchors = ", ".join(f"{k} {v}" for k, v in result["anchors_cifar10_mean_val_at_100"].items())
        lines.append(f"Published CIFAR-10 anchors (mean best validation accuracy after 100 queries): {anchors}.")
    return "\n".join(lines) + "\n"


def plot(result: dict, path: Path) -> None:
    datasets = list(result["datasets"])
    grid = optional_grid(1, len(datasets), (4.6, 3.8))
    if grid is None:
        return
    fig, axes = grid
    for ax, dataset in zip(axes[0], datasets):
        for strategy, s in result["datasets"][dataset]["strategies"].items():
            steps = np.arange(1, len(s["median_regret_curve"]) + 1)
            ax.plot(steps, s["median_regret_curve"], label=strategy)
            ax.fill_between(steps, *s["regret_curve_quartiles"], alpha=0.15)
        ax.set(yscale="symlog", xlabel="full trainings", title=dataset)
        ax.set_yscale("symlog", linthresh=0.1)
    axes[0][0].set_ylabel("validation regret (median, IQR)")
    axes[0][0].legend()
    save_figure(fig, path)


if __name__ == "__main__":
    main()
