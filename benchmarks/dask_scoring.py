"""Scoring on a local Dask cluster against one single-threaded process, on this machine.

Usage: python benchmarks/dask_scoring.py [--cells 200] [--workers 2] [--chunks 1,4,16]
Scores a seeded sample of NB201 cells (seed 0, CIFAR-10 images, batch 64; synflow, grad_norm,
jacob_cov), each run with a fresh cache: (1) in one process on one thread; (2) with `--workers`
single-threaded worker processes for each chunk size (cluster start-up timed apart); (3) a fault run:
one worker killed (SIGKILL) after the first quarter of the cells, reporting values lost and the time
lost against run (2). Values must equal run (1). Writes results/dask_scoring.{json,md}. Run it on an
otherwise idle machine.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from proxynas import proxies, scoring
from proxynas.cache import ScoreCache
from proxynas.dask_executor import WORKER_ENVIRONMENT, DaskExecutor
from proxynas.data import BatchSpec
from proxynas.spaces import nb201

RESULTS = Path(__file__).resolve().parent / "results"
SPEC = BatchSpec("cifar10", batch_size=64, seed=0)
PROXIES = "synflow,grad_norm,jacob_cov"


def timed_score(archs, executor=None, on_progress=None):
    with tempfile.TemporaryDirectory() as cache:
        start = time.perf_counter()
        table = scoring.score(archs, proxies.parse_list(PROXIES), SPEC, cache=ScoreCache(Path(cache)),
                              executor=executor, progress=on_progress)
        return table, time.perf_counter() - start


def on_cluster(archs, workers: int, chunk: int, kill_at: int | None = None):
    """(table, seconds scoring, seconds starting the cluster) on a fresh local cluster."""
    import dask
    import distributed

    start = time.perf_counter()
    with dask.config.set({"distributed.nanny.pre-spawn-environ": WORKER_ENVIRONMENT}):  # as --workers starts them
        cluster = distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                           dashboard_address=None)
    client = distributed.Client(cluster)
    client.wait_for_workers(workers)
    client.run(lambda: __import__("proxynas.jobs"))  # workers import torch before the clock starts
    startup = time.perf_counter() - start

    def kill(done, total):
        if kill_at is not None and done == kill_at:
            os.kill(next(iter(client.run(os.getpid).values())), signal.SIGKILL)

    try:
        table, seconds = timed_score(archs, DaskExecutor(cluster.scheduler_address, chunk_size=chunk), kill)
    finally:
        client.close()
        cluster.close()
    return table, seconds, startup


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunks", default="1,4,16")
    args = parser.parse_args()
    archs = nb201.sample(args.cells, 0)
    torch.set_num_threads(1)
    single, single_seconds = timed_score(archs)
    networks = single.computed_cells
    result = {"cells": args.cells, "networks": networks, "workers": args.workers, "proxies": PROXIES,
              "single_process_seconds": single_seconds, "cpus": os.cpu_count(), "chunks": {}}
    print(f"single process, 1 thread: {single_seconds:.1f} s for {networks} networks", flush=True)
    for chunk in (int(c) for c in args.chunks.split(",")):
        table, seconds, startup = on_cluster(archs, args.workers, chunk)
        identical = all(np.array_equal(table.scores[p], single.scores[p], equal_nan=True) for p in single.scores)
        ideal = single_seconds / args.workers
        result["chunks"][str(chunk)] = {
            "seconds": seconds, "startup_seconds": startup, "speedup": single_seconds / seconds,
            "identical_values": identical,
            "overhead_per_chunk_seconds": max(0.0, seconds - ideal) / -(-networks // chunk),
            "overhead_share": max(0.0, seconds - ideal) / seconds}
        print(chunk, result["chunks"][str(chunk)], flush=True)
    best = max(result["chunks"], key=lambda c: result["chunks"][c]["speedup"])
    table, seconds, _ = on_cluster(archs, args.workers, int(best), kill_at=max(1, networks // 4))
    lost = sum(int(np.sum(np.isnan(table.scores[p]) & ~np.isnan(single.scores[p]))) for p in single.scores)
    result["fault"] = {"chunk": int(best), "killed_after": max(1, networks // 4), "seconds": seconds,
                       "values_lost": lost, "seconds_lost": seconds - result["chunks"][best]["seconds"],
                       "identical_values": all(np.array_equal(table.scores[p], single.scores[p], equal_nan=True)
                                               for p in single.scores)}
    print("fault", result["fault"], flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "dask_scoring.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [f"{args.cells} NB201 cells ({networks} networks after function dedup; {PROXIES}; CIFAR-10 batch 64) on "
             f"this {result['cpus']}-core CPU: one process on one thread took {single_seconds:.1f} s.", "",
             f"| chunk (cells) | {args.workers} workers (s) | speed-up | overhead per chunk (s) | overhead share | "
             "cluster start (s) | values identical |", "|---|---|---|---|---|---|---|"]
    for chunk, row in result["chunks"].items():
        lines.append(f"| {chunk} | {row['seconds']:.1f} | {row['speedup']:.2f}x | {row['overhead_per_chunk_seconds']:.3f} "
                     f"| {100 * row['overhead_share']:.1f}% | {row['startup_seconds']:.1f} | "
                     f"{'yes' if row['identical_values'] else 'no'} |")
    fault = result["fault"]
    lines += ["", f"Fault run (chunk {fault['chunk']}): one worker killed after {fault['killed_after']} networks; "
              f"values lost {fault['values_lost']}, values identical to the single process: "
              f"{'yes' if fault['identical_values'] else 'no'}, time lost {fault['seconds_lost']:.1f} s "
              f"({fault['seconds']:.1f} s in all). Overhead = time beyond single/workers, spread over the chunks."]
    (RESULTS / "dask_scoring.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
