"""VKDNW (Tybl & Neumann, CVPR 2025): how evenly the Fisher information spreads over the network's weights."""

from __future__ import annotations

import math

import torch
from torch import nn

from proxynas.proxies.registry import ScoreFailure, register
from proxynas.spaces.init import init_normal

TENSORS_READ = 128  # the authors' default: the first 128 parameter tensors, one weight (the first) of each
SMOOTHING = 0.05  # the class probabilities are mixed with the uniform distribution by this much
DECILES = torch.arange(1, 10, dtype=torch.float64) / 10


def fisher_information(net: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """F = mean_n J_n^T (diag(p_n) - p_n p_n^T) J_n over the batch (float64), J_n = d logits_n / d theta for
    theta = the first element of each of the first TENSORS_READ parameter tensors, p_n the smoothed softmax.

    `net` must treat samples independently (eval mode, BNs with running statistics), as in the authors' code,
    which maps over samples one at a time: then one batched pass gives every J_n, read from one backward pass
    per class (each chosen weight's per-sample derivative follows from its layer's input, or output, and the
    gradient at its output). The Fisher matrix of the categorical output is formed from the covariance, not
    its Cholesky factor.
    """
    if any(isinstance(m, nn.BatchNorm2d) and (m.training or not m.track_running_stats) for m in net.modules()):
        raise ValueError("fisher_information needs every BN in eval mode with running statistics (samples coupled)")
    chosen = [(module, name) for module in net.modules() for name, _ in module.named_parameters(recurse=False)]
    chosen = chosen[:TENSORS_READ]
    owners = list(dict.fromkeys(module for module, _ in chosen))
    unsupported = [type(m).__name__ for m in owners if not _supported(m)]
    if unsupported:
        raise ScoreFailure(f"no per-sample weight derivative for {', '.join(sorted(set(unsupported)))} layers")
    calls: dict[nn.Module, list[tuple[torch.Tensor, torch.Tensor]]] = {m: [] for m in owners}

    def keep(module, args, out):
        calls[module].append((args[0], out))
        return out.clone()  # what follows may work in place (an inplace ReLU); the kept output stays as it was

    hooks = [m.register_forward_hook(keep) for m in owners]
    try:
        logits = net(inputs)
    finally:
        for hook in hooks:
            hook.remove()
    outputs = [out for m in owners for _, out in calls[m]]
    jacobian = torch.zeros(len(inputs), logits.shape[1], len(chosen), dtype=torch.float64, device=inputs.device)
    for c in range(logits.shape[1]):
        grads = iter(torch.autograd.grad(logits[:, c].sum(), outputs, retain_graph=True, allow_unused=True))
        per_module = {m: [(x, y, next(grads)) for x, y in calls[m]] for m in owners}
        with torch.no_grad():
            for q, (module, name) in enumerate(chosen):
                for x, y, g in per_module[module]:
                    if g is not None:
                        jacobian[:, c, q] += _FIRST_WEIGHT_GRADS[type(module)](module, name, x, y, g).double()
    p = torch.softmax(logits.detach().double(), dim=1) * (1 - SMOOTHING) + SMOOTHING / logits.shape[1]
    weighted = p[:, :, None] * jacobian  # diag(p) J
    centred = torch.einsum("nc,ncq->nq", p, jacobian)  # p^T J
    return (torch.einsum("ncq,ncr->qr", jacobian, weighted) - centred.T @ centred) / len(inputs)


def _supported(module: nn.Module) -> bool:
    if type(module) is nn.Conv2d:
        return module.groups == 1 and module.dilation == (1, 1) and not isinstance(module.padding, str)
    return type(module) in _FIRST_WEIGHT_GRADS


def _conv_first(conv: nn.Conv2d, name: str, x: torch.Tensor, y: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """d y / d weight[0, 0, 0, 0] contracted with g: output channel 0 against input channel 0 at the kernel's
    top-left tap (with the conv's padding and stride); the bias: channel 0 of g."""
    if name == "bias":
        return g[:, 0].sum(dim=(1, 2))
    (ph, pw), (sh, sw) = conv.padding, conv.stride
    tap = nn.functional.pad(x[:, 0], (pw, pw, ph, ph))[:, :g.shape[2] * sh:sh, :g.shape[3] * sw:sw]
    return (g[:, 0] * tap[:, :g.shape[2], :g.shape[3]]).sum(dim=(1, 2))


def _bn_first(bn: nn.BatchNorm2d, name: str, x: torch.Tensor, y: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """weight[0]: channel 0 of g against the normalised map (y - bias) / weight; bias[0]: channel 0 of g."""
    if name == "bias":
        return g[:, 0].sum(dim=(1, 2))
    return (g[:, 0] * (y[:, 0] - bn.bias[0]) / bn.weight[0]).sum(dim=(1, 2))


def _linear_first(linear: nn.Linear, name: str, x: torch.Tensor, y: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    return g[:, 0] if name == "bias" else g[:, 0] * x[:, 0]


_FIRST_WEIGHT_GRADS = {nn.Conv2d: _conv_first, nn.BatchNorm2d: _bn_first, nn.Linear: _linear_first}


def spectrum_entropy(fisher: torch.Tensor) -> float:
    """Entropy of the Fisher eigenvalues' deciles, normalised to sum 1 (at most log 9)."""
    eigenvalues = torch.linalg.eigvalsh(fisher).clamp(min=0)
    deciles = torch.quantile(eigenvalues, DECILES.to(eigenvalues.device))
    t = deciles / (deciles.abs().sum() + 1e-10)
    return float(-(t * torch.log(t + 1e-10)).sum())


@register("vkdnw", function_only=False, splittable=False, uses_data=False, version=2)
def vkdnw(probe) -> float:
    """VKDNW: (parameter tensors, Fisher spectrum entropy) ordered lexicographically, as tensors + entropy / 10.

    As the authors' NB201 code runs it: their network's BNs are affine and keep running statistics, Kaiming
    normal fan-in weights, eval mode (so at initialisation each BN only divides by sqrt(1 + eps)), and a
    batch of N(0, 1) input of the probe's shape drawn from its seed (their default for this proxy is random
    input). The tensor count comes first as in the authors' ranking; the entropy (< log 9 < 10) only breaks
    its ties, so this one number orders cells exactly as their pair does.
    """
    if probe.task.target != "label":
        raise ScoreFailure(f"VKDNW reads the Fisher information of class probabilities; task {probe.task.name} "
                           "has no class output")
    net = probe.fresh_copy("benchmark")
    generator = torch.Generator().manual_seed(probe.seed)
    init_normal(net, generator, fan_in_scaled=True)
    inputs = torch.randn(probe.inputs.shape, generator=generator).to(probe.inputs.device)
    entropy = spectrum_entropy(fisher_information(net.eval(), inputs))
    if not math.isfinite(entropy):
        raise ScoreFailure("the Fisher spectrum's entropy is not finite")
    return len(list(net.parameters())) + entropy / 10
