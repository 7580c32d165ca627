"""The scoring engine: architectures x proxies -> scores, deduplicated, cached, resumable.

Function-only proxies are computed once per function class (on its representative cell) and
fanned out to every member; the others once per cell. All proxies of one cell share a single
`Probe`, so the shared forward/backward runs once. On CUDA out-of-memory the cell is retried with
the batch split into 2, 4, ... chunks; proxies that cannot be split get NaN with a reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from proxynas import paths
from proxynas.cache import ScoreCache
from proxynas.data import BatchSpec, make_batch
from proxynas.devices import memory_format
from proxynas.proxies import Probe, Proxy, ScoreFailure
from proxynas.proxies.probe import full_precision
from proxynas.errors import ProxynasError
from proxynas.spaces.base import SearchSpace

FLUSH_SECONDS = 30.0
NETWORK = "bn=zero-cost|init=torch-default|float32"


def setting_key(space: SearchSpace, spec: BatchSpec) -> str:
    """Everything besides proxy and cell that changes a score: space, network convention, input."""
    return f"{space.name}|{NETWORK}|{spec.key()}"


@dataclass
class ScoreTable:
    """Scores in the order of the requested archs; NaN where a proxy failed (`failures` says why)."""

    archs: list
    proxies: list[str]
    scores: dict[str, np.ndarray]
    failures: dict[str, dict[int, str]] = field(default_factory=dict)
    computed_cells: int = 0  # cells whose network was actually evaluated in this run
    cached_values: int = 0  # (cell, proxy) values found in the cache
    shared_by_class: list[str] = field(default_factory=list)  # proxies scored once per function class

    def nan_counts(self) -> dict[str, int]:
        return {p: int(np.isnan(v).sum()) for p, v in self.scores.items()}


def score(archs: Sequence, proxies: Sequence[Proxy], spec: BatchSpec, device: str = "cpu",
          cache: ScoreCache | None = None, progress: Callable[[int, int], None] | None = None,
          flush_seconds: float = FLUSH_SECONDS) -> ScoreTable:
    """Score every arch with every proxy, reading and filling `cache` (default: cache/scores).

    New values are flushed to the cache at least every `flush_seconds`, so a killed run loses no more.
    """
    cache = cache if cache is not None else ScoreCache(paths.cache_dir() / "scores")
    spaces = {arch.space for arch in archs}
    if len(spaces) > 1:
        raise ProxynasError("one scoring run takes architectures of one search space")
    setting = setting_key(spaces.pop(), spec) if archs else ""
    jobs: dict = {}
    for arch in archs:
        for proxy in proxies:
            target = _target(arch, proxy)
            if cache.get(setting, proxy.key, target.code) is None and proxy not in jobs.setdefault(target, []):
                jobs[target].append(proxy)
    jobs = {a: ps for a, ps in sorted(jobs.items(), key=lambda item: item[0].code) if ps}

    if jobs:
        _run_jobs(jobs, spec, device, cache, setting, progress, flush_seconds)
    cache.compact()

    table = ScoreTable(list(archs), [p.name for p in proxies], {}, computed_cells=len(jobs),
                       shared_by_class=[p.name for p in proxies if p.function_only])
    table.cached_values = sum(1 for arch in archs for proxy in proxies  # class-mates computed now are not cached
                              if proxy not in jobs.get(_target(arch, proxy), ()))
    for proxy in proxies:
        values = np.empty(len(archs))
        for row, arch in enumerate(archs):
            values[row], reason = cache.get(setting, proxy.key, _target(arch, proxy).code)
            if reason:
                table.failures.setdefault(proxy.name, {})[row] = reason
        table.scores[proxy.name] = values
    return table


def scorer(spec: BatchSpec, device: str = "cpu", cache: ScoreCache | None = None,
           progress: Callable[[int, int], None] | None = None) -> Callable:
    """A scoring function for strategies: `(archs, proxy names) -> {name: scores}` through this engine, with
    one cache for every call (so a strategy's repeated calls do not reread the cache folder)."""
    from proxynas import proxies as registry

    cache = cache if cache is not None else ScoreCache(paths.cache_dir() / "scores")

    def score_columns(archs, names) -> dict[str, np.ndarray]:
        return score(archs, [registry.get(n) for n in names], spec, device, cache, progress).scores

    return score_columns


def _run_jobs(jobs: dict, spec: BatchSpec, device: str, cache: ScoreCache, setting: str, progress,
              flush_seconds: float) -> None:
    """Evaluate each job's cell once for all its proxies and put the values in `cache`, flushing as it goes."""
    inputs, labels = make_batch(spec)
    inputs = inputs.to(device).contiguous(memory_format=memory_format(device))
    labels = labels.to(device)
    last_flush = time.monotonic()
    try:
        for done, (arch, todo) in enumerate(jobs.items(), start=1):
            for proxy, (value, reason) in _score_cell(arch, todo, spec, inputs, labels).items():
                cache.put(setting, proxy.key, arch.code, value, reason)
            if time.monotonic() - last_flush >= flush_seconds:
                cache.flush()
                last_flush = time.monotonic()
            if progress:
                progress(done, len(jobs))
    finally:
        cache.flush()


def _target(arch, proxy: Proxy):
    return arch.space.function_representative(arch) if proxy.function_only else arch


def _score_cell(arch, proxies, spec, inputs, labels) -> dict[Proxy, tuple[float, str]]:
    """Values (or NaN and a reason) of `proxies` on one cell, splitting the batch on out-of-memory."""
    import torch

    results: dict[Proxy, tuple[float, str]] = {}
    todo, chunks = list(proxies), 1
    with full_precision():  # GPU scores equal the CPU's up to float32 rounding
        while todo:
            probe = Probe(arch, spec.dataset, inputs, labels, spec.seed, frozenset().union(*(p.needs for p in todo)),
                          all(p.function_only for p in todo), chunks)
            try:
                while todo:
                    results[todo[0]] = _run(todo[0], probe)
                    todo.pop(0)
            except torch.OutOfMemoryError:
                del probe
                if inputs.is_cuda:
                    torch.cuda.empty_cache()
                chunks *= 2
                for proxy in todo:
                    if chunks > len(inputs):
                        results[proxy] = (float("nan"), "out of memory even with one sample per chunk")
                    elif not proxy.splittable:
                        results[proxy] = (float("nan"), f"out of memory; {proxy.name} cannot be split into batch chunks")
                todo = [p for p in todo if p not in results]
    return {p: results[p] for p in proxies}


def _run(proxy: Proxy, probe: Probe) -> tuple[float, str]:
    """One proxy's value, or NaN and the reason it has none (never a sentinel)."""
    try:
        value = float(proxy.compute(probe))
    except ScoreFailure as failure:
        return float("nan"), str(failure)
    if not np.isfinite(value):
        return float("nan"), f"non-finite value ({value})"
    return value, ""
