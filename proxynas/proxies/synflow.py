"""SynFlow (Tanaka et al., 2020) as used for zero-cost NAS (Abdelfattah et al., 2021)."""

from __future__ import annotations

import torch
from torch import nn

from proxynas.proxies.probe import weight_layers
from proxynas.proxies.registry import register


def _identity(x: torch.Tensor) -> torch.Tensor:
    return x


@register("synflow", function_only=True, splittable=True, uses_data=False, log_scale=True)
def synflow(probe) -> float:
    """Sum over conv/linear weights of |θ * dR/dθ|, R = sum of outputs for an all-ones input, with every
    parameter replaced by |θ|, BatchNorm bypassed, in float64 (values reach 1e60; take log for models)."""
    net = probe.fresh_copy().double()
    with torch.no_grad():
        for param in net.parameters():
            param.abs_()
    for module in net.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.forward = _identity
    ones = torch.ones(1, *probe.task.input_shape, dtype=torch.float64, device=probe.inputs.device)
    weights = [layer.weight for layer in weight_layers(net)]
    grads = torch.autograd.grad(net(ones).sum(), weights, allow_unused=True)
    return sum(float((w.detach() * g).abs().sum()) for w, g in zip(weights, grads) if g is not None)
