"""DARTS, DARTS-V2 and GDAS on a tiny NB201 supernet: alpha moves, the cell is valid, a killed search resumes."""

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner
from torch.func import functional_call

from proxynas.cli import cli
from proxynas.errors import ProxynasError
from proxynas.search import darts
from proxynas.spaces import nb201
from proxynas.spaces.init import init_weights
from proxynas.spaces.nb201_supernet import build_supernet


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("darts") / "tiny.npz"
    np.savez(path, images=rng.integers(0, 256, (48, 16, 16, 3), dtype=np.uint8), labels=rng.integers(0, 10, 48))
    return path


def config(method="darts", epochs=2, **changes):
    return darts.DartsConfig(epochs=epochs, batch_size=8, method=method, channels=4, cells_per_stage=1,
                             arch_learning_rate=0.05, **changes)


@pytest.mark.parametrize("method", ["darts", "darts-v2", "gdas"])
def test_alpha_moves_and_every_epoch_has_a_valid_cell(images, method):
    result = darts.run_darts(images, config(method))
    start = F.softmax(1e-3 * torch.randn(6, 5, generator=torch.Generator().manual_seed(0)), dim=1)
    assert len(result.history) == 2 and not torch.allclose(torch.tensor(result.history[-1].alpha), start, atol=1e-3)
    for epoch in result.history:
        assert np.allclose(np.sum(epoch.alpha, axis=1), 1.0) and nb201.parse(epoch.derived)
    assert str(result.derived) == result.history[-1].derived


def test_a_killed_search_resumes_where_it_stopped(images, tmp_path):
    whole = darts.run_darts(images, config(epochs=3))

    def kill_after_two(done, total):
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        darts.run_darts(images, config(epochs=3), checkpoint_dir=tmp_path, progress=kill_after_two)
    resumed = darts.run_darts(images, config(epochs=3), checkpoint_dir=tmp_path)
    assert [e.alpha for e in resumed.history] == [e.alpha for e in whole.history]  # bitwise, same as unbroken
    assert resumed.history[:2] != [] and resumed.derived == whole.derived


def test_perturbation_selection_decides_every_edge_once_by_the_accuracy_its_removal_costs(images):
    result = darts.run_darts(images, config(epochs=2, select="perturb", tune_epochs=1))
    assert len(result.history) == 2 + 5  # the search, then one tuning epoch after each of the first 5 decisions
    assert sorted(d["edge"] for d in result.decisions) == list(range(6))
    for decision in result.decisions:
        accuracies = decision["accuracy_without_op"]
        assert len(accuracies) == 5 and decision["kept"] == nb201.OPS[int(np.argmin(accuracies))]
    assert [nb201.OPS[op] for op in result.derived] == [d["kept"] for d in sorted(result.decisions,
                                                                                    key=lambda d: d["edge"])]
    for epoch in result.history[2:]:  # a decided edge keeps its op in every later epoch's cell
        cell = nb201.parse(epoch.derived)
        assert all(cell[edge] == op for edge, op in epoch.decided) and epoch.decision is not None


def test_a_uniform_alpha_supernet_keeps_alpha_uniform_trains_its_weights_and_selects_by_perturbation(images):
    result = darts.run_darts(images, config("uniform", epochs=2, select="perturb", tune_epochs=1))
    assert all(np.array_equal(np.float32(e.alpha), np.full((6, 5), 0.2, np.float32)) for e in result.history)
    assert result.history[0].train_loss != result.history[1].train_loss
    assert sorted(d["edge"] for d in result.decisions) == list(range(6))
    with pytest.raises(ProxynasError, match="select its cell by perturbation"):
        darts.run_darts(images, config("uniform", select="argmax"))
    assert darts.DartsUniform("nb201", 0, data=images).config.select == "perturb"


def test_perturbation_selection_without_tuning_decides_every_edge_after_the_search(images):
    result = darts.run_darts(images, config(epochs=1, select="perturb", tune_epochs=0))
    assert len(result.history) == 1 and sorted(d["edge"] for d in result.decisions) == list(range(6))


