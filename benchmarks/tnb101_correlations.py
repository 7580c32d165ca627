"""Zero-cost proxies on TransNAS-Bench-101 micro: Spearman ρ with each task's validation score.

Usage: python benchmarks/tnb101_correlations.py [--tasks T1,T2] [--groups synflow,nwot,...] [--report]

Cells: the 711 cells of NAS-Bench-Suite-Zero's TransNAS file plus 289 more drawn with seed 0 from the
other 3,385 (1,000 cells; the same for every task). params and flops also over all 4,096 cells (free).
Input: Gaussian noise at the task's resolution (no Taskonomy images are available), targets drawn in
the task's label space, batch 16, seed 0, zero-cost network convention. One proxy group of one task
at a time: its column is written to `results/tnb101_scores/<task>.json` as soon as it is done, and the
cells scored so far every SLICE cells (its `partial` entry), so the run resumes where it stopped, on any
machine that has the committed files. Several processes may share
the work (each its own groups or tasks): a column is merged into its task's file under a lock. `--report`
(also run after each group) writes `results/tnb101_correlations.{json,md}` from whatever columns exist. Each
slice also records how many networks it evaluated and its wall-clock seconds; the report sums them per group.

Seconds per network come from `--retime N`: each group re-scored on the first N cells with an empty,
throw-away score cache, one group at a time, so a long run's pauses and neighbours do not count.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from proxynas import ensembles, metrics, proxies, scoring
from proxynas.atomic import update_json, write_text_atomic
from proxynas.bench import open_benchmark
from proxynas.bench.suite_zero import their_name
from proxynas.cache import ScoreCache
from proxynas.data import BatchSpec
from proxynas.paths import data_dir
from proxynas.spaces import tnb101

RESULTS = Path(__file__).resolve().parent / "results"
SCORES = RESULTS / "tnb101_scores"
SUBSET = "tnb101/zc_transbench101_micro_subset.json"
SAMPLE, SEED, BATCH = 1000, 0, 16
SLICE = 100  # cells scored between saves of a group's partial columns
# Scored together where they share a pass; cheapest first.
GROUPS = {"counts": ("params", "flops"), "l2_norm": ("l2_norm",), "synflow": ("synflow",), "nwot": ("nwot",),
          "jacob_cov": ("jacob_cov", "epe_nas"), "grad_norm": ("grad_norm", "snip", "plain"), "zen": ("zen",),
          "fisher": ("fisher",), "grasp": ("grasp",), "meco": ("meco", "meco_opt"),
          "az_nas": ("az_expressivity", "az_progressivity", "az_trainability")}
VOTE = ("jacob_cov", "nwot", "flops")
VOTE_NAME = f"vote({','.join(VOTE)})"
# NAS-Bench-Suite-Zero (Krishnakumar et al., NeurIPS 2022 datasets track), 711 cells per task: jacov's ρ
# (their best single proxy on TransNAS micro) and the label-free rank sum of jacov, nwot and flops.
PUBLISHED = {"jacob_cov": {"class_scene": 0.745, "class_object": 0.559, "autoencoder": 0.171, "normal": 0.754,
                           "jigsaw": 0.560, "room_layout": 0.412, "segmentsemantic": 0.784},
             VOTE_NAME: {"class_scene": 0.768, "class_object": 0.579, "normal": 0.838, "jigsaw": 0.565,
                         "segmentsemantic": 0.878}}
# Registered ensembles reported where all their members are scored: our zs (members chosen on NB201 CIFAR-10
# cells, no TransNAS accuracy seen) and AZ-NAS's aggregate.
ENSEMBLE_ROWS = ("zs", "az_nas")
COMBINED_NAMES = (VOTE_NAME, *ENSEMBLE_ROWS)
# NASWOT reads only nn.ReLU codes, and the heads and decoders use none (LeakyReLU, tanh): on the tasks
# with one 256-pixel input the encoder, its weights (drawn first) and the Gaussian batch (same seed and
# shape) are the same, so nwot is the same too. It is computed once for these and checked on a few cells
# of every other one before it is reused.
ENCODER_ONLY = {"nwot"}
SAME_ENCODER_INPUT = ("class_scene", "class_object", "room_layout", "segmentsemantic", "normal", "autoencoder")
CHECKED_CELLS = 5


def suite_zero() -> dict:
    with open(data_dir() / SUBSET) as handle:
        return json.load(handle)


def sample_cells(theirs: dict) -> list:
    """Suite-Zero's 711 cells, then seeded extra cells from the rest, in that order."""
    first = [tnb101.SPACE.parse(key) for key in next(iter(theirs.values()))]
    rest = sorted(set(tnb101.SPACE.all_archs()) - set(first), key=lambda a: a.code)
    rng = np.random.default_rng(SEED)
    extra = [rest[i] for i in rng.choice(len(rest), SAMPLE - len(first), replace=False)]
    return first + extra


