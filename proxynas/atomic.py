"""Atomic writes (HDF5 and text): readers see the old file or the complete new one, never a partial write,
even when several processes replace the same file (the last one wins)."""

from __future__ import annotations

import os
import shutil
import tempfile
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
