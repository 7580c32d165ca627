"""Tensor layout per device: channels-last on the CPU, where it is faster, and the default layout on CUDA.

On CUDA, cuDNN's channels-last backward gave wrong weight gradients for NB201 cells (torch 2.11 with
CUDA 13 on an H200: grad_norm 7.9 instead of 21.5 for a cell with pooling edges; right with the
default layout, with cuDNN off, or in float64), so networks and batches keep the default layout there.
"""

from __future__ import annotations

import torch


def memory_format(device: torch.device | str) -> torch.memory_format:
    return torch.channels_last if torch.device(device).type == "cpu" else torch.contiguous_format
