"""Size proxies: parameters, FLOPs and the L2 norm of the initial weights (they count dead weights too)."""

from __future__ import annotations

from proxynas.proxies.probe import weight_layers
from proxynas.proxies.registry import register


@register("params", function_only=False, splittable=True, uses_data=False)
def params(probe) -> float:
    """Parameters of the benchmark network (affine BN), in millions: NB201's and Suite-Zero's `params`."""
    return probe.arch.space.count_params(probe.arch, probe.task) / 1e6


@register("flops", function_only=False, splittable=True, uses_data=False)
def flops(probe) -> float:
    """Multiply-adds of conv and linear layers per image, in millions (BN, ReLU, pooling not counted)."""
    return probe.arch.space.count_flops(probe.arch, probe.task) / 1e6


@register("l2_norm", function_only=False, splittable=True, uses_data=False)
def l2_norm(probe) -> float:
    """Sum over conv/linear layers of the L2 norm of the initial weights."""
    return sum(float(layer.weight.detach().norm()) for layer in weight_layers(probe.net))
