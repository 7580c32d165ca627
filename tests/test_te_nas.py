"""TE-NAS: the NTK condition number and the linear-region count, by hand and on real cells."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn

from proxynas import ensembles, proxies
from proxynas.data import BatchSpec, make_batch
from proxynas.proxies import te_nas
from proxynas.spaces import nb201
from proxynas.spaces.tnb101 import SPACE as TNB101

CONVS = nb201.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|")
LINEAR_CELL = nb201.parse("|avg_pool_3x3~0|+|skip_connect~0|none~1|+|skip_connect~0|avg_pool_3x3~1|none~2|")


def fake_probe(inputs, net=None, cell=None):
    """A probe whose network (or cell) is given: what the proxies read of a probe."""
    space = SimpleNamespace(build_cell=lambda arch, channels: cell)
    return SimpleNamespace(inputs=inputs, seed=0, fresh_copy=lambda: net, arch=SimpleNamespace(space=space))


def test_te_ntk_of_a_linear_map_is_the_condition_number_of_the_inputs_gram():
    # f(x) = W x: the gradient of sample n's summed outputs w.r.t. W is 1 x_nᵀ, so Θ = outputs · X Xᵀ
    inputs = torch.randn(5, 8, generator=torch.Generator().manual_seed(1))
    value = proxies.get("te_ntk").compute(fake_probe(inputs, net=nn.Linear(8, 3, bias=False)))
    eigenvalues = np.linalg.eigvalsh((inputs @ inputs.T).double().numpy())
    assert value == pytest.approx(eigenvalues[-1] / eigenvalues[0], rel=1e-6)


def test_te_ntk_of_a_singular_kernel_is_a_failure_with_its_reason():
    inputs = torch.randn(3, 4, generator=torch.Generator().manual_seed(2)).repeat(2, 1)  # every sample twice
    with pytest.raises(proxies.ScoreFailure, match="singular"):
        proxies.get("te_ntk").compute(fake_probe(inputs, net=nn.Linear(4, 2, bias=False)))


def test_te_regions_counts_distinct_relu_sign_patterns():
    images = torch.randn(6, 3, 8, 8, generator=torch.Generator().manual_seed(3))
    value = proxies.get("te_regions").compute(fake_probe(images, cell=nn.ReLU()))
    generator = torch.Generator().manual_seed(0)  # the probe's seed: the same patches again
    patterns = np.concatenate([(te_nas._patches(images, generator) > 0).reshape(te_nas.PATCHES, -1).numpy()
                               for _ in range(te_nas.PATCH_BATCHES)])
    assert value == len(np.unique(patterns, axis=0)) and 1 < value <= 2 ** 9
    positive = proxies.get("te_regions").compute(fake_probe(images.abs() + 1, cell=nn.ReLU()))
    assert positive == 1  # every patch on the same side of every ReLU


def test_te_nas_on_real_cells():
    inputs, labels = make_batch(BatchSpec("cifar10", batch_size=8, seed=0))
    probe = proxies.Probe(CONVS, "cifar10", inputs, labels, seed=0)
    assert proxies.get("te_ntk").compute(probe) > 1
    assert proxies.get("te_regions").compute(probe) > 1
    linear = proxies.Probe(LINEAR_CELL, "cifar10", inputs, labels, seed=0)
    assert proxies.get("te_regions").compute(linear) == 1  # pooling and skips only: one region
    tnb = proxies.Probe(TNB101.parse("64-41414-3_33_333"), "class_scene", *make_batch(
        BatchSpec("class_scene", batch_size=2, seed=0)), seed=0)
    assert proxies.get("te_regions").compute(tnb) > 1


def test_te_nas_ensemble_sums_plain_ranks():
    columns = {"te_ntk": np.array([10.0, 1.0, 100.0]), "te_regions": np.array([5.0, 1.0, 50.0])}
    # ranks (0..1, higher better): ntk (lower better) 0.5, 1, 0; regions 0.5, 0, 1
    assert ensembles.combine("te_nas", columns) == pytest.approx([0.5, 0.5, 0.5])
    columns["te_regions"] = np.array([5.0, 50.0, 1.0])
    assert np.argmax(ensembles.combine("te_nas", columns)) == 1
