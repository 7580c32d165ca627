"""Rank-correlation measures of predicted scores against true accuracies (NaN pairs left out)."""

from __future__ import annotations

import functools

import numpy as np
from scipy import stats


def _finite_pairs(scores: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    keep = np.isfinite(scores) & np.isfinite(truth)
    return np.asarray(scores)[keep], np.asarray(truth)[keep]


def spearman(scores: np.ndarray, truth: np.ndarray) -> float:
    s, t = _finite_pairs(scores, truth)
    return float(stats.spearmanr(s, t)[0]) if len(s) > 2 else float("nan")


def kendall(scores: np.ndarray, truth: np.ndarray) -> float:
    s, t = _finite_pairs(scores, truth)
    return float(stats.kendalltau(s, t)[0]) if len(s) > 2 else float("nan")


def top_k_precision(scores: np.ndarray, truth: np.ndarray, fraction: float = 0.1) -> float:
    """Share of the top `fraction` by score that is also in the top `fraction` by truth."""
    s, t = _finite_pairs(scores, truth)
    k = max(1, int(round(fraction * len(s))))
    if len(s) < 2:
        return float("nan")
    return len(set(np.argsort(-s)[:k]) & set(np.argsort(-t)[:k])) / k


def rank_vote(score_columns: list[np.ndarray], higher_is_better: list[bool] | None = None) -> np.ndarray:
    """Mean of each proxy's rank (0..1, higher = better; 0.5 for a column's only value) over the proxies
    that have a value; NaN if none.

    A column whose `higher_is_better` is False is ranked in reverse (its lowest value ranks best).
    """
    directions = higher_is_better if higher_is_better is not None else [True] * len(score_columns)
    ranks = []
    for column, higher in zip(score_columns, directions):
        column = np.asarray(column, dtype=float) * (1 if higher else -1)
        rank = np.full(len(column), np.nan)
        finite = np.isfinite(column)
        if finite.sum() > 1:
            rank[finite] = (stats.rankdata(column[finite]) - 1) / (finite.sum() - 1)
        else:
            rank[finite] = 0.5  # a lone value has no rank among others: the middle, so it still beats NaN
        ranks.append(rank)
    stacked = np.vstack(ranks)
    counts = np.isfinite(stacked).sum(axis=0)
    with np.errstate(invalid="ignore"):
        return np.where(counts > 0, np.nansum(stacked, axis=0) / np.maximum(counts, 1), np.nan)


def spearman_interval(scores: np.ndarray, truth: np.ndarray, seed: int, draws: int = 1000) -> list[float]:
    """95% bootstrap interval of Spearman ρ over cells resampled with replacement (seeded): how far ρ can
    move between samples of this many cells.

    A resample is a count per cell, so its ρ is the count-weighted Pearson correlation of tie-averaged
    ranks within the resample; whole batches of resamples are ranked at once, which is what makes
    intervals over the 15,625 NB201 cells cheap."""
    keep = np.isfinite(scores) & np.isfinite(truth)
    if not keep.any():
        return [float("nan"), float("nan")]
    counts = _resample_counts(seed, len(truth), draws)[:, keep]
    s, t = np.asarray(scores, float)[keep], np.asarray(truth, float)[keep]
    rhos = np.concatenate([_weighted_spearman(counts[i:i + 100].astype(float), s, t)
                           for i in range(0, draws, 100)])
    if np.isnan(rhos).all():
        return [float("nan"), float("nan")]
    return [float(np.nanpercentile(rhos, 2.5)), float(np.nanpercentile(rhos, 97.5))]


@functools.lru_cache(maxsize=2)
def _resample_counts(seed: int, n: int, draws: int) -> np.ndarray:
    """How often each of n cells occurs in each of the seeded resamples (one row each). Every column of a
    table is resampled alike, so the counts are drawn once per (seed, n, draws)."""
    rows = np.random.default_rng(seed).integers(0, n, (draws, n))
    rows += np.arange(draws)[:, None] * n
    counts = np.bincount(rows.ravel(), minlength=draws * n).reshape(draws, n).astype(np.uint16)
    counts.flags.writeable = False
    return counts


def _weighted_ranks(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per resample (row of counts), each cell's rank 1..m among the m drawn values, ties averaged."""
    order = np.argsort(values, kind="stable")
    ordered = values[order]
    new_value = np.r_[True, ordered[1:] != ordered[:-1]]  # where a run of tied values starts
    starts = np.flatnonzero(new_value)
    group_of = np.empty(len(values), dtype=int)
    group_of[order] = np.cumsum(new_value) - 1
    group_totals = np.add.reduceat(counts[:, order], starts, axis=1)
    group_rank = np.cumsum(group_totals, axis=1) - (group_totals - 1) / 2
    return group_rank[:, group_of]


def _weighted_spearman(counts: np.ndarray, scores: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """ρ of each resample; NaN where it has fewer than 3 draws or a constant side (as `spearman`)."""
    rx, ry = _weighted_ranks(scores, counts), _weighted_ranks(truth, counts)
    total = counts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        dx = rx - (counts * rx).sum(axis=1, keepdims=True) / total
        dy = ry - (counts * ry).sum(axis=1, keepdims=True) / total
        rho = (counts * dx * dy).sum(axis=1) / np.sqrt((counts * dx * dx).sum(axis=1) * (counts * dy * dy).sum(axis=1))
    return np.where(total[:, 0] > 2, rho, np.nan)


def log_rank_sum(score_columns: list[np.ndarray], higher_is_better: list[bool]) -> np.ndarray:
    """Sum over columns of log(rank / n), rank 1..n best last (ties share their mean rank): the AZ-NAS and
    VKDNW aggregation. A NaN ranks below every value of its column (as the originals' -inf does); a row
    that is NaN in every column is NaN."""
    total = np.zeros(len(score_columns[0]))
    missing = np.ones(len(total), dtype=bool)
    for column, higher in zip(score_columns, higher_is_better):
        column = np.asarray(column, dtype=float) * (1 if higher else -1)
        finite = np.isfinite(column)
        total += np.log(stats.rankdata(np.where(finite, column, -np.inf)) / len(column))
        missing &= ~finite
    return np.where(missing, np.nan, total)


def correlation_row(scores: np.ndarray, truth: np.ndarray) -> dict:
    return {"spearman": spearman(scores, truth), "kendall": kendall(scores, truth),
            "top10_precision": top_k_precision(scores, truth, 0.1),
            "n": int(np.isfinite(scores).sum()), "nan": int(np.isnan(scores).sum())}


def correlation_table(scores: dict[str, np.ndarray], truth: np.ndarray,
                      higher_is_better: list[bool] | None = None) -> dict[str, dict]:
    """Spearman, Kendall and top-10% precision per proxy (signs as they are), plus a rank vote when there
    are several (each proxy in its `higher_is_better` direction)."""
    rows = {name: correlation_row(values, truth) for name, values in scores.items()}
    if len(scores) > 1:
        rows["vote"] = correlation_row(rank_vote(list(scores.values()), higher_is_better), truth)
    return rows
