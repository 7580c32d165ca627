"""NAS-Bench-Suite-Zero's zero-cost score files (`zc_nasbench201.json`) as a precomputed-score source.

Format: {dataset: {"(naslib op tuple)": {"idx", "arch", "val_accuracy", <proxy>: {"score", "time"}}}},
optionally wrapped in {"nasbench201": ...}. Dataset keys: cifar10, cifar100, ImageNet16-120.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from proxynas.atomic import atomic_h5
from proxynas.bench.nb201_store import dataset_name
from proxynas.errors import ProxynasError
from proxynas.spaces import nb201
from proxynas.spaces.cell import IndexMap

NON_PROXY_KEYS = {"idx", "arch", "val_accuracy", "id"}
OUR_NAMES = {"jacov": "jacob_cov"}  # Suite-Zero's proxy names that differ from ours


def read_suite_zero(path: Path, index: IndexMap) -> dict[str, dict[str, dict[str, np.ndarray]]]:
    """dataset -> proxy -> {"score", "time"} arrays over all cells in index order (NaN where absent)."""
    try:
        with open(path) as handle:
            data = json.load(handle)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProxynasError(f"cannot read Suite-Zero file {path}: {exc}") from exc
    if isinstance(data, dict) and set(data) == {"nasbench201"}:
        data = data["nasbench201"]
    if not isinstance(data, dict) or not data:
        raise ProxynasError(f"{path} is not a Suite-Zero NB201 file: expected {{dataset: {{arch: scores}}}}")

    result: dict[str, dict[str, dict[str, np.ndarray]]] = {}
    for ds_key, entries in data.items():
        dataset = dataset_name(ds_key)
        if not isinstance(entries, dict):
            raise ProxynasError(f"{path}: dataset {ds_key!r} does not map architectures to scores")
        arrays: dict[str, dict[str, np.ndarray]] = {}
        for arch_key, entry in entries.items():
            try:
                row = index.index_of(nb201.parse_naslib_tuple(arch_key))
            except ProxynasError as exc:
                raise ProxynasError(f"{path}: dataset {ds_key!r}: {exc}") from exc
            for proxy, value in entry.items():
                if proxy in NON_PROXY_KEYS:
                    continue
                if not isinstance(value, dict) or "score" not in value:
                    raise ProxynasError(f"{path}: {ds_key} {arch_key} {proxy}: expected {{'score', 'time'}}")
                slot = arrays.setdefault(proxy, {"score": np.full(nb201.NUM_ARCHS, np.nan),
                                                 "time": np.full(nb201.NUM_ARCHS, np.nan)})
                slot["score"][row] = _number(value["score"])
                slot["time"][row] = _number(value.get("time"))
        result[dataset] = arrays
    return result


def _number(value) -> float:
    """A JSON score as float; null or a non-number becomes NaN (reported as missing, never a sentinel)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def import_suite_zero(store_path: Path, json_path: Path, index: IndexMap, name: str = "suite_zero") -> dict:
    """Add (or replace) precomputed source `name` in the store; returns archs scored per dataset."""
    scores = read_suite_zero(Path(json_path), index)
    with atomic_h5(Path(store_path), copy_from=Path(store_path)) as h5:
        key = f"precomputed/{name}"
        if key in h5:
            del h5[key]
        group = h5.require_group(key)
        group.attrs["file"] = str(Path(json_path).resolve())
        for dataset, proxies in scores.items():
            for proxy, arrays in proxies.items():
                for field, values in arrays.items():
                    group[f"{dataset}/{proxy}/{field}"] = values
    return {ds: int(np.any([~np.isnan(a["score"]) for a in p.values()], axis=0).sum()) if p else 0
            for ds, p in scores.items()}
