import csv
import re

import numpy as np
import pytest

from proxynas.errors import ProxynasError
from proxynas.spaces import nb201
from proxynas.spaces.nb201 import Arch

from conftest import simulated_function_classes

BEST_CIFAR10 = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


def test_encodings_round_trip_on_every_row_of_the_table(data_dir):
    with open(data_dir / "nb201" / "nb201_merged.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == nb201.NUM_ARCHS
    for row in rows:
        arch = nb201.parse(row["arch_str"])
        assert str(arch) == row["arch_str"]
        naslib = nb201.parse(row["naslib_op_indices"])
        assert naslib == arch
        assert str(arch.to_naslib()).replace(" ", "") == row["naslib_op_indices"].replace(" ", "")
        assert Arch.from_code(arch.code) == arch


def test_index_map_matches_table_order(bench, table_archs):
    assert bench.index.arch_at(6111) == nb201.parse(BEST_CIFAR10)
    assert bench.index.index_of(nb201.parse(BEST_CIFAR10)) == 6111
    assert all(bench.index.index_of(a) == i for i, a in enumerate(table_archs))
    assert bench.index.resolve(" 857 ") == table_archs[857]
    assert bench.index.resolve("(2, 2, 0, 2, 2, 3)") == nb201.parse(BEST_CIFAR10)


@pytest.mark.parametrize("text, named", [
    ("|conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|", "conv_5x5"),
    ("|none~0|+|none~0|none~1|+|none~0|none~1|", "node 3 needs 3"),
    ("|none~0|+|none~0|none~1|", "3 '+'-separated"),
    ("|none~0|+|none~0|none~2|+|none~0|none~1|none~2|", "none~2"),
    ("|none~0|+|none~0|none~0|+|none~0|none~1|none~2|", "none~0"),
    ("|none~x|+|none~0|none~1|+|none~0|none~1|none~2|", "none~x"),
    ("garbage", "garbage"),
    ("(0, 1, 2, 3, 4)", "(0, 1, 2, 3, 4)"),
    ("(0, 1, 2, 3, 4, 7)", "(0, 1, 2, 3, 4, 7)"),
])
def test_malformed_arch_names_the_bad_token(text, named):
    with pytest.raises(ProxynasError, match=re.escape(named)):
        nb201.parse(text)


@pytest.mark.parametrize("token", ["15625", "-1"])
def test_index_out_of_range(bench, token):
    with pytest.raises(ProxynasError, match="out of range"):
        bench.index.resolve(token)


def test_enumeration_sampling_neighbours_mutation():
    archs = nb201.all_archs()
    assert len(set(archs)) == nb201.NUM_ARCHS == 15625
    first = nb201.sample(500, seed=3)
    assert first == nb201.sample(500, seed=3) and first != nb201.sample(500, seed=4)
    assert len(set(first)) == 500
    ops = np.array(nb201.sample(5000, seed=0, replace=True))
    counts = np.bincount(ops.ravel(), minlength=5) / ops.size
    assert np.allclose(counts, 0.2, atol=0.01)  # uniform over ops on every edge
    arch = nb201.parse(BEST_CIFAR10)
    near = nb201.neighbours(arch)
    assert len(near) == len(set(near)) == 24
    assert all(sum(x != y for x, y in zip(arch, n)) == 1 for n in near)
    rng = np.random.default_rng(0)
    assert all(nb201.mutate(arch, rng) in near for _ in range(50))
    with pytest.raises(ProxynasError):
        nb201.sample(nb201.NUM_ARCHS + 1, seed=0)


def test_canonical_class_counts():
    archs = nb201.all_archs()
    assert nb201.class_ids(archs, "nb201").max() + 1 == 6466  # NAS-Bench-201's figure
    assert nb201.class_ids(archs, "function").max() + 1 == 4930


def test_function_classes_are_exactly_the_distinct_functions():
    """Cells share a function class iff a simulated evaluation gives the same output (4,930 groups).

    This also shows why the 5,390 figure (NB201's string with zero terms dropped) overcounts:
    its strings do not flatten nested sums, so it splits cells that compute the same function.
    """
    archs = nb201.all_archs()
    by_output = simulated_function_classes(nb201.SPACE, archs)
    by_class = nb201.class_ids(archs, "function")
    assert by_output.max() + 1 == 4930
    assert len(set(zip(by_class.tolist(), by_output.tolist()))) == 4930  # the two partitions are identical


def test_nb201_classes_refine_function_classes():
    archs = nb201.all_archs()
    nb, fn = nb201.class_ids(archs, "nb201"), nb201.class_ids(archs, "function")
    assert len(set(zip(nb.tolist(), fn.tolist()))) == 6466  # each NB201 class lies inside one function class
    all_none = Arch([0] * 6)
    dead_conv = nb201.parse("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    assert nb201.canonical_function(all_none) == nb201.canonical_function(dead_conv) == "zero"
    with pytest.raises(ProxynasError, match="canonical form"):
        nb201.class_ids(archs[:3], "bogus")


def test_cells_that_use_every_op_are_one_per_network_after_pruning_unused_ops():
    """9,445 cells use every op: exactly the distinct cells left when each unused op becomes `none`."""
    archs = nb201.all_archs()
    uses_all = [a for a in archs if nb201.SPACE.uses_every_op(a)]
    pruned = {tuple(op if live else 0 for op, live in zip(a, nb201.SPACE.live_edges(a))) for a in archs}
    assert len(uses_all) == len(pruned) == 9445
    assert pruned == {tuple(a) for a in uses_all}
    assert not nb201.SPACE.uses_every_op(nb201.parse("|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|"))
    assert nb201.SPACE.uses_every_op(Arch([0] * 6))  # nothing to leave unused
