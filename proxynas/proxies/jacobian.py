"""Proxies from per-sample input gradients of the summed output (NASWOT v1 and EPE-NAS)."""

from __future__ import annotations

import numpy as np

from proxynas.proxies.registry import ScoreFailure, register

K = 1e-5


def _correlation(rows: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = np.corrcoef(rows)
    if not np.isfinite(corr).all():
        raise ScoreFailure("an input gradient is constant, so its correlation is undefined")
    return corr


@register("jacob_cov", needs={"input_grads"}, function_only=True, splittable=True, log_scale=True)
def jacob_cov(probe) -> float:
    """-sum(log(l + k) + 1/(l + k)), l = eigenvalues (eigvalsh) of the batch's input-gradient correlation, k=1e-5."""
    eigenvalues = np.linalg.eigvalsh(_correlation(probe.input_grads))
    return float(-np.sum(np.log(eigenvalues + K) + 1.0 / (eigenvalues + K)))


@register("epe_nas", needs={"input_grads"}, function_only=True, splittable=True, needs_labels=True)
def epe_nas(probe) -> float:
    """EPE-NAS: s_c = sum log(|corr| + k) per class; sum_c |s_c| (<=100 classes) or mean pairwise |s_c - s_c'|.

    Classes with one sample in the batch have no correlation and are left out. With more than 100
    classes each s_c is divided by the class's sample count, as in the original.
    """
    if probe.task.target != "label":
        raise ScoreFailure(f"EPE-NAS groups the batch by class label; task {probe.task.name} has no image labels")
    labels = probe.labels.cpu().numpy()
    num_classes = probe.task.num_classes
    scores = []
    for label in np.unique(labels):
        rows = probe.input_grads[labels == label]
        if len(rows) > 1:
            score = float(np.sum(np.log(np.abs(_correlation(rows)) + K)))
            scores.append(score / len(rows) if num_classes > 100 else score)
    if not scores:
        raise ScoreFailure("no class has two samples in the batch")
    scores = np.array(scores)
    if num_classes <= 100:
        return float(np.abs(scores).sum())
    return float(np.abs(scores[:, None] - scores[None, :]).sum() / len(scores))
