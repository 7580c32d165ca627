"""A whole search from one value object: the strategy, its scoring function, the evaluator and the loop."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from proxynas import paths
from proxynas.errors import ProxynasError
from proxynas.search.base import get_strategy, get_strategy_class
from proxynas.search.evaluators import Evaluator, TabularEvaluator, TrainingEvaluator
from proxynas.search.loop import SearchResult, run_search


@dataclass(frozen=True)
class SearchSetup:
    """Everything a search is run with. `evaluator` "benchmark" queries the benchmark of `space`; "train"
    really trains on the images at `data` for `epochs` with batch `train_batch_size`."""

    space: str = "nb201"
    dataset: str = "cifar10"
    strategy: str = "guided"
    budget: int = 20
    seed: int = 0
    proxies: tuple[str, ...] | None = None  # the guided search's proxies (its default if None)
    time_budget: float | None = None
    evaluator: str = "benchmark"
    data: Path | None = None
    epochs: int = 200
    train_batch_size: int = 256
    device: str = "cpu"


def make_evaluator(setup: SearchSetup) -> Evaluator:
    if setup.evaluator == "train":
        if setup.data is None:
            raise ProxynasError("real training as the full training needs a data file (--data FILE)")
        from proxynas.train import TrainConfig

        return TrainingEvaluator(setup.data, TrainConfig(setup.epochs, setup.train_batch_size, seed=setup.seed),
                                 setup.device, paths.cache_dir() / "checkpoints")
    if setup.evaluator != "benchmark":
        raise ProxynasError(f"unknown evaluator {setup.evaluator!r}; valid: benchmark, train")
    from proxynas.bench import open_benchmark

    return TabularEvaluator(open_benchmark(setup.space), setup.dataset)


def search(setup: SearchSetup, progress=None) -> tuple[SearchResult, Evaluator]:
    """Run the search `setup` describes; the evaluator comes back too (real training keeps its histories)."""
    options = {}
    if get_strategy_class(setup.strategy).uses_proxies:
        from proxynas.data import BatchSpec
        from proxynas.scoring import scorer

        images = str(setup.data) if setup.evaluator == "train" else None  # proxies see the training data
        options["score"] = scorer(BatchSpec(setup.dataset, images=images), setup.device)
        if setup.proxies:
            options["proxies"] = setup.proxies
    elif setup.proxies:
        raise ProxynasError(f"strategy {setup.strategy} uses no proxies (--proxies is for proxy-guided strategies)")
    evaluator = make_evaluator(setup)
    strategy = get_strategy(setup.strategy, setup.space, setup.seed, **options)
    return run_search(strategy, evaluator, setup.budget, setup.seed, setup.time_budget, progress), evaluator
