"""A tabular benchmark kept in one HDF5 store file, as every built-in benchmark is.

Layout: attrs `format`, `schema_version`, `source`, `built_utc`; `archs/ops` (cells, edges) op ids in
the benchmark's index order and `archs/class_<form>` per canonical form; `<task>/<metric>` one value
per cell; `precomputed/<source>/<task>/<proxy>/{score,time}` imported proxy scores (NaN where absent).
Every dataset carries a `crc32` attribute of its bytes, checked whenever it is read: a damaged file is
one clear error, never wrong numbers. Columns are read on first use, so opening takes milliseconds.
"""

from __future__ import annotations

import datetime
import zlib
from pathlib import Path

import h5py
import numpy as np

from proxynas import __version__, paths
from proxynas.bench.base import TabularBenchmark
from proxynas.errors import ProxynasError
from proxynas.spaces.cell import IndexMap
from proxynas.tasks import get_task


def stamp(h5: h5py.File, format: str, schema_version: int, source: Path) -> None:
    """The attributes every store carries (what it is, where and when it was built from) and the checksum
    of every dataset in it; called last when a store is built."""
    h5.attrs.update(format=format, schema_version=schema_version, source=str(Path(source).resolve()),
                    proxynas_version=__version__,
                    built_utc=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))
    seal(h5)


def seal(group: h5py.Group) -> None:
    """Record the checksum of every dataset under `group` (after it is written)."""
    group.visititems(lambda _, item: item.attrs.__setitem__("crc32", _checksum(item[()]))
                     if isinstance(item, h5py.Dataset) else None)


def _checksum(values: np.ndarray) -> int:
    return zlib.crc32(np.ascontiguousarray(values).tobytes())


def write_archs(h5: h5py.File, space, archs) -> None:
    """archs/ops and one archs/class_<form> per canonical form of `space`, in index order."""
    group = h5.require_group("archs")
    group["ops"] = np.array(archs, dtype=np.uint8)
    for form in space.canonical_forms:
        group[f"class_{form}"] = space.class_ids(archs, form)


