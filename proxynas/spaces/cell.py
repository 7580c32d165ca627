"""A generic cell space: a DAG whose edges each carry one operation from a fixed list.

A space is its op names, its edges (src, dst) with src < dst, and which op is the zero op and which
the identity (either may be absent); node 0 is the input, the last node the output. Architectures
are tuples of op ids in the space's edge order. Everything else is derived here: enumeration,
sampling, neighbours, codes, canonical forms, live edges, encodings and an index map. A concrete
space (NB201, ...) adds its grammars and its network on top.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Sequence

import numpy as np

from proxynas.errors import ProxynasError
from proxynas.spaces.base import SearchSpace


class CellArch(tuple):
    """An immutable cell: one op id per edge, in its space's edge order. `str()` is the space's format."""

    __slots__ = ()
    space: "CellSpace"  # set on each space's own subclass

    def __new__(cls, ops: Iterable[int]):
        ops = tuple(int(o) for o in ops)
        space = cls.space
        if len(ops) != len(space.edges):
            raise ProxynasError(f"a {space.name} cell has {len(space.edges)} edges, got {len(ops)}: {ops}")
        for o in ops:
            if not 0 <= o < len(space.ops):
                raise ProxynasError(f"op id {o} is out of range 0..{len(space.ops) - 1} in {ops}")
        return super().__new__(cls, ops)

    def __str__(self) -> str:
        return self.space.format(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}('{self}')"

    @property
    def op_names(self) -> tuple[str, ...]:
        return tuple(self.space.ops[o] for o in self)

    @property
    def code(self) -> int:
        """Position in the space's enumeration (mixed radix, first edge most significant)."""
        code = 0
        for o in self:
            code = code * len(self.space.ops) + o
        return code

    @classmethod
    def from_code(cls, code: int):
        space = cls.space
        if not 0 <= code < space.size:
            raise ProxynasError(f"arch code {code} is out of range 0..{space.size - 1}")
        ops = []
        for _ in space.edges:
            code, o = divmod(code, len(space.ops))
            ops.append(o)
        return cls(reversed(ops))