@pytest.mark.parametrize("method", ["darts", "gdas"])
def test_a_decided_edge_carries_its_op_alone(method):
    alpha = torch.randn(6, 5, requires_grad=True)
    weights = darts._mixing(alpha, method, 1.0, torch.Generator().manual_seed(0), {2: 4, 0: 1})
    assert weights[2].tolist() == [0, 0, 0, 0, 1] and weights[0].tolist() == [0, 1, 0, 0, 0]
    weights.sum().backward()
    assert alpha.grad[[0, 2]].abs().sum() == 0


def test_a_search_killed_while_tuning_resumes_to_the_same_decisions(images, tmp_path):
    whole = darts.run_darts(images, config(epochs=1, select="perturb", tune_epochs=1))

    def kill_after_three(done, total):
        if done == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        darts.run_darts(images, config(epochs=1, select="perturb", tune_epochs=1), checkpoint_dir=tmp_path,
                        progress=kill_after_three)
    resumed = darts.run_darts(images, config(epochs=1, select="perturb", tune_epochs=1), checkpoint_dir=tmp_path)
    assert resumed.decisions == whole.decisions and resumed.derived == whole.derived


def test_darts_v2_alpha_gradient_matches_the_exact_unrolled_gradient(monkeypatch):
    """Against autograd through the virtual step, in float64 with a small finite-difference step (at DARTS's
    0.01 this tiny random network is too curved for central differences to be accurate)."""
    monkeypatch.setattr(darts, "HVP_STEP", 1e-5)
    torch.manual_seed(0)
    net = init_weights(build_supernet("cifar10", channels=4, cells_per_stage=1), 0).train().double()
    alpha = (0.1 * torch.randn(6, 5, dtype=torch.float64)).requires_grad_(True)
    x, vx = torch.randn(4, 3, 8, 8, dtype=torch.float64), torch.randn(4, 3, 8, 8, dtype=torch.float64)
    y, vy = torch.randint(0, 10, (4,)), torch.randint(0, 10, (4,))
    darts._unrolled_alpha_grad(net, alpha, x, y, vx, vy, torch.optim.SGD(net.parameters(), lr=0.05), F.cross_entropy,
                               {})
    names, params = zip(*net.named_parameters())
    grads = torch.autograd.grad(F.cross_entropy(net(x, F.softmax(alpha, 1)), y), params, create_graph=True)
    unrolled = {n: p - 0.05 * g for n, p, g in zip(names, params, grads)}
    logits = functional_call(net, (unrolled, dict(net.named_buffers())), (vx, F.softmax(alpha, 1)))
    exact = torch.autograd.grad(F.cross_entropy(logits, vy), alpha)[0]
    first_order = torch.autograd.grad(F.cross_entropy(functional_call(
        net, ({n: v.detach() for n, v in unrolled.items()}, dict(net.named_buffers())), (vx, F.softmax(alpha, 1))),
        vy), alpha)[0]
    assert (exact - first_order).abs().max() > 1e-2  # the second-order term matters here
    assert torch.allclose(alpha.grad, exact, atol=1e-7)


def test_differentiable_search_from_the_command_line(images):
    result = CliRunner().invoke(cli, ["search", "--strategy", "gdas", "--data", str(images), "--epochs", "1",
                                      "--quiet", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["stopped_by"] == "derived" and payload["trainings"] == 1
    assert payload["search_log"]["epochs"][0]["derived"] == payload["best_arch"]
    missing = CliRunner().invoke(cli, ["search", "--strategy", "darts", "--quiet"])
    assert missing.exit_code == 2 and "--data" in missing.output


def test_unknown_method_and_other_spaces_are_refused(images):
    with pytest.raises(ProxynasError, match="unknown differentiable search"):
        darts.run_darts(images, config("enas"))
    with pytest.raises(ProxynasError, match="unknown selection"):
        darts.run_darts(images, config(select="best"))
    with pytest.raises(ProxynasError, match="zero or more epochs"):
        darts.run_darts(images, config(select="perturb", tune_epochs=-1))
    with pytest.raises(ProxynasError, match="nb201 only"):
        darts.Darts("tnb101", 0, data=images)
