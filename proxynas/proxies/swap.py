"""SWAP (Peng et al., ICLR 2024): how many distinct sample-wise ReLU activation patterns the network has; and
regularised SWAP, which weighs that count by a Gaussian term in the network's size."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from proxynas.proxies.registry import ScoreFailure, register, register_product
from proxynas.spaces.init import init_normal

SAMPLES = 16  # the authors' input batch
REPEATS = 32  # Gaussian re-initialisations averaged, the authors' default
_MAX_SAMPLES = 52  # one neuron's pattern is packed into the bits of an integer held exactly in a float64
# Regularised SWAP's size term per space: (mu, sigma) in the authors' unit, thousands of parameters. The authors
# publish the form, not NB201's values; ours were chosen on NB201's tuning cells (CIFAR-10 validation accuracy,
# `ensembles.tuning_cells()`) by benchmarks/swap_regularisation.py, which reports them on other cells.
SIZE_TERM = {"nb201": (830.4, 531616)}


def distinct(codes: torch.Tensor, samples: int) -> int:
    """How many different values `codes` (integers below 2 ** samples) holds: a histogram for up to 20 samples
    (linear time), a sort above."""
    if samples <= 20:
        return int(torch.bincount(codes, minlength=2 ** samples).count_nonzero())
    return torch.unique(codes).numel()


@register_product("activation_patterns")
def activation_patterns(probe) -> float:
    """Mean over 32 N(0, 1) weight draws of the number of distinct patterns (one bit per sample: ReLU output
    > 0) over every neuron fed to a ReLU by a 4-D map, for the batch's first 16 samples.

    Train-mode BN (affine at identity), biases zero, weights redrawn from the probe's seed each repeat. A
    neuron's pattern is its bits packed into one integer, so counting patterns is counting unique integers.
    """
    net = probe.fresh_copy()
    inputs = probe.inputs[:SAMPLES]
    if len(inputs) > _MAX_SAMPLES:
        raise ScoreFailure(f"at most {_MAX_SAMPLES} samples fit one pattern code")
    powers = 2.0 ** torch.arange(len(inputs), dtype=torch.float64, device=inputs.device)
    codes: list[torch.Tensor] = []

    def collect(module, args, output):
        if args[0].dim() == 4:
            active = (output.detach().reshape(len(output), -1) > 0).double()
            codes.append((powers @ active).long())  # exact: sums of distinct powers of two below 2 ** 53

    relus = [m.register_forward_hook(collect) for m in net.modules() if isinstance(m, nn.ReLU)]
    generator = torch.Generator().manual_seed(probe.seed)
    counts = []
    try:
        with torch.no_grad():
            for _ in range(REPEATS):
                init_normal(net, generator, fan_in_scaled=False)
                codes.clear()
                net(inputs)
                if not codes:
                    raise ScoreFailure("the network has no ReLU on a feature map")
                counts.append(distinct(torch.cat(codes), len(inputs)))
    finally:
        for hook in relus:
            hook.remove()
    return sum(counts) / len(counts)


@register("swap", needs={"activation_patterns"}, function_only=False, splittable=False)
def swap(probe) -> float:
    """SWAP: the mean number of distinct sample-wise activation patterns (`activation_patterns`)."""
    return probe.product("activation_patterns")


@register("swap_reg", needs={"activation_patterns"}, function_only=False, splittable=False)
def swap_reg(probe) -> float:
    """Regularised SWAP: swap * exp(-(P - mu)^2 / sigma), P the benchmark network's parameters in thousands.

    The authors' size term, which favours networks near a target size; mu and sigma per space in SIZE_TERM
    (a space without them: NaN with that reason). One pattern count serves swap and swap_reg.
    """
    mu, sigma = SIZE_TERM.get(probe.arch.space.name, (None, None))
    if mu is None:
        raise ScoreFailure(f"regularised SWAP has no size target for the {probe.arch.space.name} space")
    return probe.product("activation_patterns") * float(size_weight(thousands_of_params(probe.arch, probe.task), mu, sigma))


def thousands_of_params(arch, task) -> float:
    """The benchmark network's parameters in thousands: the size regularised SWAP weighs."""
    return arch.space.count_params(arch, task) / 1e3


def size_weight(size, mu: float, sigma: float):
    """Regularised SWAP's size term exp(-(size - mu)^2 / sigma), for one size or an array of them."""
    return np.exp(-(np.asarray(size, dtype=np.float64) - mu) ** 2 / sigma)
