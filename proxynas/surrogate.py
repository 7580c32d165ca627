"""An XGBoost accuracy predictor with an uncertainty estimate, tuned for small training sets.

Model: a bootstrap ensemble of `ensemble` gradient-boosted tree regressors on the standardised
target. Member 0 sees the training set as given; each other member a bootstrap resample of it
(seeded). The prediction is the members' mean; the uncertainty their standard deviation, i.e. how
much the fit changes with the training sample — what a search needs to trade exploration against
exploitation. Missing proxy values (NaN) go through XGBoost's learned default branches.

With the `prior` feature group (a zero-shot ensemble, `proxynas.prior`) the prediction is a blend
(1 - w) * (a + b * prior) + w * trees, where a + b * prior is the least-squares line through the training
cells and w = n² / (n² + `prior_shrink`²) grows with the n training cells: with ten cells the
prediction is almost the calibrated prior (trees fitted to ten points rank worse than the ensemble
alone), with a hundred mostly the trees (which also see the prior as a feature). The uncertainty is w
times the members' spread.

Saved as `<file>` (JSON metadata: features, target, space, dataset, versions, normalisation) plus
one XGBoost JSON model per member, `<stem>.member<i>.json`, beside it.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import xgboost as xgb

from proxynas import __version__
from proxynas.errors import ProxynasError
from proxynas.features import FeatureMatrix, FeatureSpec

FORMAT = "proxynas-surrogate"
FORMAT_VERSION = 1
# Moderate depth, strong shrinkage, row and column subsampling (per tree and per split): with 10-400
# training cells this beats NASLib's depth 6 / learning rate 0.3 / 500 rounds at the small end.
# Chosen on tuning seeds that the benchmark does not report (benchmarks/surrogate_curves.py --tune).
DEFAULT_PARAMS = {"max_depth": 4, "eta": 0.05, "subsample": 0.8, "colsample_bytree": 0.8, "colsample_bynode": 0.5,
                  "min_child_weight": 1.0, "lambda": 1.0, "objective": "reg:squarederror",
                  "nthread": 1}  # at these sizes threads only add synchronisation (70x slower on a busy 2-core CPU)
DEFAULT_ROUNDS = 300
DEFAULT_ENSEMBLE = 5
# Training cells at which trees and prior weigh equally; chosen on tuning seeds (surrogate_curves.py --tune-prior).
PRIOR_SHRINK = 30.0


class Surrogate:
    """`Surrogate(features, ...).fit(X, y).predict(X, return_std=True)`, plus save / load, on `FeatureMatrix`
    inputs. As in scikit-learn, `__init__` only stores its arguments and what `fit` learns ends in `_`."""

    def __init__(self, features: FeatureSpec, target: str = "test_acc", ensemble: int = DEFAULT_ENSEMBLE,
                 seed: int = 0, rounds: int = DEFAULT_ROUNDS, params: dict | None = None,
                 prior_shrink: float = PRIOR_SHRINK):
        self.features, self.target, self.ensemble, self.seed = features, target, ensemble, seed
        self.rounds, self.params, self.prior_shrink = rounds, params, prior_shrink

    def fit(self, x: FeatureMatrix, y) -> "Surrogate":
        if self.ensemble < 1:
            raise ProxynasError("the ensemble needs at least one member")
        check_prior_shrink(self.prior_shrink)
        self._check(x)
        y = np.asarray(y, dtype=np.float64)
        if len(y) != len(x) or len(y) < 2:
            raise ProxynasError(f"need at least 2 training targets, one per row (got {len(y)} for {len(x)} rows)")
        if not np.isfinite(y).all():
            raise ProxynasError("training targets must be finite (the benchmark has no value for some cells)")
        self.params_ = {**DEFAULT_PARAMS, **(self.params or {})}
        self.y_mean_, self.y_std_ = float(y.mean()), float(y.std()) or 1.0
        z = (y - self.y_mean_) / self.y_std_
        rng = np.random.default_rng(self.seed)
        self.boosters_ = []
        for member in range(self.ensemble):
            rows = np.arange(len(y)) if member == 0 else rng.integers(0, len(y), len(y))
            data = xgb.DMatrix(x.values[rows], label=z[rows], missing=np.nan)
            self.boosters_.append(xgb.train({**self.params_, "seed": self.seed + member}, data, self.rounds))
        self.n_train_ = len(y)
        self.prior_line_ = self._fit_prior_line(x, z) if "prior" in self.features.groups else None
        return self

    def _fit_prior_line(self, x: FeatureMatrix, z: np.ndarray) -> tuple[float, float]:
        """(intercept, slope) of the standardised target on the prior column, least squares."""
        prior = self._prior_values(x)
        spread = prior.std()
        slope = float(np.mean((prior - prior.mean()) * (z - z.mean())) / spread ** 2) if spread > 0 else 0.0
        return float(z.mean() - slope * prior.mean()), slope

    @property
    def prior_weight_(self) -> float:
        """Weight of the trees against the calibrated prior (1 without a prior)."""
        return 1.0 if self.prior_line_ is None else self.n_train_ ** 2 / (self.n_train_ ** 2 + self.prior_shrink ** 2)

    def predict(self, x: FeatureMatrix, return_std: bool = False):
        """The ensemble's mean prediction, in the target's units; with `return_std`, (mean, std over members)."""
        if not hasattr(self, "boosters_"):
            raise ProxynasError("the surrogate is not fitted yet")
        self._check(x)
        data = xgb.DMatrix(x.values, missing=np.nan)
        runs = np.stack([m.predict(data) for m in self.boosters_])
        if self.prior_line_ is not None:
            intercept, slope = self.prior_line_
            line = intercept + slope * self._prior_values(x)
            runs = self.prior_weight_ * runs + (1.0 - self.prior_weight_) * line
        runs = runs * self.y_std_ + self.y_mean_
        return (runs.mean(axis=0), runs.std(axis=0)) if return_std else runs.mean(axis=0)

    def _prior_values(self, x: FeatureMatrix) -> np.ndarray:
        return x.values[:, self.features.names().index(self.features.prior_column)]

    def _check(self, x: FeatureMatrix) -> None:
        if x.spec != self.features:
            mine, theirs = self.features.to_dict(), x.spec.to_dict()
            diff = "; ".join(f"{k}: model {mine[k]} vs given {theirs[k]}" for k in mine if mine[k] != theirs[k])
            raise ProxynasError(f"features do not match the model's ({diff})")
        if x.values.ndim != 2 or x.values.shape[1] != len(self.features.names()):
            raise ProxynasError(f"expected {len(self.features.names())} feature columns, got {x.values.shape}")

    def save(self, path: Path) -> Path:
        path = Path(path)
        if not hasattr(self, "boosters_"):
            raise ProxynasError("the surrogate is not fitted yet")
        path.parent.mkdir(parents=True, exist_ok=True)
        for i, member in enumerate(self.boosters_):
            member.save_model(str(_member_path(path, i)))
        meta = {"format": FORMAT, "format_version": FORMAT_VERSION, "space": self.features.space,
                "dataset": self.features.dataset, "target": self.target, "features": self.features.to_dict(),
                "feature_names": self.features.names(), "proxy_keys": _proxy_keys(self.features),
                "ensemble": self.ensemble, "seed": self.seed, "rounds": self.rounds, "params": self.params_,
                "target_mean": self.y_mean_, "target_std": self.y_std_, "train_size": self.n_train_,
                "prior_line": self.prior_line_, "prior_shrink": self.prior_shrink,
                "versions": {"proxynas": __version__, "xgboost": xgb.__version__}}
        path.write_text(json.dumps(meta, indent=2) + "\n")
        return path

    @classmethod
    def load(cls, path: Path) -> "Surrogate":
        path = Path(path)
        try:
            meta = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ProxynasError(f"cannot read surrogate model {path}: {exc}") from exc
        if not isinstance(meta, dict) or meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
            raise ProxynasError(f"{path} is not a proxynas surrogate model (format {FORMAT} v{FORMAT_VERSION})")
        meta.setdefault("prior_shrink", PRIOR_SHRINK)  # models saved before priors existed
        _check_metadata(meta, path)
        try:
            spec = FeatureSpec.from_dict(meta["features"])
            fitted_keys, names = meta["proxy_keys"], meta["feature_names"]
            model = cls(spec, meta["target"], meta["ensemble"], meta["seed"], meta["rounds"], meta["params"],
                        meta["prior_shrink"])
            model.params_, model.y_mean_, model.y_std_ = meta["params"], meta["target_mean"], meta["target_std"]
            model.n_train_ = meta["train_size"]
            model.prior_line_ = _saved_prior_line(meta, spec, path)
        except (KeyError, TypeError) as exc:
            raise ProxynasError(f"{path} is an incomplete proxynas surrogate model (missing {exc})") from exc
        if names != spec.names() or fitted_keys != _proxy_keys(spec):
            raise ProxynasError(f"{path} was fitted on {', '.join(fitted_keys) or 'other feature columns'}, which this "
                                f"proxynas computes as {', '.join(_proxy_keys(spec))}; refit the model")
        try:
            model.boosters_ = [xgb.Booster(model_file=str(_member_path(path, i))) for i in range(meta["ensemble"])]
        except xgb.core.XGBoostError as exc:
            raise ProxynasError(f"cannot read the XGBoost members of {path}: {str(exc).splitlines()[0]}") from exc
        return model


def check_prior_shrink(value) -> None:
    """A clear error unless `value` is a finite number >= 0 (the prior's weight against the trees)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value >= 0):
        raise ProxynasError(f"prior_shrink must be a finite number >= 0, not {value!r}")


# The model file's numbers and what each must be (the XGBoost members are checked by XGBoost itself).
_NUMBERS = {"ensemble": (int, 1), "seed": (int, 0), "rounds": (int, 1), "train_size": (int, 1),
            "target_mean": (float, None), "target_std": (float, None), "prior_shrink": (float, 0)}


def _check_metadata(meta: dict, path: Path) -> None:
    """Types and ranges of the model's numbers: a hand-edited file is one clear error, not a crash or NaN."""
    for key, (kind, low) in _NUMBERS.items():
        value = meta.get(key)
        valid = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if not valid or (kind is int and value != int(value)) or (low is not None and value < low):
            wanted = f"an integer >= {low}" if kind is int else "a finite number"
            raise ProxynasError(f"{path}: {key} is {value!r}, not {wanted}; refit the model")
    if meta["target_std"] <= 0:
        raise ProxynasError(f"{path}: target_std is {meta['target_std']!r}, not positive; refit the model")
    if not isinstance(meta.get("params"), dict):
        raise ProxynasError(f"{path}: params is not a mapping of XGBoost parameters; refit the model")


def _saved_prior_line(meta: dict, spec: FeatureSpec, path: Path) -> tuple[float, float] | None:
    """The saved calibration of the prior: two finite numbers when the features have a prior, else None."""
    line = meta.get("prior_line")
    if "prior" not in spec.groups:
        return None
    if not (isinstance(line, list) and len(line) == 2 and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in line)):
        raise ProxynasError(f"{path}: prior_line is {line!r}, not [intercept, slope]; refit the model")
    return float(line[0]), float(line[1])


def _member_path(path: Path, i: int) -> Path:
    return path.with_name(f"{path.stem}.member{i}.json")


def _proxy_keys(spec: FeatureSpec) -> list[str]:
    """Versioned keys of the engine proxies behind the features (a new implementation must refit)."""
    from proxynas import proxies

    return [proxies.get(p).key for p in spec.engine_proxies()]
