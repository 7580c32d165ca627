"""MeCo, ZiCo, SWAP, AZ-NAS, VKDNW and the zero-shot ensemble: hand-checked small cases and real networks."""

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from torch import nn
from click.testing import CliRunner
from torch.func import functional_call, jacrev, vmap

from proxynas import ensembles, metrics, proxies
from proxynas.cli import cli
from proxynas.data import BatchSpec, make_batch
from proxynas.errors import ProxynasError
from proxynas.proxies import az_nas, gradsign, meco, swap, vkdnw
from proxynas.spaces import nb201
from proxynas.spaces.init import init_normal
from proxynas.spaces.nb201_net import NB201Network
from proxynas.spaces.tnb101 import SPACE as TNB101

CONVS = nb201.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|")
IDENTITY_CELL = nb201.parse("|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|")


def probe_of(arch, dataset="cifar10", batch=8):
    inputs, labels = make_batch(BatchSpec(dataset, batch_size=batch, seed=0))
    return proxies.Probe(arch, dataset, inputs, labels, seed=0,
                         needs=frozenset({"batch_weight_grads", "az_nas"}))


def test_meco_smallest_eigenvalue_by_hand():
    correlated = torch.tensor([[1.0, 2, 3, 4], [2, 4, 6, 8]]).reshape(2, 2, 2)
    assert meco._min_eigenvalue(correlated) == pytest.approx(0.0, abs=1e-12)
    uncorrelated = torch.tensor([[1.0, -1, 1, -1], [1, 1, -1, -1]]).reshape(2, 1, 4)
    assert meco._min_eigenvalue(uncorrelated) == pytest.approx(1.0)
    constant_channel = torch.tensor([[1.0, -1, 1, -1], [1, 1, -1, -1], [5, 5, 5, 5]]).reshape(3, 2, 2)
    assert meco._min_eigenvalue(constant_channel) == pytest.approx(0.0, abs=1e-12)  # its NaNs count as 0
    assert meco._min_eigenvalue(torch.ones(4, 1, 1)) == 0.0  # one position: nothing is defined
    wide = torch.randn(6, 2, 3, generator=torch.Generator().manual_seed(0))  # 6 channels, 6 positions: singular
    assert meco._min_eigenvalue(wide) == 0.0
    assert float(torch.linalg.eigvalsh(torch.corrcoef(wide.reshape(6, -1).double()))[0]) == pytest.approx(0.0, abs=1e-12)


def test_meco_reads_one_sample_and_meco_opt_samples_channels():
    a = probe_of(CONVS)
    b = proxies.Probe(CONVS, "cifar10", a.inputs[:1], a.labels[:1], seed=0)  # the same first image alone
    assert proxies.get("meco").compute(a) == proxies.get("meco").compute(b)
    assert proxies.get("meco_opt").compute(a) != proxies.get("meco").compute(a)


