"""Zero-Cost-PT (Xiang et al., 2023): perturbation-based op selection on the untrained supernet, scored by
a zero-cost proxy instead of a trained supernet's accuracy. Any space with a supernet (`build_supernet`):
NB201 (at the paper's search size by default) and TransNAS-Bench-101 micro (the benchmark's skeleton).

One candidate: visit the edges in some order; on the visited edge remove each op in turn (its weight 0,
the others' 1/ops), score the supernet with the proxy and keep the op whose removal scores lowest, the one
the network misses most; the edge then carries that op alone. Undecided edges mix all ops equally. Each
candidate has its own seed (edge order, supernet weights, proxy batch); the strategy proposes
`candidates` cells this way and trains the one its proxy scores best as a network.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from proxynas import ensembles, proxies, scoring
from proxynas.data import BatchSpec
from proxynas.errors import ProxynasError
from proxynas.jobs import device_batch, evaluate
from proxynas.search.base import Strategy, register_strategy
from proxynas.spaces.base import get_space

EDGE_ORDERS = ("random", "fixed", "reverse")  # random (DARTS-PT), input to output, output to input


@dataclass(frozen=True)
class WeightedSupernet:
    """The supernet of space `base` with fixed op weights, in the form a `Probe` scores: its `space` builds
    its network. `size`: (option, value) pairs of the space's `build_supernet`."""

    weights: tuple[tuple[float, ...], ...]
    base: str = "nb201"
    size: tuple[tuple[str, int], ...] = ()

    @property
    def space(self) -> "WeightedSupernet":
        return self

    def build_network(self, arch, task, convention: str = "zero-cost", skip_dead_edges: bool = False):
        net = get_space(arch.base).build_supernet(task, convention, **dict(arch.size))
        net.set_op_weights(torch.tensor(arch.weights))
        return net


@register_strategy
class ZeroCostPT(Strategy):
    name = "zc-pt"
    one_shot = True  # proposes one cell after its own search; the loop trains it and stops

    def __init__(self, space, seed: int, task: str = "cifar10", proxy: str = "zico", candidates: int = 10,
                 edge_order: str = "random", batch_size: int = 64, device: str = "cpu", **size: int):
        super().__init__(space, seed)
        if not hasattr(self.space, "build_supernet"):
            raise ProxynasError(f"zc-pt needs a supernet, and space {self.space.name} has none")
        if edge_order not in EDGE_ORDERS:
            raise ProxynasError(f"unknown edge order {edge_order!r}; valid: {', '.join(EDGE_ORDERS)}")
        if candidates < 1:
            raise ProxynasError("zc-pt needs at least one candidate")
        self.scored, self.ensemble = _parse_score(proxy)
        self.proxy, self.task, self.candidates, self.edge_order = proxy, task, candidates, edge_order
        self.batch_size, self.device, self.seed = batch_size, device, int(seed)
        self.size = tuple(sorted(size.items()))  # the supernet's size options (NB201: channels, cells_per_stage)
        self.search_seconds = 0.0
        self.search_log: dict = {}
        self._derived = None

    @classmethod
    def setup_options(cls, setup) -> dict:
        if setup.proxies and len(setup.proxies) > 1:
            raise ProxynasError(f"{cls.name} scores with one proxy or ensemble, got {', '.join(setup.proxies)}")
        return {"task": setup.dataset, "candidates": setup.candidates, "edge_order": setup.edge_order,
                "device": setup.device, **({"proxy": setup.proxies[0]} if setup.proxies else {})}

    def ask(self):
        if self._derived is None:
            start = time.perf_counter()
            self._derived = self.search()
            self.search_seconds = time.perf_counter() - start
        return self._derived

    def search(self):
        proposals = [self.propose(k) for k in range(self.candidates)]
        pool = list(dict.fromkeys(arch for arch, _ in proposals))
        spec = BatchSpec(self.task, batch_size=self.batch_size, seed=self.seed)
        table = scoring.score(pool, self.scored, spec, self.device)
        values = self._combine(table.scores)
        best = pool[int(np.nanargmax(values))] if np.isfinite(values).any() else pool[0]
        self.search_log = {"proxy": self.proxy, "edge_order": self.edge_order,
                           "candidates": [{"arch": str(a), "decisions": d} for a, d in proposals],
                           "pool_scores": {str(a): float(v) for a, v in zip(pool, values)}, "chosen": str(best)}
        return best

    def propose(self, k: int) -> tuple:
        """Candidate `k`: its cell and, per decided edge in order, the proxy value with each op removed."""
        seed = self.seed * 1_000_003 + k
        rng = np.random.default_rng(seed)
        edges, ops = len(self.space.edges), self.space.ops
        order = {"random": rng.permutation(edges), "fixed": np.arange(edges),
                 "reverse": np.arange(edges)[::-1]}[self.edge_order]
        spec = BatchSpec(self.task, batch_size=self.batch_size, seed=seed)
        inputs, labels = device_batch(spec, self.device)
        weights = np.full((edges, len(ops)), 1.0 / len(ops))
        decisions = []
        for edge in order:
            columns: dict[str, list[float]] = {p.name: [] for p in self.scored}
            for op in range(len(ops)):
                trial = weights.copy()  # the visited edge is still undecided: all its ops at 1/ops
                trial[edge, op] = 0.0
                network = WeightedSupernet(tuple(map(tuple, trial)), self.space.name, self.size)
                for proxy, (value, _) in evaluate(network, self.scored, spec, inputs, labels).items():
                    columns[proxy.name].append(value)
            # lowest after removal = missed most (for a lower-is-better proxy: highest)
            values = self._combine({name: np.array(v) for name, v in columns.items()})
            keep = int(np.nanargmin(values)) if np.isfinite(values).any() else int(rng.integers(len(ops)))
            weights[edge] = np.eye(len(ops))[keep]
            decisions.append({"edge": int(edge), "kept": ops[keep], "without_op": [float(v) for v in values]})
        return self.space.arch(weights.argmax(axis=1).tolist()), decisions

    def _combine(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        """The score, higher better: the ensemble within these rows, or the proxy in its direction."""
        if self.ensemble:
            return ensembles.combine(self.proxy, columns)
        proxy = self.scored[0]
        return columns[proxy.name] * (1.0 if proxy.higher_is_better else -1.0)


def _parse_score(name: str) -> tuple[list[proxies.Proxy], bool]:
    """(the proxies to compute, whether `name` is an ensemble of them) for exactly one proxy or ensemble."""
    if len([t for t in name.split(",") if t.strip()]) != 1:
        raise ProxynasError(f"zc-pt scores with one proxy or one ensemble, got {name!r}")
    chosen, wanted = ensembles.parse_list(name)
    return chosen, bool(wanted)
