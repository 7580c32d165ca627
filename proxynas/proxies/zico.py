"""ZiCo (Li et al., ICLR 2023): gradients that are large and consistent across mini-batches."""

from __future__ import annotations

import math

import torch

from proxynas.proxies.probe import weight_grads_by_part
from proxynas.proxies.registry import ScoreFailure, register, register_product

MINI_BATCHES = 2  # the authors' default: two batches of the training data


@register_product("batch_weight_grads")
def batch_weight_grads(probe) -> list[list[torch.Tensor | None]]:
    """Per mini-batch (the probe's batch cut into MINI_BATCHES parts, each its own BN statistics), the loss
    gradient of every conv/linear weight of a fresh network (None where a layer is not reached)."""
    if len(probe.inputs) < MINI_BATCHES:
        raise ScoreFailure(f"needs a batch of at least {MINI_BATCHES} samples, one mini-batch each")
    return weight_grads_by_part(probe, MINI_BATCHES)


@register("zico", needs={"batch_weight_grads"}, function_only=True, splittable=False, needs_labels=True)
def zico(probe) -> float:
    """sum over layers of log sum_w mean_b|g_bw| / std_b(g_bw), over weights w whose gradient varies
    across the mini-batches b (population std); layers whose sum is 0 are left out, as in the original.

    Default init, train-mode BN, the task's loss; the batch is cut in two halves where the authors
    draw two batches of the same size.
    """
    total, layers = 0.0, 0
    for per_batch in zip(*probe.product("batch_weight_grads")):
        if any(g is None for g in per_batch):
            continue
        stacked = torch.stack([g.flatten().double() for g in per_batch])
        std = stacked.std(dim=0, unbiased=False)
        varying = std > 0
        ratio = float((stacked.abs().mean(dim=0)[varying] / std[varying]).sum())
        if ratio > 0:
            total += math.log(ratio)
            layers += 1
    if layers == 0:
        raise ScoreFailure("no layer's gradient varies across the mini-batches")
    return total
