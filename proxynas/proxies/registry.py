"""The proxy registry: each proxy is a small function of a `Probe` plus the metadata the engine needs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from proxynas.errors import ProxynasError


class ScoreFailure(Exception):
    """A proxy could not produce a value for this architecture; the message is the recorded reason."""


# Products of the probe's one shared forward/backward pass (computed together when any is needed).
SHARED_PASS_NEEDS = frozenset({"weight_grads", "input_grads", "relu_kernel", "fisher_terms"})
# Further products, each a function of the probe computed on first use and kept for the probe's other proxies.
PRODUCTS: dict[str, Callable] = {}


def register_product(name: str):
    """Decorator adding a shared product `(probe) -> value` under `name`, for proxies to list in `needs`."""
    def add(fn: Callable) -> Callable:
        if name in PRODUCTS or name in SHARED_PASS_NEEDS:
            raise ValueError(f"product {name!r} is already registered")
        PRODUCTS[name] = fn
        return fn

    return add


@dataclass(frozen=True)
class Proxy:
    """A zero-cost proxy and what the engine, rank votes and features must know about it."""

    name: str
    compute: Callable  # (probe) -> float
    needs: frozenset[str]  # parts of the shared forward/backward pass it reads (empty: runs on its own)
    function_only: bool  # depends only on the computed function: may be scored once per function class
    splittable: bool  # may be computed from batch chunks on out-of-memory
    uses_data: bool  # reads the input batch (False: data-free)
    version: int = 1
    needs_labels: bool = False  # reads the batch's labels (a loss), not only its images
    higher_is_better: bool = True  # the published direction; rank votes flip proxies where it is False
    log_scale: bool = False  # spans many orders of magnitude: models see signed_log of it

    @property
    def key(self) -> str:
        return f"{self.name}@v{self.version}"

    @property
    def description(self) -> str:
        return (self.compute.__doc__ or "").strip().splitlines()[0]


_REGISTRY: dict[str, Proxy] = {}


def register(name: str, *, needs=(), function_only: bool, splittable: bool, uses_data: bool = True,
             version: int = 1, needs_labels: bool = False, higher_is_better: bool = True, log_scale: bool = False):
    """Decorator adding a proxy under `name`; a second proxy with the same name is an error."""
    unknown = set(needs) - SHARED_PASS_NEEDS - set(PRODUCTS)
    if unknown:
        raise ValueError(f"proxy {name}: unknown needs {unknown} (register a product first)")

    def add(fn: Callable) -> Callable:
        if name in _REGISTRY:
            raise ValueError(f"proxy {name!r} is already registered")
        _REGISTRY[name] = Proxy(name, fn, frozenset(needs), function_only, splittable, uses_data, version,
                                needs_labels, higher_is_better, log_scale)
        return fn

    return add


def get(name: str) -> Proxy:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ProxynasError(f"unknown proxy {name!r}; valid: {', '.join(sorted(_REGISTRY))}") from None


def names() -> list[str]:
    return sorted(_REGISTRY)


def parse_list(text: str) -> list[Proxy]:
    """Proxies from a comma-separated list (`all` = every registered proxy), in the order given."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    if items == ["all"]:
        items = names()
    if not items:
        raise ProxynasError("no proxies given")
    return [get(n) for n in dict.fromkeys(items)]
