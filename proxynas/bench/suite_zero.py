"""NAS-Bench-Suite-Zero's zero-cost score files as a precomputed-score source, for NB201 and TransNAS.

Format: {task: {"(op tuple)": {"idx", "arch", "val_accuracy", <proxy>: {"score", "time"}}}}, optionally
wrapped in {"nasbench201": ...} or {"transbench101_micro": ...}. NB201's tuples are in NASLib's op order
(`zc_nasbench201.json`; tasks cifar10, cifar100, ImageNet16-120), TransNAS-Bench-101's are the official
cell code (`zc_transbench101_micro.json`; its seven task names).
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np

from proxynas.atomic import atomic_h5
from proxynas.bench.h5store import seal
from proxynas.errors import ProxynasError
from proxynas.spaces.cell import IndexMap
from proxynas.tasks import TNB101_SCORES, get_task

NON_PROXY_KEYS = {"idx", "arch", "val_accuracy", "id"}
# A source or proxy name becomes one HDF5 group level: no '/', no '..', not empty.
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
OUR_NAMES = {"jacov": "jacob_cov"}  # Suite-Zero's proxy names that differ from ours


def their_name(ours: str) -> str:
    """Suite-Zero's name for one of our proxies (the inverse of OUR_NAMES)."""
    return next((theirs for theirs, name in OUR_NAMES.items() if name == ours), ours)


def _formats() -> dict:
    """Per space: (the file's wrapper key, how it writes a cell, the tasks it may hold)."""
    from proxynas.bench.nb201_store import DATASETS
    from proxynas.spaces import nb201, tnb101

    return {"nb201": ("nasbench201", nb201.parse_naslib_tuple, DATASETS),
            "tnb101": ("transbench101_micro", tnb101.SPACE.parse, tuple(TNB101_SCORES))}


def read_suite_zero(path: Path, index: IndexMap) -> dict[str, dict[str, dict[str, np.ndarray]]]:
    """task -> proxy -> {"score", "time"} arrays over all cells of `index`'s space in index order (NaN where absent)."""
    formats = _formats()
    if index.space.name not in formats:
        raise ProxynasError(f"Suite-Zero files are read for {', '.join(formats)}, not {index.space.name}")
    wrapper, parse_cell, tasks = formats[index.space.name]
    try:
        with open(path) as handle:
            data = json.load(handle)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProxynasError(f"cannot read Suite-Zero file {path}: {exc}") from exc
    if isinstance(data, dict) and set(data) == {wrapper}:
        data = data[wrapper]
    if not isinstance(data, dict) or not data:
        raise ProxynasError(f"{path} is not a Suite-Zero {index.space.name} file: expected {{task: {{cell: scores}}}}")

    size = index.space.size
    result: dict[str, dict[str, dict[str, np.ndarray]]] = {}
    for task_key, entries in data.items():
        task = get_task(task_key).name
        if task not in tasks:
            raise ProxynasError(f"{path}: {task_key!r} is not a task of {index.space.name}; valid: {', '.join(tasks)}")
        if not isinstance(entries, dict):
            raise ProxynasError(f"{path}: task {task_key!r} does not map architectures to scores")
        arrays: dict[str, dict[str, np.ndarray]] = {}
        for arch_key, entry in entries.items():
            if not isinstance(entry, dict):
                raise ProxynasError(f"{path}: task {task_key!r}, {arch_key}: expected {{proxy: {{'score', 'time'}}}}, "
                                    f"got a {type(entry).__name__}")
            try:
                row = index.index_of(parse_cell(arch_key))
            except ProxynasError as exc:
                raise ProxynasError(f"{path}: task {task_key!r}: {exc}") from exc
            for proxy, value in entry.items():
                if proxy in NON_PROXY_KEYS:
                    continue
                if not NAME.fullmatch(proxy) or ".." in proxy:
                    raise ProxynasError(f"{path}: {task_key} {arch_key}: {proxy!r} is not a usable proxy name "
                                        "(letters, digits, '_', '.', '-')")
                if not isinstance(value, dict) or "score" not in value:
                    raise ProxynasError(f"{path}: {task_key} {arch_key} {proxy}: expected {{'score', 'time'}}")
                slot = arrays.setdefault(proxy, {"score": np.full(size, np.nan), "time": np.full(size, np.nan)})
                slot["score"][row] = _number(value["score"])
                slot["time"][row] = _number(value.get("time"))
        result[task] = arrays
    return result


def _number(value) -> float:
    """A JSON score as float; null or a non-number becomes NaN (reported as missing, never a sentinel)."""
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def import_suite_zero(store_path: Path, json_path: Path, index: IndexMap, name: str = "suite_zero") -> dict:
    """Add (or replace) precomputed source `name` in the store; returns archs scored per task."""
    if not NAME.fullmatch(name) or ".." in name:
        raise ProxynasError(f"{name!r} is not a usable source name: 1-64 letters, digits, '_', '.', '-', "
                            "starting with a letter or digit")
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
        seal(group)
    return {ds: int(np.any([~np.isnan(a["score"]) for a in p.values()], axis=0).sum()) if p else 0
            for ds, p in scores.items()}
