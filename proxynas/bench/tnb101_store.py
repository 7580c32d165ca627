"""The TransNAS-Bench-101 micro benchmark store, built from the zip of per-task JSON files.

Source: `tnb101/tnb101_micro_zen_all.zip` in the data folder: files `benchmark--transbench101_micro--
<task>--<chunk>.json`, each a list of `{"idx", "arch": "(o0, ..., o5)", "zen": {"score", "time"},
"val_accuracy"}`; every task must list each of the 4,096 cells once, with the same official index
on every task. Stored (see `bench/h5store.py`): per task `val_score` (the task's validation score,
what it measures is in `proxynas.tasks`; there is no test split) and zen as the precomputed
source `zen`. The build is atomic: a bad or missing source leaves any earlier store in place.
"""

from __future__ import annotations

import json
import math
import re
import zipfile
from pathlib import Path

import numpy as np

from proxynas import paths
from proxynas.atomic import atomic_h5
from proxynas.bench.h5store import H5Benchmark, stamp, write_archs
from proxynas.errors import ProxynasError
from proxynas.spaces import tnb101
from proxynas.tasks import TNB101_SCORES

FORMAT, SCHEMA_VERSION = "proxynas-tnb101", 2
SOURCE = "tnb101/tnb101_micro_zen_all.zip"
STORE_FILE = "tnb101.h5"
SOURCE_FIELD = "val_accuracy"  # each entry's validation score, stored as `val_score`
_MEMBER = re.compile(r"benchmark--transbench101_micro--(\w+)--\d+\.json$")


def read_zip(path: Path) -> tuple[np.ndarray, dict[str, dict[str, np.ndarray]]]:
    """(op ids per official index, {task: {"val_score", "zen", "zen_time"}} in index order), validated."""
    size = tnb101.SPACE.size
    ops = np.full((size, len(tnb101.EDGES)), -1, dtype=np.int64)
    columns = {task: {k: np.full(size, np.nan) for k in ("val_score", "zen", "zen_time")} for task in TNB101_SCORES}
    try:
        with zipfile.ZipFile(path) as archive:
            members = [m for m in archive.namelist() if _MEMBER.search(m)]
            for member in members:
                task = _MEMBER.search(member).group(1)
                if task not in columns:
                    raise ProxynasError(f"{path}: {member} is for an unknown task {task!r}")
                for row in json.loads(archive.read(member)):
                    _put(row, task, ops, columns, f"{path}:{member}")
    except (OSError, zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ProxynasError(f"cannot read the TransNAS-Bench-101 zip {path}: {exc}") from exc
    for task, values in columns.items():
        missing = int(np.isnan(values["val_score"]).sum())
        if missing:
            raise ProxynasError(f"{path}: task {task} lacks {missing} of the {size} cells")
    tnb101.IndexMap(ops)  # every cell exactly once
    return ops, columns


def _put(row, task: str, ops: np.ndarray, columns: dict, where: str) -> None:
    try:
        index, arch = int(row["idx"]), tnb101.SPACE.parse(row["arch"])
        score, zen, zen_time = (float(x) for x in (row[SOURCE_FIELD], row["zen"]["score"], row["zen"]["time"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ProxynasError(f"{where}: malformed entry {str(row)[:80]} ({exc})") from exc
    if not 0 <= index < len(ops) or not math.isfinite(score):
        raise ProxynasError(f"{where}: entry with index {index} and score {score} is out of range")
    if ops[index, 0] >= 0 and tuple(ops[index]) != tuple(arch):
        raise ProxynasError(f"{where}: index {index} is {arch} here but {tuple(ops[index])} in another file")
    if not np.isnan(columns[task]["val_score"][index]):
        raise ProxynasError(f"{where}: index {index} appears twice for task {task}")
    ops[index] = arch
    columns[task]["val_score"][index], columns[task]["zen"][index], columns[task]["zen_time"][index] = \
        score, zen, zen_time


def build_store(source: Path, path: Path | None = None) -> Path:
    """Convert the zip under the data folder `source` (or the zip itself) into the store at `path`."""
    path = Path(path) if path else paths.cache_dir() / STORE_FILE
    zip_path = Path(source) if Path(source).is_file() else Path(source) / SOURCE
    if not zip_path.is_file():
        raise ProxynasError(f"TransNAS-Bench-101 source {zip_path} not found")
    ops, columns = read_zip(zip_path)
    with atomic_h5(path) as h5:
        write_archs(h5, tnb101.SPACE, [tnb101.Arch(row) for row in ops])
        for task, values in columns.items():
            h5[f"{task}/val_score"] = values["val_score"]
            h5[f"precomputed/zen/{task}/zen/score"] = values["zen"]
            h5[f"precomputed/zen/{task}/zen/time"] = values["zen_time"]
        stamp(h5, FORMAT, SCHEMA_VERSION, zip_path)
    return path


class TNB101Bench(H5Benchmark):
    """TransNAS-Bench-101 micro: one validation score per task and cell (see `H5Benchmark`)."""

    format, schema_version, rebuild_hint = FORMAT, SCHEMA_VERSION, "deleting it (it is rebuilt on first use)"

    def __init__(self, path: Path):
        super().__init__(path, tnb101.SPACE)

    def source_column(self, task: str, metric: str) -> str:
        """The zip's field a stored column comes from: every task's `val_score` is its `val_accuracy` (which is
        an accuracy only on some tasks; what each measures is in `proxynas.tasks`)."""
        self._column(task, metric)  # an unknown task or metric is a clear error
        return SOURCE_FIELD


def open_bench(path: Path | None = None, source: Path | None = None) -> TNB101Bench:
    """Open the store, building it first from `source` (or the data folder) when it is missing."""
    return TNB101Bench.open_or_build(Path(path) if path else paths.cache_dir() / STORE_FILE, source, build_store,
                                     f"set PROXYNAS_DATA to the folder holding {SOURCE}")