def load(task: str) -> dict:
    path = SCORES / f"{task}.json"
    return json.loads(path.read_text()) if path.exists() else empty_record()


def empty_record() -> dict:
    return {"scores": {}, "failures": {}, "seconds_per_cell": {}}


def update(task: str, change: Callable[[dict], None]) -> None:
    """Apply `change` to the task's saved record, read afresh under a lock: processes scoring other groups
    of the same task save into the same file, and each must keep the others' columns."""
    update_json(SCORES / f"{task}.json", change, empty=empty_record, indent=None)


def run_group(task: str, group: str, archs: list) -> None:
    """Score one group on `archs` SLICE cells at a time, saving each slice into the task's `partial` entry, and
    the whole column once every cell is scored (an encoder-only group reuses another task's, checked)."""
    names = GROUPS[group]
    if all(n in load(task)["scores"] for n in names):
        return
    spec = BatchSpec(task, "noise", BATCH, SEED)
    if scored_so_far(load(task), group) == 0 and (whole := reused(task, names, archs, spec)) is not None:
        save_slice(task, group, archs, whole, seconds=None)
    while (start := scored_so_far(load(task), group)) < len(archs):
        cells = archs[start:start + SLICE]
        began = time.perf_counter()
        table = scoring.score(cells, [proxies.get(n) for n in names], spec, progress=lambda d, t: print(
            f"\r{task} {group}: cells {start}-{start + len(cells) - 1} of {len(archs)}, {d}/{t}", end="", flush=True))
        save_slice(task, group, cells, table, seconds=time.perf_counter() - began)

    def add_columns(record: dict) -> None:
        done = record["partial"].pop(group)
        if not record["partial"]:
            del record["partial"]
        record["cells"] = [str(a) for a in archs]
        record["setting"] = {"input": "noise", "batch_size": BATCH, "seed": SEED, "convention": "zero-cost"}
        record["scores"].update(done["scores"])
        record["failures"].update(done["failures"])
        if "compute" in done:
            record.setdefault("compute", {})[group] = done["compute"]

    update(task, add_columns)
    print(f"\r{task} {group}: done", flush=True)


def scored_so_far(record: dict, group: str) -> int:
    """How many of the sample's first cells the group's partial columns hold."""
    partial = record.get("partial", {}).get(group)
    return len(next(iter(partial["scores"].values()))) if partial else 0


def save_slice(task: str, group: str, cells: list, table, seconds: float | None) -> None:
    """Append a slice's values (None for NaN) and failures to the group's partial columns, and, unless it was
    reused (`seconds` None), its networks and wall-clock seconds to the group's compute record."""
    def append(record: dict) -> None:
        partial = record.setdefault("partial", {}).setdefault(
            group, {"scores": {n: [] for n in GROUPS[group]}, "failures": {n: {} for n in GROUPS[group]}})
        if seconds is not None:
            compute = partial.setdefault("compute", {"cells": 0, "networks": 0, "seconds": 0.0})
            compute["cells"] += len(cells)
            compute["networks"] += table.computed_cells
            compute["seconds"] += seconds
        for name in GROUPS[group]:
            partial["scores"][name] += [None if not np.isfinite(v) else float(v) for v in table.scores[name]]
            partial["failures"][name].update(
                {str(cells[row]): reason for row, reason in table.failures.get(name, {}).items()})

    update(task, append)


def retime(task: str, group: str, archs: list) -> None:
    """Seconds per network of one group on `archs`, scored from an empty cache, into the task's record."""
    names = GROUPS[group]
    spec = BatchSpec(task, "noise", BATCH, SEED)
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        table = scoring.score(archs, [proxies.get(n) for n in names], spec, cache=ScoreCache(Path(folder)))
        seconds = time.perf_counter() - start

    def add_times(record: dict) -> None:
        record["seconds_per_cell"].update({name: seconds / table.computed_cells for name in names})
        record["timed_cells"] = len(archs)

    update(task, add_times)
    print(f"{task} {group}: {seconds / table.computed_cells:.2f} s per network ({table.computed_cells} networks)")


