"""The scoring engine: architectures x proxies -> scores, deduplicated, cached, resumable.

Function-only proxies are computed once per function class (on its representative cell) and
fanned out to every member; the others once per cell. The engine plans the jobs (a cell and the
proxies it still needs), runs them through an executor (`executors.py`; each job is evaluated by
`jobs.py` with one shared `Probe`, splitting the batch on out-of-memory), and alone writes the cache.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from proxynas.cache import ScoreCache, default_cache
from proxynas.data import BatchSpec
from proxynas.errors import ProxynasError
from proxynas.executors import InProcessExecutor
from proxynas.proxies import Proxy
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
          flush_seconds: float = FLUSH_SECONDS, executor=None) -> ScoreTable:
    """Score every arch with every proxy, reading and filling `cache` (default: cache/scores).

    The uncached (representative cell, proxies) jobs run through `executor` (default: in this process on
    `device`); new values are flushed to the cache at least every `flush_seconds`, so a killed run loses
    no more.
    """
    cache = cache if cache is not None else default_cache()
    setting, targets, jobs = _plan(archs, proxies, spec, cache)
    if jobs:
        _drive(jobs, spec, executor or InProcessExecutor(device), cache, setting, progress, flush_seconds)
        cache.compact()  # only after new segments: merges once there are enough of them

    table = ScoreTable(list(archs), [p.name for p in proxies], {}, computed_cells=len(jobs),
                       shared_by_class=[p.name for p in proxies if p.function_only])
    table.cached_values = sum(1 for proxy in proxies for target in targets[proxy]  # class-mates computed now
                              if proxy not in jobs.get(target, ()))                 # are not cached
    for proxy in proxies:
        values = np.empty(len(archs))
        for row, target in enumerate(targets[proxy]):
            values[row], reason = cache.get(setting, proxy.key, target.code)
            if reason:
                table.failures.setdefault(proxy.name, {})[row] = reason
        table.scores[proxy.name] = values
    return table


def uncached(archs: Sequence, proxies: Sequence[Proxy], spec: BatchSpec, cache: ScoreCache | None = None) -> int:
    """How many networks `score` would evaluate for these archs and proxies (0: all cached or shipped)."""
    return len(_plan(archs, proxies, spec, cache if cache is not None else default_cache())[2])


def _plan(archs: Sequence, proxies: Sequence[Proxy], spec: BatchSpec, cache: ScoreCache) -> tuple[str, dict, dict]:
    """(setting key, whom each proxy is scored on per arch, the uncached jobs: cell -> its proxies)."""
    spaces = {arch.space for arch in archs}
    if len(spaces) > 1:
        raise ProxynasError("one scoring run takes architectures of one search space")
    if archs:
        next(iter(spaces)).task(spec.dataset)  # a task of another space is a clear error
    setting = setting_key(spaces.pop(), spec) if archs else ""
    # Whom each (cell, proxy) is scored on: the cell, or for function-only proxies its class representative.
    representatives = ([arch.space.function_representative(arch) for arch in archs]
                       if any(p.function_only for p in proxies) else [])
    targets = {p: representatives if p.function_only else list(archs) for p in proxies}
    jobs: dict = {}
    for proxy in proxies:
        for target in targets[proxy]:
            if cache.get(setting, proxy.key, target.code) is None and proxy not in jobs.setdefault(target, []):
                jobs[target].append(proxy)
    return setting, targets, {a: ps for a, ps in sorted(jobs.items(), key=lambda item: item[0].code) if ps}


def scorer(spec: BatchSpec, device: str = "cpu", cache: ScoreCache | None = None,
           progress: Callable[[int, int], None] | None = None) -> Callable:
    """A scoring function for strategies: `(archs, proxy names) -> {name: scores}` through this engine, with
    one cache for every call (so a strategy's repeated calls do not reread the cache folder)."""
    from proxynas import proxies as registry

    cache = cache if cache is not None else default_cache()

    def score_columns(archs, names) -> dict[str, np.ndarray]:
        return score(archs, [registry.get(n) for n in names], spec, device, cache, progress).scores

    return score_columns


def _drive(jobs: dict, spec: BatchSpec, executor, cache: ScoreCache, setting: str, progress,
           flush_seconds: float) -> None:
    """Put every job's results in `cache` as the executor yields them, flushing at least every `flush_seconds`:
    the first cell at once, then after 1, 2, 4, ... seconds up to that bound, so a short run killed early
    keeps what it did."""
    last_flush, wait = time.monotonic(), 0.0
    try:
        for done, (arch, results) in enumerate(executor.run(list(jobs.items()), spec), start=1):
            for proxy, (value, reason) in results.items():
                cache.put(setting, proxy.key, arch.code, value, reason)
            if time.monotonic() - last_flush >= wait:
                cache.flush()
                last_flush, wait = time.monotonic(), min(flush_seconds, max(1.0, 2 * wait))
            if progress:
                progress(done, len(jobs))
    finally:
        cache.flush()
