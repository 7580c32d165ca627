"""Feature matrices for accuracy predictors: architecture encodings and zero-cost proxy scores.

Groups (any combination, in this order in the matrix):
  onehot  the space's one-hot encoding (NB201: for each of the 6 edges, which of the 5 ops; 30 columns).
  path    the space's path encoding: how many live input-to-output paths carry each op sequence
          (NB201: 84 columns), as in path-based NAS predictors.
  zc      one column per proxy in `FeatureSpec.proxies`, from the scoring engine (computed and
          cached) or from a precomputed source imported into the store (e.g. Suite-Zero).
  size    params and FLOPs of the benchmark network (exact, computed by proxynas).
  prior   a zero-shot ensemble (`FeatureSpec.prior`, default zs) ranked against a fixed reference sample
          (`proxynas.prior`): one column on one scale for every list of cells. A surrogate also blends
          its prediction with this column (`surrogate.py`).
Proxies registered as log-scaled are passed through `signed_log`. A proxy that failed on a cell
stays NaN: XGBoost treats it as missing and learns which branch such cells take.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from proxynas.data import BatchSpec
from proxynas.errors import ProxynasError
from proxynas.spaces.base import get_space

GROUPS = ("onehot", "path", "zc", "size", "prior")
ENCODINGS = ("onehot", "path")  # groups the space encodes
SIZE_PROXIES = ("params", "flops")


@dataclass(frozen=True)
class FeatureSpec:
    """Which features, from where: saved with a model so prediction rebuilds exactly the same columns."""

    groups: tuple[str, ...]
    proxies: tuple[str, ...] = ()
    zc_source: str = "engine"  # or the name of a precomputed source in the store
    batch: BatchSpec = field(default_factory=BatchSpec)
    space: str = "nb201"
    prior: str = "zs"  # the ensemble of the prior group

    def __post_init__(self):
        unknown = [g for g in self.groups if g not in GROUPS]
        if unknown or not self.groups:
            raise ProxynasError(f"unknown feature group(s) {', '.join(unknown) or '(none given)'}; "
                                f"valid: {', '.join(GROUPS)}")
        if "zc" in self.groups and not self.proxies:
            raise ProxynasError("the zc feature group needs at least one proxy")
        if "prior" in self.groups:
            from proxynas import ensembles

            ensembles.members(self.prior)  # an unknown ensemble is an error here

    @property
    def dataset(self) -> str:
        return self.batch.dataset

    def names(self) -> list[str]:
        """Column names, in matrix order."""
        names = [n for g in ENCODINGS if g in self.groups for n in get_space(self.space).encoding_names(g)]
        if "zc" in self.groups:
            names += [f"zc:{p}" for p in self.proxies]
        if "size" in self.groups:
            names += [f"size:{p}" for p in SIZE_PROXIES]
        if "prior" in self.groups:
            names.append(self.prior_column)
        return names

    @property
    def prior_column(self) -> str:
        return f"prior:{self.prior}"

    def engine_proxies(self) -> list[str]:
        """Proxies the scoring engine computes for these features (each once)."""
        from proxynas import ensembles

        names = list(self.proxies) if "zc" in self.groups and self.zc_source == "engine" else []
        names += [p for p in SIZE_PROXIES if "size" in self.groups]
        names += list(ensembles.members(self.prior)) if "prior" in self.groups else []
        return list(dict.fromkeys(names))

    def to_dict(self) -> dict:
        return {"groups": list(self.groups), "proxies": list(self.proxies), "zc_source": self.zc_source,
                "batch": asdict(self.batch), "space": self.space, "prior": self.prior}

    @classmethod
    def from_dict(cls, value: dict) -> "FeatureSpec":
        return cls(tuple(value["groups"]), tuple(value["proxies"]), value["zc_source"], BatchSpec(**value["batch"]),
                   value.get("space", "nb201"),  # models saved before spaces were named are NB201's
                   value.get("prior", "zs"))


def signed_log(values: np.ndarray) -> np.ndarray:
    """sign(x) * log10(1 + 1e6 |x|): monotone, finite at 0, resolves magnitudes from 1e-6 to 1e60."""
    values = np.asarray(values, dtype=np.float64)
    return np.sign(values) * np.log10(1.0 + 1e6 * np.abs(values))


def log_scaled(name: str) -> bool:
    """Should models see this proxy through `signed_log`? (Registered metadata; imported sources' names too.)"""
    from proxynas import proxies
    from proxynas.bench.suite_zero import OUR_NAMES

    name = OUR_NAMES.get(name, name)
    return name in proxies.names() and proxies.get(name).log_scale


@dataclass(frozen=True)
class FeatureMatrix:
    """Feature values (one row per arch, columns `spec.names()`) and the spec that made them."""

    values: np.ndarray
    spec: FeatureSpec

    def __len__(self) -> int:
        return len(self.values)

    def rows(self, index) -> "FeatureMatrix":
        return FeatureMatrix(self.values[index], self.spec)


def build(archs, spec: FeatureSpec, bench=None, device: str = "cpu", progress=None, cache=None) -> FeatureMatrix:
    """The feature matrix of `archs`; NaN where a proxy has no value. `cache`: a `ScoreCache` to reuse."""
    from proxynas import prior, proxies, scoring
    from proxynas.cache import default_cache

    scores = {}
    engine_proxies = spec.engine_proxies()
    if engine_proxies and cache is None:
        cache = default_cache()  # read once, for the cells and for the prior's reference sample
    if engine_proxies:
        table = scoring.score(archs, proxies.parse_list(",".join(engine_proxies)), spec.batch, device, cache,
                              progress)
        scores = table.scores
    if "zc" in spec.groups and spec.zc_source != "engine":
        scores = scores | precomputed_scores(archs, spec, bench)
    if "prior" in spec.groups:
        score = scoring.scorer(spec.batch, device, cache)
        scores[spec.prior_column] = prior.reference_prior(spec.prior, get_space(spec.space), score).values(scores)
    return assemble(archs, spec, scores)


def assemble(archs, spec: FeatureSpec, scores: dict[str, np.ndarray]) -> FeatureMatrix:
    """The matrix of `archs` from the space's encodings and the given proxy scores (columns by proxy name;
    the prior group's column under `spec.prior_column`)."""
    space = get_space(spec.space)
    blocks = [space.encode(archs, g) for g in ENCODINGS if g in spec.groups]
    if "zc" in spec.groups:
        blocks.append(np.column_stack([signed_log(scores[p]) if log_scaled(p) else scores[p] for p in spec.proxies]))
    if "size" in spec.groups:
        blocks.append(np.column_stack([scores[p] for p in SIZE_PROXIES]))
    if "prior" in spec.groups:
        blocks.append(np.asarray(scores[spec.prior_column], dtype=np.float64)[:, None])
    return FeatureMatrix(np.hstack(blocks), spec)


def precomputed_scorer(bench, source: str, task: str):
    """A scoring function for strategies, `(archs, proxy names) -> {name: scores}`, that reads a benchmark's
    imported scores (e.g. TransNAS-Bench-101's zen) instead of running networks; cells it lacks are NaN."""
    bench.precomputed_proxies(source, task)  # an unknown source or task is an error now, not at the first call

    def score_columns(archs, names) -> dict[str, np.ndarray]:
        available = bench.precomputed_proxies(source, task)
        missing = [p for p in names if p not in available]
        if missing:
            raise ProxynasError(f"precomputed source {source!r} has no {', '.join(missing)} for "
                                f"{task}; it has: {', '.join(available)}")
        rows = bench.index.indices_of(archs)
        return {n: bench.precomputed(source, task, n)[rows] for n in names}

    return score_columns


def precomputed_scores(archs, spec: FeatureSpec, bench) -> dict[str, np.ndarray]:
    """Scores of `spec.proxies` for `archs` from the imported source the spec names."""
    if bench is None:
        raise ProxynasError("precomputed proxy features need the benchmark store")
    return precomputed_scorer(bench, spec.zc_source, spec.dataset)(archs, spec.proxies)


def training_split(bench, spec: FeatureSpec, train_size: int, eval_size: int, seed: int) -> list:
    """`train_size` then `eval_size` distinct cells drawn with `seed` from those the features cover:
    every cell for engine-computed proxies, the cells a precomputed source scored otherwise."""
    if "zc" in spec.groups and spec.zc_source != "engine":
        scored = np.column_stack([bench.precomputed(spec.zc_source, spec.dataset, p) for p in spec.proxies])
        pool = np.flatnonzero(np.isfinite(scored).any(axis=1))
    else:
        pool = np.arange(bench.index.space.size)
    if train_size + eval_size > len(pool):
        raise ProxynasError(f"asked for {train_size} training + {eval_size} held-out cells, but the features "
                            f"cover only {len(pool)}")
    chosen = np.random.default_rng(seed).choice(pool, train_size + eval_size, replace=False)
    return [bench.index.arch_at(int(i)) for i in chosen]
