"""What a search pays for: an `Evaluator` turns an architecture into its search-metric value ("a full
training") and keeps the cost.

`TabularEvaluator` looks the value up in a benchmark (a counted query, with the benchmark's
simulated training time); `TrainingEvaluator` really trains the network. Both name the task, whose
search metric says which value a search sees and whether higher is better; the report metric is
read only after the search. One-shot methods, which train no candidate fully, add what they spent
to `search_hours`.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod

from proxynas.tasks import Task, get_task


class Evaluator(ABC):
    task: Task
    search_hours: float = 0.0  # compute spent outside full trainings (e.g. a supernet), in hours

    def sealed(self):
        """A context in which nothing but `train` may read the ground truth (a no-op by default)."""
        return contextlib.nullcontext()

    @abstractmethod
    def train(self, arch) -> float:
        """The search metric's value of `arch` after a full training."""

    @abstractmethod
    def train_hours(self) -> float:
        """Hours the full trainings so far took (simulated on a benchmark)."""

    @abstractmethod
    def report_value(self, arch) -> float:
        """The report metric's value of `arch` (NaN where there is none); read after the search."""


class TabularEvaluator(Evaluator):
    """Full training = the benchmark's search-metric value (200-epoch validation accuracy on NB201),
    a counted query that adds its simulated training time."""

    def __init__(self, bench, dataset: str):
        self.bench, self.task = bench, get_task(dataset)
        self._seconds_before = bench.cost.train_seconds  # the store's counter spans every search on it

    def sealed(self):
        return self.bench.sealed()

    def train(self, arch) -> float:
        return self.bench.query(arch, self.task.name)[self.task.search_metric.name]

    def train_hours(self) -> float:
        return (self.bench.cost.train_seconds - self._seconds_before) / 3600

    def report_value(self, arch) -> float:
        column = self.bench.column(self.task.name, self.task.report_metric.name)
        return float(column[self.bench.index.index_of(arch)])


class TrainingEvaluator(Evaluator):
    """Full training = really training the network on an image dataset (`proxynas.train`); the budget counts
    these runs. There is no test split, so the report value is NaN."""

    def __init__(self, source, config, device: str = "cpu", checkpoint_dir=None, progress=None):
        from proxynas.train import load_split

        self.source, self.config, self.device = source, config, device
        self.checkpoint_dir, self.progress = checkpoint_dir, progress
        self.split = load_split(source, config)  # loaded and normalised once for every training
        self.task = Task(str(source), self.split.num_classes, self.split.train_x.shape[-1])
        self.histories: dict = {}  # per-epoch history of every training, in order

    def train(self, arch) -> float:
        from proxynas.train import train

        history = train(arch, self.source, self.config, self.device, self.checkpoint_dir, self.progress, self.split)
        self.histories[arch] = history
        return history[-1].val_acc

    def train_hours(self) -> float:
        return sum(e.seconds for history in self.histories.values() for e in history) / 3600

    def report_value(self, arch) -> float:
        return float("nan")
