"""Tabular benchmarks: the ground truth of a search space, as counted full trainings and free analysis columns."""

from __future__ import annotations

import importlib

from proxynas.errors import ProxynasError

# The benchmark of each space: "module:opener". Adding a benchmark is adding its module and a line here.
_OPENERS = {"nb201": "proxynas.bench.nb201_store:open_bench", "tnb101": "proxynas.bench.tnb101_store:open_bench"}


def open_benchmark(space: str = "nb201", **options):
    """The tabular benchmark of `space` (built on first use); a space without one is a clear error."""
    if space not in _OPENERS:
        raise ProxynasError(f"no tabular benchmark for search space {space!r}; benchmarks exist for: "
                            f"{', '.join(sorted(_OPENERS))}")
    module, function = _OPENERS[space].split(":")
    return getattr(importlib.import_module(module), function)(**options)


def benchmark_spaces() -> list[str]:
    """The spaces that have a tabular benchmark."""
    return sorted(_OPENERS)
