import numpy as np
import pytest
import torch

from proxynas.spaces import nb201
from proxynas.spaces.init import init_weights
from proxynas.spaces.nb201_net import build_network, count_parameters
from proxynas.tasks import get_task

DATASETS = ("cifar10", "cifar100", "imagenet16")


def built_count(net: torch.nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())


@pytest.mark.parametrize("dataset", DATASETS)
def test_parameter_count_equals_benchmark_for_every_cell(bench, table_archs, dataset):
    expected = np.rint(bench.column(dataset, "params_m") * 1e6).astype(np.int64)
    counted = np.array([count_parameters(a, get_task(dataset).num_classes) for a in table_archs])
    assert (counted == expected).all(), f"{(counted != expected).sum()} cells differ on {dataset}"


@pytest.mark.parametrize("affine", [True, False])
def test_built_network_matches_the_analytic_count(table_archs, affine):
    """Cross-check the counter against real builds on a seeded sample (meta device: no memory)."""
    rng = np.random.default_rng(0)
    sample = [table_archs[i] for i in rng.choice(len(table_archs), 20, replace=False)]
    sample += [nb201.Arch([op] * 6) for op in range(len(nb201.OPS))]
    for i, arch in enumerate(sample):
        dataset = DATASETS[i % 3]
        with torch.device("meta"):
            net = build_network(arch, dataset, "benchmark" if affine else "zero-cost")
        assert built_count(net) == count_parameters(arch, get_task(dataset).num_classes, bn_affine=affine)


def test_zero_cost_convention_has_plain_cell_batchnorm():
    arch = nb201.parse("|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|")
    net = build_network(arch, convention="zero-cost")
    cell_bns = [m for m in net.cells.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    plain = [m for m in cell_bns if m.weight is None]
    assert plain and all(m.running_mean is None for m in plain)
    assert net.stem[1].weight is not None  # stem, reduction blocks and last BN stay affine


@pytest.mark.parametrize("dataset", DATASETS)
def test_forward_backward_on_cpu(dataset):
    torch.manual_seed(0)
    arch = nb201.parse("|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|")
    net = build_network(arch, dataset)
    side = get_task(dataset).input_size
    x = torch.randn(4, 3, side, side)
    out = net(x)
    assert out.shape == (4, get_task(dataset).num_classes)
    out.sum().backward()
    grads = [p.grad for p in net.parameters() if p.grad is not None]
    assert grads and all(torch.isfinite(g).all() for g in grads)


def test_per_network_generator_draws_what_the_global_seed_did():
    """`init_weights` replays PyTorch's default init from its own generator: the same weights as seeding the
    global RNG before construction, for both conventions (so every earlier score is unchanged)."""
    for arch in nb201.sample(4, seed=1):
        for convention in ("benchmark", "zero-cost"):
            torch.manual_seed(7)
            reference = build_network(arch, "cifar100", convention).state_dict()
            torch.manual_seed(123)  # the global RNG's state no longer matters
            ours = init_weights(build_network(arch, "cifar100", convention), 7).state_dict()
            assert all(torch.equal(reference[k], ours[k]) for k in reference)


def test_none_only_cell_outputs_the_head_bias():
    net = build_network(nb201.Arch([0] * 6)).eval()
    out = net(torch.randn(2, 3, 32, 32))
    assert torch.allclose(out, net.classifier.bias.expand(2, -1))  # the cells pass only zeros on


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_forward_backward_on_cuda():
    arch = nb201.parse("|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|")
    net = build_network(arch).cuda()
    out = net(torch.randn(8, 3, 32, 32, device="cuda"))
    out.sum().backward()
    assert out.shape == (8, 10) and all(torch.isfinite(p.grad).all() for p in net.parameters())
