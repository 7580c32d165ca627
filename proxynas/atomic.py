"""Atomic writes (HDF5 and text): readers see the old file or the complete new one, never a partial write,
even when several processes replace the same file (the last one wins)."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

import h5py


@contextmanager
def _replacing(path: Path):
    """Yield the name of a new temporary file beside `path` that replaces `path` if the block completes and
    is removed otherwise."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


@contextmanager
def atomic_h5(path: Path, copy_from: Path | None = None):
    """Yield an HDF5 file open for writing that replaces `path` (fsynced) only if the block completes."""
    with _replacing(path) as tmp:
        if copy_from is not None:
            shutil.copyfile(copy_from, tmp)
        with h5py.File(tmp, "a" if copy_from else "w") as handle:
            yield handle
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())


def write_text_atomic(path: Path, text: str) -> None:
    """Replace `path` with `text` through a uniquely named temporary file beside it (readable by all, as a
    plain write would leave it; mkstemp's file is the owner's only)."""
    with _replacing(path) as tmp:
        with open(tmp, "w") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)


def update_json(path: Path, change: Callable[[dict], None], empty: Callable[[], dict] = dict,
                indent: int | None = 2) -> dict:
    """Apply `change` to the JSON object at `path` (`empty()` if there is none yet), read afresh under an
    exclusive lock on `<path>.lock`, and replace the file atomically: several processes may merge their parts
    into one results file, and each keeps the others'. Returns the merged object."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = json.loads(path.read_text()) if path.exists() else empty()
        change(result)
        write_text_atomic(path, json.dumps(result, indent=indent) + "\n")
    return result
