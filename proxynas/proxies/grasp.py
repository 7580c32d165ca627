"""GraSP (Wang et al., 2020): gradient signal preservation, via a Hessian-gradient product."""

from __future__ import annotations

import torch

from proxynas.proxies.probe import weight_layers
from proxynas.proxies.registry import register


@register("grasp", function_only=True, splittable=False, needs_labels=True, log_scale=True)
def grasp(probe) -> float:
    """-sum θ * (H g) over conv/linear weights, g = dCE/dθ, H = Hessian of CE: the reference code's sign."""
    weights = [layer.weight for layer in weight_layers(probe.net)]
    loss = probe.loss(probe.net(probe.inputs), probe.labels)
    grads = torch.autograd.grad(loss, weights, create_graph=True, allow_unused=True)
    pairs = [(w, g) for w, g in zip(weights, grads) if g is not None]
    z = sum((g.detach() * g).sum() for _, g in pairs)
    hessian_grads = torch.autograd.grad(z, [w for w, _ in pairs], allow_unused=True)
    return -sum(float((w.detach() * hg).sum()) for (w, _), hg in zip(pairs, hessian_grads) if hg is not None)
