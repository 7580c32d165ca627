"""The whole-space proxy table of NAS-Bench-201: every cell, every proxy that costs at most about 1 s per
cell here (costlier ones chunk by chunk), three datasets; and its correlation table.

Usage: python benchmarks/nb201_table.py [--datasets cifar10,...] [--groups zs,zico,...] [--chunks 0-15]
                                        [--device cuda] [--processes N] [--seconds S]
                                        [--report] [--pack] [--score-only]

Cells in benchmark index order, in chunks of 1,000 (the last 625). Batch: 64 images of the dataset's default
file, seed 0, the same setting as benchmarks/modern_proxies.py, so their cached scores are reused. Each
(dataset, proxy group, chunk) is written to results/nb201_table/<dataset>/<group>/<chunk>.npz as soon as it
is done (values per cell; NaN with its reason in `failures`), and a chunk's first cells every 100 to
<chunk>.part.npz: a run resumes on any machine that has the committed files, and one too long for a
sitting is finished by the next. `--report` (also run at the
end) writes results/nb201_table.{json,md} over the cells whose chunks exist: per proxy and ensemble,
Spearman ρ (95% bootstrap interval), Kendall τ and top-10% precision against `test_acc` and `val_acc`.
`--pack` (also run at the end) writes the chunks into the score table shipped with the package
(proxynas/tables/nb201_scores.h5, see proxynas/shipped.py), after re-scoring a few seeded cells of every
column from scratch and refusing a column whose values the engine does not reproduce. Scores are always
computed here, never read from a shipped table. `--score-only` skips both, for chunks scored by several
processes or machines at once (each given its own `--chunks`). `--processes N` scores N chunks at once,
group by group; `--seconds S` starts no slice after S seconds (for a lent GPU's short loan). A chunk records
the devices that computed it; the packed table's settings name them per column.
"""

from __future__ import annotations

import argparse
import functools
import json
import multiprocessing
import os
import tempfile
import time
from concurrent import futures
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch

from proxynas import ensembles, metrics, paths, proxies, scoring, shipped
from proxynas.bench import nb201_store as store
from proxynas.cache import ScoreCache
from proxynas.data import BatchSpec
from proxynas.devices import torch_threads
from proxynas.spaces import nb201
from proxynas.search.guided import WARM_START

RESULTS = Path(__file__).resolve().parent / "results"
TABLE = RESULTS / "nb201_table"
DATASETS = ("cifar10", "cifar100", "imagenet16")
CHUNK, BATCH, SEED = 1000, 64, 0
SLICE = 100  # cells scored between two saves of a chunk's progress
HELD_OUT_ROWS = ("zs", "az_nas")  # ensembles judged on the cells zs was not chosen on
WIDER = "zs re-chosen among all complete"  # the same selection among every whole-space column (not registered)
CHUNKS = -(-nb201.SPACE.size // CHUNK)
# Scored together where they share a pass; the MeCo and AZ-NAS passes first (group `zs`: scored first for
# the zero-shot ensemble, whose members they were).
GROUPS = {"zs": ("meco", "meco_opt", "az_expressivity", "az_progressivity", "az_trainability"),
          "counts": ("params", "flops"), "jacob_cov": ("jacob_cov", "epe_nas"), "nwot": ("nwot",),
          "synflow": ("synflow",), "zico": ("zico",), "grad_norm": ("grad_norm", "snip", "plain"),
          "l2_norm": ("l2_norm",), "zen": ("zen",), "fisher": ("fisher",), "grasp": ("grasp",),
          "gradsign": ("gradsign",), "te_nas": ("te_ntk", "te_regions"), "vkdnw": ("vkdnw",), "swap": ("swap",)}
ENSEMBLES = ("zs", "az_nas", "te_nas", "vkdnw_agg")
SHIPPED = shipped.TABLES / "nb201_scores.h5"
VERIFIED_CELLS = 2  # per column, re-scored from scratch before packing
# A value computed on CUDA and re-scored on the CPU: float32 rounding in other kernel orders, up to 1.7e-2
# relative for zico over 14 cells x every proxy (benchmarks/results/cuda_checks.md). A changed definition
# moves values far more.
ACROSS_DEVICES = 5e-2
NEAR, TOP_K = 0.3, (10, 25, 50, 100)  # issue 13's search goal: validation regret <= 0.3 within 10 trainings


def chunk_path(dataset: str, group: str, chunk: int) -> Path:
    return TABLE / dataset / group / f"{chunk:02d}.npz"


@dataclass
class Chunk:
    """What a chunk file holds: each proxy's values, failure reasons by benchmark index, the devices that
    computed it and the wall-clock seconds their slices took (for chunks saved before these were recorded:
    the CPU, and NaN seconds)."""

    values: dict[str, np.ndarray]
    failures: dict[str, dict[str, str]]
    devices: list[str]
    seconds: float

    @classmethod
    def load(cls, path: Path, names: tuple) -> "Chunk":
        """The saved chunk or part at `path`; an empty one if there is none."""
        if not path.exists():
            return cls({n: np.array([]) for n in names}, {n: {} for n in names}, [], 0.0)
        saved = np.load(path)
        return cls({n: saved[n] for n in names}, json.loads(str(saved["failures"])),
                   str(saved["devices"]).split(",") if "devices" in saved else ["cpu"],
                   float(saved["seconds"]) if "seconds" in saved else float("nan"))

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name.replace(".npz", ".tmp.npz"))
        np.savez_compressed(temporary, **self.values, failures=json.dumps(self.failures),
                            devices=",".join(self.devices), seconds=self.seconds)
        os.replace(temporary, path)


