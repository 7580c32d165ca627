"""Regularized evolution (Real et al., 2019): tournament selection, one-edit mutation, the oldest dies."""

from __future__ import annotations

from collections import deque

from proxynas.search.base import Strategy, register_strategy


@register_strategy
class RegularizedEvolution(Strategy):
    """Population 10 and tournaments of 3, sized for budgets of tens to a hundred full trainings."""

    name = "rea"

    def __init__(self, space, seed, population: int = 10, tournament: int = 3):
        super().__init__(space, seed)
        self.size, self.tournament = population, tournament
        self.population: deque[tuple] = deque()  # (arch, value), oldest first

    def ask(self):
        if len(self.population) < self.size:
            return self.unseen_random()
        picks = self.rng.choice(len(self.population), self.tournament, replace=False)
        parent = max((self.population[i] for i in picks), key=lambda member: member[1])[0]
        for _ in range(100):
            child = self.space.mutate(parent, self.rng)
            if child not in self.seen:
                return child
        return self.unseen_random()  # every mutation tried was trained already

    def tell(self, arch, accuracy):
        super().tell(arch, accuracy)
        self.population.append((arch, accuracy))
        if len(self.population) > self.size:
            self.population.popleft()
