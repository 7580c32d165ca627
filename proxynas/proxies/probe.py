"""One architecture's network and input batch, with the passes that several proxies share run once.

The shared pass is one forward (train-mode BN) with hooks for what the requested proxies need,
then a backward of the task's loss for weight (and activation) gradients and, if needed, a backward of
the summed output for input gradients. With `chunks > 1` the batch is processed in pieces (each
with its own BN statistics): weight gradients are summed with chunk-size weights, per-sample
quantities are concatenated.
"""

from __future__ import annotations

from contextlib import contextmanager
from functools import cached_property

import numpy as np
import torch
from torch import nn

from proxynas.devices import memory_format
from proxynas.errors import ProxynasError
from proxynas.proxies.registry import PRODUCTS, SHARED_PASS_NEEDS
from proxynas.spaces.init import init_weights
from proxynas.tasks import Task, get_task


@contextmanager
def full_precision():
    """TF32 off in cuDNN convolutions and cuBLAS matmuls while scoring (TF32 rounds their inputs to 10-bit
    mantissas): every proxy then agreed with the CPU to 4e-4 median relative difference on an H200."""
    matmul = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        with torch.backends.cudnn.flags(enabled=torch.backends.cudnn.enabled, benchmark=torch.backends.cudnn.benchmark,
                                        deterministic=torch.backends.cudnn.deterministic, allow_tf32=False):
            yield
    finally:
        torch.backends.cuda.matmul.allow_tf32 = matmul


