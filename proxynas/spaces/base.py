"""The search-space interface and its registry.

A space turns user tokens into architectures (small immutable values that know their space),
enumerates, samples and perturbs them, names their canonical classes, encodes them for
predictors and builds their networks for a task. Nothing outside a space's own modules names its
ops, edges or sizes: adding a space is adding a module that registers one.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Sequence

import numpy as np

from proxynas.errors import ProxynasError
from proxynas.tasks import Task, get_task

# Network conventions: the trained benchmark network (affine BN with running statistics), also the network
# the VKDNW code scores; and the zero-cost proxies' convention (cell BN without affine parameters or running
# statistics).
CONVENTIONS = ("benchmark", "zero-cost")


class SearchSpace(ABC):
    name: str
    size: int  # number of architectures
    canonical_forms: tuple[str, ...]  # names accepted by `canonical`
    encodings: tuple[str, ...]  # names accepted by `encode`
    tasks: tuple[str, ...] = ()  # the registered tasks its networks are built for (its benchmark's)

    def task(self, name: str) -> Task:
        """The registered task `name` (aliases accepted), if it is one of this space's."""
        task = get_task(name)
        if task.name not in self.tasks:
            raise ProxynasError(f"search space {self.name} has no task {name!r}; valid: {', '.join(self.tasks)}")
        return task

    @abstractmethod
    def parse(self, text: str):
        """One architecture from a user token (the space's own grammars)."""

    @abstractmethod
    def all_archs(self) -> list:
        """Every architecture, in the space's own enumeration order."""

    @abstractmethod
    def sample(self, n: int, seed: int | np.random.Generator, replace: bool = False) -> list:
        """`n` architectures drawn uniformly, reproducible from `seed`."""

    @abstractmethod
    def neighbours(self, arch) -> list:
        """The architectures one edit away from `arch`."""

    def mutate(self, arch, rng: np.random.Generator):
        """A uniformly chosen neighbour of `arch`."""
        options = self.neighbours(arch)
        return options[int(rng.integers(len(options)))]

    @abstractmethod
    def canonical(self, arch, form: str) -> str:
        """A key equal for architectures of one class under `form` (e.g. "function": same computed function)."""

    def function_key(self, arch) -> str:
        """A key equal only for architectures whose whole networks compute the same function (what proxies
        that see only the function and searches that train each function once may deduplicate on)."""
        return self.canonical(arch, "function")

    def function_representative(self, arch):
        """The member of `arch`'s function class whom function-only proxies score (itself by default)."""
        return arch

    def is_zero(self, arch) -> bool:
        """Does `arch` compute the zero function (no signal from input to output)?"""
        return False

    @abstractmethod
    def encode(self, archs: Sequence, encoding: str) -> np.ndarray:
        """Feature columns of `archs` for predictors (one row per arch)."""

    @abstractmethod
    def encoding_names(self, encoding: str) -> list[str]:
        """Column names of `encode(..., encoding)`."""

    @abstractmethod
    def build_network(self, arch, task, convention: str = "benchmark", skip_dead_edges: bool = False):
        """The torch network of `arch` for `task` (head and input size from the task), in `convention`.

        Besides `forward`, the network has `features(x)`: the feature map before global pooling.
        """

    def count_params(self, arch, task) -> int:
        """Parameters of the benchmark-convention network (built and counted unless a space knows better)."""
        return sum(p.numel() for p in self.build_network(arch, task).parameters())

    def count_flops(self, arch, task) -> int:
        """Conv and linear multiply-adds per input (hooked on one forward unless a space knows better)."""
        import torch
        from torch import nn

        net, total = self.build_network(arch, task), [0]

        def add(module, inputs, output):
            total[0] += output.numel() * module.weight[0].numel()

        hooks = [m.register_forward_hook(add) for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
        with torch.no_grad():
            net.eval()(torch.zeros(1, 3, task.input_size, task.input_size))
        for hook in hooks:
            hook.remove()
        return total[0]

    def __repr__(self) -> str:
        return f"<search space {self.name}: {self.size:,} architectures>"


_SPACES: dict[str, SearchSpace] = {}
# Built-in spaces, imported on first use so that `import proxynas` stays fast.
_BUILT_IN = {"nb201": "proxynas.spaces.nb201", "tnb101": "proxynas.spaces.tnb101"}


def register_space(space: SearchSpace) -> SearchSpace:
    """Make `space` available by its name; a second space of the same name is an error."""
    if space.name in _SPACES:
        raise ValueError(f"search space {space.name!r} is already registered")
    _SPACES[space.name] = space
    return space


def get_space(name: str | SearchSpace) -> SearchSpace:
    """The space called `name`; an unknown name lists the valid ones."""
    if isinstance(name, SearchSpace):
        return name
    if name not in _SPACES and name in _BUILT_IN:
        importlib.import_module(_BUILT_IN[name])
    try:
        return _SPACES[name]
    except KeyError:
        raise ProxynasError(f"unknown search space {name!r}; valid: {', '.join(space_names())}") from None


def space_names() -> list[str]:
    return sorted(set(_SPACES) | set(_BUILT_IN))
