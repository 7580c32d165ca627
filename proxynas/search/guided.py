"""Predictor-guided local search: proxies score candidates for free, a surrogate fitted to the cells
trained so far ranks them, and the walk follows the neighbours of the best trained cells.

Each round: (1) with fewer than `warm` trained cells, candidates are ranked by the rank vote of
their proxy scores (each proxy in its registered direction); after that by the surrogate's upper
bound, mean + `kappa` * ensemble std; (2) the top `per_round` untrained candidates are fully
trained; (3) when a trained cell is among the `expand` best so far, its neighbours join the
candidates. Candidates start as a seeded uniform sample of `pool` cells, scored at the first `ask`
(inside the search's clock). A candidate that computes the same function as a trained cell, or
the zero function (no path from input to output: chance accuracy), is not trained while other
candidates remain: with real training that run is wasted.

With `prior` (a zero-shot ensemble, e.g. zs) its members join the proxies, the warm start takes the
ensemble's best cells, and the surrogate sees the ensemble as a feature (`proxynas.prior`, ranked
against the first candidates); with `prior_shrink` > 0 it also blends with it, the trees outweighing
it from about `prior_shrink` trainings on (the default, 0, leaves the ranking to the trees). A `pool` as
large as the space makes every cell a candidate: the search then starts from the ensemble's ranking of
the whole space (`SearchSetup` does so when the scores are shipped or cached). There `radius` keeps the
walk of the pooled search: after the warm start only candidates within `radius` edits of the `expand`
best trained cells are ranked, the radius growing by one while none of them is open, so trees fitted to
a handful of cells are not trusted far from them; and there the trees rank by their mean alone (`kappa` 0):
the radius already keeps the walk near what they know.

Scores come from the `score` function the caller gives (`proxynas.scoring.scorer`): the strategy
has no device, cache or images of its own.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from proxynas import features
from proxynas.defaults import GUIDED_PROXIES
from proxynas.errors import ProxynasError
from proxynas.search.base import Strategy, register_strategy

# A lighter surrogate than the default: it is refitted every round.
ROUND_MODEL = {"ensemble": 3, "rounds": 150, "params": {"eta": 0.1}}
# With a prior, how soon the trees outweigh it: w = n² / (n² + prior_shrink²) after n trainings. 0: from the
# first fit the trees alone rank (the prior still chooses the warm start and is one of their features). A
# search gains from the trees' knowledge of the neighbourhood of its best cells early, where a predictor
# judged on ranking held-out cells does not (`surrogate.PRIOR_SHRINK`, 30). Chosen among 30, 10, 3, 1, 0 on
# CIFAR-10 with seeds the benchmark does not report (benchmarks/search_strategies.py --tune prior).
SEARCH_PRIOR_SHRINK = 0.0
# With every cell a candidate, how far (in edits) from the best trained cells the trees may choose. Chosen
# among none, 1 and 2 on CIFAR-10 and CIFAR-100 with seeds the benchmark does not report, by the mean of the
# median regret curve (benchmarks/search_strategies.py --tune radius).
WHOLE_SPACE_RADIUS = 1
# With every cell a candidate, the weight of the trees' spread in the upper bound they rank by (the pooled
# search keeps `kappa`'s default, 0.5). Chosen among 0, 0.5 and 2 on CIFAR-10 and CIFAR-100 with seeds the
# benchmark does not report, by the mean of the median regret curve (benchmarks/search_strategies.py --tune kappa).
WHOLE_SPACE_KAPPA = 0.0
WARM_START = 5  # trainings chosen by the proxies' rank vote (or the prior) before the trees


@register_strategy
class GuidedSearch(Strategy):
    name = "guided"
    uses_proxies = True

    def __init__(self, space, seed, score: Callable | None = None, proxies=GUIDED_PROXIES, pool: int = 1000,
                 warm: int = WARM_START, per_round: int = 1, expand: int = 3, kappa: float = 0.5,
                 prior: str | None = None, prior_shrink: float = SEARCH_PRIOR_SHRINK, radius: int | None = None):
        super().__init__(space, seed)
        if score is None:
            raise ProxynasError("the guided search needs a scoring function (proxynas.scoring.scorer)")
        if warm < 2:
            raise ProxynasError("the guided search needs at least 2 warm-start trainings to fit its surrogate")
        if radius is not None and radius < 1:
            raise ProxynasError(f"the guided search's radius must be at least 1 edit, got {radius}")
        from proxynas.surrogate import check_prior_shrink

        check_prior_shrink(prior_shrink)  # now, not at the first fit after the warm start's trainings
        if prior is not None:
            from proxynas import ensembles

            proxies = tuple(dict.fromkeys([*proxies, *ensembles.members(prior)]))
        self.score, self.spec = score, features.FeatureSpec(("onehot", "zc", "prior") if prior else ("onehot", "zc"),
                                                            tuple(proxies), space=self.space.name, prior=prior or "zs")
        self.prior = None  # the EnsemblePrior, ranked against the first candidates
        self.seed, self.pool, self.warm, self.per_round = seed, pool, warm, per_round
        self.expand, self.kappa, self.prior_shrink, self.radius = expand, kappa, prior_shrink, radius
        self.candidates: list = []
        self.ops = np.empty((0, len(self.space.edges)), dtype=np.int8)  # each candidate's op per edge
        self.row: dict = {}
        self.functions: list[str] = []  # canonical function of each candidate
        self.known_functions: set[str] = set()  # trained, or the zero function's
        self.scores = {p: np.empty(0) for p in self.spec.proxies}  # raw proxy scores per candidate
        self.values = np.empty((0, len(self.spec.names())))
        self.queue: list = []

    def _add(self, archs) -> None:
        new = [a for a in dict.fromkeys(archs) if a not in self.row]
        if not new:
            return
        scores = self.score(new, list(self.spec.proxies))
        if "prior" in self.spec.groups:
            from proxynas.prior import EnsemblePrior

            self.prior = self.prior or EnsemblePrior.from_scores(self.spec.prior, scores)
            scores[self.spec.prior_column] = self.prior.values(scores)
        self.row.update({a: len(self.candidates) + i for i, a in enumerate(new)})
        self.candidates += new
        self.ops = np.vstack([self.ops, np.array(new, dtype=np.int8).reshape(len(new), -1)])
        for arch in new:
            self.functions.append(self.space.function_key(arch))
            if self.space.is_zero(arch):
                self.known_functions.add(self.functions[-1])
        self.scores = {p: np.concatenate([self.scores[p], scores[p]]) for p in self.spec.proxies}
        self.values = np.vstack([self.values, features.assemble(new, self.spec, scores).values])

    def ask(self):
        if not self.candidates:
            self._add(self.space.sample(min(self.pool, self.space.size), self.seed))
        if not self.queue:
            self.queue = self._next_round()
        return self.queue.pop(0)

    def _next_round(self) -> list:
        open_rows = np.array([i for i, f in enumerate(self.functions) if f not in self.known_functions])
        if len(open_rows) == 0:
            return [self.unseen_random()]
        if len(self.seen) >= self.warm and self.radius is not None:
            open_rows = self._near(open_rows)
        if len(self.seen) < self.warm and "prior" in self.spec.groups:
            score = self.values[open_rows, -1]  # the prior column
        elif len(self.seen) < self.warm:
            from proxynas import metrics, proxies

            columns = [self.scores[p] for p in self.spec.proxies]
            score = metrics.rank_vote(columns, proxies.directions(self.spec.proxies))[open_rows]
        else:
            from proxynas.surrogate import Surrogate

            trained = list(self.seen)
            model = Surrogate(self.spec, seed=self.seed + len(trained), prior_shrink=self.prior_shrink, **ROUND_MODEL)
            model.fit(self._matrix([self.row[a] for a in trained]), [self.seen[a] for a in trained])
            mean, std = model.predict(self._matrix(open_rows), return_std=True)
            score = mean + self.kappa * std
        chosen: dict = {}  # one cell per function, best score first
        for i in open_rows[np.argsort(-np.nan_to_num(score, nan=-np.inf), kind="stable")]:
            chosen.setdefault(self.functions[i], self.candidates[i])
            if len(chosen) == self.per_round:
                break
        return list(chosen.values())

    def _near(self, rows: np.ndarray) -> np.ndarray:
        """The rows within `radius` edits of the `expand` best trained cells, the radius grown until one is."""
        best = sorted(self.seen, key=self.seen.get, reverse=True)[:self.expand]
        ops = self.ops[rows]
        edits = np.min([(ops != np.array(arch)).sum(axis=1) for arch in best], axis=0)
        return rows[edits <= max(self.radius, edits.min())]

    def _matrix(self, rows) -> features.FeatureMatrix:
        return features.FeatureMatrix(self.values[rows], self.spec)

    def tell(self, arch, value):
        super().tell(arch, value)
        if arch not in self.row:
            self._add([arch])
        self.known_functions.add(self.functions[self.row[arch]])
        if sorted(self.seen.values(), reverse=True).index(value) < self.expand:
            self._add(self.space.neighbours(arch))