def reused(task: str, names: tuple, archs: list, spec: BatchSpec):
    """The scores of an encoder-only group computed for another task of the same encoder input, after
    checking that the first cells give exactly those values here too; None if there is none to reuse."""
    if task not in SAME_ENCODER_INPUT or not set(names) <= ENCODER_ONLY:
        return None
    donors = [load(t) for t in SAME_ENCODER_INPUT if t != task]
    donor = next((d for d in donors if all(n in d["scores"] for n in names)), None)
    if donor is None:
        return None
    check = scoring.score(archs[:CHECKED_CELLS], [proxies.get(n) for n in names], spec)
    for name in names:
        if check.scores[name].tolist() != column(donor["scores"][name])[:CHECKED_CELLS].tolist():
            raise RuntimeError(f"{name} on {task} differs from the other tasks': the encoder-only reuse is wrong")
    scores = {n: column(donor["scores"][n]) for n in names}
    failures = {n: {archs.index(tnb101.SPACE.parse(c)): r for c, r in donor["failures"][n].items()} for n in names}
    return scoring.ScoreTable(archs, list(names), scores, failures, computed_cells=CHECKED_CELLS)


def column(values: list) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def report(archs: list, theirs: dict) -> dict:
    bench = open_benchmark("tnb101")
    rows = bench.index.indices_of(archs)
    n_theirs = len(next(iter(theirs.values())))
    result = {"cells": len(archs), "suite_zero_cells": n_theirs, "batch_size": BATCH, "seed": SEED,
              "metric": "val_score (each task's validation score, higher is better)", "tasks": {}}
    for task in tnb101.SPACE.tasks:
        record = load(task)
        if not record["scores"]:
            continue
        truth = bench.column(task, "val_score")
        sample_truth = truth[rows]
        scores = {n: column(v) for n, v in record["scores"].items()}
        combined = combinations(scores)
        entry = {"rho": {}, "bootstrap_95": {}, "failures": {n: len(f) for n, f in record["failures"].items()},
                 "seconds_per_cell": record["seconds_per_cell"], "timed_cells": record.get("timed_cells"),
                 "compute": record.get("compute", {}),
                 "suite_zero": {}, "distinct_values": {}}
        for name, values in {**scores, **combined}.items():
            sign = 1.0 if name in combined or proxies.get(name).higher_is_better else -1.0
            entry["distinct_values"][name] = len(np.unique(values[np.isfinite(values)]))
            entry["rho"][name] = metrics.spearman(sign * values, sample_truth)
            entry["bootstrap_95"][name] = metrics.spearman_interval(sign * values, sample_truth, SEED)
        mine = slice(0, n_theirs)  # the first cells are Suite-Zero's, in the file's order
        their_truth = truth[rows[mine]]
        their_val = np.array([theirs[task][k]["val_accuracy"] for k in theirs[task]], dtype=float)
        theirs_cols = {}
        for name, values in scores.items():
            key = their_name(name)
            theirs_cols[name] = np.array([theirs[task][k][key]["score"] if key in theirs[task][k] else np.nan
                                          for k in theirs[task]])
            sign = 1.0 if proxies.get(name).higher_is_better else -1.0
            entry["suite_zero"][name] = {
                "rho_ours": metrics.spearman(sign * values[mine], their_truth),
                "rho_theirs": metrics.spearman(theirs_cols[name], their_truth),
                "agreement": metrics.spearman(values[mine], theirs_cols[name]),
                "rho_ours_their_val": metrics.spearman(sign * values[mine], their_val),
                "rho_theirs_their_val": metrics.spearman(theirs_cols[name], their_val)}
        # Combinations ranked within these cells. Suite-Zero's released scores are higher-is-better as stored
        # (their ρ above is taken unsigned), so their vote ranks each column as it is.
        their_vote = (metrics.rank_vote([theirs_cols[n] for n in VOTE]) if all(n in theirs_cols for n in VOTE)
                      else None)
        for name, values in combinations({n: v[mine] for n, v in scores.items()}).items():
            theirs_values = their_vote if name == VOTE_NAME else None
            entry["suite_zero"][name] = {
                "rho_ours": metrics.spearman(values, their_truth), "rho_ours_their_val": metrics.spearman(values, their_val),
                "rho_theirs": None if theirs_values is None else metrics.spearman(theirs_values, their_truth),
                "rho_theirs_their_val": None if theirs_values is None else metrics.spearman(theirs_values, their_val)}
        if "params" in scores:
            every = tnb101.SPACE.all_archs()
            entry["all_cells_rho"] = {
                name: metrics.spearman(np.array([count(a, task) for a in every], dtype=float),
                                       truth[bench.index.indices_of(every)])
                for name, count in (("params", tnb101.SPACE.count_params), ("flops", tnb101.SPACE.count_flops))}
        result["tasks"][task] = entry
    write_text_atomic(RESULTS / "tnb101_correlations.json", json.dumps(result, indent=2, allow_nan=True) + "\n")
    write_markdown(result)
    return result


