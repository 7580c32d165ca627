"""Score tables shipped with the package: a read-only layer under the score cache.

A shipped file holds whole-space columns of proxy scores, each under the exact cache key the engine would
write it with — the setting (space, network convention, a digest of the input batch, batch size, seed; see
`scoring.setting_key`) and the proxy's versioned key. The engine reads a column only when both keys are
the ones it would compute under, so shipped values stand in for computation only where the settings
match; a changed batch, seed or proxy version simply misses and is computed. Layout, one group per column
under `columns/` with attributes `setting` and `proxy`: `values` indexed by arch code (float64), `covered`
(which codes were scored, packed bits), `failed` and `reasons` (the codes whose value is NaN, and why).
An unreadable file is logged and ignored: the engine then computes what it would have read.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from proxynas.atomic import atomic_h5

log = logging.getLogger(__name__)
TABLES = Path(__file__).resolve().parent / "tables"
# How closely a re-scored cell must match its shipped value (relative). Float rounding differs with the thread
# count, and the table's chunks were scored at one or two threads: gradsign, which counts the signs of
# per-sample gradients, moves by up to about 2e-4 between them, and az_trainability (the top singular value of
# a gradient map) by 1.2e-3 on CIFAR-100 cell 10893 (-0.50038 at 1 thread, -0.50097 at 2, -0.50051 at 4).
# epe_nas moves more on some cells (CIFAR-10 cell code 9952: 1665.9 at 1 thread, 1648.2 at 2, 1.1%), so a
# re-score is compared at one thread, as the chunks were scored. A changed definition moves far more.
REPRODUCED_TO = 2e-3


@dataclass(frozen=True)
class Column:
    """One proxy's scores under one setting, indexed by arch code; `covered` marks the codes scored."""

    setting: str
    proxy: str
    values: np.ndarray
    covered: np.ndarray
    failures: dict[int, str]


class ShippedScores:
    """The columns of one shipped file, looked up by (setting, proxy key, arch code)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.meta: dict = {}
        self.columns: dict[tuple[str, str], Column] = {}
        try:
            with h5py.File(self.path, "r", locking=False) as h5:
                self.meta = json.loads(h5.attrs["meta"])
                for group in h5["columns"].values():
                    values = group["values"][:]
                    covered = np.unpackbits(group["covered"][:], count=len(values)).astype(bool)
                    failures = dict(zip(group["failed"][:].tolist(), group["reasons"].asstr()[:]))
                    column = Column(group.attrs["setting"], group.attrs["proxy"], values, covered, failures)
                    self.columns[(column.setting, column.proxy)] = column
        except (OSError, KeyError, TypeError, ValueError) as exc:
            log.warning("shipped score table %s is unreadable (%s); its scores will be computed instead",
                        self.path, exc or type(exc).__name__)
            self.meta, self.columns = {}, {}

    def get(self, setting: str, proxy: str, code: int) -> tuple[float, str] | None:
        """(score, failure reason or "") if this file scored `code` under exactly these keys."""
        column = self.columns.get((setting, proxy))
        if column is None or not 0 <= code < len(column.values) or not column.covered[code]:
            return None
        return float(column.values[code]), column.failures.get(code, "")

    def describe(self) -> dict:
        """The file's provenance and, per column, how many cells it covers and how many failed."""
        return {"path": str(self.path), "bytes": self.path.stat().st_size if self.path.exists() else 0,
                "meta": self.meta,
                "columns": [{"setting": c.setting, "proxy": c.proxy, "cells": int(c.covered.sum()),
                             "failed": len(c.failures)} for c in self.columns.values()]}


def write(path: Path, columns: Iterable[Column], meta: dict) -> None:
    """Write `columns` and the settings that produced them (`meta`, JSON) as one shipped file, atomically."""
    with atomic_h5(path) as h5:
        h5.attrs["meta"] = json.dumps(meta, sort_keys=True)
        folder = h5.create_group("columns")
        for number, column in enumerate(columns):
            group = folder.create_group(f"{number:03d}")
            group.attrs["setting"], group.attrs["proxy"] = column.setting, column.proxy
            group.create_dataset("values", data=np.asarray(column.values, dtype=np.float64), compression="gzip",
                                 compression_opts=9, shuffle=True)
            group["covered"] = np.packbits(np.asarray(column.covered, dtype=bool))
            failed = sorted(column.failures)
            group["failed"] = np.array(failed, dtype=np.int64)
            group.create_dataset("reasons", data=[column.failures[c] for c in failed], dtype=h5py.string_dtype())
    Path(path).chmod(0o644)  # package data: readable by every user of an installation


def load_all(folder: Path = TABLES) -> list[ShippedScores]:
    """Every shipped file in the package (in name order)."""
    return [ShippedScores(path) for path in sorted(Path(folder).glob("*.h5"))]
