"""Zen-score (Lin et al., 2021): expressivity of the untrained network under Gaussian weights and inputs."""

from __future__ import annotations

import math

import torch
from torch import nn

from proxynas.proxies.registry import ScoreFailure, register
from proxynas.spaces.init import init_normal

MIXUP = 0.01
MOMENTUM = 0.1  # PyTorch's BN momentum, which sets the running variance Zen-NAS reads


@register("zen", function_only=False, splittable=False, uses_data=False)
def zen(probe) -> float:
    """log E_n sum|f(x) - f(x + 0.01 e)| + sum over BN layers of log sqrt(mean running variance).

    f = features before global pooling; conv/linear weights ~ N(0, 1); x, e ~ N(0, 1) of the batch's
    shape. Zen-NAS reads each BN's running variance after the two forward passes; we compute that
    value exactly from the batch variances it saw. Every BN counts, also on dead edges (not function-only).
    """
    net = probe.fresh_copy()
    generator = torch.Generator().manual_seed(probe.seed)  # drawn on the CPU: the same values on every device
    device = probe.inputs.device
    init_normal(net, generator, fan_in_scaled=False)
    with torch.no_grad():
        x = torch.randn(probe.inputs.shape, generator=generator).to(device)
        mixed = x + MIXUP * torch.randn(x.shape, generator=generator).to(device)
        variances: dict[nn.Module, list[torch.Tensor]] = {}
        hooks = [m.register_forward_hook(lambda m, i, o: variances.setdefault(m, []).append(
            i[0].double().var(dim=(0, 2, 3), unbiased=True))) for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
        try:
            features = [net.features(inputs) for inputs in (x, mixed)]
        finally:
            for hook in hooks:
                hook.remove()
    expressivity = float((features[0] - features[1]).abs().sum(dim=(1, 2, 3)).mean())
    if expressivity <= 0:
        raise ScoreFailure("the features do not change under input perturbation")
    log_scale = 0.0
    for batch_variances in variances.values():  # two per BN, or two per tile and BN for tiled inputs
        running = 1.0
        for variance in batch_variances:
            running = (1 - MOMENTUM) * running + MOMENTUM * variance
        log_scale += 0.5 * math.log(float(running.mean()))
    return math.log(expressivity) + log_scale