class H5Benchmark(TabularBenchmark):
    format: str  # the store's `format` attribute
    schema_version: int
    rebuild_hint: str  # the command that rebuilds the store

    def __init__(self, path: Path, space):
        self.path = Path(path)
        try:
            with h5py.File(self.path, "r", locking=False) as h5:
                if h5.attrs.get("format") != self.format or h5.attrs.get("schema_version") != self.schema_version:
                    raise ProxynasError(f"{self.path} is not a {self.format} store of schema {self.schema_version}; "
                                        f"rebuild it with `{self.rebuild_hint}`")
                self.attrs = dict(h5.attrs)
                self.ops = self._checked(h5, "archs/ops")
                self.class_ids = {form: self._checked(h5, f"archs/class_{form}") for form in space.canonical_forms}
                tasks = [name for name in h5 if name not in ("archs", "precomputed")]
                metric_names = tuple(h5[tasks[0]].keys())
                self._check_layout(h5, space, tasks, metric_names)
                self.precomputed_sources = tuple(h5["precomputed"].keys()) if "precomputed" in h5 else ()
        except (OSError, KeyError, IndexError) as exc:
            raise ProxynasError(f"cannot read the benchmark store {self.path} ({exc}); rebuild it with "
                                f"`{self.rebuild_hint}`") from exc
        super().__init__(IndexMap(space, self.ops), tasks, metric_names)

    def _damaged(self, what: str) -> ProxynasError:
        return ProxynasError(f"the benchmark store {self.path} is damaged ({what}): rebuild it with `{self.rebuild_hint}`")

    def _checked(self, h5: h5py.File, key: str) -> np.ndarray:
        """Dataset `key`, verified against the checksum recorded when it was written."""
        if key not in h5 or not isinstance(h5[key], h5py.Dataset):
            raise self._damaged(f"{key} is missing")
        values = h5[key][()]
        if h5[key].attrs.get("crc32") != _checksum(values):
            raise self._damaged(f"{key} fails its checksum")
        return values

    def _check_layout(self, h5: h5py.File, space, tasks: list[str], metric_names: tuple[str, ...]) -> None:
        """Every task holds the same metrics, each one number per cell; the cells are the space's."""
        if self.ops.shape != (space.size, len(space.edges)):
            raise self._damaged(f"archs/ops has shape {self.ops.shape}")
        for task in tasks:
            if tuple(h5[task].keys()) != metric_names:
                raise self._damaged(f"task {task} has metrics {', '.join(h5[task].keys())}, not {', '.join(metric_names)}")
            for metric in metric_names:
                column = h5[f"{task}/{metric}"]
                if not isinstance(column, h5py.Dataset) or column.shape != (space.size,) or column.dtype.kind not in "fiu":
                    raise self._damaged(f"{task}/{metric} is not {space.size} numbers")

    @classmethod
    def open_or_build(cls, path: Path, source: Path | None, build, missing: str):
        """The store at `path`, first built by `build(source, path)` from `source` (or the data folder) when it
        does not exist; `missing` says what to do when neither is there."""
        if not path.exists():
            source = source or paths.data_dir()
            if source is None:
                raise ProxynasError(f"the benchmark store {path} is not built and no source data was found: {missing}")
            build(source, path)
        return cls(path)

    def arch_record(self, arch, task: str) -> dict:
        """One cell's index, canonical classes and (counted) benchmark metrics, as plain values."""
        index = self.index.index_of(arch)
        return {"index": index, "arch": str(arch),
                **{f"class_{form}": int(ids[index]) for form, ids in self.class_ids.items()},
                "metrics": self.query(arch, task)}

    def _read(self, key: str) -> np.ndarray:
        with h5py.File(self.path, "r", locking=False) as h5:
            if key not in h5:
                raise ProxynasError(f"{self.path} has no {key!r}")
            return self._checked(h5, key)

    def _load(self, task: str, metric: str) -> np.ndarray:
        return self._read(f"{task}/{metric}")

    def precomputed(self, source: str, task: str, proxy: str) -> np.ndarray:
        """Imported proxy scores for all cells in index order; NaN where the source has none."""
        self._require_source(source)
        return self._read(f"precomputed/{source}/{self.task_name(task)}/{proxy}/score")

    def _require_source(self, source: str) -> None:
        if source not in self.precomputed_sources:
            raise ProxynasError(
                f"no precomputed scores named {source!r} in {self.path}; imported: "
                f"{', '.join(self.precomputed_sources) or 'none'} (see `proxynas data import-zc`)"
            )

    def precomputed_proxies(self, source: str, task: str) -> tuple[str, ...]:
        """The proxies imported source `source` holds for `task`."""
        self._require_source(source)
        with h5py.File(self.path, "r", locking=False) as h5:
            group = h5.get(f"precomputed/{source}/{self.task_name(task)}")
            return tuple(group.keys()) if group is not None else ()

    def describe(self) -> dict:
        """What the store holds: provenance, counts, classes, the best cell per task, precomputed sources."""
        tasks = {}
        for task in self.tasks:
            metric = get_task(task).report_metric.name
            arch, value = self.best(task, metric)
            tasks[task] = {"records": int(np.isfinite(self.column(task, metric)).sum()), "metric": metric,
                           "best_index": self.index.index_of(arch), "best_value": value, "best_arch": str(arch)}
        precomputed = {}
        for source in self.precomputed_sources:
            precomputed[source] = {}
            for task in self.tasks:
                proxies = self.precomputed_proxies(source, task)
                if proxies:
                    scored = np.any([~np.isnan(self.precomputed(source, task, p)) for p in proxies], axis=0)
                    precomputed[source][task] = {"archs": int(scored.sum()), "proxies": list(proxies)}
        return {"space": self.space.name, "path": str(self.path), "built_utc": self.attrs["built_utc"],
                "source": self.attrs["source"], "archs": int(len(self.ops)),
                "classes": {form: int(ids.max()) + 1 for form, ids in self.class_ids.items()},
                "metrics": list(self.metric_names), "datasets": tasks, "precomputed": precomputed}