def test_meco_sums_every_module_map_as_it_returns():
    """Containers count their last child's map again, and a map changed in place afterwards (by an in-place
    ReLU) counts as it was when its module returned."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 6, 3), nn.ReLU(inplace=True), nn.Sequential(nn.Conv2d(6, 5, 1), nn.BatchNorm2d(5)))
    probe = SimpleNamespace(fresh_copy=lambda: net, seed=0, inputs=torch.randn(2, 3, 8, 8))
    plain = []
    hooks = [m.register_forward_hook(lambda m, i, out: plain.append(meco._min_eigenvalue(out[0]))) for m in net.modules()]
    with torch.no_grad():
        net(probe.inputs[:1])
    for hook in hooks:
        hook.remove()
    assert len(plain) == 6 and plain[0] != plain[1]  # the conv's map before and after the in-place ReLU
    assert meco.meco(probe) == sum(plain)


def fake_grads_probe(per_batch):
    return SimpleNamespace(product=lambda name: per_batch)


def test_zico_by_hand():
    # layer 1: weight 0 has |g| 1 and 3 (mean 2, population std 1), weight 1 never varies (left out)
    # layer 2 is not reached in one mini-batch (left out); layer 3 never varies (its sum 0: left out)
    per_batch = [[torch.tensor([1.0, 3.0]), None, torch.tensor([2.0])],
                 [torch.tensor([3.0, 3.0]), torch.tensor([1.0]), torch.tensor([2.0])]]
    assert proxies.get("zico").compute(fake_grads_probe(per_batch)) == pytest.approx(math.log(2.0))
    with pytest.raises(proxies.ScoreFailure, match="varies"):
        proxies.get("zico").compute(fake_grads_probe([[torch.ones(3)], [torch.ones(3)]]))


def test_zico_cuts_the_batch_in_two_mini_batches():
    probe = probe_of(CONVS)
    grads = probe.product("batch_weight_grads")
    assert len(grads) == 2 and all(len(g) == len(grads[0]) for g in grads)
    alone = proxies.Probe(CONVS, "cifar10", probe.inputs[:1], probe.labels[:1], seed=0,
                          needs=frozenset({"batch_weight_grads"}))
    with pytest.raises(proxies.ScoreFailure, match="at least 2"):
        alone.product("batch_weight_grads")


def test_gradsign_sign_agreement_by_hand():
    # layer 1: weight 0 agrees in both samples (|1 + 1|), weight 1 disagrees (|-1 + 1|), weight 2 has no
    # gradient in one sample (|0 + 1|); layer 2 is reached by the second sample only (|-1|)
    per_sample = [[torch.tensor([0.5, -2.0, 0.0]), None],
                  [torch.tensor([3.0, 1.0, 4.0]), torch.tensor([-0.1])]]
    assert gradsign.sign_agreement(per_sample) == 2 + 0 + 1 + 1


def test_gradsign_on_a_real_network_counts_per_sample_sign_agreement():
    probe = probe_of(CONVS, batch=4)
    value = proxies.get("gradsign").compute(probe)
    twice = proxies.Probe(CONVS, "cifar10", torch.cat([probe.inputs, probe.inputs]),
                          torch.cat([probe.labels, probe.labels]), seed=0)
    assert proxies.get("gradsign").compute(twice) == 2 * value  # duplicated samples agree with themselves
    weights = sum(layer.weight.numel() for layer in proxies.probe.weight_layers(probe.fresh_copy()))
    assert value == int(value) and 0 < value <= 4 * weights


def test_swap_counts_distinct_sample_patterns_by_hand():
    """One 1x1 conv and a ReLU on two samples of two positions: x = [1, -1] and [1, 1]. Whatever the sign of
    the one weight, the two neurons' patterns over the samples differ: always 2."""
    net = nn.Sequential(nn.Conv2d(1, 1, 1, bias=False), nn.ReLU())
    inputs = torch.tensor([[[[1.0, -1.0]]], [[[1.0, 1.0]]]])
    fake = SimpleNamespace(fresh_copy=lambda: net, inputs=inputs, seed=3)
    assert swap.activation_patterns(fake) == 2.0
    codes = torch.tensor([0, 1, 1, 5, 5, 7])
    assert swap.distinct(codes, 3) == 4 and swap.distinct(codes, 30) == 4



def test_regularised_swap_weighs_one_pattern_count_by_the_registered_size_term(monkeypatch):
    counts = []
    monkeypatch.setitem(proxies.registry.PRODUCTS, "activation_patterns", lambda probe: counts.append(1) or 300.0)
    probe = proxies.Probe(CONVS, "cifar10", *make_batch(BatchSpec("cifar10", batch_size=4, seed=0)), seed=0,
                          needs=frozenset({"activation_patterns"}))
    mu, sigma = swap.SIZE_TERM["nb201"]
    size = nb201.SPACE.count_params(CONVS, probe.task) / 1e3
    assert proxies.get("swap").compute(probe) == 300.0
    assert proxies.get("swap_reg").compute(probe) == pytest.approx(300.0 * math.exp(-(size - mu) ** 2 / sigma))
    assert counts == [1]  # one pattern count serves both
    tnb = proxies.Probe(TNB101.parse("64-41414-3_33_333"), "class_scene", torch.zeros(1, 3, 8, 8), None, seed=0,
                        needs=frozenset({"activation_patterns"}))
    with pytest.raises(proxies.ScoreFailure, match="no size target for the tnb101 space"):
        proxies.get("swap_reg").compute(tnb)


def test_the_registered_swap_size_term_is_the_one_its_benchmark_chose():
    chosen = json.loads((Path(__file__).parents[1] / "benchmarks/results/swap_regularisation.json").read_text())["chosen"]
    assert swap.SIZE_TERM["nb201"] == (chosen["mu"], chosen["sigma"])