def weight_layers(net: nn.Module) -> list[nn.Module]:
    """The conv and linear layers whose weights the gradient proxies sum over."""
    return [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def weight_grads_by_part(probe, parts: int) -> list[list[torch.Tensor | None]]:
    """Per part of the probe's batch (cut into `parts`, each through a fresh network with its own BN
    statistics), the loss gradient of every conv/linear weight (None where a layer is not reached)."""
    net = probe.fresh_copy()
    weights = [layer.weight for layer in weight_layers(net)]
    grads = []
    for inputs, labels in zip(probe.inputs.chunk(parts), probe.labels.chunk(parts)):
        found = torch.autograd.grad(probe.loss(net(inputs), labels), weights, allow_unused=True)
        grads.append([None if g is None else g.detach() for g in found])
    return grads


class Probe:
    """`arch` (which knows its space) as a network for `task`, the input batch, and the shared passes."""

    def __init__(self, arch, task: Task | str, inputs: torch.Tensor, labels: torch.Tensor, seed: int,
                 needs: frozenset[str] = frozenset(), skip_dead_edges: bool = False, chunks: int = 1):
        self.arch, self.task, self.seed = arch, get_task(task), seed
        self.inputs, self.labels = inputs, labels
        self.needs, self.skip_dead_edges, self.chunks = needs, skip_dead_edges, chunks
        self._products: dict = {}

    @cached_property
    def net(self) -> nn.Module:
        """The network the shared pass uses (proxies must not change its weights)."""
        return self.fresh_copy()

    def fresh_copy(self, convention: str = "zero-cost") -> nn.Module:
        """A new network with the probe's initial weights: zero-cost convention (cell BN without affine
        parameters or running statistics) unless told otherwise, PyTorch default init from a generator
        seeded by `seed`, train mode."""
        net = self.arch.space.build_network(self.arch, self.task, convention, skip_dead_edges=self.skip_dead_edges)
        device = self.inputs.device
        return init_weights(net, self.seed).to(device, memory_format=memory_format(device)).train()

    def loss(self, outputs: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.task.loss(outputs, labels)

    def _require(self, part: str) -> None:
        if part not in self.needs:
            raise RuntimeError(f"the shared pass was not asked for {part!r}")  # a bug in a proxy's needs

    def product(self, name: str):
        """A shared intermediate product named in the proxies' `needs`: from the one shared pass, or a
        registered product computed on first use and kept for this probe's other proxies."""
        self._require(name)
        if name in SHARED_PASS_NEEDS:
            return self._shared[name]
        if name not in self._products:
            self._products[name] = PRODUCTS[name](self)
        return self._products[name]

    @property
    def weight_grads(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """(weight, dloss/dweight) for every conv/linear layer."""
        return self.product("weight_grads")

    @property
    def input_grads(self) -> np.ndarray:
        """Per-sample gradients of the summed network output w.r.t. the input, (N, 3*H*W) float64."""
        return self.product("input_grads")

    @property
    def relu_kernel(self) -> np.ndarray:
        """NASWOT's kernel: sum over ReLUs of c c^T + (1-c)(1-c)^T for binary codes c of ReLU inputs."""
        return self.product("relu_kernel")

    @property
    def fisher_terms(self) -> list[torch.Tensor]:
        """Per conv/linear output: per-sample, per-channel sum over positions of activation * dCE/dactivation."""
        return self.product("fisher_terms")

    @cached_property
    def _shared(self) -> dict:
        if "relu_kernel" in self.needs and self.chunks > 1:
            raise ProxynasError("nwot needs the whole batch in one pass and cannot be split")
        net, layers = self.net, weight_layers(self.net)
        weights = [layer.weight for layer in layers]
        grads = [torch.zeros_like(w) for w in weights]
        per_sample: dict[str, list] = {"input_grads": [], "fisher_terms": []}
        kernel = torch.zeros(len(self.inputs), len(self.inputs), dtype=torch.float64, device=self.inputs.device)
        for inputs, labels in zip(self.inputs.chunk(self.chunks), self.labels.chunk(self.chunks)):
            activations: list[torch.Tensor] = []
            hooks = []
            if "fisher_terms" in self.needs:
                hooks += [layer.register_forward_hook(lambda m, i, o: activations.append(o)) for layer in layers]
            if "relu_kernel" in self.needs:
                hooks += [m.register_forward_hook(lambda m, i, o: _add_codes(kernel, i[0]))
                          for m in net.modules() if isinstance(m, nn.ReLU)]
            x = inputs.detach().clone().requires_grad_("input_grads" in self.needs)
            try:
                out = net(x)
            finally:
                for hook in hooks:
                    hook.remove()
            if self.needs & {"weight_grads", "fisher_terms"}:
                loss = self.loss(out, labels) * (len(inputs) / len(self.inputs))
                found = torch.autograd.grad(loss, weights + activations, retain_graph="input_grads" in self.needs,
                                            allow_unused=True)
                for total, g in zip(grads, found[:len(weights)]):
                    if g is not None:
                        total += g
                per_sample["fisher_terms"].append(
                    [_channel_sums(a.detach(), g) for a, g in zip(activations, found[len(weights):])])
            if "input_grads" in self.needs:
                (g,) = torch.autograd.grad(out.sum(), x, allow_unused=True)
                g = torch.zeros_like(x) if g is None else g  # the output does not depend on the input
                per_sample["input_grads"].append(g.reshape(len(g), -1).double().cpu().numpy())
        return {
            "weight_grads": [(w.detach(), g) for w, g in zip(weights, grads)],
            "input_grads": np.concatenate(per_sample["input_grads"]) if per_sample["input_grads"] else None,
            "relu_kernel": kernel.cpu().numpy(),
            "fisher_terms": [torch.cat(t) for t in zip(*per_sample["fisher_terms"])],
        }


def _add_codes(kernel: torch.Tensor, relu_input: torch.Tensor) -> None:
    """kernel += c c^T + (1-c)(1-c)^T, as 2 c c^T - r 1^T - 1 r^T + n (one matmul; exact in float32)."""
    codes = (relu_input.detach().reshape(len(relu_input), -1) > 0).float()
    ones = codes.sum(dim=1, dtype=torch.float64)
    kernel += 2 * (codes @ codes.T).double() - ones[:, None] - ones[None, :] + codes.shape[1]


def _channel_sums(activation: torch.Tensor, grad: torch.Tensor | None) -> torch.Tensor:
    if grad is None:
        return torch.zeros(activation.shape[:2], dtype=activation.dtype, device=activation.device)
    product = activation * grad
    return product.sum(dim=tuple(range(2, product.dim()))) if product.dim() > 2 else product
