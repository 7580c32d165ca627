"""Order a list of architectures by one proxy, a rank vote of several, or a fitted surrogate."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from proxynas import ensembles, features, metrics, proxies, scoring
from proxynas.data import BatchSpec
from proxynas.defaults import SCORE_PROXIES
from proxynas.errors import ProxynasError


def rank(cells, by: str, batch: BatchSpec, vote_proxies: str = ",".join(SCORE_PROXIES),
         model_path: Path | None = None, bench=None, progress=None,
         device: str = "cpu") -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """(positions of `cells`, best first; the score columns used). NaN scores rank last.

    `by`: a proxy name, an ensemble (sum of its members' log-ranks within this list), "vote" (mean rank of
    `vote_proxies` within this list) or "surrogate"
    (the model at `model_path` predicts accuracy; its std is reported beside it).
    """
    if by == "surrogate":
        if model_path is None:
            raise ProxynasError("--by surrogate needs --model FILE")
        from proxynas.surrogate import Surrogate

        model = Surrogate.load(model_path)
        if model.features.dataset != batch.dataset:
            raise ProxynasError(f"the model predicts {model.features.dataset} accuracy, not {batch.dataset}")
        mean, std = model.predict(features.build(cells, model.features, bench, device, progress), return_std=True)
        columns, key = {"predicted": mean, "std": std}, mean
    else:
        valid = ("vote", *ensembles.names(), *proxies.names())
        if by not in valid:
            raise ProxynasError(f"unknown --by {by!r}; valid: surrogate, {', '.join(valid)}")
        chosen = proxies.parse_list(vote_proxies) if by == "vote" else ensembles.parse_list(by)[0]
        columns = dict(scoring.score(cells, chosen, batch, device, progress=progress).scores)
        if by == "vote":
            columns["vote"] = metrics.rank_vote(list(columns.values()), proxies.directions(columns))
        elif by in ensembles.ENSEMBLES:
            columns[by] = ensembles.combine(by, columns)
        key = columns[by]
    return np.argsort(-np.nan_to_num(key, nan=-np.inf), kind="stable"), columns
