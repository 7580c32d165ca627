"""The TransNAS-Bench-101 micro network: the `64-41414` encoder around the cell, and each task's head.

Our own code after the benchmark's definition (its public code, also in NASLib). The encoder is a stem
(3x3 conv stride 2 to 32 channels, BN, then ReLU-conv-BN 3x3 stride 2 to 64 channels) and five layers
of two cells each, one per digit of `41414`: 4 doubles the channels and halves the resolution, 1 keeps
both. In a cell, the edges leaving the input node carry the stride and channel change: there `skip`
is a factorized reduction (two offset 1x1 convs) and `none` gives zeros of the output's shape.

Heads, as the benchmark trained them (output sizes from `proxynas.tasks`): a linear layer on pooled
features (class_scene 63 classes, class_object 100, room_layout 9 regression outputs); jigsaw runs the
encoder on each of 9 tiles (64x64) and classifies the concatenated pooled features into 1000
permutations; segmentsemantic (17 classes per pixel), normal and autoencoder (3-channel images through
tanh) have conv/deconv decoders. The benchmark sizes its decoders for a 7x7 feature map (it assumes 224-pixel inputs), which
gives five 2x upsamplings: exactly what takes the 8x8 map of its 256-pixel inputs back to 256x256.
The autoencoder and normal models also own a pix2pix discriminator that is never run on the forward
pass; it is not built here.

`benchmark` convention: every BN affine with running statistics (the trained network). `zero-cost`:
the cells' BNs without affine parameters or running statistics, as for NAS-Bench-201.
"""

from __future__ import annotations

import functools

import torch
from torch import nn

from proxynas.spaces.base import CONVENTIONS
from proxynas.spaces.nb201_net import CellGraph, ReLUConvBN
from proxynas.spaces.tnb101 import EDGES, MACRO, OPS, SPACE, Arch
from proxynas.tasks import Task, get_task

BASE_CHANNELS = int(MACRO.split("-")[0])
LAYER_CODES = MACRO.split("-")[1]
CELLS_PER_LAYER = 2
# The head each task's target kind gets (proxynas.tasks.TARGETS): a linear layer on pooled features,
# a per-pixel classifier, or an image generator; jigsaw's tiles get the siamese classifier.
HEAD_KINDS = {"label": "pooled", "vector": "pooled", "label_map": "segment", "image": "image", "input": "image"}


