"""The ask/tell interface every search strategy implements, its registry, and the helpers strategies share."""

from __future__ import annotations

import numpy as np

from proxynas.errors import ProxynasError
from proxynas.spaces.base import SearchSpace, get_space


class SpaceExhausted(Exception):
    """Every architecture a strategy could propose has been trained: the search ends here."""


class Strategy:
    """`ask()` names the next architecture to fully train; `tell()` hands back its search-metric value.

    Strategies never see a benchmark: the only values they learn are the ones told to them, and
    they treat higher as better (the loop negates lower-is-better metrics before telling them).
    """

    name = "base"
    uses_proxies = False  # True: the constructor takes `score`, a scoring function (see `proxynas.scoring.scorer`)
    one_shot = False  # True: searches on its own (e.g. a supernet), then asks for one cell; the loop stops after it
    search_seconds = 0.0  # compute spent outside full trainings
    search_log: dict = {}  # what a one-shot search records about itself (reported with the result)

    def __init__(self, space: SearchSpace | str, seed: int | np.random.Generator):
        self.space = get_space(space)
        self.rng = np.random.default_rng(seed)
        self.seen: dict = {}

    @classmethod
    def setup_options(cls, setup) -> dict:
        """Constructor options a one-shot strategy takes from a `SearchSetup` (its task, data, device...)."""
        return {}

    def ask(self):
        raise NotImplementedError

    def tell(self, arch, value: float) -> None:
        self.seen[arch] = value

    def unseen_random(self):
        """A uniformly drawn architecture that has not been trained yet."""
        if len(self.seen) >= self.space.size:
            raise SpaceExhausted(f"all {self.space.size} architectures of {self.space.name} are trained")
        while True:
            arch = self.space.sample(1, self.rng, replace=True)[0]
            if arch not in self.seen:
                return arch


_STRATEGIES: dict[str, type[Strategy]] = {}


def register_strategy(cls: type[Strategy]) -> type[Strategy]:
    """Class decorator: make a strategy available by its `name`; a second one of that name is an error."""
    if cls.name in _STRATEGIES:
        raise ValueError(f"search strategy {cls.name!r} is already registered")
    _STRATEGIES[cls.name] = cls
    return cls


def strategy_names() -> list[str]:
    return sorted(_STRATEGIES)


def get_strategy_class(name: str) -> type[Strategy]:
    """The strategy registered as `name`; an unknown name lists the valid ones."""
    if name not in _STRATEGIES:
        raise ProxynasError(f"unknown strategy {name!r}; valid: {', '.join(strategy_names())}")
    return _STRATEGIES[name]


def get_strategy(name: str, space: SearchSpace | str, seed: int, **options) -> Strategy:
    """A new strategy by name; `options` go to its constructor (e.g. `score` and `proxies` for guided)."""
    return get_strategy_class(name)(space, seed, **options)
