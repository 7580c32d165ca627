"""The TransNAS-Bench-101 micro weight-sharing supernet: the `64-41414` network whose every cell edge
mixes the space's ops with weights.

The encoder, heads and decoders are the benchmark network's (`tnb101_net`); each cell edge holds one module
per op except `none` (built by the network's own `make_op`, so edges leaving a cell's input carry the
stride and channel change, and `skip` there is the factorized reduction) and outputs
sum_o w[edge, o] * op_o(x). One (edges x ops) weight matrix is shared by all ten cells: a copy of it is
each cell's `op_weights` buffer, all set together by `set_op_weights`. Ops of weight exactly 0 are not run.
Convention as for the NB201 supernet: cell BNs without affine parameters; running statistics only in the
`benchmark` convention.
"""

from __future__ import annotations

import torch
from torch import nn

from proxynas.spaces.tnb101 import EDGES, OPS, SPACE
from proxynas.spaces.tnb101_net import TNB101Network, make_op, output_zeros
from proxynas.tasks import Task


class MixedMicroEdge(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int, affine: bool, track: bool):
        super().__init__()
        self.ops = nn.ModuleDict({name: make_op(name, c_in, c_out, stride, affine, track)
                                  for name in OPS if name != "none"})

    def forward(self, x: torch.Tensor, weights: torch.Tensor, active: list[bool]) -> list[torch.Tensor]:
        """The weighted outputs of the active ops (`none` adds zeros: nothing)."""
        return [weights[k] * self.ops[name](x) for k, name in enumerate(OPS) if active[k] and name in self.ops]


class MixedMicroCell(nn.Module):
    def __init__(self, c_in: int, c_out: int, stride: int, affine: bool, track: bool):
        super().__init__()
        self.c_out, self.stride = c_out, stride
        self.edges = nn.ModuleList(MixedMicroEdge(c_in if src == 0 else c_out, c_out, stride if src == 0 else 1,
                                                  affine, track) for src, _ in EDGES)
        self.register_buffer("op_weights", torch.full((len(EDGES), len(OPS)), 1.0 / len(OPS)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        active = (self.op_weights != 0).tolist()  # read once: one device sync per cell, not one per op
        nodes = [x]
        for node in range(1, SPACE.num_nodes):
            terms = [t for i, (edge, (src, dst)) in enumerate(zip(self.edges, EDGES)) if dst == node
                     for t in edge(nodes[src], self.op_weights[i], active[i])]
            nodes.append(sum(terms[1:], terms[0]) if terms else output_zeros(x, self.c_out, self.stride))
        return nodes[-1]


class TNB101Supernet(TNB101Network):
    """The task's network with mixed cells. `affine` cell BNs only to compare parameter counts with the
    benchmark's networks."""

    def __init__(self, task: Task, track: bool = False, affine: bool = False):
        super().__init__(None, task, track=track, make_cell=lambda c_in, c_out, stride: MixedMicroCell(
            c_in, c_out, stride, affine, track))

    def set_op_weights(self, weights: torch.Tensor) -> None:
        for cell in self.encoder.cells:
            cell.op_weights.copy_(weights)


def build_supernet(task: Task | str, convention: str = "zero-cost") -> TNB101Supernet:
    return TNB101Supernet(SPACE.task(getattr(task, "name", task)), track=convention == "benchmark")
