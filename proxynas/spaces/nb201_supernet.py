"""The NAS-Bench-201 weight-sharing supernet: every edge of every cell mixes all five ops with weights.

The skeleton is the benchmark network's (stem, 3 stages of N cells joined by the residual reduction blocks,
BN-ReLU, pooling, classifier); each cell edge holds one module per op, built by the space's own `make_op`,
and outputs sum_o w[edge, o] * op_o(x) for an (edges x ops) weight matrix shared by all cells (softmax of
DARTS's alpha, or a partly projected matrix). Ops whose weight is exactly 0 are not run: the output is the same.
Convention as in the NAS-Bench-201 paper's search: cell BNs without affine parameters.
"""

from __future__ import annotations

import torch
from torch import nn

from proxynas.spaces import nb201_net
from proxynas.spaces.nb201 import EDGES, OPS, Arch
from proxynas.spaces.nb201_net import make_op
from proxynas.tasks import Task, get_task


class MixedEdge(nn.Module):
    def __init__(self, channels: int, track: bool):
        super().__init__()
        self.ops = nn.ModuleList(make_op(name, channels, False, track) for name in OPS)

    def forward(self, x: torch.Tensor, weights: torch.Tensor, active: list[bool]) -> torch.Tensor:
        terms = [w * op(x) for w, op, on in zip(weights, self.ops, active) if on]
        return sum(terms[1:], terms[0]) if terms else torch.zeros_like(x)


class SearchCell(nn.Module):
    """Node j = sum over edges (i -> j) of the mixed edge on node i; the output is the last node."""

    def __init__(self, channels: int, track: bool):
        super().__init__()
        self.edges = nn.ModuleList(MixedEdge(channels, track) for _ in EDGES)

    def forward(self, x: torch.Tensor, weights: torch.Tensor, active: list[list[bool]]) -> torch.Tensor:
        nodes = [x]
        for node in range(1, 1 + max(dst for _, dst in EDGES)):
            terms = [edge(nodes[src], weights[i], active[i])
                     for i, (edge, (src, dst)) in enumerate(zip(self.edges, EDGES)) if dst == node]
            nodes.append(sum(terms[1:], terms[0]))
        return nodes[-1]


class NB201Supernet(nn.Module):
    """`op_weights` (a buffer, edges x ops) is what `forward` mixes with unless weights are passed."""

    def __init__(self, num_classes: int = 10, channels: int = 16, cells_per_stage: int = 5, track: bool = False):
        super().__init__()
        self.stem = nb201_net.stem(channels)
        layers, c = nb201_net.stages(channels, cells_per_stage, track, lambda width: SearchCell(width, track))
        self.cells = nn.ModuleList(layers)
        self.lastact = nb201_net.last_activation(c)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)
        self.register_buffer("op_weights", torch.full((len(EDGES), len(OPS)), 1.0 / len(OPS)))

    def set_op_weights(self, weights: torch.Tensor) -> None:
        self.op_weights.copy_(weights)

    def cell_features(self, x: torch.Tensor, weights: torch.Tensor | None = None) -> list[torch.Tensor]:
        weights = self.op_weights if weights is None else weights
        active = (weights != 0).tolist()  # read once: one device sync per forward, not one per op
        maps = [self.stem(x)]
        for layer in self.cells:
            maps.append(layer(maps[-1], weights, active) if isinstance(layer, SearchCell) else layer(maps[-1]))
        return maps

    def features(self, x: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        return self.lastact(self.cell_features(x, weights)[-1])

    def forward(self, x: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
        return self.classifier(self.global_pooling(self.features(x, weights)).flatten(1))


def build_supernet(task: Task | str = "cifar10", channels: int = 16, cells_per_stage: int = 5,
                   track: bool = False) -> NB201Supernet:
    return NB201Supernet(get_task(task).num_classes, channels, cells_per_stage, track)


def count_parameters(num_classes: int = 10, channels: int = 16, cells_per_stage: int = 5) -> int:
    """Parameters of `NB201Supernet`, counted without building it: the benchmark network of an all-`none`
    cell (stem, reduction blocks, last BN, classifier) plus each cell edge's 1x1 and 3x3 conv."""
    skeleton = nb201_net.count_parameters(Arch([OPS.index("none")] * len(EDGES)), num_classes, channels,
                                          cells_per_stage)
    widths = [channels * 2 ** stage for stage in range(3)]
    return skeleton + sum(cells_per_stage * len(EDGES) * (1 + 9) * c * c for c in widths)
