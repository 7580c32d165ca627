"""The NAS-Bench-201 cell space: encodings, enumeration, sampling, neighbours and canonical forms.

A cell is a DAG on 4 nodes; each of its 6 edges carries one of 5 operations (5**6 = 15,625 cells).
`Arch` stores the 6 op ids in the official arch-string edge order:
(0->1) | (0->2), (1->2) | (0->3), (1->3), (2->3).
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Sequence

import numpy as np

from proxynas.errors import ProxynasError

OPS = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
EDGES = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
NUM_NODES = 4
NUM_ARCHS = len(OPS) ** len(EDGES)

# NASLib (and NAS-Bench-Suite-Zero) order edges by source node first and number ops differently.
NASLIB_EDGES = ((0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3))
NASLIB_OPS = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")
_TO_NASLIB_EDGE = tuple(EDGES.index(e) for e in NASLIB_EDGES)
_NASLIB_TO_OP = tuple(OPS.index(name) for name in NASLIB_OPS)
_OP_TO_NASLIB = tuple(NASLIB_OPS.index(name) for name in OPS)

_TUPLE_RE = re.compile(r"^\(?\s*(\d+(?:\s*,\s*\d+)*)\s*,?\s*\)?$")


class Arch(tuple):
    """An immutable NB201 cell: a tuple of 6 op ids (indices into `OPS`) in arch-string edge order."""

    __slots__ = ()

    def __new__(cls, ops: Iterable[int]) -> "Arch":
        ops = tuple(int(o) for o in ops)
        if len(ops) != len(EDGES):
            raise ProxynasError(f"an NB201 cell has {len(EDGES)} edges, got {len(ops)}: {ops}")
        for o in ops:
            if not 0 <= o < len(OPS):
                raise ProxynasError(f"op id {o} is out of range 0..{len(OPS) - 1} in {ops}")
        return super().__new__(cls, ops)

    def __str__(self) -> str:
        groups = []
        for target in range(1, NUM_NODES):
            tokens = [f"{OPS[op]}~{src}" for (src, dst), op in zip(EDGES, self) if dst == target]
            groups.append("|" + "|".join(tokens) + "|")
        return "+".join(groups)

    def __repr__(self) -> str:
        return f"Arch('{self}')"

    @property
    def op_names(self) -> tuple[str, ...]:
        return tuple(OPS[o] for o in self)

    @property
    def code(self) -> int:
        """Position in our own enumeration (mixed radix, first edge most significant); not the official index."""
        code = 0
        for o in self:
            code = code * len(OPS) + o
        return code

    @classmethod
    def from_code(cls, code: int) -> "Arch":
        if not 0 <= code < NUM_ARCHS:
            raise ProxynasError(f"arch code {code} is out of range 0..{NUM_ARCHS - 1}")
        ops = []
        for _ in EDGES:
            code, o = divmod(code, len(OPS))
            ops.append(o)
        return cls(reversed(ops))

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


def parse_arch_string(text: str) -> Arch:
    """Parse an official arch string such as `|nor_conv_3x3~0|+|skip_connect~0|none~1|+|...|`."""
    groups = text.strip().split("+")
    if len(groups) != NUM_NODES - 1:
        raise ProxynasError(
            f"malformed NB201 arch string {text!r}: expected {NUM_NODES - 1} '+'-separated node groups, "
            f"got {len(groups)}"
        )
    ops = {}
    for target, group in enumerate(groups, start=1):
        tokens = [t for t in group.strip().strip("|").split("|")]
        if len(tokens) != target:
            raise ProxynasError(
                f"malformed NB201 arch string {text!r}: node {target} needs {target} input edge(s), "
                f"got {len(tokens)} in {group!r}"
            )
        for token in tokens:
            name, sep, src = token.partition("~")
            if not sep or not src.strip().isdigit():
                raise ProxynasError(f"malformed edge token {token!r} in {text!r}: expected 'op~input_node'")
            if name not in OPS:
                raise ProxynasError(f"unknown operation {name!r} in token {token!r}; valid ops: {', '.join(OPS)}")
            src = int(src)
            if src >= target:
                raise ProxynasError(
                    f"bad node index in token {token!r}: node {target} takes inputs 0..{target - 1}"
                )
            if (src, target) in ops:
                raise ProxynasError(f"edge {src}->{target} appears twice (token {token!r}) in {text!r}")
            ops[(src, target)] = OPS.index(name)
    return Arch(ops[e] for e in EDGES)


def parse_naslib_tuple(text: str) -> Arch:
    """Parse a NASLib op tuple written as text, e.g. `(4, 3, 3, 0, 0, 0)`."""
    match = _TUPLE_RE.match(text.strip())
    if not match:
        raise ProxynasError(f"not a NASLib op tuple: {text!r}")
    return Arch.from_naslib([int(x) for x in match.group(1).split(",")])


def parse(text: str) -> Arch:
    """Parse an arch string or a NASLib op tuple (indices need the benchmark: see `IndexMap`)."""
    stripped = text.strip()
    if stripped.startswith("("):
        return parse_naslib_tuple(stripped)
    if "~" in stripped or "|" in stripped:
        return parse_arch_string(stripped)
    raise ProxynasError(
        f"cannot read {text!r} as an NB201 architecture: give an arch string like "
        f"'|nor_conv_3x3~0|+|none~0|skip_connect~1|+|...|', a NASLib tuple like '(2, 2, 0, 2, 2, 3)', "
        f"or an index 0..{NUM_ARCHS - 1}"
    )


def all_archs() -> list[Arch]:
    """All 15,625 cells in our enumeration order (`Arch.code` order)."""
    return [Arch(ops) for ops in itertools.product(range(len(OPS)), repeat=len(EDGES))]


def sample(n: int, seed: int | np.random.Generator, replace: bool = False) -> list[Arch]:
    """`n` cells drawn uniformly (without replacement unless `replace`), reproducible from `seed`."""
    rng = np.random.default_rng(seed)
    if not replace and n > NUM_ARCHS:
        raise ProxynasError(f"cannot sample {n} distinct cells from a space of {NUM_ARCHS}")
    codes = rng.choice(NUM_ARCHS, size=n, replace=replace)
    return [Arch.from_code(int(c)) for c in codes]


def neighbours(arch: Arch) -> list[Arch]:
    """The 24 cells that differ from `arch` in exactly one edge's operation."""
    result = []
    for edge, current in enumerate(arch):
        for op in range(len(OPS)):
            if op != current:
                result.append(Arch(arch[:edge] + (op,) + arch[edge + 1:]))
    return result


