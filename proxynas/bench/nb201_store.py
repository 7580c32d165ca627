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
from pathlib import Path

import h5py
import numpy as np

from proxynas import __version__, paths
from proxynas.atomic import atomic_h5
from proxynas.bench.base import TabularBenchmark
from proxynas.bench.nb201_source import DATASETS, NB201Table, find_source, read_table
from proxynas.errors import ProxynasError
from proxynas.spaces import nb201
from proxynas.tasks import get_task

FORMAT = "proxynas-nb201"
SCHEMA_VERSION = 1
STORE_FILE = "nb201.h5"


def dataset_name(name: str) -> str:
    """Our dataset name for a user-given one (case-insensitive; ImageNet16-120 -> imagenet16)."""
    task = get_task(name).name
    if task not in DATASETS:
        raise ProxynasError(f"NAS-Bench-201 has no dataset {name!r}; valid: {', '.join(DATASETS)}")
    return task


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


class NB201Bench(TabularBenchmark):
    """The NB201 store: columns are read from the HDF5 file on first use; see `TabularBenchmark`."""

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
                metric_names = tuple(h5[DATASETS[0]].keys())
                self.precomputed_sources = tuple(h5["precomputed"].keys()) if "precomputed" in h5 else ()
        except (OSError, KeyError) as exc:
            raise ProxynasError(
                f"cannot read the benchmark store {self.path} ({exc}); rebuild it with `proxynas data build --force`"
            ) from exc
        super().__init__(nb201.IndexMap(self.ops), DATASETS, metric_names)

    def _read(self, key: str) -> np.ndarray:
        with h5py.File(self.path, "r", locking=False) as h5:
            if key not in h5:
                raise ProxynasError(f"{self.path} has no {key!r}")
            return h5[key][:]

    def _load(self, task: str, metric: str) -> np.ndarray:
        return self._read(f"{task}/{metric}")

    def source_column(self, dataset: str, metric: str) -> str:
        with h5py.File(self.path, "r", locking=False) as h5:
            return h5[f"{self.task_name(dataset)}/{metric}"].attrs["source_column"]

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
