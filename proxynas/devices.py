"""Which device a user means (`resolve_device`: auto, cpu, cuda, cuda:N, mps), and the tensor layout per
device: channels-last on the CPU, where it is faster, and the default layout on CUDA.

On CUDA, cuDNN's channels-last backward gave wrong weight gradients for NB201 cells (torch 2.11 with
CUDA 13 on an H200: grad_norm 7.9 instead of 21.5 for a cell with pooling edges; right with the
default layout, with cuDNN off, or in float64), so networks and batches keep the default layout there.
"""

from __future__ import annotations

import re
from contextlib import contextmanager

import torch

from proxynas.errors import ProxynasError


def resolve_device(name: str) -> str:
    """The torch device for a user's `name`: "auto" picks CUDA if present, else Apple's mps, else the CPU;
    "cpu", "cuda", "cuda:N" and "mps" are checked to exist here."""
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "mps" if _mps_available() else "cpu"
    match = re.fullmatch(r"(cpu|mps|cuda)(?::(\d+))?", name)
    if not match or (match.group(2) is not None and match.group(1) != "cuda"):
        raise ProxynasError(f"unknown device {name!r}; valid: auto, cpu, cuda, cuda:N, mps")
    kind, number = match.group(1), match.group(2)
    if kind == "cuda" and not torch.cuda.is_available():
        raise ProxynasError("no CUDA device is available to PyTorch here")
    if kind == "cuda" and number is not None and int(number) >= torch.cuda.device_count():
        raise ProxynasError(f"there is no {name}: PyTorch sees {torch.cuda.device_count()} CUDA device(s)")
    if kind == "mps" and not _mps_available():
        raise ProxynasError("no Apple mps device is available to PyTorch here")
    return name


def _mps_available() -> bool:
    return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()


def memory_format(device: torch.device | str) -> torch.memory_format:
    return torch.channels_last if torch.device(device).type == "cpu" else torch.contiguous_format


@contextmanager
def torch_threads(count: int):
    """Run the block with `count` torch CPU threads, then restore the count: some proxies' last digits depend
    on it, so a re-score that must match stored values uses the count they were computed with."""
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)
