"""AZ-NAS (Lee & Ham, CVPR 2024): expressivity, progressivity and trainability of the cells' feature maps.

One forward of Gaussian input through a network with Kaiming normal fan-in weights (train-mode BN),
then one backward per cell of a random sign pattern. The fourth AZ-NAS component, complexity, is
`flops`. The authors' aggregate is the sum of the four components' log-ranks (see `ensembles`).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from proxynas.proxies.registry import ScoreFailure, register, register_product
from proxynas.spaces.init import init_normal


def _spectral_entropy(feature_map: torch.Tensor) -> float:
    """Entropy of the normalised eigenvalues of the channel covariance over all samples and positions."""
    rows = feature_map.detach().double().movedim(1, -1).reshape(-1, feature_map.shape[1])
    rows = rows - rows.mean(dim=0, keepdim=True)
    eigenvalues = torch.linalg.eigvalsh(rows.T @ rows / len(rows)).clamp(min=0)
    if float(eigenvalues.sum()) == 0:
        return 0.0  # a zero map: one eigenvalue-free direction, no spread
    p = eigenvalues / eigenvalues.sum()
    return float(-(p * torch.log(p + 1e-8)).sum())


def _cell_trainability(f_in: torch.Tensor, f_out: torch.Tensor, generator: torch.Generator) -> float:
    """2 - s - 1/s for the largest singular value s of E[g_in g_out^T], g_out a random sign map sent back
    through one cell (g_in pixel-unshuffled to g_out's size where the cell reduces); -inf where the cell
    passes g_out through unchanged."""
    g_out = (torch.randint(0, 2, f_out.shape, generator=generator, dtype=f_out.dtype) * 2 - 1).to(f_out.device)
    g_in = None
    if f_out.requires_grad and f_in.requires_grad:  # a cell that runs no edge outputs constant zeros
        (g_in,) = torch.autograd.grad(f_out, f_in, g_out, allow_unused=True)
    g_in = torch.zeros_like(f_in) if g_in is None else g_in
    if g_in.shape == g_out.shape and torch.equal(g_in, g_out):
        return -math.inf
    if g_in.shape[2:] != g_out.shape[2:]:
        g_in = nn.functional.pixel_unshuffle(g_in, g_in.shape[2] // g_out.shape[2])
    rows_in = g_in.double().movedim(1, -1).reshape(-1, g_in.shape[1])
    rows_out = g_out.double().movedim(1, -1).reshape(-1, g_out.shape[1])
    largest = float(torch.linalg.svdvals(rows_in.T @ rows_out / len(rows_out))[0])
    return 2 - largest - 1 / (largest + 1e-6)


@register_product("az_nas")
def az_nas_components(probe) -> dict[str, float]:
    """The three AZ-NAS components of one shared pass (input, weights and signs drawn from the probe's seed)."""
    net = probe.fresh_copy()
    generator = torch.Generator().manual_seed(probe.seed)
    init_normal(net, generator, fan_in_scaled=True)
    x = torch.randn(probe.inputs.shape, generator=generator).to(probe.inputs.device)
    maps = net.cell_features(x)
    entropies = [_spectral_entropy(m) for m in maps]
    cells = [_cell_trainability(maps[i - 1], maps[i], generator) for i in reversed(range(1, len(maps)))]
    return {"expressivity": sum(entropies),
            "progressivity": min(b - a for a, b in zip(entropies, entropies[1:])),
            "trainability": sum(cells) / len(cells)}


@register("az_expressivity", needs={"az_nas"}, function_only=True, splittable=False, uses_data=False)
def az_expressivity(probe) -> float:
    """AZ-NAS expressivity: sum over cell outputs of the spectral entropy of their channel covariance."""
    return probe.product("az_nas")["expressivity"]


@register("az_progressivity", needs={"az_nas"}, function_only=True, splittable=False, uses_data=False)
def az_progressivity(probe) -> float:
    """AZ-NAS progressivity: the smallest increase of that entropy from one cell to the next."""
    return probe.product("az_nas")["progressivity"]


@register("az_trainability", needs={"az_nas"}, function_only=True, splittable=False, uses_data=False)
def az_trainability(probe) -> float:
    """AZ-NAS trainability: mean over cells of 2 - s - 1/s, s the top singular value of the cell's gradient map.

    A cell that passes gradients through unchanged (an identity cell) scores -inf in the original, which
    ranks the network last; here it is NaN with that reason, and rank aggregates put NaN last too.
    """
    value = probe.product("az_nas")["trainability"]
    if value == -math.inf:
        raise ScoreFailure("a cell passes gradients through unchanged (AZ-NAS scores such a network -inf)")
    return value
