"""GradSign (Zhang & Jia, ICLR 2022): how far the samples' loss gradients agree in sign, weight by weight."""

from __future__ import annotations

import torch

from proxynas.proxies.probe import weight_grads_by_part
from proxynas.proxies.registry import register


def sign_agreement(per_sample: list[list[torch.Tensor | None]]) -> float:
    """sum over weights w of |sum over samples n of sign(g_nw)|, from each sample's gradients of each layer
    (None: the layer was not reached, every sign 0)."""
    totals: list[torch.Tensor | float] = []
    for grads in zip(*per_sample):
        signs = [torch.sign(g) for g in grads if g is not None]
        totals.append(torch.stack(signs).sum(dim=0).abs().sum() if signs else 0.0)
    return float(sum(totals))


@register("gradsign", function_only=True, splittable=False, needs_labels=True)
def gradsign(probe) -> float:
    """sum over conv/linear weights of |sum over samples of the sign of that sample's loss gradient|.

    Each sample goes alone through a fresh network (default init, train-mode BN normalising that sample
    over its own positions, as the authors' batch of one does) with the task's loss. The authors read 128
    samples; we read the engine's batch (64 by default), which scales the score, not its ranking much.
    """
    return sign_agreement(weight_grads_by_part(probe, len(probe.inputs)))
