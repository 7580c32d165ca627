"""The NB201 benchmark store: one HDF5 file built from the source table, opened fast, queried cheaply.

Schema (`schema_version` 1):
  attrs: format="proxynas-nb201", schema_version, source, proxynas_version, built_utc
  archs/arch_str        (15625,) ascii   official arch strings, row i = official index i
  archs/ops             (15625, 6) uint8 op ids in arch-string edge order (see `spaces.nb201.OPS`)
  archs/naslib          (15625, 6) uint8 NASLib op tuples
  archs/class_nb201     (15625,) int32   NB201's own isomorphism class (6,466 classes)
  archs/class_function  (15625,) int32   distinct-function class (4,930 classes)
  <dataset>/<metric>    (15625,) float64 for dataset in cifar10, cifar100, imagenet16; metrics
                        test_acc, val_acc (200 epochs), test_acc_12, val_acc_12, params_m,
                        train_time_epoch_s, train_time_total_s, hw_<device>_<metric>; each has
                        attr `source_column` naming the table column it came from
  precomputed/<source>/<dataset>/<proxy>/{score,time}  (15625,) float64, NaN where absent
"""

from __future__ import annotations

import datetime
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from proxynas import __version__, paths
from proxynas.atomic import atomic_h5
from proxynas.bench.nb201_source import DATASETS, NB201Table, find_source, read_table
from proxynas.errors import ProxynasError
from proxynas.spaces import nb201

FORMAT = "proxynas-nb201"
SCHEMA_VERSION = 1
STORE_FILE = "nb201.h5"
DATASET_ALIASES = {"cifar10": "cifar10", "cifar100": "cifar100", "imagenet16": "imagenet16",
                   "imagenet16-120": "imagenet16", "imagenet": "imagenet16"}


def dataset_name(name: str) -> str:
    """Our dataset name for a user-given one (case-insensitive; ImageNet16-120 -> imagenet16)."""
    try:
        return DATASET_ALIASES[name.lower()]
    except KeyError:
        raise ProxynasError(f"unknown dataset {name!r}; valid: {', '.join(DATASETS)}") from None


def default_store_path() -> Path:
    return paths.cache_dir() / STORE_FILE


def build_store(source: Path, path: Path | None = None) -> Path:
    """Convert the NB201 table at `source` into the HDF5 store at `path` (atomically)."""
    path = path or default_store_path()
    table_path = find_source(Path(source))
    table = read_table(table_path)
    with atomic_h5(path) as h5:
        _write_table(h5, table)
        h5.attrs.update(format=FORMAT, schema_version=SCHEMA_VERSION, source=str(table_path.resolve()),
                        proxynas_version=__version__,
                        built_utc=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))
    return path


def _write_table(h5: h5py.File, table: NB201Table) -> None:
    archs = [nb201.Arch(row) for row in table.ops]
    group = h5.create_group("archs")
    group["arch_str"] = np.array([str(a) for a in archs], dtype="S")
    group["ops"] = table.ops
    group["naslib"] = np.array([a.to_naslib() for a in archs], dtype=np.uint8)
    for form in nb201.CANONICAL_FORMS:
        group[f"class_{form}"] = nb201.class_ids(archs, form)
    for ds in DATASETS:
        ds_group = h5.create_group(ds)
        for metric, values in table.metrics[ds].items():
            ds_group[metric] = values
            ds_group[metric].attrs["source_column"] = table.columns[ds][metric]


@dataclass
class TrainingCost:
    """What the "full trainings" queried so far would have cost: count and simulated seconds."""

    trainings: int = 0
    train_seconds: float = 0.0