class CellSpace(SearchSpace):
    graph_form = "graph"  # the name of the isomorphism form (NB201 calls it "nb201")
    encodings = ("onehot", "path")

    def __init__(self, name: str, ops: Sequence[str], edges: Sequence[tuple[int, int]], zero_op: str | None = None,
                 identity_op: str | None = None, arch_class: type[CellArch] | None = None):
        if any(src >= dst for src, dst in edges) or len(set(edges)) != len(edges):
            raise ValueError(f"cell edges must be distinct (src, dst) pairs with src < dst: {edges}")
        self.name, self.ops, self.edges = name, tuple(ops), tuple(tuple(e) for e in edges)
        self.zero_op, self.identity_op = zero_op, identity_op
        self.num_nodes = max(dst for _, dst in self.edges) + 1
        self.size = len(self.ops) ** len(self.edges)
        self.Arch = arch_class or type(f"{name}Arch", (CellArch,), {"__slots__": ()})
        self.Arch.space = self
        self.paths = self._input_output_paths()
        self.path_ops = tuple(op for op in self.ops if op != zero_op)
        self.path_sequences = tuple(seq for length in sorted({len(p) for p in self.paths})
                                    for seq in itertools.product(self.path_ops, repeat=length))

    # --- architectures -------------------------------------------------------------------------

    def arch(self, ops: Iterable[int]) -> CellArch:
        return self.Arch(ops)

    def format(self, arch: CellArch) -> str:
        """`|op~src|...|+|...|`: one group per node (its input edges), as NAS-Bench-201 writes cells."""
        groups = []
        for target in range(1, self.num_nodes):
            tokens = [f"{self.ops[op]}~{src}" for (src, dst), op in zip(self.edges, arch) if dst == target]
            groups.append("|" + "|".join(tokens) + "|")
        return "+".join(groups)

    def parse(self, text: str) -> CellArch:
        """Read the `format` grammar: `+`-separated node groups of `op~input_node` tokens."""
        groups = text.strip().split("+")
        if len(groups) != self.num_nodes - 1:
            raise ProxynasError(f"malformed {self.name} arch string {text!r}: expected {self.num_nodes - 1} "
                                f"'+'-separated node groups, got {len(groups)}")
        ops = {}
        for target, group in enumerate(groups, start=1):
            expected = sum(1 for _, dst in self.edges if dst == target)
            tokens = group.strip().strip("|").split("|")
            if len(tokens) != expected:
                raise ProxynasError(f"malformed {self.name} arch string {text!r}: node {target} needs {expected} "
                                    f"input edge(s), got {len(tokens)} in {group!r}")
            for token in tokens:
                name, sep, src = token.partition("~")
                if not sep or not src.strip().isdigit():
                    raise ProxynasError(f"malformed edge token {token!r} in {text!r}: expected 'op~input_node'")
                if name not in self.ops:
                    raise ProxynasError(f"unknown operation {name!r} in token {token!r}; valid ops: "
                                        f"{', '.join(self.ops)}")
                edge = (int(src), target)
                if edge not in self.edges:
                    raise ProxynasError(f"bad node index in token {token!r}: node {target} takes inputs "
                                        f"{', '.join(str(s) for s, d in self.edges if d == target)}")
                if edge in ops:
                    raise ProxynasError(f"edge {edge[0]}->{target} appears twice (token {token!r}) in {text!r}")
                ops[edge] = self.ops.index(name)
        return self.Arch(ops[e] for e in self.edges)

    def all_archs(self) -> list[CellArch]:
        """Every cell in `code` order."""
        return [self.Arch(ops) for ops in itertools.product(range(len(self.ops)), repeat=len(self.edges))]

    def sample(self, n: int, seed: int | np.random.Generator, replace: bool = False) -> list[CellArch]:
        rng = np.random.default_rng(seed)
        if not replace and n > self.size:
            raise ProxynasError(f"cannot sample {n} distinct cells from a space of {self.size}")
        return [self.Arch.from_code(int(c)) for c in rng.choice(self.size, size=n, replace=replace)]

    def neighbours(self, arch: CellArch) -> list[CellArch]:
        """The cells that differ from `arch` in exactly one edge's operation."""
        return [self.Arch(arch[:edge] + (op,) + arch[edge + 1:])
                for edge, current in enumerate(arch) for op in range(len(self.ops)) if op != current]

    def codes_of(self, ops: np.ndarray) -> np.ndarray:
        """`code` for every row of an (N, edges) array of op ids, vectorised."""
        weights = len(self.ops) ** np.arange(len(self.edges) - 1, -1, -1, dtype=np.int64)
        return np.asarray(ops, dtype=np.int64) @ weights

    # --- canonical forms ---------------------------------------------------------------------------

    @property
    def canonical_forms(self) -> tuple[str, ...]:
        return (self.graph_form, "function")

    def canonical(self, arch: CellArch, form: str) -> str:
        if form == self.graph_form:
            return self.canonical_graph(arch)
        if form == "function":
            return self.canonical_function(arch)
        raise ProxynasError(f"unknown canonical form {form!r}; valid: {', '.join(self.canonical_forms)}")

    def canonical_graph(self, arch: CellArch) -> str:
        """NAS-Bench-201's isomorphism key (its `to_unique_str`, zero terms kept): the identity passes its
        input's expression through, the zero op or a zero input gives '#', a node's terms are sorted;
        nested sums are not flattened."""
        nodes = {0: "0"}
        for target in range(1, self.num_nodes):
            terms = []
            for (src, dst), op in zip(self.edges, arch):
                if dst != target:
                    continue
                name = self.ops[op]
                if name == self.zero_op or nodes[src] == "#":
                    terms.append("#")
                elif name == self.identity_op:
                    terms.append(nodes[src])
                else:
                    terms.append(f"({nodes[src]})@{name}")
            nodes[target] = "+".join(sorted(terms)) if terms else "#"
        return nodes[self.num_nodes - 1]

    def canonical_function(self, arch: CellArch, reshaping_input_skip: bool = False) -> str:
        """A key equal exactly when two cells compute the same function.

        A node is the multiset of its non-zero terms (sums flattened and unordered); the identity adds
        its input's terms, the zero op and zero inputs add nothing, other ops add one term `op(input)`;
        edges that cannot reach the output never enter the output's expression. With
        `reshaping_input_skip`, a skip leaving the input node is an op of its own (in a network whose
        reduction cells make it a strided projection) rather than the identity.
        """
        nodes: dict[int, tuple] = {0: ("x",)}
        for target in range(1, self.num_nodes):
            terms: list = []
            for (src, dst), op in zip(self.edges, arch):
                name = self.ops[op]
                if dst != target or name == self.zero_op or not nodes[src]:
                    continue
                if name == self.identity_op and not (reshaping_input_skip and src == 0):
                    terms.extend(nodes[src])
                else:
                    terms.append((name, nodes[src]))
            nodes[target] = tuple(sorted(terms, key=repr))
        return repr(nodes[self.num_nodes - 1]) if nodes[self.num_nodes - 1] else "zero"

    def is_zero(self, arch: CellArch) -> bool:
        return self.canonical_function(arch) == "zero"

    def live_edges(self, arch: CellArch) -> tuple[bool, ...]:
        """Per edge: does it carry a non-zero signal that reaches the output? (Others can be skipped.)"""
        live_op = [self.ops[op] != self.zero_op for op in arch]
        nonzero = {0: True}
        for target in range(1, self.num_nodes):
            nonzero[target] = any(dst == target and on and nonzero[src]
                                  for (src, dst), on in zip(self.edges, live_op))
        reaches = {self.num_nodes - 1: True}
        for node in range(self.num_nodes - 2, -1, -1):
            reaches[node] = any(src == node and on and reaches[dst] for (src, dst), on in zip(self.edges, live_op))
        return tuple(on and nonzero[src] and reaches[dst] for (src, dst), on in zip(self.edges, live_op))

    def uses_every_op(self, arch: CellArch) -> bool:
        """Does every op other than the zero op lie on a live input-output path? Each network has exactly one
        such cell once unused ops are replaced by the zero op (on NB201: 9,445 of 15,625 cells)."""
        return all(live or self.ops[op] == self.zero_op for op, live in zip(arch, self.live_edges(arch)))

    @functools.cached_property
    def _function_representatives(self) -> dict[str, CellArch]:
        representatives: dict[str, CellArch] = {}
        for arch in self.all_archs():
            representatives.setdefault(self.function_key(arch), arch)
        return representatives

    def function_representative(self, arch: CellArch) -> CellArch:
        """The member of `arch`'s function class (by `function_key`) with the smallest code."""
        return self._function_representatives[self.function_key(arch)]

    def class_ids(self, archs: Sequence[CellArch], form: str) -> np.ndarray:
        """Class id per cell under a canonical form; ids number classes in order of first appearance."""
        seen: dict[str, int] = {}
        return np.array([seen.setdefault(self.canonical(a, form), len(seen)) for a in archs], dtype=np.int32)

    # --- encodings for predictors -------------------------------------------------------------------

    def _input_output_paths(self) -> tuple[tuple[int, ...], ...]:
        """Every path from the input node to the output, as edge positions."""
        def from_node(node):
            if node == self.num_nodes - 1:
                return [()]
            return [(i,) + rest for i, (src, dst) in enumerate(self.edges) if src == node for rest in from_node(dst)]
        return tuple(sorted(from_node(0), key=len))

    def encode(self, archs: Sequence[CellArch], encoding: str) -> np.ndarray:
        """`onehot`: per edge, which op it carries. `path`: how many live input-to-output paths carry each
        op sequence (no zero op on a live path), as path-based NAS predictors use."""
        if encoding == "onehot":
            ops = np.asarray(archs, dtype=np.int64).reshape(-1, len(self.edges))
            out = np.zeros((len(ops), len(self.edges), len(self.ops)))
            np.put_along_axis(out, ops[:, :, None], 1.0, axis=2)
            return out.reshape(len(ops), -1)
        if encoding == "path":
            column = {seq: i for i, seq in enumerate(self.path_sequences)}
            out = np.zeros((len(archs), len(self.path_sequences)))
            for row, arch in enumerate(archs):
                for path in self.paths:
                    seq = tuple(self.ops[arch[e]] for e in path)
                    if self.zero_op not in seq:
                        out[row, column[seq]] += 1
            return out
        raise ProxynasError(f"unknown encoding {encoding!r}; valid: {', '.join(self.encodings)}")

    def encoding_names(self, encoding: str) -> list[str]:
        if encoding == "onehot":
            return [f"edge{src}{dst}={op}" for src, dst in self.edges for op in self.ops]
        if encoding == "path":
            return ["path=" + ">".join(seq) for seq in self.path_sequences]
        raise ProxynasError(f"unknown encoding {encoding!r}; valid: {', '.join(self.encodings)}")


