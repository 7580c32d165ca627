"""Where proxynas finds benchmark source data and keeps the files it builds."""

from __future__ import annotations

import os
from pathlib import Path

_PROJECT_ROOT = Path(__file__).resolve().parents[1]


def data_dir() -> Path | None:
    """Source data: `$PROXYNAS_DATA`, else `../shared/data` beside a source checkout; None if neither."""
    if os.environ.get("PROXYNAS_DATA"):
        return Path(os.environ["PROXYNAS_DATA"]).expanduser()
    candidate = _PROJECT_ROOT.parent / "shared" / "data"
    return candidate if candidate.is_dir() else None


def cache_dir() -> Path:
    """Built files: `$PROXYNAS_CACHE`, else `cache/` in a source checkout, else `~/.cache/proxynas`."""
    if os.environ.get("PROXYNAS_CACHE"):
        path = Path(os.environ["PROXYNAS_CACHE"]).expanduser()
    elif (_PROJECT_ROOT / "pyproject.toml").is_file():
        path = _PROJECT_ROOT / "cache"
    else:
        path = Path.home() / ".cache" / "proxynas"
    path.mkdir(parents=True, exist_ok=True)
    return path