def score_chunk(dataset: str, group: str, chunk: int, archs: list, device: str = "cpu",
                deadline: float = float("inf"), quiet: bool = False) -> None:
    """Score one chunk on `device`, saving what is done every SLICE cells to <chunk>.part.npz (commit it: a run
    on another machine goes on from there), and the whole chunk to <chunk>.npz at the end. No slice starts
    after `deadline` (time.time())."""
    path = chunk_path(dataset, group, chunk)
    if path.exists():
        return
    cells = archs[chunk * CHUNK:(chunk + 1) * CHUNK]
    names = GROUPS[group]
    part = path.with_suffix(".part.npz")
    saved = Chunk.load(part, names)
    spec = BatchSpec(dataset, batch_size=BATCH, seed=SEED)
    for start in range(len(saved.values[names[0]]), len(cells), SLICE):
        if time.time() > deadline:
            if start:
                print(f"{dataset} {group} chunk {chunk}: stopped at the deadline after {start} cells", flush=True)
            return
        progress = None if quiet else lambda d, t: print(f"\r{dataset} {group} chunk {chunk}: cells from {start} "
                                                        f"of {len(cells)}, job {d}/{t}", end="", flush=True)
        began = time.perf_counter()
        table = scoring.score(cells[start:start + SLICE], [proxies.get(n) for n in names], spec, device=device,
                              cache=ScoreCache(paths.cache_dir() / "scores"),  # computed, never read from a shipped table
                              progress=progress)
        saved.seconds += time.perf_counter() - began
        saved.devices = sorted(set(saved.devices) | {device.partition(":")[0]})
        for n in names:
            saved.values[n] = np.concatenate([saved.values[n], table.scores[n]])
            saved.failures[n].update({str(chunk * CHUNK + start + row): why
                                      for row, why in table.failures.get(n, {}).items()})
        saved.save(part if len(saved.values[names[0]]) < len(cells) else path)
    part.unlink(missing_ok=True)
    print(f"\r{dataset} {group} chunk {chunk}: done", flush=True)


def chunk_rows(chunks: list[int]) -> np.ndarray:
    """The benchmark indices of the cells in `chunks` (ascending)."""
    return np.concatenate([np.arange(c * CHUNK, min((c + 1) * CHUNK, nb201.SPACE.size)) for c in chunks])


def saved_chunks(dataset: str, group: str) -> tuple[np.ndarray, list[Chunk]]:
    """(benchmark indices of the cells the group's saved chunks hold, those chunks)."""
    chunks = [c for c in range(CHUNKS) if chunk_path(dataset, group, c).exists()]
    return (chunk_rows(chunks) if chunks else np.array([], dtype=int)), [
        Chunk.load(chunk_path(dataset, group, c), GROUPS[group]) for c in chunks]


def saved_groups(dataset: str) -> dict[str, tuple[np.ndarray, list[Chunk]]]:
    """Each group with saved chunks on `dataset`: `saved_chunks`' (cell indices, chunks)."""
    return {group: saved for group in GROUPS if (saved := saved_chunks(dataset, group))[1]}


