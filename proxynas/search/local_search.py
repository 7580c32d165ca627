"""Local search as in NASLib: train all neighbours of the incumbent, move to the best, restart at a local optimum."""

from __future__ import annotations

from proxynas.search.base import Strategy, register_strategy


@register_strategy
class LocalSearch(Strategy):
    name = "ls"

    def __init__(self, space, seed):
        super().__init__(space, seed)
        self.incumbent: tuple | None = None  # (arch, value)
        self.best_neighbour: tuple | None = None
        self.queue: list = []

    def ask(self):
        while True:
            if self.incumbent is None:
                return self.unseen_random()  # a (re)start
            if self.queue:
                return self.queue.pop()
            # the neighbourhood is scanned: climb, or restart at a local optimum
            climb = self.best_neighbour is not None and self.best_neighbour[1] > self.incumbent[1]
            self.incumbent = self.best_neighbour if climb else None
            if climb:
                self._scan_neighbours()

    def tell(self, arch, accuracy):
        super().tell(arch, accuracy)
        if self.incumbent is None:
            self.incumbent = (arch, accuracy)
            self._scan_neighbours()
        elif self.best_neighbour is None or accuracy > self.best_neighbour[1]:
            self.best_neighbour = (arch, accuracy)

    def _scan_neighbours(self) -> None:
        """Queue the incumbent's untrained neighbours (random order); trained ones count at once."""
        self.best_neighbour, self.queue = None, []
        options = self.space.neighbours(self.incumbent[0])
        for i in self.rng.permutation(len(options)):
            arch = options[int(i)]
            if arch not in self.seen:
                self.queue.append(arch)
            elif self.best_neighbour is None or self.seen[arch] > self.best_neighbour[1]:
                self.best_neighbour = (arch, self.seen[arch])
