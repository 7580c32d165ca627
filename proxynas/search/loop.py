"""The search loop: ask, fully train, tell, until the budget of full trainings (or wall-clock) is spent.

The loop owns the budget accounting for every strategy. A "full training" goes through an
evaluator; on a tabular benchmark that is a counted `query` of the store, sealed so that nothing
else can read accuracies while the search runs. Test accuracy is read only after the search.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from proxynas.errors import ProxynasError
from proxynas.search.base import Strategy
from proxynas.spaces import nb201


class TabularEvaluator:
    """Full training = the benchmark's 200-epoch validation accuracy, counted with its simulated time."""

    def __init__(self, bench, dataset: str):
        self.bench, self.dataset = bench, dataset
        self._seconds_before = bench.cost.train_seconds  # the store's counter spans every search on it

    def sealed(self):
        return self.bench.sealed()

    def train(self, arch: nb201.Arch) -> float:
        return self.bench.query(arch, self.dataset)["val_acc"]

    def train_hours(self) -> float:
        return (self.bench.cost.train_seconds - self._seconds_before) / 3600

    def test_accuracy(self, arch: nb201.Arch) -> float:
        return float(self.bench.column(self.dataset, "test_acc")[self.bench.index.index_of(arch)])


@dataclass
class Step:
    trainings: int
    arch: str
    val_acc: float
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
    val_acc: float
    test_acc: float
    trainings: int
    train_hours: float
    compute_seconds: float
    stopped_by: str  # "budget" or "time"
    trajectory: list[Step] = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


def run_search(strategy: Strategy, evaluator, budget: int, seed: int, time_budget: float | None = None,
               progress: Callable[[int, int], None] | None = None) -> SearchResult:
    """Run `strategy` until `budget` full trainings (or `time_budget` seconds) are used."""
    if budget < 1:
        raise ProxynasError("the budget must allow at least one full training")
    start = time.perf_counter()
    trained: dict[nb201.Arch, float] = {}
    trajectory: list[Step] = []
    best: tuple[nb201.Arch, float] | None = None
    stopped_by = "budget"
    with evaluator.sealed():
        while len(trained) < budget:
            if time_budget is not None and time.perf_counter() - start >= time_budget:
                stopped_by = "time"
                break
            arch = strategy.ask()
            if arch in trained:
                raise ProxynasError(f"strategy {strategy.name} asked to retrain {arch}")
            trained[arch] = accuracy = evaluator.train(arch)
            strategy.tell(arch, accuracy)
            if best is None or accuracy > best[1]:
                best = (arch, accuracy)
            trajectory.append(Step(len(trained), str(arch), accuracy, best[1], str(best[0]),
                                   time.perf_counter() - start, evaluator.train_hours()))
            if progress:
                progress(len(trained), budget)
    if best is None:
        raise ProxynasError("the time budget ran out before the first full training")
    return SearchResult(strategy.name, strategy.dataset, seed, str(best[0]), best[1],
                        evaluator.test_accuracy(best[0]), len(trained), evaluator.train_hours(),
                        time.perf_counter() - start, stopped_by, trajectory)


class TrainingEvaluator:
    """Full training = really training the cell on an image dataset (`proxynas.train`); the budget counts
    these runs. There is no test split, so the result's test accuracy is NaN."""

    def __init__(self, source, config, device: str = "cpu", checkpoint_dir=None, progress=None):
        from proxynas.train import load_split

        self.source, self.config, self.device = source, config, device
        self.checkpoint_dir, self.progress = checkpoint_dir, progress
        self.split = load_split(source, config)  # loaded and normalised once for every training
        self.histories: dict[nb201.Arch, list] = {}  # per-epoch history of every training, in order

    def sealed(self):
        return contextlib.nullcontext()

    def train(self, arch: nb201.Arch) -> float:
        from proxynas.train import train

        history = train(arch, self.source, self.config, self.device, self.checkpoint_dir, self.progress, self.split)
        self.histories[arch] = history
        return history[-1].val_acc

    def train_hours(self) -> float:
        return sum(e.seconds for history in self.histories.values() for e in history) / 3600

    def test_accuracy(self, arch: nb201.Arch) -> float:
        return float("nan")
