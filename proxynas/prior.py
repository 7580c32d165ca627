"""A zero-shot ensemble as a prior for accuracy predictors, comparable across lists of cells.

An ensemble (`ensembles.py`) sums log-ranks within the list being ranked, so its value for a cell
depends on the list. A predictor fitted on ten trained cells and applied to a thousand others needs
one scale for both: here each member's rank is taken within a fixed reference sample of the space
(`REFERENCE_CELLS` cells drawn with `REFERENCE_SEED`, scored like any other cells, so cached and, where
the shipped tables cover them, free). A cell's prior is the sum over members of log((rank among the
reference + 1/2) / (reference size + 1)), in each member's registered direction, a missing score
ranking below every reference value; standardised by the reference's own priors. No accuracy is used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from proxynas import ensembles, proxies
from proxynas.errors import ProxynasError

REFERENCE_CELLS, REFERENCE_SEED = 1000, 0


@dataclass(frozen=True)
class EnsemblePrior:
    """The ensemble `name` ranked against a reference: each member's finite reference values, sorted, in
    the direction where higher is better; `mean` and `std` of the reference cells' own priors."""

    name: str
    reference: dict[str, np.ndarray]
    mean: float
    std: float

    @classmethod
    def from_scores(cls, name: str, columns: dict[str, np.ndarray]) -> "EnsemblePrior":
        """The prior whose reference is the cells of `columns` (member name -> raw scores)."""
        members = ensembles.members(name)
        reference = {}
        for member in members:
            values = _signed(member, columns[member])
            reference[member] = np.sort(values[np.isfinite(values)])
            if not len(reference[member]):
                raise ProxynasError(f"the prior {name} has no finite {member} score on its reference cells")
        own = cls(name, reference, 0.0, 1.0).values(columns)
        return cls(name, reference, float(own.mean()), float(own.std()) or 1.0)

    def values(self, columns: dict[str, np.ndarray]) -> np.ndarray:
        """The prior of the cells of `columns` (member name -> raw scores), standardised by the reference's."""
        total = 0.0
        for member, ranked in self.reference.items():
            values = _signed(member, columns[member])
            below = np.searchsorted(ranked, np.where(np.isfinite(values), values, -np.inf), side="right")
            total = total + np.log((below + 0.5) / (len(ranked) + 1.0))
        return (total - self.mean) / self.std


def reference_prior(name: str, space, score: Callable) -> EnsemblePrior:
    """The prior `name` on `space`'s reference sample, scored with `score(archs, proxy names)`."""
    cells = space.sample(min(REFERENCE_CELLS, space.size), REFERENCE_SEED)
    return EnsemblePrior.from_scores(name, score(cells, list(ensembles.members(name))))


def _signed(member: str, values) -> np.ndarray:
    return np.asarray(values, dtype=np.float64) * (1.0 if proxies.get(member).higher_is_better else -1.0)


