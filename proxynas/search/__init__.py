"""Search strategies behind one ask/tell interface (`base.Strategy`), run by one loop (`loop.run_search`)."""

from __future__ import annotations

from proxynas.errors import ProxynasError
from proxynas.search.base import Strategy
from proxynas.search.loop import SearchResult, TabularEvaluator, TrainingEvaluator, run_search

__all__ = ["Strategy", "SearchResult", "TabularEvaluator", "TrainingEvaluator", "run_search", "make_strategy",
           "STRATEGIES"]

STRATEGIES = ("guided", "ls", "rea", "random")


def make_strategy(name: str, dataset: str, seed: int, **options) -> Strategy:
    """A strategy by name; `options` go to its constructor (e.g. `proxies` for guided)."""
    if name == "guided":
        from proxynas.search.guided import GuidedSearch as cls
    elif name == "ls":
        from proxynas.search.local_search import LocalSearch as cls
    elif name == "rea":
        from proxynas.search.evolution import RegularizedEvolution as cls
    elif name == "random":
        from proxynas.search.random_search import RandomSearch as cls
    else:
        raise ProxynasError(f"unknown strategy {name!r}; valid: {', '.join(STRATEGIES)}")
    return cls(dataset, seed, **options)