def mutate(arch: Arch, rng: np.random.Generator) -> Arch:
    """A uniformly chosen one-edit neighbour of `arch`."""
    options = neighbours(arch)
    return options[int(rng.integers(len(options)))]


# --- canonical forms ---------------------------------------------------------------------------

def canonical_nb201(arch: Arch) -> str:
    """NAS-Bench-201's own isomorphism key (`to_unique_str` with zeros considered): 6,466 classes.

    skip passes its input's expression through, `none` or a zero input gives '#', a node's terms
    are sorted; zero terms stay in the sums, and nested sums are not flattened.
    """
    nodes = {0: "0"}
    for target in range(1, NUM_NODES):
        terms = []
        for (src, dst), op in zip(EDGES, arch):
            if dst != target:
                continue
            if OPS[op] == "none" or nodes[src] == "#":
                terms.append("#")
            elif OPS[op] == "skip_connect":
                terms.append(nodes[src])
            else:
                terms.append(f"({nodes[src]})@{OPS[op]}")
        nodes[target] = "+".join(sorted(terms))
    return nodes[NUM_NODES - 1]


def canonical_function(arch: Arch) -> str:
    """A key that is equal exactly when two cells compute the same function: 4,930 classes.

    A node is the multiset of its non-zero terms (sums are flattened and unordered); skip adds its
    input's terms, `none` and zero inputs add nothing, conv/pool add one term `op(input)`; edges that
    cannot reach the output never enter node 3's expression. (Dropping zeros from NB201's string
    without flattening nested sums gives 5,390 keys, but splits equal functions such as
    conv(x) + (x + pool(x)) and (conv(x) + x) + pool(x).)
    """
    nodes: dict[int, tuple] = {0: ("x",)}
    for target in range(1, NUM_NODES):
        terms: list = []
        for (src, dst), op in zip(EDGES, arch):
            if dst != target or OPS[op] == "none" or not nodes[src]:
                continue
            if OPS[op] == "skip_connect":
                terms.extend(nodes[src])
            else:
                terms.append((OPS[op], nodes[src]))
        nodes[target] = tuple(sorted(terms, key=repr))
    return repr(nodes[NUM_NODES - 1]) if nodes[NUM_NODES - 1] else "zero"