def devices_of(parts: list[Chunk]) -> list[str]:
    """The devices that computed any of `parts`."""
    return sorted({d for p in parts for d in p.devices})


def load_columns(groups: dict[str, tuple[np.ndarray, list[Chunk]]]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each saved proxy's (benchmark indices of the cells its chunks hold, its values there), from
    `saved_groups`."""
    return {n: (rows, np.concatenate([p.values[n] for p in parts]))
            for group, (rows, parts) in groups.items() for n in GROUPS[group]}


def with_ensembles(columns: dict) -> dict:
    """`columns` plus every ensemble whose members are all saved, over the cells they share."""
    combined = dict(columns)
    for name in ENSEMBLES:
        members = ensembles.ENSEMBLES[name]
        if all(m in columns for m in members):
            rows = functools.reduce(np.intersect1d, [columns[m][0] for m in members])
            combined[name] = (rows, ensemble_at(columns, name, rows))
    return combined


def ensemble_at(columns: dict, name: str, rows: np.ndarray) -> np.ndarray:
    """The ensemble `name` ranked within the cells `rows` (benchmark indices its members' columns hold)."""
    return ensembles.combine(name, {m: columns[m][1][np.searchsorted(columns[m][0], rows)]
                                    for m in ensembles.members(name)})


def zs_against_vkdnw_agg(columns: dict, truth: np.ndarray, live_cells: np.ndarray) -> dict:
    """ρ with `truth` of zs and VKDNW_agg, each ranked within the same cells: VKDNW_agg's (where vkdnw is
    saved), their live-op cells (the set of the published VKDNW_agg figures), and those outside zs's tuning
    cells."""
    rows = columns["vkdnw_agg"][0]
    outside = ~ensembles.tuning_cells()[rows]
    result = {}
    for cells, keep in (("all", np.ones(len(rows), dtype=bool)), ("live", live_cells[rows]),
                        ("live_held_out", live_cells[rows] & outside)):
        chosen = rows[keep]
        result[cells] = {"cells": len(chosen), **{name: metrics.spearman(ensemble_at(columns, name, chosen),
                                                                         truth[chosen])
                                                  for name in ("zs", "vkdnw_agg")}}
    return result


def correlations(signed: np.ndarray, truth: np.ndarray) -> dict:
    return {"rho": metrics.spearman(signed, truth), "tau": metrics.kendall(signed, truth),
            "rho_95": metrics.spearman_interval(signed, truth, SEED)}


def live_op_cells(archs: list) -> np.ndarray:
    """Per cell (benchmark order): does every op other than `none` lie on a path from input to output? The
    9,445 such cells, one per network once unused ops are dropped, are the set the VKDNW authors' NB201
    notebook filters its scores to before correlating, so its published figures are most likely over them
    (our AZ-NAS there is within 0.007 of the re-run issue 13 quotes)."""
    return np.array([nb201.SPACE.uses_every_op(a) for a in archs])


def report(archs: list) -> dict:
    bench = store.open_bench()
    live_cells = live_op_cells(archs)
    ops = np.array([a.to_naslib() for a in archs], dtype=np.int8)  # each cell's ops, for edit distances
    result = {"batch_size": BATCH, "seed": SEED, "chunk": CHUNK, "live_cells": int(live_cells.sum()), "datasets": {}}
    chunks = {dataset: saved_groups(dataset) for dataset in DATASETS}
    saved = {dataset: load_columns(chunks[dataset]) for dataset in DATASETS}
    for dataset in DATASETS:
        columns = with_ensembles(saved[dataset])
        if not columns:
            continue
        entry = {"proxies": {}}
        for target in ("test_acc", "val_acc"):
            for name, (rows, values) in columns.items():
                truth = bench.column(dataset, target)[rows]
                sign = 1.0 if name in ENSEMBLES or proxies.get(name).higher_is_better else -1.0
                signed, live = sign * values, live_cells[rows]
                entry["proxies"].setdefault(name, {"cells": len(rows), "live_cells": int(live.sum())})[target] = {
                    **correlations(signed, truth), "top10": metrics.top_k_precision(signed, truth),
                    "nan": int(np.isnan(values).sum()), "live": correlations(signed[live], truth[live])}
        if "zs" in columns and len(columns["zs"][0]) == nb201.SPACE.size:
            rows, values = columns["zs"]
            entry["zs_near_optimum"] = near_optimum(values, bench.column(dataset, "val_acc")[rows], ops[rows])
        if "zs" in columns and "vkdnw_agg" in columns:
            entry["zs_against_vkdnw_agg"] = zs_against_vkdnw_agg(columns, bench.column(dataset, "test_acc"),
                                                                 live_cells)
        result["datasets"][dataset] = entry
    result["zs_selection"] = zs_selection(bench, live_cells, saved)
    result["compute"] = compute_record(chunks)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "nb201_table.json").write_text(json.dumps(result, indent=2, allow_nan=True) + "\n")
    write_markdown(result)
    return result


def zs_selection(bench, live_cells: np.ndarray, saved: dict[str, dict]) -> dict:
    """How zs's members are chosen, re-run on the table: greedy forward selection (CIFAR-10 `val_acc`) on
    the tuning cells `ensembles.tuning_cells()` among `ensembles.ZS_CANDIDATES`; and zs and AZ-NAS judged
    on the other cells, all of them and the live-op ones. `saved`: each dataset's saved columns
    (`load_columns`). The same selection among every proxy complete on all three datasets now (`wider`) is
    judged beside them: information for a future zs, not a choice made here, since picking between the two
    by these figures would choose by the accuracies they are judged on."""
    whole = [{n: v for n, (rows, v) in saved[d].items() if len(rows) == nb201.SPACE.size} for d in DATASETS]
    complete = set.intersection(*[set(c) for c in whole])
    candidates = list(ensembles.ZS_CANDIDATES)
    if not set(candidates) <= complete:
        return {}
    tuning = ensembles.tuning_cells()
    tuning_truth = bench.column("cifar10", "val_acc")[tuning]
    members = ensembles.greedy_members({n: whole[0][n][tuning] for n in candidates}, tuning_truth, candidates)
    wider = ensembles.greedy_members({n: whole[0][n][tuning] for n in sorted(complete)}, tuning_truth,
                                     sorted(complete))
    judged = {label: list(ensembles.members(label)) for label in HELD_OUT_ROWS} | {WIDER: wider}
    held = {}
    for dataset, columns in zip(DATASETS, whole):
        truth = bench.column(dataset, "test_acc")
        for label, chosen in judged.items():
            for cells, rows in (("all", ~tuning), ("live", ~tuning & live_cells)):
                picked = {m: columns[m][rows] for m in chosen}
                values = (ensembles.combine(label, picked) if label in ensembles.ENSEMBLES
                          else ensembles.log_rank_ensemble(picked, chosen))
                held.setdefault(dataset, {}).setdefault(label, {})[cells] = correlations(values, truth[rows])
    return {"tuning_cells": int(tuning.sum()), "tuning": f"numpy default_rng({ensembles.TUNING_SEED})"
            f".permutation(15625)[:{ensembles.TUNING_SIZE}], CIFAR-10 val_acc", "candidates": candidates,
            "members": members, "complete_since": sorted(complete - set(candidates)), "wider_members": wider,
            "held_out_test_acc": held}


def compute_record(chunks: dict[str, dict]) -> dict:
    """Per dataset and group (`chunks`: each dataset's `saved_groups`): its saved chunks, the devices that
    computed them and the wall-clock hours of the chunks whose seconds were recorded (one process each;
    chunks scored before that have none)."""
    record = {}
    for dataset, groups in chunks.items():
        for group, (_, parts) in groups.items():
            timed = [p.seconds for p in parts if np.isfinite(p.seconds)]
            record.setdefault(dataset, {})[group] = {"chunks": len(parts), "timed_chunks": len(timed),
                                                     "hours": sum(timed) / 3600, "devices": devices_of(parts)}
    return record


def near_optimum(prior: np.ndarray, val: np.ndarray, ops: np.ndarray, within: float = NEAR) -> dict:
    """How far down a whole-space ranking the cells within `within` of the validation optimum lie, the
    validation regret of training its top k (what a search that starts from this ranking reaches in k
    trainings before it learns anything), and how many edits (ops changed; `ops`: each cell's ops) those
    cells lie from its top WARM_START, where the guided search's warm start puts its first trainings, with the
    best regret one edit from them (what a first step from the warm start can reach)."""
    order = np.argsort(-np.nan_to_num(prior, nan=-np.inf), kind="stable")
    rank = np.empty(len(order), dtype=int)
    rank[order] = np.arange(1, len(order) + 1)
    best = float(np.max(val))
    near = np.flatnonzero(val >= best - within)
    near = near[np.argsort(rank[near])]
    edits = (ops[:, None, :] != ops[order[:WARM_START]][None, :, :]).sum(axis=2).min(axis=1)
    return {"within": within, "val_optimum": best, "ranks": rank[near].tolist(),
            "edits_from_top_warm": edits[near].tolist(),
            "top_k_regret": {k: best - float(np.max(val[order[:k]])) for k in TOP_K},
            "regret_one_edit_from_top_warm": best - float(np.max(val[edits <= 1]))}


def write_markdown(result: dict) -> None:
    lines = ["NAS-Bench-201 proxy table: Spearman ρ [95% bootstrap interval], Kendall τ and top-10% precision of "
             f"each proxy and ensemble against the 200-epoch test accuracy (`test_acc`); batch {result['batch_size']} "
             f"of the dataset's default images, seed {result['seed']}. Cells: each proxy's saved chunks of 1,000 in "
             "the benchmark's index order (all 15,625 when complete); an ensemble's, the cells its members share.", ""]
    for dataset, entry in result["datasets"].items():
        lines += [f"**{dataset}**", "", "| proxy | cells | ρ [95%] | τ | top-10% | NaN | live-op cells | ρ [95%] | τ |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for name, by_target in entry["proxies"].items():
            m = by_target["test_acc"]
            lines.append(f"| {name} | {by_target['cells']} | {interval_text(m)} | {m['tau']:.3f} | {m['top10']:.3f} "
                         f"| {m['nan']} | {by_target['live_cells']} | {interval_text(m['live'])} | {m['live']['tau']:.3f} |")
        lines.append("")
    lines += [f"Live-op cells: the {result['live_cells']:,} cells in which every op other than `none` lies on a path "
              "from input to output (one per network once unused ops are dropped), the set the VKDNW authors' "
              "notebook correlates on; compare their published figures with these columns.", ""]
    duels = {d: e["zs_against_vkdnw_agg"] for d, e in result["datasets"].items() if "zs_against_vkdnw_agg" in e}
    if duels:
        lines += ["`zs` against VKDNW_agg on the same cells (VKDNW_agg's: where vkdnw is saved), each ranked within "
                  "them; ρ with `test_acc`, zs / VKDNW_agg:", "",
                  "| dataset | cells | zs / VKDNW_agg | live-op cells | zs / VKDNW_agg | live-op, not zs's tuning "
                  "cells | zs / VKDNW_agg |", "|---|---|---|---|---|---|---|"]
        for dataset, duel in duels.items():
            lines.append(f"| {dataset} | " + " | ".join(
                f"{duel[c]['cells']} | {duel[c]['zs']:.3f} / {duel[c]['vkdnw_agg']:.3f}"
                for c in ("all", "live", "live_held_out")) + " |")
        lines.append("")
    chosen = result.get("zs_selection")
    if chosen:
        since = ", ".join(chosen["complete_since"]) or "none"
        lines += [f"`zs` re-chosen on its {chosen['tuning_cells']:,} tuning cells (greedy forward selection on "
                  f"CIFAR-10 `val_acc`, among its candidates {', '.join(chosen['candidates'])}): "
                  f"**{', '.join(chosen['members'])}** (registered: {', '.join(ensembles.ENSEMBLES['zs'])}). "
                  f"Complete on all three datasets since, not candidates: {since}. The same selection among all "
                  f"of them picks **{', '.join(chosen['wider_members'])}** (row '{WIDER}': shown for a future "
                  "zs, not chosen between by these figures, which would pick by the accuracies they are judged "
                  "on). On the other "
                  f"{nb201.SPACE.size - chosen['tuning_cells']:,} cells, against `test_acc` (ρ [95%], τ; live-op "
                  "cells among them after the slash):", "",
                  "| ensemble | " + " | ".join(DATASETS) + " |", "|---|" + "---|" * len(DATASETS)]
        by = chosen["held_out_test_acc"]
        for label in (*HELD_OUT_ROWS, WIDER):
            lines.append(f"| {label} | " + " | ".join(
                f"{interval_text(by[d][label]['all'])}, {by[d][label]['all']['tau']:.3f} / "
                f"{by[d][label]['live']['rho']:.3f}, {by[d][label]['live']['tau']:.3f}" for d in DATASETS) + " |")
        lines.append("")
    lines += ["Compute: per proxy group, the hours its timed chunks took (wall clock, one single-threaded process "
              "each, beside other work) and the devices; chunks saved before timing was recorded are untimed.", "",
              "| group | " + " | ".join(DATASETS) + " |",
              "|---|" + "---|" * len(DATASETS)]
    for group in GROUPS:
        cells = [result["compute"].get(d, {}).get(group) for d in DATASETS]
        if any(cells):
            lines.append(f"| {group} | " + " | ".join(
                compute_text(c) if c else "—" for c in cells) + " |")
    lines.append("")
    near = {d: e["zs_near_optimum"] for d, e in result["datasets"].items() if "zs_near_optimum" in e}
    if near:
        lines += [f"The cells within {NEAR} of the validation optimum (`val_acc`), their places in the whole-space "
                  "`zs` ranking (whose members were chosen with 1,000 cells' CIFAR-10 `val_acc`) and the edits (ops "
                  f"changed) from the nearest of its top {WARM_START} (the guided search's warm start); the validation "
                  f"regret of the `zs` top k cells, and the best within one edit of its top {WARM_START}:", "",
                  "| dataset | val. optimum | cells within | their `zs` ranks (edits) | "
                  + " | ".join(f"regret of top {k}" for k in TOP_K) + f" | best one edit from top {WARM_START} |",
                  "|---|---|---|---|" + "---|" * (len(TOP_K) + 1)]
        for dataset, n in near.items():
            places = ", ".join(f"{r} ({e})" for r, e in zip(n["ranks"], n["edits_from_top_warm"]))
            lines.append(f"| {dataset} | {n['val_optimum']:.2f} | {len(n['ranks'])} | {places} | "
                         + " | ".join(f"{n['top_k_regret'][k]:.2f}" for k in TOP_K)
                         + f" | {n['regret_one_edit_from_top_warm']:.2f} |")
        lines.append("")
    (RESULTS / "nb201_table.md").write_text("\n".join(lines))


def compute_text(c: dict) -> str:
    devices = ", ".join(c["devices"])
    if not c["timed_chunks"]:
        return f"{c['chunks']} chunks, untimed ({devices})"
    return f"{c['hours']:.2f} h for {c['timed_chunks']} of {c['chunks']} chunks ({devices})"


def interval_text(m: dict) -> str:
    low, high = m["rho_95"]
    return f"{m['rho']:.3f} [{low:.2f}, {high:.2f}]"


def pack(archs: list) -> None:
    """Write every present chunk into the shipped score table, one column per (dataset, proxy)."""
    codes = np.array([a.code for a in archs])
    representatives = np.array([nb201.SPACE.function_representative(a).code for a in archs])
    columns, covered_cells, computed_on = [], {}, {}
    for dataset in DATASETS:
        spec = BatchSpec(dataset, batch_size=BATCH, seed=SEED)
        for group, (rows, parts) in saved_groups(dataset).items():
            devices = devices_of(parts)
            for name in GROUPS[group]:
                proxy = proxies.get(name)
                # The engine looks a function-only proxy up under the cell's class representative.
                key_of = representatives if proxy.function_only else codes  # by benchmark index
                values = np.full(nb201.SPACE.size, np.nan)
                values[key_of[rows]] = np.concatenate([p.values[name] for p in parts])
                covered = np.zeros(nb201.SPACE.size, dtype=bool)
                covered[key_of[rows]] = True
                reasons = {int(key_of[int(index)]): why for p in parts for index, why in p.failures[name].items()}
                columns.append(shipped.Column(scoring.setting_key(nb201.SPACE, spec), proxy.key, values, covered,
                                              reasons))
                verify(columns[-1], archs, rows, key_of, proxy, spec, devices)
                covered_cells[f"{dataset}/{name}"] = len(rows)
                computed_on[f"{dataset}/{name}"] = ",".join(devices)
    meta = {"space": nb201.SPACE.name, "network": scoring.NETWORK, "batch_size": BATCH, "seed": SEED,
            "threads": "chunks scored at 1 torch thread (a few early ones at 2); verified at 1",
            "images": "each dataset's default file (../shared/data/images); the setting key holds its digest",
            "cells": covered_cells, "computed_on": computed_on, "command": "python benchmarks/nb201_table.py",
            "packed_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    shipped.write(SHIPPED, columns, meta)
    start = time.perf_counter()
    shipped.ShippedScores(SHIPPED)
    print(f"packed {len(columns)} columns into {SHIPPED} ({SHIPPED.stat().st_size / 1e6:.2f} MB; loads in "
          f"{time.perf_counter() - start:.2f} s)")


def verify(column: shipped.Column, archs: list, rows: np.ndarray, key_of: np.ndarray, proxy,
           spec: BatchSpec, devices: list[str]) -> None:
    """Re-score VERIFIED_CELLS seeded cells of the column here with a fresh cache; refuse a column that
    differs by more than rounding, or by more than CUDA's rounding where CUDA computed some of it."""
    chosen = np.random.default_rng(SEED).choice(rows, VERIFIED_CELLS, replace=False)
    # One thread, as the workers score the chunks: epe_nas, for one, moves by up to 1% with the thread count.
    with torch_threads(1), tempfile.TemporaryDirectory() as folder:
        fresh = scoring.score([archs[int(i)] for i in chosen], [proxy], spec,
                              cache=ScoreCache(Path(folder))).scores[proxy.name]
    packed = column.values[key_of[chosen]]
    tolerance = ACROSS_DEVICES if devices != ["cpu"] else shipped.REPRODUCED_TO
    if not np.allclose(fresh, packed, rtol=tolerance, atol=0.0, equal_nan=True):
        raise SystemExit(f"{spec.dataset} {proxy.name}: the saved chunks hold {packed.tolist()} but the engine "
                         f"now computes {fresh.tolist()} for cells {chosen.tolist()}; rescore them")


def parse_chunks(text: str) -> list[int]:
    first, _, last = text.partition("-")
    return list(range(int(first), int(last or first) + 1))


def score_jobs(jobs: list[tuple[str, str, int]], archs: list, device: str, processes: int,
               deadline: float) -> None:
    """Score (dataset, group, chunk) jobs in order, in this process or in `processes` worker processes
    (one thread each: on a GPU they keep it busy, which one process cannot at batch 64)."""
    if processes <= 1:
        for job in jobs:
            score_chunk(*job, archs, device, deadline)
        return
    context = multiprocessing.get_context("spawn")
    failed = []
    with futures.ProcessPoolExecutor(processes, mp_context=context, initializer=_load_worker_archs) as pool:
        submitted = {pool.submit(_score_in_worker, *job, device, deadline): job for job in jobs}
        for done in futures.as_completed(submitted):
            if done.exception() is not None:  # the other chunks go on; this one's saved part stays
                failed.append(f"{' '.join(map(str, submitted[done]))}: {done.exception()!r}")
                print(f"failed: {failed[-1]}", flush=True)
    if failed:
        raise SystemExit(f"{len(failed)} chunks failed; the first: {failed[0]}")


_WORKER_ARCHS: list = []


def _load_worker_archs() -> None:
    torch.set_num_threads(1)
    _WORKER_ARCHS.extend(bench_archs())


def _score_in_worker(dataset: str, group: str, chunk: int, device: str, deadline: float) -> None:
    score_chunk(dataset, group, chunk, _WORKER_ARCHS, device, deadline, quiet=True)


def bench_archs() -> list:
    index = store.open_bench().index
    return [index.arch_at(i) for i in range(nb201.SPACE.size)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--groups", default=",".join(GROUPS))
    parser.add_argument("--chunks", default=f"0-{CHUNKS - 1}")
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (recorded in each chunk)")
    parser.add_argument("--processes", type=int, default=1, help="worker processes scoring chunks at once")
    parser.add_argument("--seconds", type=float, default=float("inf"),
                        help="start no slice of cells after this many seconds (saved parts resume later)")
    parser.add_argument("--report", action="store_true", help="only write the report from the saved chunks")
    parser.add_argument("--pack", action="store_true", help="only pack the saved chunks into the shipped table")
    parser.add_argument("--score-only", action="store_true", help="score the chunks, neither report nor pack")
    args = parser.parse_args()
    deadline = time.time() + args.seconds
    archs = bench_archs()
    if not (args.report or args.pack):
        # Group by group, so that a run cut short leaves whole columns of the first groups.
        jobs = [(dataset, group, chunk) for group in args.groups.split(",") for dataset in args.datasets.split(",")
                for chunk in parse_chunks(args.chunks)]
        score_jobs(jobs, archs, args.device, args.processes, deadline)
    if not (args.pack or args.score_only):
        report(archs)
    if not (args.report or args.score_only):
        pack(archs)


if __name__ == "__main__":
    main()
