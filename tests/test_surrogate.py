"""Feature matrices and the XGBoost surrogate: encodings, NaN handling, save/load, mismatch errors, CLI."""

import json
import re

import numpy as np
import pytest
from click.testing import CliRunner

from proxynas import features, metrics
from proxynas.cli import cli
from proxynas.data import BatchSpec
from proxynas.errors import ProxynasError
from proxynas.spaces import nb201
from proxynas.surrogate import Surrogate
from proxynas.features import training_split

BEST = nb201.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|")
CHEAP = ("synflow", "params", "flops")  # data-free and fast: keeps these tests quick


def spec_of(groups, proxies=CHEAP, dataset="cifar10", **batch):
    return features.FeatureSpec(groups, proxies if "zc" in groups else (), batch=BatchSpec(dataset, **batch))


def test_onehot_and_path_encodings_of_a_known_cell():
    spec = spec_of(("onehot", "path"))
    x = features.build([BEST], spec)
    row = dict(zip(spec.names(), x.values[0]))
    assert x.values.shape == (1, 30 + 84)
    assert row["edge01=nor_conv_3x3"] == 1 and row["edge03=skip_connect"] == 1 and sum(x.values[0, :30]) == 6
    assert row["path=skip_connect"] == 1
    assert row["path=nor_conv_3x3>nor_conv_3x3"] == 2  # 0->1->3 and 0->2->3
    assert row["path=nor_conv_3x3>nor_conv_3x3>nor_conv_3x3"] == 1
    dead = features.build([nb201.parse("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")], spec)
    assert dead.values[0, 30:].sum() == 0


