"""The TransNAS-Bench-101 micro cell space: the generic cell space plus the benchmark's cell code.

A cell is NAS-Bench-201's 4-node DAG with 4 operations, 4**6 = 4,096 cells. The official code of a
network is `64-41414-a_bc_def`: the fixed macro skeleton `64-41414`, then one digit per edge,
grouped by target node: a = (0->1); b, c = (0->2), (1->2); d, e, f = (0->3), (1->3), (2->3). Digits:
0 none (zeroize), 1 skip_connect, 2 nor_conv_1x1, 3 nor_conv_3x3 (checked on the benchmark's data:
all-0 cells score worst on every task, all-3 near the best). NASLib's `OP_NAMES` orders the ops
differently: never decode these codes with it.
"""

from __future__ import annotations

import re

from proxynas.errors import ProxynasError
from proxynas.spaces.base import register_space
from proxynas.spaces.cell import CellArch, CellSpace
from proxynas.spaces.cell import IndexMap as CellIndexMap
from proxynas.tasks import TNB101_SCORES

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3")
EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
MACRO = "64-41414"
_CODE_RE = re.compile(r"^(?:64-41414-)?([0-3])_([0-3]{2})_([0-3]{3})$")
_TUPLE_RE = re.compile(r"^\(\s*([0-9]+(?:\s*,\s*[0-9]+)*)\s*,?\s*\)$")


class Arch(CellArch):
    """A TransNAS-Bench-101 micro cell: 6 op ids (0..3) in the code's edge order; `str()` is the official code."""

    __slots__ = ()


class TNB101Space(CellSpace):
    tasks = tuple(TNB101_SCORES)
    def __init__(self):
        super().__init__("tnb101", OPS, EDGES, zero_op="none", identity_op="skip_connect", arch_class=Arch)

    def format(self, arch: Arch) -> str:
        digits = "".join(str(o) for o in arch)
        return f"{MACRO}-{digits[0]}_{digits[1:3]}_{digits[3:]}"

    def parse(self, text: str) -> Arch:
        """The official code (`64-41414-3_33_333`, or just `3_33_333`), the data files' 6-tuple
        (`(3, 3, 3, 3, 3, 3)`) or an arch string with these op names."""
        stripped = text.strip()
        code = _CODE_RE.match(stripped)
        if code:
            return Arch(int(d) for d in "".join(code.groups()))
        if stripped.startswith("64-") or "_" in stripped and "~" not in stripped:
            raise ProxynasError(f"malformed TransNAS-Bench-101 micro cell code {text!r}: expected "
                                f"'{MACRO}-a_bc_def' with digits 0-3 (0 none, 1 skip, 2 conv 1x1, 3 conv 3x3)")
        match = _TUPLE_RE.match(stripped)
        if match:
            return Arch(int(x) for x in match.group(1).split(","))
        if "~" in stripped or "|" in stripped:
            return super().parse(stripped)
        raise ProxynasError(f"cannot read {text!r} as a TransNAS-Bench-101 micro cell: give a code like "
                            f"'{MACRO}-3_33_333', a tuple like '(3, 3, 3, 3, 3, 3)' or an index 0..{self.size - 1}")

    def function_key(self, arch: Arch) -> str:
        """Same function of the whole network: the first cell of each reduction layer turns a skip from
        its input into a strided projection, so that skip is not the identity (finer than the cell's
        own "function" classes)."""
        return self.canonical_function(arch, reshaping_input_skip=True)

    def build_network(self, arch: Arch, task, convention: str = "benchmark", skip_dead_edges: bool = False):
        from proxynas.spaces.tnb101_net import build_network

        return build_network(arch, task, convention, skip_dead_edges=skip_dead_edges)

    def build_cell(self, arch: Arch, channels: int):
        """One cell alone at stride 1 (affine BN, batch statistics), as TE-NAS counts linear regions on."""
        from proxynas.spaces.tnb101_net import MicroCell

        return MicroCell(arch, channels, channels, 1, affine=True, track=False)

    def build_supernet(self, task, convention: str = "zero-cost"):
        """The weight-sharing supernet on the benchmark's fixed `64-41414` skeleton and the task's head."""
        from proxynas.spaces.tnb101_supernet import build_supernet

        return build_supernet(task, convention)

    def count_params(self, arch: Arch, task) -> int:
        from proxynas.spaces.tnb101_net import count_parameters

        return count_parameters(arch, task)

    def count_flops(self, arch: Arch, task) -> int:
        from proxynas.spaces.tnb101_net import count_flops

        return count_flops(arch, task)


SPACE = register_space(TNB101Space())


class IndexMap(CellIndexMap):
    """The benchmark's official index map: row i of `ops_in_index_order` is the cell with index i."""

    def __init__(self, ops_in_index_order):
        super().__init__(SPACE, ops_in_index_order)
