"""The TransNAS-Bench-101 micro networks against NAS-Bench-Suite-Zero's counts, and proxies on them."""

import json

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from proxynas import proxies, scoring
from proxynas.cache import ScoreCache
from proxynas.data import BatchSpec, make_batch
from proxynas.spaces import tnb101
from proxynas.spaces import tnb101_net as net_module
from proxynas.tasks import get_task

SUBSET = "tnb101/zc_transbench101_micro_subset.json"
TASKS = tnb101.SPACE.tasks


@pytest.fixture(scope="module")
def suite_zero(data_dir):
    with open(data_dir / SUBSET) as handle:
        return json.load(handle)


@pytest.mark.parametrize("task", TASKS)
def test_parameter_counts_equal_suite_zeros(suite_zero, task):
    cells = list(suite_zero[task].items())[::150]  # 5 cells per task, spread over the file
    for key, entry in cells:
        arch = tnb101.SPACE.parse(key)
        built = sum(p.numel() for p in tnb101.SPACE.build_network(arch, task).parameters())
        assert built == tnb101.SPACE.count_params(arch, task)
        assert built / 1e6 == pytest.approx(entry["params"]["score"], abs=5e-7)  # Suite-Zero stores millions


@pytest.mark.parametrize("task", ["class_object", "jigsaw", "autoencoder", "segmentsemantic"])
def test_flops_are_the_hooked_multiply_adds_and_rank_as_suite_zeros(suite_zero, task):
    cells = list(suite_zero[task].items())[:12]
    ours = [tnb101.SPACE.count_flops(tnb101.SPACE.parse(key), task) for key, _ in cells]
    theirs = [entry["flops"]["score"] for _, entry in cells]
    assert spearmanr(ours, theirs)[0] > 0.99
    first = tnb101.SPACE.parse(cells[0][0])
    assert ours[0] == net_module._hooked_macs(tnb101.SPACE.build_network(first, task), get_task(task))


@pytest.mark.parametrize("task", TASKS)
def test_each_task_maps_its_gaussian_batch_to_its_targets(task):
    spec = BatchSpec(task, batch_size=2, seed=0)
    assert spec.kind == "noise"  # no Taskonomy images: Gaussian input by default
    inputs, targets = make_batch(spec)
    network = tnb101.SPACE.build_network(tnb101.SPACE.parse("3_13_321"), task, "zero-cost")
    outputs = network(inputs)
    loss = get_task(task).loss(outputs, targets)
    assert torch.isfinite(loss) and loss.item() > 0
    loss.backward()
    assert all(p.grad is not None for p in network.parameters())


def test_a_reduction_skip_is_not_the_identity_in_the_network():
    """Same cell function but a skip from the input: the network differs; same network function: equal."""
    space = tnb101.SPACE
    inputs, _ = make_batch(BatchSpec("room_layout", batch_size=2, seed=1))

    def output(code):
        torch.manual_seed(0)
        return space.build_network(space.parse(code), "room_layout", "zero-cost")(inputs)

    skip_first, direct = space.parse("1_00_020"), space.parse("0_00_300")  # conv1x1(skip(x)); conv3x3(x)
    assert space.canonical(skip_first, "function") == space.canonical(space.parse("0_00_200"), "function")
    assert space.function_key(skip_first) != space.function_key(space.parse("0_00_200"))
    twin_a, twin_b = space.parse("2_00_010"), space.parse("0_20_001")  # conv1x1(x) through node 1 or node 2
    assert space.function_key(twin_a) == space.function_key(twin_b) != space.function_key(direct)
    torch.testing.assert_close(output("2_00_010"), output("0_20_001"))
    assert not torch.allclose(output("1_00_020"), output("0_00_200"))


def test_every_proxy_scores_a_transnas_task(tmp_path):
    archs = [tnb101.SPACE.parse(c) for c in ("3_33_333", "1_00_020")]  # SWAP alone costs ~14 s each at 256 px
    spec = BatchSpec("room_layout", batch_size=4, seed=0)
    table = scoring.score(archs, proxies.parse_list("all"), spec, cache=ScoreCache(tmp_path))
    for name in table.proxies:
        if name in ("epe_nas", "vkdnw", "swap_reg"):  # class labels or outputs: room layout has none; a size target
            reason = {"epe_nas": "no image labels", "vkdnw": "no class output", "swap_reg": "no size target"}[name]
            assert all(reason in table.failures[name][row] for row in range(len(archs)))
            continue
        assert np.isfinite(table.scores[name]).all(), (name, table.failures.get(name))
    assert table.scores["synflow"][0] > table.scores["synflow"][1]  # all-3x3 has far more paths


def test_every_weighted_layer_is_drawn_from_the_seed():
    """The decoders' transposed convs too: scores on dense tasks must not depend on the global RNG."""
    from proxynas.spaces.init import init_weights

    arch = tnb101.SPACE.parse("3_13_321")
    first = init_weights(tnb101.SPACE.build_network(arch, "normal", "zero-cost"), 7)
    torch.manual_seed(12345)  # a different global state while building the second copy
    second = init_weights(tnb101.SPACE.build_network(arch, "normal", "zero-cost"), 7)
    assert any(isinstance(m, torch.nn.ConvTranspose2d) for m in first.modules())
    for (name, a), b in zip(first.state_dict().items(), second.state_dict().values()):
        assert torch.equal(a, b), name
