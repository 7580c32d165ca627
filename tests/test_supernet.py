"""The NB201 and TransNAS-Bench-101 supernets and the training-free Zero-Cost-PT search on them."""

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from proxynas.cli import cli
from proxynas.errors import ProxynasError
from proxynas.search import get_strategy
from proxynas.search.zc_pt import ZeroCostPT
from proxynas.spaces import nb201, tnb101
from proxynas.spaces.nb201_net import NB201Network
from proxynas.spaces.nb201_supernet import build_supernet, count_parameters
from proxynas.spaces.tnb101_net import build_network as build_tnb101_network
from proxynas.spaces.tnb101_net import count_parameters as count_tnb101_parameters
from proxynas.spaces.tnb101_supernet import TNB101Supernet

ARCH = nb201.parse("|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|")


@pytest.mark.parametrize("task,classes", [("cifar10", 10), ("cifar100", 100), ("imagenet16", 120)])
def test_supernet_parameter_count_is_exact(task, classes):
    assert sum(p.numel() for p in build_supernet(task).parameters()) == count_parameters(classes)


def test_one_hot_weights_make_the_supernet_the_cell_network():
    """With one op per edge and the same weights, the supernet computes exactly the zero-cost network."""
    supernet = build_supernet("cifar10", channels=4, cells_per_stage=1)
    weights = torch.eye(len(nb201.OPS))[list(ARCH)]
    network = NB201Network(ARCH, 10, channels=4, cells_per_stage=1, bn_affine=False, bn_track_stats=False)
    for name in ("stem", "lastact", "classifier"):
        getattr(network, name).load_state_dict(getattr(supernet, name).state_dict())
    for mine, theirs in zip(network.cells, supernet.cells):
        if hasattr(theirs, "edges"):
            for edge, op, mixed in zip(mine.edges, ARCH, theirs.edges):
                edge.load_state_dict(mixed.ops[op].state_dict())
        else:
            mine.load_state_dict(theirs.state_dict())
    x = torch.randn(3, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(supernet(x, weights), network(x), atol=1e-5)


def test_zero_weight_ops_are_not_run_and_change_nothing():
    supernet = build_supernet("cifar10", channels=4, cells_per_stage=1)
    x = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    weights = torch.full((6, 5), 0.2)
    weights[0, 3] = 0.0
    calls = []
    supernet.cells[0].edges[0].ops[3].register_forward_hook(lambda *a: calls.append(1))
    out = supernet(x, weights)
    assert not calls
    weights[0, 3] = 1e-30  # run, but contributing nothing measurable
    assert torch.allclose(out, supernet(x, weights), atol=1e-6) and calls


def tiny_search(seed):
    strategy = get_strategy("zc-pt", "nb201", seed, task="cifar10", proxy="zico", candidates=2, edge_order="fixed",
                            batch_size=8, channels=4, cells_per_stage=1)
    return strategy.ask(), strategy.search_log


def test_zc_pt_is_deterministic_for_a_seed_and_logs_every_decision():
    (arch, log), (again, log_again) = tiny_search(3), tiny_search(3)
    assert arch == again and log == log_again
    for candidate in log["candidates"]:
        decisions = candidate["decisions"]
        assert [d["edge"] for d in decisions] == list(range(6))  # the fixed order: input to output
        for d in decisions:  # the kept op is the one whose removal scored lowest
            assert d["kept"] == nb201.OPS[int(np.nanargmin(d["without_op"]))]
        assert candidate["arch"] == str(nb201.Arch([nb201.OPS.index(d["kept"]) for d in decisions]))
    scores = log["pool_scores"]
    assert str(arch) == log["chosen"] == max(scores, key=scores.get)


@pytest.mark.parametrize("task", ["class_scene", "segmentsemantic"])
def test_tnb101_supernet_holds_exactly_the_ops_of_the_benchmark_networks(task):
    """Each edge holds every op's module: the all-`none` network plus what each op adds on every edge."""
    none = count_tnb101_parameters(tnb101.SPACE.arch([0] * 6), task)
    added = sum(count_tnb101_parameters(tnb101.SPACE.arch([op] * 6), task) - none for op in (1, 2, 3))
    supernet = TNB101Supernet(tnb101.SPACE.task(task), track=True, affine=True)
    assert sum(p.numel() for p in supernet.parameters()) == none + added


def test_one_hot_weights_make_the_tnb101_supernet_the_benchmark_network():
    arch = tnb101.SPACE.parse("64-41414-3_21_013")
    supernet = tnb101.SPACE.build_supernet("class_object")
    supernet.set_op_weights(torch.eye(4)[list(arch)])
    network = build_tnb101_network(arch, "class_object", "zero-cost")
    state = {}  # the supernet's entries, each kept edge's op module renamed to the network's edge module
    for name, value in supernet.state_dict().items():
        cell, inside, edge_part = name.partition(".edges.")
        edge, _, op_part = edge_part.partition(".ops.")
        op, _, rest = op_part.partition(".")
        if not inside and "op_weights" not in name:
            state[name] = value
        elif inside and op == tnb101.OPS[arch[int(edge)]]:
            state[f"{cell}.edges.{edge}.{rest}"] = value
    network.load_state_dict(state)
    x = torch.randn(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(supernet(x), network(x), atol=1e-5)


def test_zc_pt_on_tnb101_decides_every_edge_among_its_four_ops():
    strategy = get_strategy("zc-pt", "tnb101", 0, task="class_scene", proxy="nwot", candidates=1, batch_size=2)
    arch = strategy.ask()
    (candidate,) = strategy.search_log["candidates"]
    assert sorted(d["edge"] for d in candidate["decisions"]) == list(range(6))
    assert all(len(d["without_op"]) == 4 for d in candidate["decisions"])
    assert isinstance(arch, tnb101.Arch) and str(arch) == candidate["arch"]


def test_zc_pt_refuses_what_it_cannot_do():
    with pytest.raises(ProxynasError, match="one proxy or one ensemble"):
        ZeroCostPT("nb201", 0, proxy="zico,synflow")
    with pytest.raises(ProxynasError, match="edge order"):
        ZeroCostPT("nb201", 0, edge_order="sideways")


def test_zc_pt_from_the_command_line_trains_its_one_cell_and_reports_the_search():
    result = CliRunner().invoke(cli, ["search", "--strategy", "zc-pt", "--candidates", "1", "--proxies", "synflow",
                                      "--seed", "0", "--quiet", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["trainings"] == 1 and payload["stopped_by"] == "derived" and payload["search_hours"] > 0
    assert payload["search_log"]["chosen"] == payload["best_arch"] and payload["search_log"]["proxy"] == "synflow"
    bad = CliRunner().invoke(cli, ["search", "--strategy", "zc-pt", "--proxies", "zico,synflow", "--quiet"])
    assert bad.exit_code == 2 and "one proxy or ensemble" in bad.output
