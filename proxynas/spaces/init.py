"""PyTorch's default weight initialisation, drawn from a per-network generator instead of the global RNG.

Conv, transposed conv and linear layers get what their `reset_parameters` gives (Kaiming uniform with
a = sqrt(5), bias uniform in ±1/sqrt(fan_in), fan_in = the size of one weight slice along dim 0 for
all three), layer by layer in module order, which is the order a network's
constructor creates them: the weights equal those of `torch.manual_seed(seed)` followed by
construction, but two threads building networks at once cannot disturb each other's draws.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def init_weights(net: nn.Module, seed: int) -> nn.Module:
    """Re-draw every conv, transposed conv and linear weight and bias of `net` from a generator seeded with
    `seed` (a layer left out would keep weights from the global RNG: scores would change run to run)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
                fan_in = module.weight[0].numel()
                a = math.sqrt(5)
                bound = math.sqrt(3.0) * math.sqrt(2.0 / (1 + a ** 2)) / math.sqrt(fan_in)
                _uniform(module.weight, bound, generator)
                if module.bias is not None:
                    _uniform(module.bias, 1 / math.sqrt(fan_in), generator)
    return net


def init_normal(net: nn.Module, generator: torch.Generator, fan_in_scaled: bool) -> nn.Module:
    """Re-draw every conv and linear weight from N(0, 1) (`fan_in_scaled`: N(0, 2 / fan_in), Kaiming's normal
    fan-in init for ReLU) in module order, drawing from `generator` on the CPU; biases zero. Transposed convs
    keep their weights, as in the Zen-NAS, AZ-NAS and SWAP code (their inits pick nn.Conv2d and nn.Linear)."""
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                std = math.sqrt(2.0 / module.weight[0].numel()) if fan_in_scaled else 1.0
                module.weight.copy_(torch.randn(module.weight.shape, generator=generator) * std)
                if module.bias is not None:
                    module.bias.zero_()
    return net


def _uniform(tensor: torch.Tensor, bound: float, generator: torch.Generator) -> None:
    """Fill in place from U(-bound, bound), drawing on the CPU so every device gets the same values."""
    values = torch.empty(tensor.shape, dtype=tensor.dtype).uniform_(-bound, bound, generator=generator)
    tensor.copy_(values)
