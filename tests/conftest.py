"""Shared fixtures: the real benchmark data (required, never skipped) and an isolated cache folder."""

import os
from pathlib import Path

import pytest

from proxynas import paths


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = paths.data_dir()
    if path is None or not (path / "nb201" / "nb201_merged.csv").is_file():
        pytest.fail("benchmark data not found: set PROXYNAS_DATA or put shared/data beside the checkout")
    return path


@pytest.fixture(scope="session", autouse=True)
def isolated_cache(tmp_path_factory) -> Path:
    """Every test writes built files under a temporary cache, never the developer's cache/."""
    path = tmp_path_factory.mktemp("cache")
    os.environ["PROXYNAS_CACHE"] = str(path)
    return path


@pytest.fixture(scope="session")
def bench(data_dir, isolated_cache):
    from proxynas.bench.nb201_store import open_bench

    return open_bench()


@pytest.fixture(scope="session")
def table_archs(bench):
    """All cells in official index order, as `Arch` values."""
    from proxynas.spaces.nb201 import Arch

    return [Arch(row) for row in bench.ops]


def simulated_function_classes(space, archs, width: int = 8, seed: int = 0, reduction: bool = False):
    """Group cells by what they compute, evaluated with random generic operations: the identity op passes
    its input on, the zero op adds nothing, every other op is a random nonlinear map (one per op).

    With `reduction`, what is grouped is a reduction cell followed by a normal cell, as in a network
    whose reduction cells give every op leaving the input node (the identity included) its own map."""
    import numpy as np

    rng = np.random.default_rng(seed)
    maps = {op: rng.normal(size=(width, width)) for op in range(len(space.ops))}
    reducing = {op: rng.normal(size=(width, width)) for op in range(len(space.ops))}
    x = rng.normal(size=width)

    def cell(arch, inputs, reduces):
        nodes = [inputs]
        for target in range(1, space.num_nodes):
            total = np.zeros(width)
            for (src, dst), op in zip(space.edges, arch):
                name = space.ops[op]
                if dst != target or name == space.zero_op:
                    continue
                if reduces and src == 0:
                    total = total + np.tanh(reducing[op] @ nodes[src])
                else:
                    total = total + (nodes[src] if name == space.identity_op else np.tanh(maps[op] @ nodes[src]))
            nodes.append(total)
        return nodes[-1]

    def output(arch):
        return cell(arch, cell(arch, x, True), False) if reduction else cell(arch, x, False)

    _, groups = np.unique(np.round([output(a) for a in archs], 9), axis=0, return_inverse=True)
    return groups.ravel()
