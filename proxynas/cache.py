"""The score cache: HDF5 segment files under cache/scores/, each written whole and renamed into place.

Why segments: a process killed at any moment (kill -9) can only lose rows it had not yet
flushed, because a segment becomes visible by an atomic rename after it is complete; two
processes never write the same file, so concurrent scoring cannot corrupt anything. Reading
merges all segments. Compaction merges them into one under an exclusive lock that readers
share, and deletes the merged inputs only after the merged file is in place.

A row is keyed by (setting, proxy key, arch code): the setting names everything about the
input and network that changes a value (see `scoring.setting_key`), the proxy key carries its
implementation version, and the arch code is the cell's (or, for function-only proxies, its
function class representative's) `Arch.code`. Below the segments, read-only, lie the score tables
shipped with the package (`shipped.py`): the default cache answers from them where its own rows do not.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
import uuid
from contextlib import contextmanager
from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np

from proxynas import paths, shipped
from proxynas.atomic import atomic_h5

log = logging.getLogger(__name__)
STRING = h5py.string_dtype()
COMPACT_AT = 32  # segments


class ScoreCache:
    def __init__(self, root: Path, tables: Sequence[shipped.ShippedScores] = ()):
        self.root = Path(root)
        self.tables = tuple(tables)
        self.root.mkdir(parents=True, exist_ok=True)
        self._entries: dict[tuple[str, str], dict[int, tuple[float, str]]] = {}
        self._pending: list[tuple[str, str, int, float, str]] = []
        self.load()

    @contextmanager
    def _lock(self, mode: int):
        """Hold the cache's lock file in `mode`; yields False if LOCK_NB was given and it is taken."""
        with open(self.root / ".lock", "a") as handle:
            try:
                fcntl.flock(handle, mode)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def segments(self) -> list[Path]:
        return sorted(self.root.glob("seg-*.h5"))

    def load(self) -> None:
        """(Re)read every segment; an unreadable or malformed one is quarantined, never fatal."""
        with self._lock(fcntl.LOCK_SH):
            for path in self.segments():
                rows = self._readable(path)
                for setting, proxy, code, score, reason in rows or ():
                    self._entries.setdefault((setting, proxy), {})[code] = (score, reason)

    def _readable(self, path: Path) -> list | None:
        """The rows of segment `path`; None if it cannot be read, after moving it to `quarantine/` (logged
        once) so that it is neither read again nor lost to a compaction."""
        try:
            return _read_segment(path)
        except MalformedSegment as exc:
            aside = self.root / "quarantine" / path.name
            aside.parent.mkdir(exist_ok=True)
            try:
                path.rename(aside)
            except FileNotFoundError:  # another process moved it first
                return None
            log.warning("score cache segment %s is unreadable (%s); moved it to %s", path.name, exc, aside)
            return None

    def get(self, setting: str, proxy: str, code: int) -> tuple[float, str] | None:
        """(score, failure reason or "") if cached here or in a shipped table."""
        found = self._entries.get((setting, proxy), {}).get(code)
        for table in self.tables:
            if found is None:
                found = table.get(setting, proxy, code)
        return found

    def put(self, setting: str, proxy: str, code: int, score: float, reason: str = "") -> None:
        self._entries.setdefault((setting, proxy), {})[code] = (score, reason)
        self._pending.append((setting, proxy, code, score, reason))

    def flush(self) -> None:
        """Write the rows put since the last flush as one new segment (atomically)."""
        if not self._pending:
            return
        name = f"seg-{time.time_ns()}-{os.getpid()}-{uuid.uuid4().hex[:8]}.h5"
        _write_segment(self.root / name, self._pending)
        self._pending = []

    def compact(self, min_segments: int = COMPACT_AT) -> bool:
        """Merge all segments into one if there are at least `min_segments`; skip if others hold the lock."""
        with self._lock(fcntl.LOCK_EX | fcntl.LOCK_NB) as locked:
            inputs = self.segments() if locked else []
            if len(inputs) < min_segments:
                return False
            merged: dict[tuple[str, str, int], tuple[float, str]] = {}
            read = []
            for path in inputs:
                rows = self._readable(path)
                if rows is not None:
                    merged.update({(s, p, c): (v, r) for s, p, c, v, r in rows})
                    read.append(path)
            name = f"seg-{time.time_ns()}-{os.getpid()}-merged.h5"
            if merged:
                _write_segment(self.root / name, [(*k, *v) for k, v in merged.items()])
            for path in read:
                path.unlink(missing_ok=True)
            for stale in self.root.glob("*.tmp"):
                if time.time() - stale.stat().st_mtime > 3600:  # left by a killed writer
                    stale.unlink(missing_ok=True)
            return True


def default_cache() -> ScoreCache:
    """The cache under cache/scores, over the package's shipped score tables."""
    return ScoreCache(paths.cache_dir() / "scores", shipped.load_all())


def _write_segment(path: Path, rows: list[tuple[str, str, int, float, str]]) -> None:
    settings, proxies, codes, scores, reasons = zip(*rows)
    with atomic_h5(path) as h5:
        for name, values in (("setting", settings), ("proxy", proxies), ("reason", reasons)):
            h5.create_dataset(name, data=list(values), dtype=STRING)
        h5["arch"] = np.array(codes, dtype=np.int32)
        h5["score"] = np.array(scores, dtype=np.float64)


class MalformedSegment(Exception):
    """A segment file that is not a readable segment (truncated, not HDF5, or another layout)."""


def _read_segment(path: Path) -> list[tuple[str, str, int, float, str]]:
    try:
        with h5py.File(path, "r", locking=False) as h5:
            columns = [h5["setting"].asstr()[:], h5["proxy"].asstr()[:], h5["arch"][:], h5["score"][:],
                       h5["reason"].asstr()[:]]
    except (OSError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise MalformedSegment(str(exc) or type(exc).__name__) from exc
    if len({len(c) for c in columns}) != 1 or any(c.ndim != 1 for c in columns):
        raise MalformedSegment("its columns differ in length or shape")
    if columns[2].dtype.kind not in "iu" or columns[3].dtype.kind != "f":
        raise MalformedSegment(f"arch codes are {columns[2].dtype}, scores {columns[3].dtype}")
    return [(s, p, int(c), float(v), r) for s, p, c, v, r in zip(*columns)]
