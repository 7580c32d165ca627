"""NASWOT (Mellor et al., 2021): how differently the untrained network's ReLUs split the batch."""

from __future__ import annotations

import numpy as np

from proxynas.proxies.registry import register


@register("nwot", needs={"relu_kernel"}, function_only=False, splittable=False)
def nwot(probe) -> float:
    """log|det K|, K = sum over every ReLU of c c^T + (1-c)(1-c)^T, c = binary codes of its inputs.

    Every ReLU counts, including those on edges that are dead or fed only zeros, so the score
    depends on the cell, not only on its function; K couples the whole batch, so it cannot be split.
    """
    _, logdet = np.linalg.slogdet(probe.relu_kernel)
    return float(logdet)
