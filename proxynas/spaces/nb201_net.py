"""The NAS-Bench-201 network: stem, 3 stages of N cells joined by residual reduction blocks, head.

`bn_affine=True, bn_track_stats=True` (the "benchmark" convention, default) is the trained
benchmark network, whose parameter counts are the benchmark's `params_*`. `bn_affine=False,
bn_track_stats=False` (the "zero-cost" convention) is that of the zero-cost reference code: cell
BNs without affine parameters or running statistics.
"""

from __future__ import annotations

import torch
from torch import nn

from proxynas.spaces.base import CONVENTIONS
from proxynas.spaces.nb201 import EDGES, NUM_NODES, OPS, SPACE, Arch
from proxynas.tasks import Task, get_task


class ReLUConvBN(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, affine: bool, track: bool):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
            nn.BatchNorm2d(c_out, affine=affine, track_running_stats=track),
        )


class Zero(nn.Module):
    """The `none` op: multiplies by zero (keeps shape, device and dtype; gradients flow as zeros)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


def make_op(name: str, channels: int, affine: bool, track: bool) -> nn.Module:
    if name == "none":
        return Zero()
    if name == "skip_connect":
        return nn.Identity()
    if name == "nor_conv_1x1":
        return ReLUConvBN(channels, channels, 1, 1, affine, track)
    if name == "nor_conv_3x3":
        return ReLUConvBN(channels, channels, 3, 1, affine, track)
    if name == "avg_pool_3x3":
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise ValueError(f"unknown NB201 op {name!r}")


class CellGraph(nn.Module):
    """A cell's forward pass: node j = sum over its run edges (i -> j) of op(node i); the output is the last
    node. Subclasses set `edges` (modules by key) and `_inputs` (per node, its (source, key) pairs), and say
    in `_zeros` what a node without run inputs holds."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for inputs in self._inputs:
            terms = [self.edges[i](nodes[src]) for src, i in inputs]
            nodes.append(sum(terms[1:], terms[0]) if terms else self._zeros(x))
        return nodes[-1]

    def _zeros(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros_like(x)


class Cell(CellGraph):
    """One NB201 cell: node j = sum over edges (i -> j) of op(node i); the output is node 3.

    `none` edges add exact zeros, so they are never run. With `skip_dead_edges`, edges fed only by
    zeros or not reaching the output are not run either: the output and every gradient are the same,
    but forward hooks on their modules (as NASWOT uses) no longer fire.
    """

    def __init__(self, arch: Arch, channels: int, affine: bool, track: bool, skip_dead_edges: bool = False):
        super().__init__()
        self.edges = nn.ModuleList(make_op(OPS[op], channels, affine, track) for op in arch)
        run = SPACE.live_edges(arch) if skip_dead_edges else [OPS[op] != "none" for op in arch]
        self._inputs = [[(src, i) for i, ((src, dst), on) in enumerate(zip(EDGES, run)) if dst == t and on]
                        for t in range(1, NUM_NODES)]


class ResidualReduction(nn.Module):
    """NB201's stride-2 residual block between stages (its BNs are always affine)."""

    def __init__(self, c_in: int, c_out: int, track: bool):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, True, track)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, True, track)
        self.downsample = nn.Sequential(
            nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
            nn.Conv2d(c_in, c_out, 1, stride=1, padding=0, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


def stages(channels: int, cells_per_stage: int, track: bool, make_cell) -> tuple[list[nn.Module], int]:
    """The 3 stages' layers: `make_cell(width)` cells, joined by residual reduction blocks that double the
    width; and the final width. The benchmark network and the supernet share this skeleton."""
    layers: list[nn.Module] = []
    c = channels
    for stage in range(3):
        if stage > 0:
            layers.append(ResidualReduction(c, 2 * c, track))
            c *= 2
        layers.extend(make_cell(c) for _ in range(cells_per_stage))
    return layers, c


def stem(channels: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(3, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels))


def last_activation(channels: int) -> nn.Sequential:
    return nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU(inplace=True))


class NB201Network(nn.Module):
    def __init__(self, arch: Arch, num_classes: int = 10, channels: int = 16, cells_per_stage: int = 5,
                 bn_affine: bool = True, bn_track_stats: bool = True, skip_dead_edges: bool = False):
        super().__init__()
        self.arch = arch
        self.stem = stem(channels)
        layers, c = stages(channels, cells_per_stage, bn_track_stats,
                           lambda width: Cell(arch, width, bn_affine, bn_track_stats, skip_dead_edges))
        self.cells = nn.Sequential(*layers)
        self.lastact = last_activation(c)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c, num_classes)

    def cell_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The stem's output and each cell's (the reduction blocks' too), in order (what AZ-NAS reads)."""
        maps = [self.stem(x)]
        for cell in self.cells:
            maps.append(cell(maps[-1]))
        return maps

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The feature map before global pooling (what Zen-score compares)."""
        return self.lastact(self.cells(self.stem(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.global_pooling(self.features(x)).flatten(1))


def build_network(arch: Arch, task: Task | str = "cifar10", convention: str = "benchmark", channels: int = 16,
                  cells_per_stage: int = 5, skip_dead_edges: bool = False) -> NB201Network:
    """The NB201 network for `arch` with the classifier head of `task` (10 / 100 / 120 classes)."""
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown network convention {convention!r}; valid: {', '.join(CONVENTIONS)}")
    return NB201Network(arch, get_task(task).num_classes, channels, cells_per_stage, convention != "zero-cost",
                        convention == "benchmark", skip_dead_edges)


_KERNEL_AREA = {"nor_conv_1x1": 1, "nor_conv_3x3": 9}


def count_parameters(arch: Arch, num_classes: int = 10, channels: int = 16, cells_per_stage: int = 5,
                     bn_affine: bool = True) -> int:
    """Parameters of `NB201Network`, counted without building it (fast enough for the whole space)."""
    bn = 2 if bn_affine else 0
    total = 3 * 9 * channels + 2 * channels  # stem conv + affine BN
    c = channels
    for stage in range(3):
        if stage > 0:
            total += 9 * c * 2 * c + 2 * 2 * c + 9 * (2 * c) ** 2 + 2 * 2 * c + c * 2 * c
            c *= 2
        cell = sum(_KERNEL_AREA[OPS[op]] * c * c + bn * c for op in arch if OPS[op] in _KERNEL_AREA)
        total += cells_per_stage * cell
    return total + 2 * c + c * num_classes + num_classes  # last BN + classifier


def count_flops(arch: Arch, task: Task | str = "cifar10", channels: int = 16, cells_per_stage: int = 5) -> int:
    """Multiply-adds of the conv and linear layers for one input image (BN, ReLU, pooling not counted)."""
    task = get_task(task)
    side = task.input_size
    total = side * side * channels * 3 * 9  # stem
    c = channels
    for stage in range(3):
        if stage > 0:
            side //= 2
            total += side * side * (2 * c * c * 9 + 2 * c * 2 * c * 9 + 2 * c * c)  # conv_a, conv_b, downsample
            c *= 2
        cell = sum(_KERNEL_AREA[OPS[op]] for op in arch if OPS[op] in _KERNEL_AREA) * side * side * c * c
        total += cells_per_stage * cell
    return total + c * task.num_classes
