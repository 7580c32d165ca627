"""The rank-correlation measures against their direct definitions."""

import numpy as np
import pytest

from proxynas import metrics


@pytest.mark.filterwarnings("ignore:An input array is constant")  # the direct definition on a tied resample
@pytest.mark.parametrize("n", [4, 40, 300])
def test_bootstrap_interval_equals_spearman_of_each_resample(n):
    rng = np.random.default_rng(n)
    truth = rng.normal(size=n).round(1)  # rounded: ties within and across resamples
    scores = (truth + rng.normal(size=n)).round(1)
    scores[rng.random(n) < 0.1] = np.nan
    truth[rng.random(n) < 0.05] = np.inf
    rhos = [metrics.spearman(scores[rows], truth[rows]) for rows in np.random.default_rng(7).integers(0, n, (200, n))]
    expected = [np.nanpercentile(rhos, 2.5), np.nanpercentile(rhos, 97.5)]
    assert metrics.spearman_interval(scores, truth, seed=7, draws=200) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize("scores", [[1.0, np.nan], [np.nan, np.nan]])
def test_bootstrap_interval_is_nan_when_no_resample_can_rank(scores):
    assert np.isnan(metrics.spearman_interval(np.array(scores), np.array([1.0, 2.0]), seed=0)).all()
