"""Would a wider candidate set have chosen a different zs? zs's members were chosen among the proxies then
tabulated over the whole NB201 space (`ensembles.ZS_CANDIDATES`); this re-runs the same greedy selection
on the same 1,000 tuning cells (`ensembles.tuning_cells()`, CIFAR-10 `val_acc`) among every registered
proxy that costs at most 1 s per cell in `results/proxy_speed.json`.

Usage: python benchmarks/zs_candidates.py
Scores: CIFAR-10, batch 64 of the default images, seed 0 (the whole-space table's setting), through the
score cache, so a killed run resumes and the shipped table's columns cost nothing. Every ρ here is on the
tuning cells the selection saw, so it says which members win there, not how well they rank elsewhere.
Writes benchmarks/results/zs_candidates.{json,md}.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from proxynas import ensembles, proxies, scoring
from proxynas.bench import nb201_store as store
from proxynas.data import BatchSpec

RESULTS = Path(__file__).resolve().parent / "results"
MAX_SECONDS = 1.0  # per cell, the rule zs's candidates met


def main() -> None:
    speed = json.loads((RESULTS / "proxy_speed.json").read_text())["per_cell"]
    candidates = sorted(n for n in proxies.names() if n in speed and speed[n]["median_s"] <= MAX_SECONDS)
    bench = store.open_bench()
    tuning = np.flatnonzero(ensembles.tuning_cells())
    table = scoring.score([bench.index.arch_at(int(i)) for i in tuning], [proxies.get(n) for n in candidates],
                          BatchSpec("cifar10", batch_size=64, seed=0),
                          progress=lambda d, t: print(f"\r{d}/{t}", end="", flush=True))
    truth = bench.column("cifar10", "val_acc")[tuning]
    members = ensembles.greedy_members(table.scores, truth, candidates)
    registered = list(ensembles.ENSEMBLES["zs"])

    def rho(chosen: list[str]) -> float:
        return ensembles.log_rank_rho(table.scores, chosen, truth)

    result = {"tuning_cells": len(tuning), "target": "cifar10 val_acc", "max_seconds_per_cell": MAX_SECONDS,
              "candidates": candidates, "members": members, "registered": registered,
              "tuning_rho": {"wider choice": rho(members), "registered zs": rho(registered)},
              "single_tuning_rho": {n: rho([n]) for n in candidates},
              "nan": {n: int(np.isnan(table.scores[n]).sum()) for n in candidates},
              "networks_computed_this_run": table.computed_cells}
    (RESULTS / "zs_candidates.json").write_text(json.dumps(result, indent=2, allow_nan=True) + "\n")
    lines = [f"Greedy selection of a log-rank ensemble on zs's {len(tuning):,} tuning cells (CIFAR-10 `val_acc`) "
             f"among every proxy costing at most {MAX_SECONDS:.0f} s per cell (`proxy_speed.json`): "
             f"{', '.join(candidates)}.", "",
             f"- chosen: **{', '.join(members)}** (ρ {rho(members):.3f} on these cells)",
             f"- registered zs: {', '.join(registered)} (ρ {rho(registered):.3f} on these cells)",
             "", "Single proxies on these cells (ρ of the log-rank, in the registered direction, a NaN ranked "
             "last as in an ensemble):", "",
             "| proxy | ρ | NaN |", "|---|---|---|"]
    lines += [f"| {n} | {result['single_tuning_rho'][n]:.3f} | {result['nan'][n]} |" for n in candidates]
    (RESULTS / "zs_candidates.md").write_text("\n".join(lines) + "\n")
    print(f"\nchosen {members}; registered {registered}")


if __name__ == "__main__":
    main()
