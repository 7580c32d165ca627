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
    zc_source: str | None = None  # where those come from: "engine" (computed) or a source in the benchmark;
    # None: the engine, or the space's default source (defaults.GUIDED_SOURCE) when no proxies are named
    time_budget: float | None = None
    evaluator: str = "benchmark"
    data: Path | None = None
    epochs: int | None = None  # real training: 200 if None; a differentiable search: its own default (50)
    train_batch_size: int = 256
    device: str = "cpu"
    candidates: int = 10  # zc-pt: cells proposed before the best-scoring one is trained
    edge_order: str = "random"  # zc-pt: order in which edges are decided
    select: str | None = None  # differentiable searches: argmax of alpha or perturb (DARTS-PT); None: the strategy's

    def run(self, progress=None, scoring_progress=None) -> tuple[SearchResult, Evaluator]:
        """Run this search; the evaluator comes back too (real training keeps its histories). `progress` gets
        (trainings done, budget); `scoring_progress` (networks scored, to score) while the engine scores
        candidates, which at TransNAS's 256 pixels takes seconds per cell."""
        evaluator, options = make_evaluator(self), {}
        if get_strategy_class(self.strategy).one_shot:
            options.update(get_strategy_class(self.strategy).setup_options(self))
        elif get_strategy_class(self.strategy).uses_proxies:
            source, proxies = self._source_and_proxies()
            options["score"] = self._scorer(evaluator, source, scoring_progress)
            options.update(self.proxy_options(proxies or (), source))
        elif self.proxies:
            raise ProxynasError(f"strategy {self.strategy} uses no proxies (--proxies is for proxy-guided strategies)")
        strategy = get_strategy(self.strategy, self.space, self.seed, **options)
        return run_search(strategy, evaluator, self.budget, self.seed, self.time_budget, progress), evaluator

    def proxy_options(self, names: tuple[str, ...], source: str) -> dict:
        """The proxies, and an ensemble among them as the prior (first named); with a prior whose members are
        shipped or cached for every cell, the whole space as the candidate pool, searched within a radius by the
        trees' mean alone."""
        from proxynas.ensembles import ENSEMBLES

        named = [n for n in names if n in ENSEMBLES]
        options = {"proxies": tuple(n for n in names if n not in ENSEMBLES)} if names else {}
        if not named:
            return options
        options["prior"] = named[0]
        if source == "engine":
            from proxynas import proxies, scoring
            from proxynas.spaces.base import get_space

            space = get_space(self.space)
            members = proxies.parse_list(",".join(ENSEMBLES[named[0]]))
            if scoring.uncached(space.all_archs(), members, self._batch()) == 0:
                from proxynas.search.guided import WHOLE_SPACE_KAPPA, WHOLE_SPACE_RADIUS

                options.update(pool=space.size, radius=WHOLE_SPACE_RADIUS, kappa=WHOLE_SPACE_KAPPA)
        return options

    def _source_and_proxies(self) -> tuple[str, tuple[str, ...] | None]:
        if self.zc_source is not None or self.proxies:
            return self.zc_source or "engine", self.proxies
        from proxynas.defaults import GUIDED_SOURCE

        return GUIDED_SOURCE.get(self.space, ("engine", None))

    def _scorer(self, evaluator: Evaluator, source: str, progress=None):
        if source != "engine":
            from proxynas.bench import open_benchmark
            from proxynas.features import precomputed_scorer

            bench = getattr(evaluator, "bench", None) or open_benchmark(self.space)
            return precomputed_scorer(bench, source, self.dataset)
        from proxynas.scoring import scorer

        return scorer(self._batch(), self.device, progress=progress)

    def _batch(self):
        """The proxies' input batch: the dataset's default images, or the training data when really training."""
        from proxynas.data import BatchSpec

        return BatchSpec(self.dataset, images=str(self.data) if self.evaluator == "train" else None)


def make_evaluator(setup: SearchSetup) -> Evaluator:
    if setup.evaluator == "train":
        if setup.data is None:
            raise ProxynasError("real training as the full training needs a data file (--data FILE)")
        from proxynas.train import TrainConfig

        return TrainingEvaluator(setup.data, TrainConfig(setup.epochs or 200, setup.train_batch_size, seed=setup.seed),
                                 setup.device, paths.cache_dir() / "checkpoints")
    if setup.evaluator != "benchmark":
        raise ProxynasError(f"unknown evaluator {setup.evaluator!r}; valid: benchmark, train")
    from proxynas.bench import open_benchmark

    return TabularEvaluator(open_benchmark(setup.space), setup.dataset)
