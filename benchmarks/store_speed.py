"""Benchmark store speed: build time, open time, memory after open, query latency.

Usage: python benchmarks/store_speed.py [--repeats 5]
Writes benchmarks/results/store_speed.json and .md. Each measurement runs in a fresh process so
import and page-cache effects are the same for every repeat; the median is reported.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"

PROBE = r"""
import json, resource, sys, time
from pathlib import Path
import numpy as np
from proxynas.bench.nb201_store import NB201Bench, build_store
from proxynas import paths
store = Path(sys.argv[1])
if sys.argv[2] == "build":
    start = time.perf_counter(); build_store(paths.data_dir(), store)
    print(json.dumps({"build_s": time.perf_counter() - start})); sys.exit()
rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter(); bench = NB201Bench(store); open_s = time.perf_counter() - start
rng = np.random.default_rng(0)
archs = [bench.index.arch_at(int(i)) for i in rng.integers(0, 15625, 1000)]
start = time.perf_counter()
for arch in archs:
    bench.query(arch, "cifar10")
query_s = (time.perf_counter() - start) / len(archs)
rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"open_s": open_s, "query_s": query_s, "rss_added_mb": (rss_after - rss_before) / 1024}))
"""


def probe(store: Path, mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, str(store), mode], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "nb201.h5"
        builds = [probe(store, "build")["build_s"] for _ in range(args.repeats)]
        runs = [probe(store, "open") for _ in range(args.repeats)]
        size_mb = store.stat().st_size / 1e6
    result = {
        "machine": f"{platform.processor() or platform.machine()}, {platform.python_version()}",
        "repeats": args.repeats,
        "build_s": statistics.median(builds),
        "open_s": statistics.median(r["open_s"] for r in runs),
        "query_ms": 1000 * statistics.median(r["query_s"] for r in runs),
        "rss_added_by_open_and_queries_mb": statistics.median(r["rss_added_mb"] for r in runs),
        "store_mb": size_mb,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "store_speed.json").write_text(json.dumps(result, indent=2) + "\n")
    (RESULTS / "store_speed.md").write_text(
        "| build (s) | open (ms) | query (ms, cifar10, first includes column load) | memory added (MB) | file (MB) |\n"
        "|---|---|---|---|---|\n"
        f"| {result['build_s']:.2f} | {1000 * result['open_s']:.1f} | {result['query_ms']:.3f} "
        f"| {result['rss_added_by_open_and_queries_mb']:.1f} | {size_mb:.1f} |\n"
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
