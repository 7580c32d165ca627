"""Reads the NAS-Bench-201 ground-truth table (`nb201_merged.csv`) into validated numpy columns."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from proxynas.errors import ProxynasError
from proxynas.spaces import nb201

SOURCE_FILE = "nb201_merged.csv"
DATASETS = ("cifar10", "cifar100", "imagenet16")

# Our metric name -> the source column it comes from, per dataset. Which accuracy is which matters:
# cifar10's validation accuracy is that of the cifar10-valid split (as NASLib uses it); cifar100 and
# imagenet16 validation accuracies are derived as 2*valtest - test.
METRIC_COLUMNS = {
    "test_acc": {ds: f"test200_{ds}" for ds in DATASETS},
    "val_acc": {"cifar10": "val200_cifar10valid_naslib", "cifar100": "valid200_cifar100_DERIVED",
                "imagenet16": "valid200_imagenet16_DERIVED"},
    "test_acc_12": {ds: f"test12_{ds}" for ds in DATASETS},
    "val_acc_12": {"cifar10": "val12_cifar10valid", "cifar100": "val12_cifar100", "imagenet16": "val12_imagenet16"},
    "params_m": {ds: f"params_{ds}" for ds in DATASETS},
    "train_time_epoch_s": {ds: f"train_time_per_epoch_s_{ds}" for ds in DATASETS},
    "train_time_total_s": {ds: f"train_time_total_s_{ds}" for ds in DATASETS},
}
HW_METRICS = tuple(
    f"{device}_{metric}"
    for device, metrics in (("edgegpu", ("latency", "energy")), ("raspi4", ("latency",)),
                            ("edgetpu", ("latency",)), ("pixel3", ("latency",)),
                            ("eyeriss", ("latency", "energy", "arithmetic_intensity")),
                            ("fpga", ("latency", "energy")))
    for metric in metrics
)


# The range a value of each metric must lie in (every value must be finite): a table with nan, inf, 1e400 or a
# negative accuracy is refused, not stored. Hardware metrics are only required to be finite.
RANGES = {"test_acc": (0.0, 100.0), "val_acc": (0.0, 100.0), "test_acc_12": (0.0, 100.0), "val_acc_12": (0.0, 100.0),
          "params_m": (0.0, 1e4), "train_time_epoch_s": (0.0, 1e7), "train_time_total_s": (0.0, 1e9)}


@dataclass
class NB201Table:
    """The whole table: cells in official index order and, per dataset, one float array per metric."""

    ops: np.ndarray  # (15625, 6) uint8, row i = official index i
    metrics: dict[str, dict[str, np.ndarray]]  # dataset -> metric -> (15625,) float64
    columns: dict[str, dict[str, str]]  # dataset -> metric -> source column name


def find_source(source: Path) -> Path:
    """The table file inside `source` (the file itself, its folder, or a data folder with nb201/)."""
    for candidate in (source, source / SOURCE_FILE, source / "nb201" / SOURCE_FILE):
        if candidate.is_file():
            return candidate
    raise ProxynasError(f"no NB201 table found at {source}: expected {SOURCE_FILE} there or in its nb201/ folder")


def read_table(path: Path) -> NB201Table:
    """Parse and check every row; any missing column, bad arch or non-number is a clear error."""
    columns = {ds: {m: cols[ds] for m, cols in METRIC_COLUMNS.items()} for ds in DATASETS}
    for ds in DATASETS:
        columns[ds].update({f"hw_{m}": f"hw_{ds}_{m}" for m in HW_METRICS})
    try:
        with open(path, newline="") as handle:
            reader = csv.DictReader(handle)
            needed = {"index", "arch_str"} | {c for cols in columns.values() for c in cols.values()}
            missing = sorted(needed - set(reader.fieldnames or ()))
            if missing:
                raise ProxynasError(f"{path} is not a complete NB201 table: missing columns {', '.join(missing)}")
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ProxynasError(f"cannot read NB201 table {path}: {exc}") from exc
    if len(rows) != nb201.NUM_ARCHS:
        raise ProxynasError(f"{path} has {len(rows)} rows; a complete NB201 table has {nb201.NUM_ARCHS}")

    ops = np.zeros((nb201.NUM_ARCHS, len(nb201.EDGES)), dtype=np.uint8)
    values = {ds: {m: np.empty(nb201.NUM_ARCHS) for m in cols} for ds, cols in columns.items()}
    for line, row in enumerate(rows, start=2):
        if row["index"] != str(line - 2):
            raise ProxynasError(f"{path} line {line}: expected index {line - 2}, found {row['index']!r}")
        try:
            ops[line - 2] = nb201.parse(row["arch_str"])
        except ProxynasError as exc:
            raise ProxynasError(f"{path} line {line}: {exc}") from exc
        for ds, cols in columns.items():
            for metric, column in cols.items():
                try:
                    value = float(row[column])
                except (TypeError, ValueError):
                    raise ProxynasError(
                        f"{path} line {line}, column {column}: not a number: {row[column]!r}"
                    ) from None
                low, high = RANGES.get(metric, (-np.inf, np.inf))
                if not (np.isfinite(value) and low <= value <= high):
                    raise ProxynasError(f"{path} line {line}, column {column}: {row[column]!r} is not a finite "
                                        f"value in [{low:g}, {high:g}]")
                values[ds][metric][line - 2] = value
    nb201.IndexMap(ops)  # raises unless every cell appears exactly once
    return NB201Table(ops=ops, metrics=values, columns=columns)
