"""TE-NAS (Chen, Gong & Wang, ICLR 2021): trainability as the condition number of the network's neural
tangent kernel, expressivity as the number of linear regions its ReLUs cut the input space into.

The authors prune a supernet by the two ranks' sum; as per-cell proxies (and the `te_nas` ensemble, the
same rank sum) they score a cell's own network. Their settings: PyTorch's default init, train-mode BN,
a batch of real images for the NTK; for the regions a thin copy of the cell (1 channel, no stem, one
cell) on 3 batches of 1,000 single-channel 3x3 image patches.
"""

from __future__ import annotations

import torch
from torch import nn

from proxynas.proxies.registry import ScoreFailure, register
from proxynas.spaces.init import init_weights

PATCH, PATCHES, PATCH_BATCHES = 3, 1000, 3  # the authors' region-count inputs: 3 batches of 1,000 patches


@register("te_ntk", function_only=True, splittable=False, higher_is_better=False, log_scale=True)
def te_ntk(probe) -> float:
    """Condition number λmax / λmin of the empirical NTK Θ = J Jᵀ over the batch, J's row n the gradient of
    sample n's summed logits w.r.t. every parameter named `weight` (conv, linear and affine BN weights).
    Lower is better. Each row is one backward through the whole batch's graph, so train-mode BN couples the
    samples as in the original (the authors' batch on NB201: 72; ours: the probe's). One backward per
    sample makes this the costliest proxy per cell here, about 4 s at batch 64 on 2 CPU threads (a batched
    backward was slower on a CPU)."""
    net = probe.fresh_copy()
    weights = [p for name, p in net.named_parameters() if name.endswith("weight")]
    logits = net(probe.inputs)
    rows = []
    for n in range(len(logits)):
        grads = torch.autograd.grad(logits[n].sum(), weights, retain_graph=True, allow_unused=True)
        rows.append(torch.cat([g.flatten() for g in grads if g is not None]).double())
    jacobian = torch.stack(rows)
    eigenvalues = torch.linalg.eigvalsh(jacobian @ jacobian.T)
    smallest, largest = float(eigenvalues[0]), float(eigenvalues[-1])
    if not smallest > 0:
        raise ScoreFailure(f"the NTK is singular (smallest eigenvalue {smallest:.3g}): the condition number is "
                           "infinite")
    return largest / smallest


@register("te_regions", function_only=False, splittable=False)
def te_regions(probe) -> float:
    """Distinct ReLU activation patterns over 3,000 inputs of the cell alone at 1 channel (each batch of
    1,000 its own BN statistics): random 3x3 patches of one random channel of the probe's images (the
    authors pad by 4 before cropping; we crop inside the image). A cell without a ReLU is linear: 1 region.
    Higher is better."""
    cell = init_weights(probe.arch.space.build_cell(probe.arch, channels=1), probe.seed).train()
    generator = torch.Generator().manual_seed(probe.seed)
    images = probe.inputs.detach().cpu()
    codes = []

    def record(module, inputs, output):
        codes.append((output > 0).flatten(1))

    hooks = [m.register_forward_hook(record) for m in cell.modules() if isinstance(m, nn.ReLU)]
    patterns = []
    with torch.no_grad():
        for _ in range(PATCH_BATCHES):
            codes.clear()
            cell(_patches(images, generator))
            if codes:
                patterns.append(torch.cat(codes, dim=1))
    for hook in hooks:
        hook.remove()
    if not patterns:
        return 1.0
    return float(len(torch.unique(torch.cat(patterns), dim=0)))


def _patches(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """PATCHES random PATCH x PATCH crops of one random channel of random images, shape (PATCHES, 1, 3, 3)."""
    n, channels, height, width = images.shape
    pick = torch.randint(n, (PATCHES,), generator=generator)
    channel = torch.randint(channels, (PATCHES,), generator=generator)
    top = torch.randint(height - PATCH + 1, (PATCHES,), generator=generator)
    left = torch.randint(width - PATCH + 1, (PATCHES,), generator=generator)
    offsets = torch.arange(PATCH)
    rows = (top[:, None] + offsets)[:, :, None]
    cols = (left[:, None] + offsets)[:, None, :]
    return images[pick[:, None, None], channel[:, None, None], rows, cols].unsqueeze(1)