def test_az_nas_pieces_by_hand():
    two_channels = torch.tensor([[1.0, -1, 1, -1], [1, 1, -1, -1]]).reshape(1, 2, 2, 2)
    assert az_nas._spectral_entropy(two_channels) == pytest.approx(math.log(2), abs=1e-6)
    generator = torch.Generator().manual_seed(0)
    f_in = torch.randn(2, 1, 4, 4, requires_grad=True)
    assert az_nas._cell_trainability(f_in, f_in * 1.0, generator) == -math.inf  # gradients pass unchanged
    # doubling: E[g_in g_out] = 2 E[g^2] = 2 for signs, so 2 - 2 - 1/2
    assert az_nas._cell_trainability(f_in, f_in * 2.0, generator) == pytest.approx(-0.5, abs=1e-5)
    # 2x2 average pooling: each of the 4 unshuffled inputs gets g/4, so s = sqrt(4 / 16) = 1/2
    pooled = nn.functional.avg_pool2d(f_in, 2)
    assert az_nas._cell_trainability(f_in, pooled, generator) == pytest.approx(2 - 0.5 - 2, abs=1e-5)


def test_az_nas_on_real_cells_and_the_identity_cell_is_nan_with_its_reason():
    values = probe_of(CONVS).product("az_nas")
    assert set(values) == {"expressivity", "progressivity", "trainability"}
    assert all(np.isfinite(v) for v in values.values())
    assert len(NB201Network(CONVS, channels=4, cells_per_stage=2).cell_features(torch.zeros(1, 3, 8, 8))) == 1 + 8
    with pytest.raises(proxies.ScoreFailure, match="unchanged"):
        proxies.get("az_trainability").compute(probe_of(IDENTITY_CELL))


def functorch_fisher(net, inputs):
    """An independent reference: the authors' route (per-sample jacrev through functional_call under vmap)."""
    named = dict(net.named_parameters())
    chosen = list(named)[:vkdnw.TENSORS_READ]
    fixed = {k: v.detach() for k, v in named.items()}
    buffers = {k: v.detach() for k, v in net.named_buffers()}
    start = torch.stack([fixed[k].flatten()[0] for k in chosen])

    def logits(scalars, x):
        params = dict(fixed)
        for scalar, k in zip(scalars, chosen):
            params[k] = torch.cat([scalar.reshape(1), fixed[k].flatten()[1:]]).view_as(fixed[k])
        return functional_call(net, (params, buffers), (x.unsqueeze(0),)).squeeze(0)

    jacobian = vmap(jacrev(logits), in_dims=(None, 0))(start, inputs).double()
    p = torch.softmax(vmap(logits, in_dims=(None, 0))(start, inputs).double(), 1) * 0.95 + 0.05 / jacobian.shape[1]
    covariance = torch.diag_embed(p) - p[:, :, None] * p[:, None, :]
    return torch.einsum("ncq,ncd,ndr->qr", jacobian, covariance, jacobian) / len(inputs)


@pytest.mark.parametrize("arch", [CONVS, IDENTITY_CELL])
@pytest.mark.parametrize("classes", [10, 40])  # fewer / more classes than the classifier's 16 inputs
def test_vkdnw_fisher_equals_per_sample_jacobians_through_functorch(arch, classes):
    net = NB201Network(arch, classes, channels=4, cells_per_stage=1, bn_affine=True, bn_track_stats=True)
    init_normal(net, torch.Generator().manual_seed(0), fan_in_scaled=True).eval()
    for bn in net.modules():  # statistics that make BN more than a scaling, so a coupling would show
        if isinstance(bn, nn.BatchNorm2d):
            bn.running_mean.uniform_(-1, 1, generator=torch.Generator().manual_seed(2))
            bn.running_var.uniform_(0.5, 2, generator=torch.Generator().manual_seed(3))
    inputs = torch.randn(5, 3, 8, 8, generator=torch.Generator().manual_seed(1))
    ours, reference = vkdnw.fisher_information(net, inputs), functorch_fisher(net, inputs)
    assert ours.shape == reference.shape == (len(list(net.parameters())),) * 2
    assert torch.allclose(ours, reference, rtol=1e-4, atol=1e-6 * float(reference.abs().max()))


def test_vkdnw_entropy_and_lexicographic_value():
    assert vkdnw.spectrum_entropy(torch.eye(10, dtype=torch.float64)) == pytest.approx(math.log(9), abs=1e-6)
    value = proxies.get("vkdnw").compute(probe_of(CONVS))
    tensors = len(list(nb201.SPACE.build_network(CONVS, "cifar10", "benchmark").parameters()))
    assert math.floor(value) == tensors and 0 < value - tensors < math.log(9) / 10