def combinations(scores: dict) -> dict:
    """The label-free rank vote of Suite-Zero's three and each registered ensemble in ENSEMBLE_ROWS, wherever
    all members are scored; every combination is higher-is-better."""
    combined = {}
    if all(n in scores for n in VOTE):
        combined[VOTE_NAME] = metrics.rank_vote([scores[n] for n in VOTE], proxies.directions(VOTE))
    for name in ENSEMBLE_ROWS:
        if all(m in scores for m in ensembles.members(name)):
            combined[name] = ensembles.combine(name, scores)
    return combined


def write_markdown(result: dict) -> None:
    tasks = list(result["tasks"])
    names = list(dict.fromkeys(n for t in tasks for n in result["tasks"][t]["rho"]))
    lines = [f"Spearman ρ with each task's validation score over {result['cells']} TransNAS-Bench-101 micro cells "
             f"(Suite-Zero's {result['suite_zero_cells']} plus seeded extra ones), Gaussian input, batch "
             f"{result['batch_size']}, seed {result['seed']}, with its 95% bootstrap interval; published: "
             "NAS-Bench-Suite-Zero on its 711 cells. A blank cell: not computed yet.", "",
             "| proxy | " + " | ".join(tasks) + " |", "|---|" + "---|" * len(tasks)]

    def fmt(task, name):
        entry = result["tasks"][task]
        if name not in entry["rho"]:
            return ""
        if not np.isfinite(entry["rho"][name]):
            if entry["distinct_values"][name] == 1:
                return "no ρ: the same value on every cell"
            return f"no value ({entry['failures'].get(name, 0)} cells NaN with a reason)"
        low, high = entry["bootstrap_95"][name]
        published = PUBLISHED.get(name, {}).get(task)
        return f"{entry['rho'][name]:.3f} [{low:.2f}, {high:.2f}]" + (f" (pub. {published:.3f})" if published else "")

    lines += [f"| {name} | " + " | ".join(fmt(t, name) for t in tasks) + " |" for name in names]
    for name in ("params", "flops"):
        row = [result["tasks"][t].get("all_cells_rho", {}).get(name) for t in tasks]
        lines.append(f"| {name}, all 4,096 cells | " + " | ".join("" if r is None else f"{r:.3f}" for r in row) + " |")

    def pair(sz, ours, theirs):
        return f"{sz[ours]:.3f} / " + ("—" if sz[theirs] is None else f"{sz[theirs]:.3f}")

    lines += ["", "On Suite-Zero's 711 cells: ρ of our scores / ρ of Suite-Zero's scores (their Taskonomy images) / "
              "rank agreement between the two; combinations ranked within these cells, Suite-Zero's vote from their "
              "released scores.", "", "| proxy | " + " | ".join(tasks) + " |", "|---|" + "---|" * len(tasks)]
    for name in names:
        row = []
        for t in tasks:
            sz = result["tasks"][t]["suite_zero"].get(name)
            row.append("" if not sz else pair(sz, "rho_ours", "rho_theirs")
                       + (f" / {sz['agreement']:.3f}" if "agreement" in sz else ""))
        lines.append(f"| {name} | " + " | ".join(row) + " |")
    lines += ["", "The same cells against Suite-Zero's own `val_accuracy` column (their file's; it ranks cells differently "
              "from the benchmark zip's validation score on several tasks): ρ of ours / of theirs.", "",
              "| proxy | " + " | ".join(tasks) + " |", "|---|" + "---|" * len(tasks)]
    for name in names:
        row = [result["tasks"][t]["suite_zero"].get(name) for t in tasks]
        lines.append(f"| {name} | " + " | ".join("" if not sz else pair(sz, "rho_ours_their_val", "rho_theirs_their_val")
                                                 for sz in row) + " |")
    lines += goal_lines(result)
    timed = sorted({result["tasks"][t]["timed_cells"] for t in tasks} - {None})
    lines += ["", f"Seconds per network on this 2-core CPU: each group scored alone on the first "
              f"{', '.join(map(str, timed))} cells "
              "from an empty cache (`--retime N`). A blank cell: not timed yet. A combination costs its members.", "",
              "| proxy | " + " | ".join(tasks) + " |", "|---|" + "---|" * len(tasks)]
    for name in [n for n in names if n in proxies.names()]:
        row = [result["tasks"][t]["seconds_per_cell"].get(name) for t in tasks]
        lines.append(f"| {name} | " + " | ".join("" if s is None else f"{s:.2f}" for s in row) + " |")
    lines += compute_lines(result, tasks)
    write_text_atomic(RESULTS / "tnb101_correlations.md", "\n".join(lines) + "\n")