class NB201Bench:
    """Read access to the store. `query` is a counted "full training"; `column` is free bulk analysis."""

    def __init__(self, path: Path):
        self.path = Path(path)
        try:
            with h5py.File(self.path, "r", locking=False) as h5:
                if h5.attrs.get("format") != FORMAT or h5.attrs.get("schema_version") != SCHEMA_VERSION:
                    raise ProxynasError(
                        f"{self.path} is not a proxynas NB201 store of schema {SCHEMA_VERSION}; "
                        "rebuild it with `proxynas data build --force`"
                    )
                self.attrs = dict(h5.attrs)
                self.ops = h5["archs/ops"][:]
                self.class_ids = {form: h5[f"archs/class_{form}"][:] for form in nb201.CANONICAL_FORMS}
                self.metric_names = tuple(h5[DATASETS[0]].keys())
                self.precomputed_sources = tuple(h5["precomputed"].keys()) if "precomputed" in h5 else ()
        except (OSError, KeyError) as exc:
            raise ProxynasError(
                f"cannot read the benchmark store {self.path} ({exc}); rebuild it with `proxynas data build --force`"
            ) from exc
        self.index = nb201.IndexMap(self.ops)
        self.cost = TrainingCost()
        self._sealed = False
        self._columns: dict[tuple[str, str], np.ndarray] = {}

    def _read(self, key: str) -> np.ndarray:
        with h5py.File(self.path, "r", locking=False) as h5:
            if key not in h5:
                raise ProxynasError(f"{self.path} has no {key!r}")
            return h5[key][:]

    @contextmanager
    def sealed(self):
        """Within this block accuracies can only be read through `query`, counted: what a search may see."""
        self._sealed = True
        try:
            yield self
        finally:
            self._sealed = False

    def column(self, dataset: str, metric: str) -> np.ndarray:
        """A metric for all 15,625 cells in index order. Not counted: for analysis, never for search."""
        if self._sealed:
            raise ProxynasError(f"a search may read {metric} only through query(), a counted full training")
        return self._column(dataset, metric)

    def _column(self, dataset: str, metric: str) -> np.ndarray:
        dataset = dataset_name(dataset)
        if metric not in self.metric_names:
            raise ProxynasError(f"unknown metric {metric!r}; valid: {', '.join(self.metric_names)}")
        key = (dataset, metric)
        if key not in self._columns:
            self._columns[key] = self._read(f"{dataset}/{metric}")
        return self._columns[key]

    def source_column(self, dataset: str, metric: str) -> str:
        with h5py.File(self.path, "r", locking=False) as h5:
            return h5[f"{dataset_name(dataset)}/{metric}"].attrs["source_column"]

    def arch(self, key: nb201.Arch | str | int) -> nb201.Arch:
        """The cell named by an `Arch`, an official index, an arch string or a NASLib tuple."""
        if isinstance(key, nb201.Arch):
            return key
        if isinstance(key, (int, np.integer)):
            return self.index.arch_at(int(key))
        return self.index.resolve(key)

    def query(self, key: nb201.Arch | str | int, dataset: str) -> dict[str, float]:
        """All metrics of one cell, counted as one full training (adds its simulated training time)."""
        index = self.index.index_of(self.arch(key))
        record = {m: float(self._column(dataset, m)[index]) for m in self.metric_names}
        self.cost.trainings += 1
        self.cost.train_seconds += record["train_time_total_s"]
        return record

    def best(self, dataset: str, metric: str = "test_acc") -> tuple[nb201.Arch, float]:
        """The cell with the highest value of `metric` (analysis; not counted)."""
        values = self.column(dataset, metric)
        index = int(np.nanargmax(values))
        return self.index.arch_at(index), float(values[index])

    def precomputed(self, source: str, dataset: str, proxy: str) -> np.ndarray:
        """Imported proxy scores for all cells in index order; NaN where the source has none."""
        if source not in self.precomputed_sources:
            raise ProxynasError(
                f"no precomputed scores named {source!r} in {self.path}; imported: "
                f"{', '.join(self.precomputed_sources) or 'none'} (see `proxynas data import-zc`)"
            )
        return self._read(f"precomputed/{source}/{dataset_name(dataset)}/{proxy}/score")

    def precomputed_proxies(self, source: str, dataset: str) -> tuple[str, ...]:
        with h5py.File(self.path, "r", locking=False) as h5:
            group = h5.get(f"precomputed/{source}/{dataset_name(dataset)}")
            return tuple(group.keys()) if group is not None else ()


def open_bench(path: Path | None = None, source: Path | None = None) -> NB201Bench:
    """Open the store, building it first from `source` (or the data folder) when it is missing."""
    path = Path(path) if path else default_store_path()
    if not path.exists():
        source = source or paths.data_dir()
        if source is None:
            raise ProxynasError(
                f"the NB201 benchmark store {path} is not built and no source data was found: set "
                "PROXYNAS_DATA to the folder holding nb201/nb201_merged.csv, or run "
                "`proxynas data build --source DIR`"
            )
        build_store(source, path)
    return NB201Bench(path)


def arch_record(bench: NB201Bench, arch: nb201.Arch, dataset: str) -> dict:
    """One cell's encodings, canonical classes and (counted) benchmark metrics, as plain values."""
    index = bench.index.index_of(arch)
    return {"index": index, "arch": str(arch), "naslib": list(arch.to_naslib()),
            **{f"class_{form}": int(ids[index]) for form, ids in bench.class_ids.items()},
            "metrics": bench.query(arch, dataset)}


def describe(bench: NB201Bench) -> dict:
    """What the store holds: provenance, counts, best cell per dataset, precomputed sources."""
    datasets = {}
    for ds in DATASETS:
        arch, acc = bench.best(ds)
        datasets[ds] = {"records": int(np.isfinite(bench.column(ds, "test_acc")).sum()),
                        "best_index": bench.index.index_of(arch), "best_test_acc": acc, "best_arch": str(arch)}
    precomputed = {}
    for source in bench.precomputed_sources:
        precomputed[source] = {}
        for ds in DATASETS:
            proxies = bench.precomputed_proxies(source, ds)
            if proxies:
                scored = np.any([~np.isnan(bench.precomputed(source, ds, p)) for p in proxies], axis=0)
                precomputed[source][ds] = {"archs": int(scored.sum()), "proxies": list(proxies)}
    return {"path": str(bench.path), "built_utc": bench.attrs["built_utc"], "source": bench.attrs["source"],
            "archs": int(len(bench.ops)),
            "classes": {form: int(ids.max()) + 1 for form, ids in bench.class_ids.items()},
            "metrics": list(bench.metric_names), "datasets": datasets, "precomputed": precomputed}
