"""The search loop: ask, fully train, tell, until the budget of full trainings (or wall-clock) is spent.

The loop owns the budget accounting for every strategy. A "full training" goes through an
evaluator; on a tabular benchmark that is a counted `query` of the store, sealed so that nothing
else can read the ground truth while the search runs. The report metric is read only after the
search. Strategies maximise: for a lower-is-better metric the loop tells them the negated value.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from proxynas.errors import ProxynasError
from proxynas.search.base import SpaceExhausted, Strategy
from proxynas.search.evaluators import Evaluator


@dataclass
class Step:
    trainings: int
    arch: str
    val_acc: float  # the search metric's value (NB201: 200-epoch validation accuracy)
    best_val_acc: float
    best_arch: str
    compute_seconds: float
    train_hours: float


@dataclass
class SearchResult:
    strategy: str
    dataset: str
    seed: int
    best_arch: str
    val_acc: float  # search metric of the best architecture
    test_acc: float  # report metric of the best architecture (NaN without one)
    trainings: int
    train_hours: float
    compute_seconds: float
    stopped_by: str  # "budget", "time", "space" (every architecture trained) or "derived" (one-shot: its cell)
    search_metric: str = "val_acc"
    report_metric: str = "test_acc"
    search_hours: float = 0.0  # compute spent outside full trainings (one-shot methods)
    trajectory: list[Step] = field(default_factory=list)
    search_log: dict = field(default_factory=dict)  # a one-shot strategy's own record of its search

    def to_dict(self) -> dict:
        return asdict(self)


def run_search(strategy: Strategy, evaluator: Evaluator, budget: int, seed: int, time_budget: float | None = None,
               progress: Callable[[int, int], None] | None = None) -> SearchResult:
    """Run `strategy` until `budget` full trainings (or `time_budget` seconds, or the space) are used."""
    if budget < 1:
        raise ProxynasError("the budget must allow at least one full training")
    task = evaluator.task
    sign = 1.0 if task.search_metric.higher_is_better else -1.0
    start = time.perf_counter()
    trained: dict = {}
    trajectory: list[Step] = []
    best: tuple | None = None
    stopped_by = "budget"
    with evaluator.sealed():
        while len(trained) < budget:
            if time_budget is not None and time.perf_counter() - start >= time_budget:
                stopped_by = "time"
                break
            try:
                arch = strategy.ask()
            except SpaceExhausted:
                stopped_by = "space"
                break
            if arch in trained:
                raise ProxynasError(f"strategy {strategy.name} asked to retrain {arch}")
            trained[arch] = value = evaluator.train(arch)
            strategy.tell(arch, sign * value)
            if best is None or task.better(value, best[1]):
                best = (arch, value)
            trajectory.append(Step(len(trained), str(arch), value, best[1], str(best[0]),
                                   time.perf_counter() - start, evaluator.train_hours()))
            if progress:
                progress(len(trained), budget)
            if strategy.one_shot:
                stopped_by = "derived"
                break
    if best is None:
        raise ProxynasError("the time budget ran out before the first full training")
    return SearchResult(strategy.name, task.name, seed, str(best[0]), best[1], evaluator.report_value(best[0]),
                        len(trained), evaluator.train_hours(), time.perf_counter() - start, stopped_by,
                        task.search_metric.name, task.report_metric.name,
                        evaluator.search_hours + strategy.search_seconds / 3600, trajectory, strategy.search_log)