def compute_lines(result: dict, tasks: list[str]) -> list[str]:
    """What the scoring runs cost, per group and task, as recorded slice by slice since runs began recording it
    (wall clock, one process beside whatever else ran; cached cells cost nothing and are not networks)."""
    groups = [g for g in GROUPS if any(g in result["tasks"][t]["compute"] for t in tasks)]
    if not groups:
        return []

    def cost(c: dict | None) -> str:
        return "" if c is None else f"{c['networks']} networks, {c['seconds'] / 3600:.2f} h ({c['cells']} cells)"

    return ["", "Compute of the scoring runs, per group: networks evaluated and wall-clock hours over the cells whose "
            "slices recorded it (one process beside other work). A blank cell: scored before runs recorded it.", "",
            "| group | " + " | ".join(tasks) + " |", "|---|" + "---|" * len(tasks)] + [
        f"| {g} | " + " | ".join(cost(result["tasks"][t]["compute"].get(g)) for t in tasks) + " |" for g in groups]


def goal_lines(result: dict) -> list[str]:
    """Issue 12's goal like for like: on Suite-Zero's cells, against their file's `val_accuracy` (the column
    their published figures are computed against), our best single proxy (picked by this very ρ, so a
    reading of the goal, not a zero-shot choice), our vote and zs, beside their published figures and the
    vote of their released scores."""
    lines = ["", "The goal like for like (Suite-Zero's 711 cells, ρ against their file's `val_accuracy`): our best single "
             "proxy (picked by this ρ), our vote and zs, against the published best single proxy (jacov) and vote, "
             "and the same vote recomputed from Suite-Zero's released scores.", "",
             "| task | published jacov / vote | vote of their released scores | our best single | our vote | zs | "
             "published figures reached |", "|---|---|---|---|---|---|---|"]
    for task, entry in result["tasks"].items():
        sz = entry["suite_zero"]
        singles = {n: v["rho_ours_their_val"] for n, v in sz.items()
                   if n not in COMBINED_NAMES and np.isfinite(v["rho_ours_their_val"])}
        if not singles:
            continue
        best = max(singles, key=singles.get)
        ours = [singles[best]] + [sz[n]["rho_ours_their_val"] for n in (VOTE_NAME, "zs") if n in sz]
        published = [PUBLISHED[n][task] for n in ("jacob_cov", VOTE_NAME) if task in PUBLISHED[n]]
        vote = PUBLISHED[VOTE_NAME].get(task)
        theirs = sz.get(VOTE_NAME, {}).get("rho_theirs_their_val")
        lines.append(f"| {task} | {PUBLISHED['jacob_cov'][task]:.3f} / " + ("–" if vote is None else f"{vote:.3f}")
                     + " | " + ("" if theirs is None else f"{theirs:.3f}") + f" | {best} {singles[best]:.3f} | "
                     + " | ".join(f"{sz[n]['rho_ours_their_val']:.3f}" if n in sz else "" for n in (VOTE_NAME, "zs"))
                     + f" | {'yes' if max(ours) >= max(published) else 'no'} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default=",".join(tnb101.SPACE.tasks))
    parser.add_argument("--groups", default=",".join(GROUPS))
    parser.add_argument("--report", action="store_true", help="only write the report from the saved columns")
    parser.add_argument("--retime", type=int, metavar="N", help="re-time the groups on the first N cells")
    args = parser.parse_args()
    theirs = suite_zero()
    archs = sample_cells(theirs)
    if args.retime:
        for group in args.groups.split(","):
            for task in args.tasks.split(","):
                retime(task, group, archs[:args.retime])
    elif not args.report:
        for group in args.groups.split(","):
            for task in args.tasks.split(","):
                run_group(task, group, archs)
                report(archs, theirs)
    report(archs, theirs)


if __name__ == "__main__":
    main()
