"""Random search: train uniformly drawn cells, never the same one twice."""

from __future__ import annotations

from proxynas.search.base import Strategy, register_strategy


@register_strategy
class RandomSearch(Strategy):
    name = "random"

    def ask(self):
        return self.unseen_random()