def test_zc_features_are_log_scaled_and_keep_nan(bench):
    spec = spec_of(("zc", "size"), proxies=("synflow", "params", "jacob_cov"), batch_size=8)
    no_signal = nb201.parse("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    x = features.build([BEST, no_signal], spec, bench)
    names = spec.names()
    assert names[-2:] == ["size:params", "size:flops"]
    synflow = x.values[:, names.index("zc:synflow")]
    assert 10 < synflow[0] < 80  # signed log10 of a value near 1e40, not the raw number
    assert np.isnan(x.values[1, names.index("zc:jacob_cov")])  # a failed proxy stays missing
    assert x.values[0, names.index("zc:params")] == x.values[0, names.index("size:params")]
    np.testing.assert_allclose(features.signed_log([-1e-6, 0.0, 1e60]), [-np.log10(2), 0.0, np.log10(1 + 1e66)])


def test_bad_feature_specs_are_clear_errors():
    with pytest.raises(ProxynasError, match="unknown feature group.*onehott"):
        features.FeatureSpec(("onehott",))
    with pytest.raises(ProxynasError, match="needs at least one proxy"):
        features.FeatureSpec(("zc",))


def fitted(bench, tmp_path, n=60, groups=("onehot", "zc"), seed=0):
    spec = spec_of(groups)
    archs = training_split(bench, spec, n, 200, seed)
    x = features.build(archs, spec, bench)
    y = bench.column("cifar10", "test_acc")[bench.index.indices_of(archs)]
    model = Surrogate(spec, seed=seed).fit(x.rows(slice(n)), y[:n])
    return model, x.rows(slice(n, None)), y[n:]


def test_fit_predicts_held_out_ranks_with_uncertainty_and_is_deterministic(bench, tmp_path):
    model, x_eval, y_eval = fitted(bench, tmp_path)
    mean, std = model.predict(x_eval, return_std=True)
    assert metrics.spearman(mean, y_eval) > 0.6
    assert (std >= 0).all() and std.max() > 0
    again, _, _ = fitted(bench, tmp_path)
    np.testing.assert_array_equal(again.predict(x_eval), mean)


def test_nan_features_are_missing_values_not_errors(bench):
    spec = spec_of(("zc",))
    rng = np.random.default_rng(0)
    values = rng.normal(size=(40, 3))
    values[::3, 0] = np.nan
    y = values[:, 1] * 2 + rng.normal(scale=0.1, size=40)
    model = Surrogate(spec, ensemble=2).fit(features.FeatureMatrix(values, spec), y)
    assert np.isfinite(model.predict(features.FeatureMatrix(values, spec))).all()
    with pytest.raises(ProxynasError, match="targets must be finite"):
        Surrogate(spec).fit(features.FeatureMatrix(values, spec), np.where(y > 0, y, np.nan))


def test_save_load_round_trip_and_mismatch_errors(bench, tmp_path):
    model, x_eval, _ = fitted(bench, tmp_path)
    path = model.save(tmp_path / "model.json")
    meta = json.loads(path.read_text())
    assert meta["feature_names"] == model.features.names() and meta["proxy_keys"][0] == "synflow@v1"
    assert (tmp_path / "model.member0.json").is_file()  # XGBoost's own JSON format
    loaded = Surrogate.load(path)
    np.testing.assert_array_equal(loaded.predict(x_eval), model.predict(x_eval))

    other = features.build(nb201.sample(3, 1), spec_of(("onehot", "zc"), seed=1), bench)
    with pytest.raises(ProxynasError, match="features do not match the model's.*seed"):
        loaded.predict(other)
    meta["proxy_keys"][0] = "synflow@v0"
    path.write_text(json.dumps(meta))
    with pytest.raises(ProxynasError, match="refit the model"):
        Surrogate.load(path)
    path.write_text("{not json")
    with pytest.raises(ProxynasError, match="cannot read surrogate model"):
        Surrogate.load(path)


def test_fit_and_predict_cli(bench, tmp_path):
    runner = CliRunner()
    model = tmp_path / "m.json"
    result = runner.invoke(cli, ["fit", "--train-size", "40", "--eval-size", "100", "--features", "onehot,zc",
                                 "--proxies", ",".join(CHEAP), "--model", str(model), "--quiet", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["eval"]["size"] == 100 and report["eval"]["spearman"] > 0.5
    result = runner.invoke(cli, ["predict", "--model", str(model), "--json", "--quiet", str(BEST), "0"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)["predictions"]
    assert [r["index"] for r in rows][1] == 0 and rows[0]["predicted"] > rows[1]["predicted"]
    result = runner.invoke(cli, ["predict", "--model", str(model), "garbage"])
    assert result.exit_code == 2 and result.output.count("\n") == 1


def test_scikit_learn_contract_init_stores_and_fit_learns():
    spec = spec_of(("zc",))
    model = Surrogate(spec, ensemble=0, params={"eta": 0.1})  # stored, not validated, until fit
    assert model.params == {"eta": 0.1} and not hasattr(model, "boosters_")
    values = np.random.default_rng(1).normal(size=(10, 3))
    with pytest.raises(ProxynasError, match="at least one member"):
        model.fit(features.FeatureMatrix(values, spec), values[:, 0])
    with pytest.raises(ProxynasError, match="not fitted"):
        model.predict(features.FeatureMatrix(values, spec))
    fitted_model = Surrogate(spec, ensemble=2, params={"eta": 0.1}).fit(features.FeatureMatrix(values, spec),
                                                                        values[:, 0])
    assert fitted_model.params_["eta"] == 0.1 and len(fitted_model.boosters_) == 2 and fitted_model.n_train_ == 10


@pytest.mark.parametrize("key, value, message", [
    ("ensemble", 2.5, "ensemble is 2.5, not an integer >= 1"), ("ensemble", 0, "not an integer >= 1"),
    ("target_std", "x", "target_std is 'x', not a finite number"), ("target_std", float("nan"), "not a finite number"),
    ("target_std", 0.0, "not positive"), ("target_mean", None, "not a finite number"), ("rounds", True, "rounds"),
    ("params", [], "params is not a mapping"),
])
def test_a_model_file_with_wrong_types_is_one_clear_error(bench, tmp_path, key, value, message):
    """Issue 16 #16: hand-edited metadata is refused on load, never a crash or NaN predictions."""
    model, _, _ = fitted(bench, tmp_path)
    path = model.save(tmp_path / "model.json")
    meta = json.loads(path.read_text())
    meta[key] = value
    path.write_text(json.dumps(meta))
    with pytest.raises(ProxynasError, match=re.escape(message)):
        Surrogate.load(path)
