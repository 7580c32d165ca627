"""A tabular benchmark: one value per architecture, task and metric, behind counted queries.

`query` is a "full training": counted, and it adds the architecture's `cost_metric` (simulated
training seconds) to `cost`. `column` is free bulk access for analysis, refused while the
benchmark is `sealed()` (during a search). Subclasses say where columns come from (`_load`);
`InMemoryBenchmark` holds them in arrays (tests, or a user's own table).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from proxynas.errors import ProxynasError
from proxynas.tasks import get_task


@dataclass
class TrainingCost:
    """What the "full trainings" queried so far would have cost: count and simulated seconds."""

    trainings: int = 0
    train_seconds: float = 0.0


class TabularBenchmark:
    cost_metric = "train_time_total_s"

    def __init__(self, index, tasks, metric_names):
        """`index`: the official index map of the space; `tasks`, `metric_names`: what `column` can read."""
        self.index, self.space = index, index.space
        self.tasks = tuple(get_task(t).name for t in tasks)
        self.metric_names = tuple(metric_names)
        self.cost = TrainingCost()
        self._sealed = False
        self._columns: dict[tuple[str, str], np.ndarray] = {}

    def _load(self, task: str, metric: str) -> np.ndarray:
        raise NotImplementedError

    def task_name(self, name: str) -> str:
        """The canonical name of a task this benchmark covers (aliases accepted)."""
        task = get_task(name).name
        if task not in self.tasks:
            raise ProxynasError(f"this benchmark has no task {name!r}; it covers: {', '.join(self.tasks)}")
        return task

    @contextmanager
    def sealed(self):
        """Within this block values can only be read through `query`, counted: what a search may see."""
        self._sealed = True
        try:
            yield self
        finally:
            self._sealed = False

    def column(self, task: str, metric: str) -> np.ndarray:
        """A metric for every architecture in index order. Not counted: for analysis, never for search."""
        if self._sealed:
            raise ProxynasError(f"a search may read {metric} only through query(), a counted full training")
        return self._column(task, metric)

    def _column(self, task: str, metric: str) -> np.ndarray:
        task = self.task_name(task)
        if metric not in self.metric_names:
            raise ProxynasError(f"unknown metric {metric!r}; valid: {', '.join(self.metric_names)}")
        if (task, metric) not in self._columns:
            self._columns[(task, metric)] = self._load(task, metric)
        return self._columns[(task, metric)]

    def arch(self, key):
        """The architecture named by an architecture value, an official index or a token the space parses."""
        if isinstance(key, self.space.Arch):
            return key
        if isinstance(key, (int, np.integer)):
            return self.index.arch_at(int(key))
        return self.index.resolve(key)

    def query(self, key, task: str) -> dict[str, float]:
        """All metrics of one architecture, counted as one full training (adds its simulated training time)."""
        index = self.index.index_of(self.arch(key))
        record = {m: float(self._column(task, m)[index]) for m in self.metric_names}
        self.cost.trainings += 1
        self.cost.train_seconds += record.get(self.cost_metric, 0.0)
        return record

    def best(self, task: str, metric: str | None = None):
        """(architecture, value) best on `metric` (default: the task's report metric), in its direction."""
        spec = get_task(task)
        metric = metric or spec.report_metric.name
        higher = next((m.higher_is_better for m in (spec.report_metric, spec.search_metric) if m.name == metric), True)
        values = self.column(task, metric)
        index = int(np.nanargmax(values) if higher else np.nanargmin(values))
        return self.index.arch_at(index), float(values[index])


class InMemoryBenchmark(TabularBenchmark):
    """A tabular benchmark from arrays: `columns[(task, metric)]` holds one value per architecture in index order."""

    def __init__(self, index, columns: dict[tuple[str, str], np.ndarray]):
        tasks = dict.fromkeys(get_task(t).name for t, _ in columns)
        metrics = dict.fromkeys(m for _, m in columns)
        super().__init__(index, tasks, metrics)
        self._given = {(get_task(t).name, m): np.asarray(v, dtype=np.float64) for (t, m), v in columns.items()}

    def _load(self, task: str, metric: str) -> np.ndarray:
        if (task, metric) not in self._given:
            raise ProxynasError(f"no {metric} for task {task}")
        return self._given[(task, metric)]
