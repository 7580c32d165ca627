"""One scoring job: every proxy a cell still needs, computed with one shared probe on a device batch.

On out-of-memory the job is retried with the batch split into 2, 4, ... chunks; proxies that cannot
be split get NaN with the reason. A proxy's failure is NaN with its reason, never a sentinel.
"""

from __future__ import annotations

import numpy as np
import torch

from proxynas.data import BatchSpec, make_batch
from proxynas.devices import memory_format
from proxynas.proxies import Probe, Proxy, ScoreFailure
from proxynas.proxies.probe import full_precision


def device_batch(spec: BatchSpec, device: str):
    """The batch of `spec` on `device`, in the device's layout (tiled inputs keep the default one: each tile
    is taken out of them before it meets a conv)."""
    inputs, labels = make_batch(spec)
    layout = memory_format(device) if inputs.dim() == 4 else torch.contiguous_format
    return inputs.to(device).contiguous(memory_format=layout), labels.to(device)


def evaluate(arch, proxies, spec: BatchSpec, inputs, labels) -> dict[Proxy, tuple[float, str]]:
    """Values (or NaN and a reason) of `proxies` on one cell, splitting the batch on out-of-memory."""
    results: dict[Proxy, tuple[float, str]] = {}
    todo, chunks = list(proxies), 1
    with full_precision():  # GPU scores equal the CPU's up to float32 rounding
        while todo:
            probe = Probe(arch, spec.dataset, inputs, labels, spec.seed, frozenset().union(*(p.needs for p in todo)),
                          all(p.function_only for p in todo), chunks)
            try:
                while todo:
                    results[todo[0]] = _run(todo[0], probe)
                    todo.pop(0)
            except torch.OutOfMemoryError:
                del probe
                if inputs.is_cuda:
                    torch.cuda.empty_cache()
                chunks *= 2
                for proxy in todo:
                    if chunks > len(inputs):
                        results[proxy] = (float("nan"), "out of memory even with one sample per chunk")
                    elif not proxy.splittable:
                        results[proxy] = (float("nan"), f"out of memory; {proxy.name} cannot be split into batch chunks")
                todo = [p for p in todo if p not in results]
    return {p: results[p] for p in proxies}


def _run(proxy: Proxy, probe: Probe) -> tuple[float, str]:
    """One proxy's value, or NaN and the reason it has none (never a sentinel)."""
    try:
        value = float(proxy.compute(probe))
    except ScoreFailure as failure:
        return float("nan"), str(failure)
    if not np.isfinite(value):
        return float("nan"), f"non-finite value ({value})"
    return value, ""