def live_edges(arch: Arch) -> tuple[bool, ...]:
    """Per edge: does it carry a non-zero signal that reaches the output? (Others can be skipped.)"""
    nonzero = {0: True}
    for target in range(1, NUM_NODES):
        nonzero[target] = any(dst == target and OPS[op] != "none" and nonzero[src]
                              for (src, dst), op in zip(EDGES, arch))
    reaches = {NUM_NODES - 1: True}
    for node in range(NUM_NODES - 2, -1, -1):
        reaches[node] = any(src == node and OPS[op] != "none" and reaches[dst] for (src, dst), op in zip(EDGES, arch))
    return tuple(OPS[op] != "none" and nonzero[src] and reaches[dst] for (src, dst), op in zip(EDGES, arch))


CANONICAL_FORMS = {"nb201": canonical_nb201, "function": canonical_function}


@functools.lru_cache(maxsize=1)
def _function_representatives() -> dict[str, Arch]:
    representatives: dict[str, Arch] = {}
    for arch in all_archs():
        representatives.setdefault(canonical_function(arch), arch)
    return representatives


def function_representative(arch: Arch) -> Arch:
    """The member of `arch`'s function class with the smallest code: whom function-only proxies score."""
    return _function_representatives()[canonical_function(arch)]


def class_ids(archs: Sequence[Arch], form: str) -> np.ndarray:
    """Class id per cell under a canonical form; ids number classes in order of first appearance."""
    if form not in CANONICAL_FORMS:
        raise ProxynasError(f"unknown canonical form {form!r}; valid: {', '.join(CANONICAL_FORMS)}")
    key = CANONICAL_FORMS[form]
    seen: dict[str, int] = {}
    return np.array([seen.setdefault(key(a), len(seen)) for a in archs], dtype=np.int32)


def codes_of(ops: np.ndarray) -> np.ndarray:
    """`Arch.code` for every row of an (N, 6) array of op ids, vectorised."""
    weights = len(OPS) ** np.arange(len(EDGES) - 1, -1, -1, dtype=np.int64)
    return np.asarray(ops, dtype=np.int64) @ weights


class IndexMap:
    """Converts between cells and the official benchmark index (the row order of the NB201 tables)."""

    def __init__(self, ops_in_index_order: np.ndarray):
        """`ops_in_index_order`: (15625, 6) op ids, row i = the cell with official index i."""
        self._ops = np.asarray(ops_in_index_order)
        codes = codes_of(self._ops)
        self._index_of_code = np.full(NUM_ARCHS, -1, dtype=np.int64)
        self._index_of_code[codes] = np.arange(len(codes))
        if len(codes) != NUM_ARCHS or (self._index_of_code < 0).any():
            raise ProxynasError(f"the NB201 index table must list each of the {NUM_ARCHS} cells exactly once")

    def index_of(self, arch: Arch) -> int:
        return int(self._index_of_code[arch.code])

    def indices_of(self, archs: Iterable[Arch]) -> np.ndarray:
        return self._index_of_code[[a.code for a in archs]]

    def arch_at(self, index: int) -> Arch:
        if not 0 <= index < NUM_ARCHS:
            raise ProxynasError(f"NB201 index {index} is out of range 0..{NUM_ARCHS - 1}")
        return Arch(self._ops[index])

    def resolve(self, token: str) -> Arch:
        """Read one user-given architecture: an index, an arch string or a NASLib tuple."""
        stripped = token.strip()
        if stripped.lstrip("-").isdigit():
            return self.arch_at(int(stripped))
        return parse(stripped)
