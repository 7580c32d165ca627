"""Predictor-guided local search: proxies score candidates for free, a surrogate fitted to the cells
trained so far ranks them, and the walk follows the neighbours of the best trained cells.

Each round: (1) with fewer than `warm` trained cells, candidates are ranked by the rank vote of
their proxy scores; after that by the surrogate's upper bound, mean + `kappa` * ensemble std;
(2) the top `per_round` untrained candidates are fully trained; (3) when a trained cell is among
the `expand` best so far, its 24 neighbours join the candidates. Candidates start as a seeded
uniform sample of `pool` cells. A candidate that computes the same function as a trained cell
(`nb201.canonical_function`), or the zero function (no path from input to output: chance
accuracy), is not trained while other candidates remain: with real training that run is wasted.
"""

from __future__ import annotations

import numpy as np

from proxynas import features, metrics, paths
from proxynas.cache import ScoreCache
from proxynas.data import BatchSpec
from proxynas.errors import ProxynasError
from proxynas.search.base import Strategy
from proxynas.spaces import nb201
from proxynas.surrogate import Surrogate

DEFAULT_PROXIES = ("synflow", "params", "flops")  # data-free and fast: a cold search stays in minutes
# A lighter surrogate than the default: it is refitted every round.
ROUND_MODEL = {"ensemble": 3, "rounds": 150, "params": {"eta": 0.1}}


class GuidedSearch(Strategy):
    name = "guided"

    def __init__(self, dataset: str, seed: int, proxies=DEFAULT_PROXIES, pool: int = 1000, warm: int = 5,
                 per_round: int = 1, expand: int = 3, kappa: float = 0.5, device: str = "cpu", cache=None,
                 images: str | None = None):
        super().__init__(dataset, seed)
        if warm < 2:
            raise ProxynasError("the guided search needs at least 2 warm-start trainings to fit its surrogate")
        self.spec = features.FeatureSpec(("onehot", "zc"), tuple(proxies), batch=BatchSpec(dataset, images=images))
        self.seed, self.warm, self.per_round, self.expand, self.kappa = seed, warm, per_round, expand, kappa
        self.device = device
        self.cache = cache if cache is not None else ScoreCache(paths.cache_dir() / "scores")
        self.candidates: list[nb201.Arch] = []
        self.row: dict[nb201.Arch, int] = {}
        self.functions: list[str] = []  # canonical function of each candidate
        self.known_functions: set[str] = {"zero"}  # trained, or the disconnected cell's
        self.values = np.empty((0, len(self.spec.names())))
        self.queue: list[nb201.Arch] = []
        self._add(nb201.sample(pool, seed))

    def _add(self, archs) -> None:
        new = [a for a in dict.fromkeys(archs) if a not in self.row]
        if not new:
            return
        x = features.build(new, self.spec, device=self.device, cache=self.cache)
        self.row.update({a: len(self.candidates) + i for i, a in enumerate(new)})
        self.candidates += new
        self.functions += [nb201.canonical_function(a) for a in new]
        self.values = np.vstack([self.values, x.values])

    def ask(self):
        if not self.queue:
            self.queue = self._next_round()
        return self.queue.pop(0)

    def _next_round(self) -> list[nb201.Arch]:
        open_rows = np.array([i for i, f in enumerate(self.functions) if f not in self.known_functions])
        if len(open_rows) == 0:
            return [self.unseen_random()]
        if len(self.seen) < self.warm:
            zc = self.values[:, -len(self.spec.proxies):]
            score = metrics.rank_vote(list(zc.T))[open_rows]
        else:
            trained = list(self.seen)
            model = Surrogate(self.spec, seed=self.seed + len(trained), **ROUND_MODEL)
            model.fit(self._matrix([self.row[a] for a in trained]), [self.seen[a] for a in trained])
            mean, std = model.predict(self._matrix(open_rows), return_std=True)
            score = mean + self.kappa * std
        chosen: dict[str, nb201.Arch] = {}  # one cell per function, best score first
        for i in open_rows[np.argsort(-np.nan_to_num(score, nan=-np.inf), kind="stable")]:
            chosen.setdefault(self.functions[i], self.candidates[i])
            if len(chosen) == self.per_round:
                break
        return list(chosen.values())

    def _matrix(self, rows) -> features.FeatureMatrix:
        return features.FeatureMatrix(self.values[rows], self.spec)

    def tell(self, arch, accuracy):
        super().tell(arch, accuracy)
        if arch not in self.row:
            self._add([arch])
        self.known_functions.add(self.functions[self.row[arch]])
        if sorted(self.seen.values(), reverse=True).index(accuracy) < self.expand:
            self._add(nb201.neighbours(arch))
