"""Feature matrices for accuracy predictors: architecture encodings and zero-cost proxy scores.

Groups (any combination, in this order in the matrix):
  onehot  30 columns: for each of the 6 edges, which of the 5 ops it carries.
  path    84 columns: how many live input-to-output paths carry each op sequence (no `none` on a
          live path; 4 + 16 + 64 sequences of length 1-3), as in path-based NAS predictors.
  zc      one column per proxy in `FeatureSpec.proxies`, from the scoring engine (computed and
          cached) or from a precomputed source imported into the store (e.g. Suite-Zero).
  size    params and FLOPs of the benchmark network (exact, computed by proxynas).
Proxies that span many orders of magnitude are log-scaled (`signed_log`). A proxy that failed on a
cell stays NaN: XGBoost treats it as missing and learns which branch such cells take.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, field

import numpy as np

from proxynas.data import BatchSpec
from proxynas.errors import ProxynasError
from proxynas.spaces import nb201

GROUPS = ("onehot", "path", "zc", "size")
SIZE_PROXIES = ("params", "flops")
LOG_SCALED = frozenset({"synflow", "grad_norm", "snip", "fisher", "grasp", "jacob_cov", "jacov"})  # jacov: Suite-Zero
# Live paths from node 0 to node 3, as edge indices into `nb201.EDGES`.
PATHS = tuple(tuple(nb201.EDGES.index(e) for e in path)
              for path in (((0, 3),), ((0, 1), (1, 3)), ((0, 2), (2, 3)), ((0, 1), (1, 2), (2, 3))))
PATH_OPS = tuple(op for op in nb201.OPS if op != "none")
PATH_SEQUENCES = tuple(seq for length in (1, 2, 3) for seq in itertools.product(PATH_OPS, repeat=length))


@dataclass(frozen=True)
class FeatureSpec:
    """Which features, from where: saved with a model so prediction rebuilds exactly the same columns."""

    groups: tuple[str, ...]
    proxies: tuple[str, ...] = ()
    zc_source: str = "engine"  # or the name of a precomputed source in the store
    batch: BatchSpec = field(default_factory=BatchSpec)

    def __post_init__(self):
        unknown = [g for g in self.groups if g not in GROUPS]
        if unknown or not self.groups:
            raise ProxynasError(f"unknown feature group(s) {', '.join(unknown) or '(none given)'}; "
                                f"valid: {', '.join(GROUPS)}")
        if "zc" in self.groups and not self.proxies:
            raise ProxynasError("the zc feature group needs at least one proxy")

    @property
    def dataset(self) -> str:
        return self.batch.dataset

    def names(self) -> list[str]:
        """Column names, in matrix order."""
        names = []
        if "onehot" in self.groups:
            names += [f"edge{src}{dst}={op}" for src, dst in nb201.EDGES for op in nb201.OPS]
        if "path" in self.groups:
            names += ["path=" + ">".join(seq) for seq in PATH_SEQUENCES]
        if "zc" in self.groups:
            names += [f"zc:{p}" for p in self.proxies]
        if "size" in self.groups:
            names += [f"size:{p}" for p in SIZE_PROXIES]
        return names

    def engine_proxies(self) -> list[str]:
        """Proxies the scoring engine computes for these features (each once)."""
        names = list(self.proxies) if "zc" in self.groups and self.zc_source == "engine" else []
        return names + [p for p in SIZE_PROXIES if "size" in self.groups and p not in names]

    def to_dict(self) -> dict:
        return {"groups": list(self.groups), "proxies": list(self.proxies), "zc_source": self.zc_source,
                "batch": asdict(self.batch)}

    @classmethod
    def from_dict(cls, value: dict) -> "FeatureSpec":
        return cls(tuple(value["groups"]), tuple(value["proxies"]), value["zc_source"], BatchSpec(**value["batch"]))


def signed_log(values: np.ndarray) -> np.ndarray:
    """sign(x) * log10(1 + 1e6 |x|): monotone, finite at 0, resolves magnitudes from 1e-6 to 1e60."""
    values = np.asarray(values, dtype=np.float64)
    return np.sign(values) * np.log10(1.0 + 1e6 * np.abs(values))


def onehot(archs) -> np.ndarray:
    ops = np.asarray(archs, dtype=np.int64).reshape(-1, len(nb201.EDGES))
    out = np.zeros((len(ops), len(nb201.EDGES), len(nb201.OPS)))
    np.put_along_axis(out, ops[:, :, None], 1.0, axis=2)
    return out.reshape(len(ops), -1)


def path_counts(archs) -> np.ndarray:
    column = {seq: i for i, seq in enumerate(PATH_SEQUENCES)}
    out = np.zeros((len(archs), len(PATH_SEQUENCES)))
    for row, arch in enumerate(archs):
        for path in PATHS:
            seq = tuple(nb201.OPS[arch[e]] for e in path)
            if "none" not in seq:
                out[row, column[seq]] += 1
    return out


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
    from proxynas import proxies, scoring

    blocks = []
    if "onehot" in spec.groups:
        blocks.append(onehot(archs))
    if "path" in spec.groups:
        blocks.append(path_counts(archs))
    engine_proxies = spec.engine_proxies()
    scores = {}
    if engine_proxies:
        table = scoring.score(archs, proxies.parse_list(",".join(engine_proxies)), spec.batch, device, cache,
                              progress)
        scores = table.scores
    if "zc" in spec.groups:
        if spec.zc_source != "engine":
            scores = scores | precomputed_scores(archs, spec, bench)
        blocks.append(np.column_stack([signed_log(scores[p]) if p in LOG_SCALED else scores[p]
                                       for p in spec.proxies]))
    if "size" in spec.groups:
        blocks.append(np.column_stack([scores[p] for p in SIZE_PROXIES]))
    return FeatureMatrix(np.hstack(blocks), spec)


def precomputed_scores(archs, spec: FeatureSpec, bench) -> dict[str, np.ndarray]:
    """Scores of `spec.proxies` for `archs` from an imported source; cells it lacks are NaN."""
    if bench is None:
        raise ProxynasError("precomputed proxy features need the benchmark store")
    available = bench.precomputed_proxies(spec.zc_source, spec.dataset)
    missing = [p for p in spec.proxies if p not in available]
    if missing:
        raise ProxynasError(f"precomputed source {spec.zc_source!r} has no {', '.join(missing)} for "
                            f"{spec.dataset}; it has: {', '.join(available)}")
    rows = bench.index.indices_of(archs)
    return {p: bench.precomputed(spec.zc_source, spec.dataset, p)[rows] for p in spec.proxies}
