"""proxynas: training-free neural architecture search over NAS benchmarks.

The public API, imported on first use (so `import proxynas` and the command line start at once):

    space = proxynas.get_space("nb201")                 # search spaces (register_space to add one)
    bench = proxynas.open_benchmark("nb201")            # the space's tabular benchmark
    table = proxynas.score(space.sample(10, 0), proxynas.get_proxies("synflow,nwot"), proxynas.BatchSpec("cifar10"))
    proxynas.correlation_table(table.scores, truth)     # Spearman, Kendall, top-10%, rank vote
    model = proxynas.Surrogate(proxynas.FeatureSpec(("onehot", "zc"), ("synflow",))).fit(X, y)
    result, _ = proxynas.SearchSetup(strategy="rea", budget=50).run()
"""

from __future__ import annotations

import importlib
import os

__version__ = "0.1.0"

# OpenMP threads that wait for work spin briefly, then sleep, unless the user chose a wait policy: libgomp's
# long default spin made scoring 5x slower beside two busy processes on a 2-core machine, PASSIVE made it
# 38% slower on a quiet one; 10,000 spins keeps the quiet speed and PASSIVE's speed under load
# (benchmarks/results/speed_under_load.md). It takes effect when proxynas is imported before torch (always
# so for the command line).
if "OMP_WAIT_POLICY" not in os.environ:
    os.environ.setdefault("GOMP_SPINCOUNT", "10000")

_EXPORTS = {
    "get_space": "proxynas.spaces.base", "register_space": "proxynas.spaces.base",
    "space_names": "proxynas.spaces.base", "SearchSpace": "proxynas.spaces.base",
    "CellSpace": "proxynas.spaces.cell", "CellArch": "proxynas.spaces.cell",
    "get_task": "proxynas.tasks", "register_task": "proxynas.tasks", "Task": "proxynas.tasks",
    "Metric": "proxynas.tasks",
    "open_benchmark": "proxynas.bench", "TabularBenchmark": "proxynas.bench.base",
    "InMemoryBenchmark": "proxynas.bench.base",
    "BatchSpec": "proxynas.data", "score": "proxynas.scoring", "scorer": "proxynas.scoring",
    "get_proxies": "proxynas.proxies", "register_proxy": "proxynas.proxies",
    "register_product": "proxynas.proxies",
    "correlation_table": "proxynas.metrics", "rank_vote": "proxynas.metrics",
    "FeatureSpec": "proxynas.features", "build_features": "proxynas.features", "Surrogate": "proxynas.surrogate",
    "fit_on_benchmark": "proxynas.modelling", "select_archs": "proxynas.selection",
    "run_search": "proxynas.search", "SearchSetup": "proxynas.search",
    "get_strategy": "proxynas.search", "register_strategy": "proxynas.search", "strategy_names": "proxynas.search",
    "TabularEvaluator": "proxynas.search", "TrainingEvaluator": "proxynas.search",
    "ProxynasError": "proxynas.errors",
}
_RENAMED = {"get_proxies": "parse_list", "register_proxy": "register", "build_features": "build"}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module 'proxynas' has no attribute {name!r}")
    value = getattr(importlib.import_module(_EXPORTS[name]), _RENAMED.get(name, name))
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
