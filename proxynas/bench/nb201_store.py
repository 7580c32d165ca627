"""The NB201 benchmark store: one HDF5 file built from the source table, opened fast, queried cheaply.

Schema (`schema_version` 2: 1 plus a `crc32` attribute on every dataset):
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
  every dataset: attr `crc32` of its bytes, verified when it is read
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np

from proxynas import paths
from proxynas.atomic import atomic_h5
from proxynas.bench.h5store import H5Benchmark, stamp, write_archs
from proxynas.bench.nb201_source import DATASETS, NB201Table, find_source, read_table
from proxynas.errors import ProxynasError
from proxynas.spaces import nb201
from proxynas.tasks import get_task

FORMAT = "proxynas-nb201"
SCHEMA_VERSION = 2
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
        stamp(h5, FORMAT, SCHEMA_VERSION, table_path)
    return path


def _write_table(h5: h5py.File, table: NB201Table) -> None:
    archs = [nb201.Arch(row) for row in table.ops]
    write_archs(h5, nb201.SPACE, archs)
    h5["archs/arch_str"] = np.array([str(a) for a in archs], dtype="S")
    h5["archs/naslib"] = np.array([a.to_naslib() for a in archs], dtype=np.uint8)
    for ds in DATASETS:
        ds_group = h5.create_group(ds)
        for metric, values in table.metrics[ds].items():
            ds_group[metric] = values
            ds_group[metric].attrs["source_column"] = table.columns[ds][metric]


class NB201Bench(H5Benchmark):
    """The NB201 store (see `H5Benchmark`); its columns keep the name of their source column."""

    format, schema_version, rebuild_hint = FORMAT, SCHEMA_VERSION, "proxynas data build --force"

    def __init__(self, path: Path):
        super().__init__(path, nb201.SPACE)

    def arch_record(self, arch: nb201.Arch, task: str) -> dict:
        return {**super().arch_record(arch, task), "naslib": list(arch.to_naslib())}

    def source_column(self, dataset: str, metric: str) -> str:
        with h5py.File(self.path, "r", locking=False) as h5:
            return h5[f"{self.task_name(dataset)}/{metric}"].attrs["source_column"]


def open_bench(path: Path | None = None, source: Path | None = None) -> NB201Bench:
    """Open the store, building it first from `source` (or the data folder) when it is missing."""
    return NB201Bench.open_or_build(Path(path) if path else default_store_path(), source, build_store,
                                    "set PROXYNAS_DATA to the folder holding nb201/nb201_merged.csv, or run "
                                    "`proxynas data build --source DIR`")


