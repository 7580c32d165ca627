"""Proxies from the cross-entropy gradient of the weights at initialisation (one shared backward).

All sum over the weights of conv and linear layers, with the batch's real labels.
"""

from __future__ import annotations

from proxynas.proxies.registry import register


@register("grad_norm", needs={"weight_grads"}, function_only=True, splittable=True, needs_labels=True,
          log_scale=True)
def grad_norm(probe) -> float:
    """Sum over conv/linear layers of the per-layer L2 norm of dCE/dW (the reference code's choice)."""
    return sum(float(g.norm()) for _, g in probe.weight_grads)


@register("snip", needs={"weight_grads"}, function_only=True, splittable=True, needs_labels=True, log_scale=True)
def snip(probe) -> float:
    """SNIP saliency: sum of |W * dCE/dW| (the gradient w.r.t. all-ones masks times the masks)."""
    return sum(float((w * g).abs().sum()) for w, g in probe.weight_grads)


@register("plain", needs={"weight_grads"}, function_only=True, splittable=True, needs_labels=True,
          higher_is_better=False)
def plain(probe) -> float:
    """Sum of W * dCE/dW, signed, reported as is; published as negatively correlated with accuracy (Suite-Zero),
    so its registered direction is lower-is-better, which rank votes honour."""
    return sum(float((w * g).sum()) for w, g in probe.weight_grads)


@register("fisher", needs={"fisher_terms"}, function_only=True, splittable=True, needs_labels=True,
          log_scale=True)
def fisher(probe) -> float:
    """Channel Fisher: sum over conv/linear outputs a and channels of 0.5 * mean_n (sum_pos a * dCE/da)^2."""
    return sum(float(t.pow(2).mean(0).sum()) * 0.5 for t in probe.fisher_terms)
