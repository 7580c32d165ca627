"""MeCo (Jiang et al., NeurIPS 2023): how decorrelated the channels of each feature map are for one input."""

from __future__ import annotations

import numpy as np
import torch

from proxynas.proxies.registry import ScoreFailure, register

SAMPLED_CHANNELS = 8  # MeCo_opt's channels per feature map


def _min_eigenvalue(feature_map: torch.Tensor) -> float:
    """Smallest eigenvalue of the channel-by-channel Pearson correlation over positions; channels without
    variance (as after a `none` op) have undefined correlations, which count as 0, as in the original."""
    if feature_map[0].numel() <= len(feature_map):
        # Centred over n positions, the channels span at most n - 1 dimensions: with at least n channels the
        # matrix is singular and its smallest eigenvalue is 0 (one position: every correlation is undefined).
        return 0.0
    rows = feature_map.detach().reshape(len(feature_map), -1).double()
    corr = torch.nan_to_num(torch.corrcoef(rows), nan=0.0, posinf=0.0, neginf=0.0)
    return float(torch.linalg.eigvalsh(corr)[0])


def _meco(probe, sampled: int | None) -> float:
    """Sum over every module's 4-D output of the first sample's channel correlation's smallest eigenvalue.

    One image (the batch's first) through the zero-cost network in train mode, default init; every module
    counts, containers too, as the authors hook `named_modules()`. With `sampled` channels (MeCo_opt) each map
    keeps that many channels drawn with the probe's seed and the eigenvalue is scaled by channels / sampled.
    """
    net = probe.fresh_copy()
    generator = torch.Generator().manual_seed(probe.seed)
    total = [0.0]

    def add(module, inputs, output):
        if not isinstance(output, torch.Tensor) or output.dim() != 4:
            return  # the authors' NaN correlations of pooled or flat outputs count as 0
        feature_map, scale = output[0], 1.0
        if sampled is not None and len(feature_map) > sampled:
            scale = len(feature_map) / sampled
            feature_map = feature_map[torch.randperm(len(feature_map), generator=generator)[:sampled].to(output.device)]
        total[0] += scale * _min_eigenvalue(feature_map)

    hooks = [m.register_forward_hook(add) for m in net.modules()]
    try:
        with torch.no_grad():
            net(probe.inputs[:1])
    finally:
        for hook in hooks:
            hook.remove()
    if not np.isfinite(total[0]):
        raise ScoreFailure("a channel correlation matrix had no finite eigenvalues")
    return total[0]


@register("meco", function_only=False, splittable=False)
def meco(probe) -> float:
    """MeCo: sum over modules of the smallest eigenvalue of one sample's channel correlation matrix."""
    return _meco(probe, None)


@register("meco_opt", function_only=False, splittable=False)
def meco_opt(probe) -> float:
    """MeCo_opt: MeCo on 8 channels per feature map, drawn with the seed, scaled by channels / 8."""
    return _meco(probe, SAMPLED_CHANNELS)
