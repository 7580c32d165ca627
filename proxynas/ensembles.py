"""Zero-shot ensembles: a sum of log-ranks of several proxies (TE-NAS: of plain ranks), computed within the
list being ranked.

Members and their signs come from the proxy registry. `az_nas` and `vkdnw_agg` are the published
aggregates. `zs` is ours: its members were chosen by greedy forward selection (`greedy_members`) on the
whole-space NB201 table, maximising Spearman ρ with CIFAR-10 validation accuracy on the 1,000 tuning cells
`tuning_cells()`, among `ZS_CANDIDATES`, the proxies then tabulated over every cell of all three datasets
(each costs at most 1 s per cell on a CPU). Every figure we report for it is on the other 14,625 cells
(`benchmarks/nb201_table.py --report`).
"""

from __future__ import annotations

import numpy as np

from proxynas import metrics, proxies
from proxynas.errors import ProxynasError
from proxynas.spaces import nb201

ENSEMBLES: dict[str, tuple[str, ...]] = {
    # AZ-NAS (Lee & Ham, CVPR 2024): its four components
    "az_nas": ("az_expressivity", "az_progressivity", "az_trainability", "flops"),
    # VKDNW_agg (Tybl & Neumann, CVPR 2025)
    "vkdnw_agg": ("vkdnw", "az_expressivity", "az_trainability", "flops", "jacob_cov"),
    # ours: chosen on a tuning split, see above
    "zs": ("meco_opt", "meco", "az_trainability", "az_progressivity", "jacob_cov", "synflow"),
    # TE-NAS (Chen et al., ICLR 2021): NTK condition number and linear regions, by the sum of plain ranks
    "te_nas": ("te_ntk", "te_regions"),
}
PLAIN_RANKS = {"te_nas"}  # aggregated by mean rank (the authors' rank sum), not log-ranks
TUNING_SEED, TUNING_SIZE = 1, 1000  # the NB201 cells zs was chosen on
# The proxies zs was chosen among: every one tabulated over all NB201 cells of all three datasets then.
ZS_CANDIDATES = ("az_expressivity", "az_progressivity", "az_trainability", "epe_nas", "flops", "jacob_cov", "l2_norm",
                 "meco", "meco_opt", "params", "synflow")


def tuning_cells() -> np.ndarray:
    """Mask over NB201's benchmark index of the cells whose CIFAR-10 validation accuracy chose zs's members;
    a figure for zs that is meant to be zero-shot leaves them out."""
    mask = np.zeros(nb201.SPACE.size, dtype=bool)
    mask[np.random.default_rng(TUNING_SEED).permutation(nb201.SPACE.size)[:TUNING_SIZE]] = True
    return mask


def names() -> list[str]:
    return sorted(ENSEMBLES)


def members(name: str) -> tuple[str, ...]:
    """The members of the ensemble `name`; an unknown name is a clear error."""
    if name not in ENSEMBLES:
        raise ProxynasError(f"unknown ensemble {name!r}; valid: {', '.join(names())}")
    return ENSEMBLES[name]


def parse_list(text: str) -> tuple[list[proxies.Proxy], list[str]]:
    """From a comma-separated list of proxies and ensembles (`all`: every proxy): (the proxies to score, those
    named and every named ensemble's members; the ensembles named)."""
    items = [t.strip() for t in text.split(",") if t.strip()]
    unknown = [n for n in items if n not in ENSEMBLES and n not in proxies.names() and n != "all"]
    if unknown:
        raise ProxynasError(f"unknown proxy or ensemble {unknown[0]!r}; valid: all, {', '.join(names())}, "
                            f"{', '.join(proxies.names())}")
    chosen = [n for n in dict.fromkeys(items) if n in ENSEMBLES]
    plain = ",".join(n for n in items if n not in ENSEMBLES)
    needed = proxies.parse_list(plain) if plain else []
    members = [proxies.get(m) for e in chosen for m in ENSEMBLES[e]]
    return list(dict.fromkeys([*needed, *members])), chosen


def log_rank_ensemble(columns: dict[str, np.ndarray], chosen: list[str]) -> np.ndarray:
    """The log-rank sum of the proxies `chosen`, each in its registered direction (an unregistered ensemble)."""
    return metrics.log_rank_sum([columns[m] for m in chosen], proxies.directions(chosen))


def log_rank_rho(columns: dict[str, np.ndarray], chosen: list[str], truth: np.ndarray) -> float:
    """Spearman ρ with `truth` of the log-rank sum of the proxies `chosen`."""
    return metrics.spearman(log_rank_ensemble(columns, chosen), truth)


def greedy_members(columns: dict[str, np.ndarray], truth: np.ndarray, candidates: list[str]) -> list[str]:
    """Forward selection of a log-rank sum's members: add the candidate that most raises its Spearman ρ with
    `truth`, stop when none does. Run it on tuning cells only: its ρ there says nothing about other cells."""
    chosen: list[str] = []
    best = -np.inf
    while True:
        trials = {c: log_rank_rho(columns, chosen + [c], truth) for c in candidates if c not in chosen}
        if not trials or max(trials.values()) <= best:
            return chosen
        pick = max(trials, key=trials.get)
        chosen.append(pick)
        best = trials[pick]


def add_columns(table, chosen: list[str]) -> None:
    """Append each ensemble in `chosen` to a `ScoreTable` as one more column."""
    for name in chosen:
        table.scores[name] = combine(name, table.scores)
        table.proxies.append(name)


def combine(name: str, columns: dict[str, np.ndarray]) -> np.ndarray:
    """The ensemble `name` over the rows of `columns` (which must hold its members)."""
    chosen = members(name)
    missing = [m for m in chosen if m not in columns]
    if missing:
        raise ProxynasError(f"ensemble {name} needs scores of {', '.join(missing)}")
    aggregate = metrics.rank_vote if name in PLAIN_RANKS else metrics.log_rank_sum
    return aggregate([columns[m] for m in chosen], proxies.directions(chosen))