class IndexMap:
    """Converts between cells and a benchmark's official index (the row order of its tables)."""

    def __init__(self, space: CellSpace, ops_in_index_order: np.ndarray):
        """`ops_in_index_order`: (size, edges) op ids, row i = the cell with official index i."""
        self.space = space
        self._ops = np.asarray(ops_in_index_order)
        codes = space.codes_of(self._ops)
        self._index_of_code = np.full(space.size, -1, dtype=np.int64)
        self._index_of_code[codes] = np.arange(len(codes))
        if len(codes) != space.size or (self._index_of_code < 0).any():
            raise ProxynasError(f"the {space.name} index table must list each of the {space.size} cells exactly once")

    def index_of(self, arch: CellArch) -> int:
        return int(self._index_of_code[arch.code])

    def indices_of(self, archs: Iterable[CellArch]) -> np.ndarray:
        return self._index_of_code[[a.code for a in archs]]

    def arch_at(self, index: int) -> CellArch:
        if not 0 <= index < self.space.size:
            raise ProxynasError(f"{self.space.name} index {index} is out of range 0..{self.space.size - 1}")
        return self.space.Arch(self._ops[index])

    def resolve(self, token: str) -> CellArch:
        """Read one user-given architecture: an index or anything the space parses."""
        stripped = token.strip()
        if re.fullmatch(r"-?[0-9]+", stripped):  # ASCII digits only: '²'.isdigit() is true, int('²') fails
            return self.arch_at(int(stripped))
        return self.space.parse(stripped)
