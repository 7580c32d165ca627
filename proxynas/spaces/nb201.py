"""The NAS-Bench-201 cell space: the generic cell space plus NB201's grammars and official index.

A cell is a DAG on 4 nodes; each of its 6 edges carries one of 5 operations (5**6 = 15,625 cells).
`Arch` stores the 6 op ids in the official arch-string edge order:
(0->1) | (0->2), (1->2) | (0->3), (1->3), (2->3). Canonical forms: `nb201` (NAS-Bench-201's own
isomorphism key, 6,466 classes) and `function` (4,930 distinct functions); see `spaces.cell`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

from proxynas.errors import ProxynasError
from proxynas.spaces.base import register_space
from proxynas.spaces.cell import CellArch, CellSpace
from proxynas.spaces.cell import IndexMap as CellIndexMap

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
NUM_NODES = 4

# NASLib (and NAS-Bench-Suite-Zero) order edges by source node first and number ops differently.
NASLIB_EDGES = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
NASLIB_OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
_TO_NASLIB_EDGE = tuple(EDGES.index(e) for e in NASLIB_EDGES)
_NASLIB_TO_OP = tuple(OPS.index(name) for name in NASLIB_OPS)
_OP_TO_NASLIB = tuple(NASLIB_OPS.index(name) for name in OPS)

_TUPLE_RE = re.compile(r"^\(?\s*(\d+(?:\s*,\s*\d+)*)\s*,?\s*\)?$")


class Arch(CellArch):
    """An immutable NB201 cell: a tuple of 6 op ids (indices into `OPS`) in arch-string edge order."""

    __slots__ = ()

    def to_naslib(self) -> tuple[int, ...]:
        """The NASLib op tuple, as used for keys in NAS-Bench-Suite-Zero files."""
        return tuple(_OP_TO_NASLIB[self[e]] for e in _TO_NASLIB_EDGE)

    @classmethod
    def from_naslib(cls, ops: Sequence[int]) -> "Arch":
        if len(ops) != len(EDGES) or any(not 0 <= int(o) < len(OPS) for o in ops):
            raise ProxynasError(f"not a NASLib NB201 op tuple (6 ids in 0..4): {tuple(ops)}")
        arch = [0] * len(EDGES)
        for naslib_pos, edge_pos in enumerate(_TO_NASLIB_EDGE):
            arch[edge_pos] = _NASLIB_TO_OP[int(ops[naslib_pos])]
        return cls(arch)


class NB201Space(CellSpace):
    graph_form = "nb201"
    tasks = ("cifar10", "cifar100", "imagenet16")

    def __init__(self):
        super().__init__("nb201", OPS, EDGES, zero_op="none", identity_op="skip_connect", arch_class=Arch)

    def parse(self, text: str) -> Arch:
        """An official arch string or a NASLib op tuple (indices need the benchmark: see `IndexMap`)."""
        stripped = text.strip()
        if stripped.startswith("("):
            return parse_naslib_tuple(stripped)
        if "~" in stripped or "|" in stripped:
            return super().parse(stripped)
        raise ProxynasError(
            f"cannot read {text!r} as an NB201 architecture: give an arch string like "
            f"'|nor_conv_3x3~0|+|none~0|skip_connect~1|+|...|', a NASLib tuple like '(2, 2, 0, 2, 2, 3)', "
            f"or an index 0..{self.size - 1}"
        )

    def build_network(self, arch: Arch, task, convention: str = "benchmark", skip_dead_edges: bool = False):
        from proxynas.spaces.nb201_net import build_network

        return build_network(arch, task, convention, skip_dead_edges=skip_dead_edges)

    def build_cell(self, arch: Arch, channels: int):
        """One cell alone (affine BN, batch statistics), as TE-NAS counts linear regions on."""
        from proxynas.spaces.nb201_net import Cell

        return Cell(arch, channels, affine=True, track=False)

    def build_supernet(self, task, convention: str = "zero-cost", channels: int = 16, cells_per_stage: int = 5):
        """The weight-sharing supernet; by default the NAS-Bench-201 paper's search size (16 channels, 5 cells)."""
        from proxynas.spaces.nb201_supernet import build_supernet

        return build_supernet(task, channels, cells_per_stage, track=convention == "benchmark")

    def count_params(self, arch: Arch, task) -> int:
        from proxynas.spaces.nb201_net import count_parameters

        return count_parameters(arch, task.num_classes)

    def count_flops(self, arch: Arch, task) -> int:
        from proxynas.spaces.nb201_net import count_flops

        return count_flops(arch, task)


SPACE = register_space(NB201Space())
NUM_ARCHS = SPACE.size
CANONICAL_FORMS = SPACE.canonical_forms


def parse_naslib_tuple(text: str) -> Arch:
    """Parse a NASLib op tuple written as text, e.g. `(4, 3, 3, 0, 0, 0)`."""
    match = _TUPLE_RE.match(text.strip())
    if not match:
        raise ProxynasError(f"not a NASLib op tuple: {text!r}")
    return Arch.from_naslib([int(x) for x in match.group(1).split(",")])


class IndexMap(CellIndexMap):
    """The official NB201 index map: row i of `ops_in_index_order` is the cell with official index i."""

    def __init__(self, ops_in_index_order: np.ndarray):
        super().__init__(SPACE, ops_in_index_order)


# Module-level shorthands for the one NB201 space.
parse = SPACE.parse
all_archs = SPACE.all_archs
sample = SPACE.sample
neighbours = SPACE.neighbours
mutate = SPACE.mutate
canonical_function = SPACE.canonical_function
function_representative = SPACE.function_representative
class_ids = SPACE.class_ids