def test_vkdnw_fisher_refuses_a_network_whose_batch_norms_couple_samples():
    net = NB201Network(CONVS, 10, channels=4, cells_per_stage=1, bn_affine=True, bn_track_stats=False).eval()
    with pytest.raises(ValueError, match="running statistics"):
        vkdnw.fisher_information(net, torch.randn(2, 3, 8, 8))


def test_vkdnw_needs_class_outputs():
    inputs, labels = make_batch(BatchSpec("room_layout", kind="noise", batch_size=2, seed=0))
    probe = proxies.Probe(TNB101.arch([0, 0, 0, 0, 0, 1]), "room_layout", inputs, labels, seed=0)
    with pytest.raises(proxies.ScoreFailure, match="class"):
        proxies.get("vkdnw").compute(probe)


def test_log_rank_sum_by_hand_with_directions_and_nan():
    up, down = np.array([1.0, 2.0, 3.0]), np.array([3.0, 2.0, 1.0])
    expected = np.log([1 / 3, 2 / 3, 1]) * 2
    assert np.allclose(metrics.log_rank_sum([up, down], [True, False]), expected)
    with_nan = metrics.log_rank_sum([np.array([1.0, np.nan, 3.0]), np.array([np.nan, np.nan, 1.0])], [True, True])
    assert with_nan[0] == pytest.approx(np.log(2 / 3) + np.log(1.5 / 3))  # NaN ranks below every value
    assert np.isnan(with_nan[1]) and with_nan[2] == pytest.approx(0.0)  # NaN in every column: NaN


def test_ensemble_names_expand_to_their_members():
    chosen, wanted = ensembles.parse_list("flops,synflow,zs")
    assert wanted == ["zs"] and [p.name for p in chosen] == ["flops", "synflow", *ensembles.ENSEMBLES["zs"][:-1]]
    with pytest.raises(ProxynasError, match="unknown proxy or ensemble 'zz'; valid: all, az_nas, te_nas, vkdnw_agg, zs, az_"):
        ensembles.parse_list("zs,zz")
    with pytest.raises(ProxynasError, match="needs scores of"):
        ensembles.combine("zs", {"flops": np.ones(3)})


def test_rank_takes_the_ensemble():
    cells = "\n".join(str(a) for a in (CONVS, IDENTITY_CELL, nb201.parse(
        "|avg_pool_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|nor_conv_1x1~2|")))
    result = CliRunner().invoke(cli, ["rank", "--by", "zs", "--batch-size", "8", "--quiet", "--json", "-"],
                                input=cells)
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["ranking"]
    assert rows[0]["arch"] == str(CONVS) and [r["zs"] for r in rows] == sorted((r["zs"] for r in rows), reverse=True)
    members = ensembles.ENSEMBLES["zs"]
    columns = {m: np.array([np.nan if r[m] is None else r[m] for r in rows]) for m in members}
    assert np.isnan(columns["az_trainability"]).sum() == 1  # the identity cell's, ranked below the others
    assert np.allclose([r["zs"] for r in rows], ensembles.combine("zs", columns))


def test_zs_members_are_what_greedy_selection_picks_on_its_tuning_cells(bench):
    """Re-run zs's choice from the shipped whole-space table: greedy forward selection on the tuning cells'
    CIFAR-10 validation accuracy, among its candidates, gives the registered members; and each member costs
    at most 1 s per cell."""
    from proxynas import scoring

    results = Path(__file__).parents[1] / "benchmarks/results"
    candidates = list(ensembles.ZS_CANDIDATES)
    tuning = np.flatnonzero(ensembles.tuning_cells())
    table = scoring.score([bench.index.arch_at(int(i)) for i in tuning], [proxies.get(n) for n in candidates],
                          BatchSpec("cifar10", batch_size=64, seed=0))
    assert table.computed_cells == 0  # every score read from the shipped table
    chosen = ensembles.greedy_members(table.scores, bench.column("cifar10", "val_acc")[tuning], candidates)
    assert tuple(chosen) == ensembles.ENSEMBLES["zs"]
    speed = json.loads((results / "proxy_speed.json").read_text())["per_cell"]
    assert all(speed[m]["median_s"] <= 1.0 for m in chosen)