class FactorizedReduce(nn.Module):
    """`skip` where the shape changes: ReLU, two 1x1 convs (the second one pixel offset) concatenated, BN."""

    def __init__(self, c_in: int, c_out: int, stride: int, affine: bool, track: bool):
        super().__init__()
        self.relu = nn.ReLU()
        self.convs = nn.ModuleList(nn.Conv2d(c_in, c, 1, stride=stride, bias=False)
                                   for c in (c_out // 2, c_out - c_out // 2))
        self.bn = nn.BatchNorm2d(c_out, affine=affine, track_running_stats=track)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        shifted = nn.functional.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]
        return self.bn(torch.cat([self.convs[0](x), self.convs[1](shifted)], dim=1))


def make_op(name: str, c_in: int, c_out: int, stride: int, affine: bool, track: bool) -> nn.Module | None:
    """An edge's module; None for `none`, whose zeros are added by not running the edge."""
    if name == "none":
        return None
    if name == "skip_connect":
        return nn.Identity() if stride == 1 and c_in == c_out else FactorizedReduce(c_in, c_out, stride, affine, track)
    kernel = {"nor_conv_1x1": 1, "nor_conv_3x3": 3}[name]
    return ReLUConvBN(c_in, c_out, kernel, stride, affine, track)


class MicroCell(CellGraph):
    """Node j = sum over edges (i -> j) of op(node i); the edges from node 0 change stride and channels.

    `none` edges are not run (they add exact zeros); with `skip_dead_edges`, neither are edges fed only
    by zeros or not reaching the output (same output and gradients; their modules' hooks do not fire).
    """

    def __init__(self, arch: Arch, c_in: int, c_out: int, stride: int, affine: bool, track: bool,
                 skip_dead_edges: bool = False):
        super().__init__()
        self.c_out, self.stride = c_out, stride
        run = SPACE.live_edges(arch) if skip_dead_edges else [OPS[op] != "none" for op in arch]
        modules = {}
        for i, ((src, _), op, on) in enumerate(zip(EDGES, arch, run)):
            if on:
                modules[str(i)] = make_op(OPS[op], c_in if src == 0 else c_out, c_out, stride if src == 0 else 1,
                                          affine, track)
        self.edges = nn.ModuleDict(modules)
        self._inputs = [[(src, str(i)) for i, (src, dst) in enumerate(EDGES) if dst == t and str(i) in modules]
                        for t in range(1, SPACE.num_nodes)]

    def _zeros(self, x: torch.Tensor) -> torch.Tensor:
        return output_zeros(x, self.c_out, self.stride)


def output_zeros(x: torch.Tensor, channels: int, stride: int) -> torch.Tensor:
    """What a cell node fed by no edge holds: zeros of the cell's output shape."""
    n, _, h, w = x.shape
    return x.new_zeros(n, channels, (h + stride - 1) // stride, (w + stride - 1) // stride)


def cell_layout() -> list[tuple[int, int, int]]:
    """(input channels, output channels, stride) of each cell of the `41414` skeleton, in order."""
    layout, c = [], BASE_CHANNELS
    for digit in map(int, LAYER_CODES):
        c_out, stride = (2 * c if digit % 2 == 0 else c), (2 if digit > 2 else 1)
        layout += [(c, c_out, stride)] + [(c_out, c_out, 1)] * (CELLS_PER_LAYER - 1)
        c = c_out
    return layout


class Encoder(nn.Module):
    """The `64-41414` backbone: stem to 1/4 resolution, then five layers of two cells (512 channels, 1/32).
    `make_cell(c_in, c_out, stride)` builds each cell (a fixed cell, or the supernet's mixed one)."""

    def __init__(self, make_cell, track: bool):
        super().__init__()
        c = BASE_CHANNELS
        self.stem = nn.Sequential(
            nn.Conv2d(3, c // 2, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(c // 2),
            ReLUConvBN(c // 2, c, 3, 2, True, track),
        )
        self.cells = nn.Sequential(*(make_cell(c_in, c_out, stride) for c_in, c_out, stride in cell_layout()))
        self.channels = cell_layout()[-1][1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.cells(self.stem(x))


def _conv_block(c_in: int, c_out: int, upsample: bool) -> nn.Sequential:
    """The decoders' layer: 3x3 conv (or a stride-2 transposed conv that doubles the size), BN, LeakyReLU 0.2."""
    conv = (nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1) if upsample
            else nn.Conv2d(c_in, c_out, 3, padding=1))
    return nn.Sequential(conv, nn.BatchNorm2d(c_out), nn.LeakyReLU(0.2))


def segmentation_decoder(c_in: int, classes: int) -> nn.Sequential:
    """1024 channels, one plain layer to 512, four upsamplings halving the channels, one more upsampling."""
    widths = [1024, 512, 256, 128, 64, 32]
    layers = [_conv_block(c_in, widths[0], False), _conv_block(widths[0], widths[1], False)]
    layers += [_conv_block(a, b, True) for a, b in zip(widths[1:], widths[2:])]
    layers += [_conv_block(widths[-1], widths[-1], True), nn.Conv2d(widths[-1], classes, 3, padding=1)]
    return nn.Sequential(*layers)


def image_decoder(c_in: int, channels: int) -> nn.Sequential:
    """The pix2pix-style generator's 14 layers (five of them upsampling), ending in a tanh image."""
    plan = [(1024, False), (1024, False), (512, False), (512, False), (256, True), (128, False), (64, True),
            (64, False), (32, True), (32, False), (16, True), (32, False), (16, True)]
    layers, c = [], c_in
    for width, upsample in plan:
        layers.append(_conv_block(c, width, upsample))
        c = width
    layers += [nn.Conv2d(c, channels, 3, padding=1), nn.Tanh()]
    return nn.Sequential(*layers)


class TNB101Network(nn.Module):
    """The encoder and the task's head. `features(x)` is what Zen-score compares: the map a classifier
    pools (the tiles' maps concatenated for jigsaw), or a decoder's input to its last conv."""

    def __init__(self, arch: Arch, task: Task, affine: bool = True, track: bool = True, skip_dead_edges: bool = False,
                 make_cell=None):
        super().__init__()
        self.arch, self.kind, self.tiles = arch, HEAD_KINDS[task.target], task.tiles
        self.encoder = Encoder(make_cell or functools.partial(MicroCell, arch, affine=affine, track=track,
                                                              skip_dead_edges=skip_dead_edges), track)
        c = self.encoder.channels
        if self.kind == "pooled":
            self.pool = nn.AdaptiveAvgPool2d(1)
            self.head = nn.Linear(c * max(self.tiles, 1), task.num_classes)
        else:
            make = segmentation_decoder if self.kind == "segment" else image_decoder
            decoder = make(c, task.num_classes)
            last = 1 if self.kind == "segment" else 2  # the final conv (and tanh)
            self.decoder_body, self.head = decoder[:-last], decoder[-last:]

    def cell_features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The stem's output and each encoder cell's, in order; jigsaw's tiles go through as one batch."""
        maps = [self.encoder.stem(x.flatten(0, 1) if self.tiles else x)]
        for cell in self.encoder.cells:
            maps.append(cell(maps[-1]))
        return maps

    def features(self, x: torch.Tensor) -> torch.Tensor:
        if self.tiles:
            return torch.cat([self.encoder(x[:, t]) for t in range(self.tiles)], dim=1)
        encoded = self.encoder(x)
        return encoded if self.kind == "pooled" else self.decoder_body(encoded)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.features(x)
        if self.kind == "pooled":
            return self.head(self.pool(features).flatten(1))
        return self.head(features)


def build_network(arch: Arch, task: Task | str, convention: str = "benchmark",
                  skip_dead_edges: bool = False) -> TNB101Network:
    """The TransNAS-Bench-101 micro network of `arch` for one of its seven tasks."""
    if convention not in CONVENTIONS:
        raise ValueError(f"unknown network convention {convention!r}; valid: {', '.join(CONVENTIONS)}")
    task = SPACE.task(getattr(task, "name", task))
    return TNB101Network(arch, task, convention != "zero-cost", convention == "benchmark", skip_dead_edges)


def _weighted_ops(arch: Arch) -> list[list[tuple[int, int, int]]]:
    """Per encoder cell: (input channels, output channels, kernel area) of each edge op with weights."""
    cells = []
    for c_in, c_out, stride in cell_layout():
        ops = []
        for (src, _), op in zip(EDGES, arch):
            ci, s = (c_in, stride) if src == 0 else (c_out, 1)
            name = OPS[op]
            if name in ("nor_conv_1x1", "nor_conv_3x3"):
                ops.append((ci, c_out, 1 if name == "nor_conv_1x1" else 9))
            elif name == "skip_connect" and (s != 1 or ci != c_out):
                ops.append((ci, c_out, 1))  # the factorized reduction's two 1x1 convs
        cells.append(ops)
    return cells


@functools.cache
def _stem_and_head(task: Task) -> tuple[int, int]:
    """(parameters, multiply-adds per input) of everything but the cells: measured once on a network
    whose cells are all `none`."""
    net = TNB101Network(SPACE.arch([0] * len(EDGES)), task)
    return sum(p.numel() for p in net.parameters()), _hooked_macs(net, task)


def _hooked_macs(net: nn.Module, task: Task) -> int:
    total = [0]

    def add(module, inputs, output):
        # a transposed conv does one multiply-add per input element and weight of its output channel slice
        moved = inputs[0] if isinstance(module, nn.ConvTranspose2d) else output
        total[0] += moved.numel() * module.weight[0].numel()

    hooks = [m.register_forward_hook(add) for m in net.modules()
             if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    with torch.no_grad():
        net.eval()(torch.zeros(1, *task.input_shape))
    for hook in hooks:
        hook.remove()
    return total[0]


def count_parameters(arch: Arch, task: Task | str) -> int:
    """Parameters of the benchmark network, counted from the cell (equal to NAS-Bench-Suite-Zero's)."""
    task = get_task(task)
    cells = sum(ci * co * k + 2 * co for ops in _weighted_ops(arch) for ci, co, k in ops)  # each op ends in a BN
    return _stem_and_head(task)[0] + cells


def count_flops(arch: Arch, task: Task | str) -> int:
    """Multiply-adds of every conv, transposed conv and linear layer for one input (BN, ReLU, pooling not
    counted); jigsaw runs the encoder once per tile."""
    task = get_task(task)
    side, total = task.input_size // 4, 0  # the stem quarters the resolution
    for (_, _, stride), ops in zip(cell_layout(), _weighted_ops(arch)):
        side //= stride
        total += sum(side * side * co * ci * k for ci, co, k in ops)
    return _stem_and_head(task)[1] + total * max(task.tiles, 1)
