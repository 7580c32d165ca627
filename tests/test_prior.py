"""The zero-shot prior: one scale for every list, ranked like the ensemble, and the surrogate's blend."""

import json

import numpy as np
import pytest

from proxynas import ensembles, features, metrics, prior
from proxynas.cache import ScoreCache
from proxynas.data import BatchSpec
from proxynas.errors import ProxynasError
from proxynas.spaces import nb201
from proxynas.surrogate import Surrogate

MEMBERS = ensembles.ENSEMBLES["zs"]


def synthetic(n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {m: rng.normal(size=n) for m in MEMBERS}


def test_the_prior_ranks_like_the_ensemble_and_does_not_depend_on_the_list():
    reference = synthetic(500, 0)
    fitted = prior.EnsemblePrior.from_scores("zs", reference)
    own = fitted.values(reference)
    assert abs(own.mean()) < 1e-9 and abs(own.std() - 1) < 1e-9
    assert metrics.spearman(own, ensembles.combine("zs", reference)) > 0.999
    cells = synthetic(30, 1)
    alone = fitted.values({m: v[:3] for m, v in cells.items()})
    np.testing.assert_array_equal(alone, fitted.values(cells)[:3])  # a cell's prior ignores its list-mates


def test_each_member_counts_in_its_direction_and_a_missing_score_ranks_last():
    fitted = prior.EnsemblePrior.from_scores("zs", synthetic(200, 2))
    cell = {m: np.zeros(3) for m in MEMBERS}
    member = MEMBERS[0]
    cell[member] = np.array([-1.0, 1.0, np.nan])
    values = fitted.values(cell)
    higher = ensembles.proxies.get(member).higher_is_better
    assert (values[1] > values[0]) == higher
    assert values[2] < min(values[0], values[1])


def test_unknown_or_empty_priors_are_clear_errors():
    with pytest.raises(ProxynasError, match="unknown ensemble 'nope'"):
        features.FeatureSpec(("onehot", "prior"), prior="nope")
    empty = synthetic(5, 3) | {MEMBERS[1]: np.full(5, np.nan)}
    with pytest.raises(ProxynasError, match=f"no finite {MEMBERS[1]}"):
        prior.EnsemblePrior.from_scores("zs", empty)


def prior_matrix(n: int, seed: int) -> tuple[features.FeatureMatrix, np.ndarray]:
    """Onehot + prior features of random cells, and a target the prior predicts up to noise."""
    spec = features.FeatureSpec(("onehot", "prior"))
    cells = nb201.sample(n, seed)
    rng = np.random.default_rng(seed)
    column = rng.normal(size=n)
    x = features.assemble(cells, spec, {spec.prior_column: column})
    return x, 90 + 2 * column + rng.normal(scale=0.3, size=n)


def test_with_few_cells_the_surrogate_follows_the_calibrated_prior(tmp_path):
    x, y = prior_matrix(60, 4)
    alone = Surrogate(x.spec, prior_shrink=1e12, ensemble=2).fit(x.rows(slice(8)), y[:8])
    predicted = alone.predict(x.rows(slice(8, None)))
    prior_column = x.values[8:, -1]
    assert metrics.spearman(predicted, prior_column) == pytest.approx(1.0)
    slope = np.polyfit(prior_column, predicted, 1)[0]
    assert 1.0 < slope < 3.0  # calibrated into accuracy units (the truth's slope is 2)
    blended = Surrogate(x.spec, ensemble=2).fit(x.rows(slice(40)), y[:40])
    assert blended.prior_weight_ == pytest.approx(40 ** 2 / (40 ** 2 + 30 ** 2))
    path = blended.save(tmp_path / "m.json")
    np.testing.assert_allclose(Surrogate.load(path).predict(x), blended.predict(x))
    meta = json.loads(path.read_text())
    path.write_text(json.dumps(meta | {"prior_line": [0.1, "steep"]}))
    with pytest.raises(ProxynasError, match="prior_line"):
        Surrogate.load(path)
    path.write_text(json.dumps(meta | {"prior_shrink": -1}))
    with pytest.raises(ProxynasError, match="prior_shrink"):
        Surrogate.load(path)


def test_a_model_whose_prior_ensemble_has_changed_members_must_be_refitted(tmp_path, monkeypatch):
    """A saved model's prior column was built from the ensemble's members at fitting time; when the
    registered members change (zs was re-chosen once), loading it is a clear error, not a silently
    different column."""
    x, y = prior_matrix(20, 5)
    path = Surrogate(x.spec, ensemble=1).fit(x, y).save(tmp_path / "m.json")
    monkeypatch.setitem(ensembles.ENSEMBLES, "zs", MEMBERS[:4])
    with pytest.raises(ProxynasError, match="refit the model"):
        Surrogate.load(path)


def test_features_build_the_prior_against_the_reference_sample(monkeypatch, tmp_path):
    monkeypatch.setattr(prior, "REFERENCE_CELLS", 12)
    spec = features.FeatureSpec(("prior",), batch=BatchSpec("cifar10", batch_size=8))
    cache = ScoreCache(tmp_path)
    reference = nb201.sample(12, prior.REFERENCE_SEED)
    x = features.build(reference[:4] + nb201.sample(2, 9), spec, cache=cache)
    on_reference = features.build(reference, spec, cache=cache).values[:, 0]
    assert abs(on_reference.mean()) < 1e-9 and abs(on_reference.std() - 1) < 1e-9
    np.testing.assert_array_equal(x.values[:4, 0], on_reference[:4])
