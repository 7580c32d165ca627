"""Figures (matplotlib is an optional extra: pip install "proxynas[plot]")."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from scipy import stats

from proxynas.errors import ProxynasError
from proxynas.metrics import rank_vote


def pyplot():
    """matplotlib.pyplot on the file-only Agg backend, or a clear error naming the optional extra."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise ProxynasError('plotting needs matplotlib: pip install "proxynas[plot]"') from None
    return plt


def optional_grid(rows: int, cols: int, panel: tuple[float, float], **options):
    """A figure of rows x cols gridded panels, `panel` inches each: (figure, 2-D axes), or None with the reason
    printed when matplotlib is missing, so a benchmark still writes its tables."""
    try:
        plt = pyplot()
    except ProxynasError as missing:
        print(f"no plot: {missing}")
        return None
    figure, axes = plt.subplots(rows, cols, figsize=(panel[0] * cols, panel[1] * rows), squeeze=False, **options)
    for ax in axes.flat:
        ax.grid(alpha=0.3)
    return figure, axes


def save_figure(figure, path: Path, dpi: int = 130) -> None:
    """Lay out, write and close `figure`."""
    figure.tight_layout()
    figure.savefig(path, dpi=dpi)
    pyplot().close(figure)


def correlation_scatter(scores: dict[str, np.ndarray], truth: np.ndarray, rows: dict, path: Path, label: str,
                        higher_is_better: list[bool] | None = None) -> None:
    """One panel per proxy (and the vote, each proxy in its direction): score rank (x) against accuracy (y)."""
    plt = pyplot()
    panels = dict(scores)
    if len(scores) > 1:
        panels["vote"] = rank_vote(list(scores.values()), higher_is_better)
    cols = min(3, len(panels))
    fig, axes = plt.subplots(math.ceil(len(panels) / cols), cols, figsize=(4.2 * cols, 3.6 * math.ceil(len(panels) / cols)),
                             squeeze=False)
    for ax, (name, values) in zip(axes.flat, panels.items()):
        finite = np.isfinite(values) & np.isfinite(truth)
        ranks = stats.rankdata(values[finite]) / max(finite.sum(), 1)
        ax.scatter(ranks, truth[finite], s=6, alpha=0.5, color="tab:blue", linewidths=0)
        low = np.percentile(truth[finite], 2) if finite.any() else 0
        hidden = int((truth[finite] < low - 1).sum())
        ax.set_ylim(low - 1, np.max(truth[finite], initial=low) + 1)
        if hidden:
            ax.text(0.02, 0.02, f"{hidden} below the axis", transform=ax.transAxes, fontsize=8, color="gray")
        row = rows[name]
        ax.set_title(f"{name}: ρ={row['spearman']:.3f}, τ={row['kendall']:.3f}", fontsize=10)
        ax.set_xlabel("score rank (quantile)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    save_figure(fig, path, dpi=120)
