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
    gradient at its output). Where the logits are a final linear layer of fewer inputs than classes (64 features
    against NB201's 100 or 120 classes), the passes start from those inputs instead and the layer's weights mix
    them into classes: the same J_n in fewer passes. The Fisher matrix of the categorical output is formed from
    the covariance, not its Cholesky factor.
    """
    if any(isinstance(m, nn.BatchNorm2d) and (m.training or not m.track_running_stats) for m in net.modules()):
        raise ValueError("fisher_information needs every BN in eval mode with running statistics (samples coupled)")
    chosen = [(module, name) for module in net.modules() for name, _ in module.named_parameters(recurse=False)]
    chosen = chosen[:TENSORS_READ]
    owners = list(dict.fromkeys(module for module, _ in chosen))
    unsupported = [type(m).__name__ for m in owners if not _supported(m)]
    if unsupported:
        raise ScoreFailure(f"no per-sample weight derivative for {', '.join(sorted(set(unsupported)))} layers")
    head = next((m for m in reversed(list(net.modules())) if isinstance(m, nn.Linear)), None)
    calls: dict[nn.Module, list[tuple[torch.Tensor, torch.Tensor]]] = {m: [] for m in [*owners, head] if m}

    def keep(module, args, out):
        calls[module].append((args[0], out))
        return out.clone()  # what follows may work in place (an inplace ReLU); the kept output stays as it was

    hooks = [m.register_forward_hook(keep) for m in calls]
    try:
        logits = net(inputs)
    finally:
        for hook in hooks:
            hook.remove()
    seeds, mixing = _backward_seeds(head, calls.get(head, []), logits)
    upstream = [m for m in owners if m is not head or mixing is None]
    outputs = [out for m in upstream for _, out in calls[m]]
    jacobian = torch.zeros(len(inputs), seeds.shape[1], len(chosen), dtype=torch.float64, device=inputs.device)
    for s in range(seeds.shape[1]):
        grads = iter(torch.autograd.grad(seeds[:, s].sum(), outputs, retain_graph=True, allow_unused=True))
        per_module = {m: [(x, y, next(grads)) for x, y in calls[m]] for m in upstream}
        with torch.no_grad():
            for q, (module, name) in enumerate(chosen):
                for x, y, g in per_module.get(module, ()):
                    if g is not None:
                        jacobian[:, s, q] += _FIRST_WEIGHT_GRADS[type(module)](module, name, x, y, g).double()
    if mixing is not None:
        jacobian = torch.einsum("ck,nkq->ncq", mixing, jacobian)
        for q, (module, name) in enumerate(chosen):
            if module is head:  # d logits_c / d weight[0, 0] = [c = 0] x_0 (x: the seeds); / d bias[0] = [c = 0]
                jacobian[:, 0, q] = seeds[:, 0].detach().double() if name == "weight" else 1.0
    p = torch.softmax(logits.detach().double(), dim=1) * (1 - SMOOTHING) + SMOOTHING / logits.shape[1]
    weighted = p[:, :, None] * jacobian  # diag(p) J
    centred = torch.einsum("nc,ncq->nq", p, jacobian)  # p^T J
    return (torch.einsum("ncq,ncr->qr", jacobian, weighted) - centred.T @ centred) / len(inputs)


def _backward_seeds(head: nn.Module | None, head_calls: list, logits: torch.Tensor):
    """What the backward passes start from, and the matrix that turns their derivatives into the logits':
    the head's input and its weight where the logits are that one call of a linear layer with fewer inputs
    than classes (checked: the head applied again to its input gives the logits exactly), else the logits."""
    if head is None or len(head_calls) != 1 or head.in_features >= logits.shape[1]:
        return logits, None
    features = head_calls[0][0]
    with torch.no_grad():
        if features.dim() != 2 or not torch.equal(head(features), logits):
            return logits, None
    return features, head.weight.detach().double()


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
