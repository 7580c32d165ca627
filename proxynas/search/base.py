"""The ask/tell interface every search strategy implements, and the helpers they share."""

from __future__ import annotations

import numpy as np

from proxynas.spaces import nb201


class Strategy:
    """`ask()` names the next cell to fully train; `tell()` hands back its validation accuracy.

    Strategies never see the benchmark: the only accuracies they learn are the ones told to them.
    """

    name = "base"

    def __init__(self, dataset: str, seed: int):
        self.dataset = dataset
        self.rng = np.random.default_rng(seed)
        self.seen: dict[nb201.Arch, float] = {}

    def ask(self) -> nb201.Arch:
        raise NotImplementedError

    def tell(self, arch: nb201.Arch, accuracy: float) -> None:
        self.seen[arch] = accuracy

    def unseen_random(self) -> nb201.Arch:
        """A uniformly drawn cell that has not been trained yet."""
        while True:
            arch = nb201.Arch.from_code(int(self.rng.integers(nb201.NUM_ARCHS)))
            if arch not in self.seen:
                return arch
