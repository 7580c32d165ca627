"""Which architectures a command works on: tokens the user gave, a seeded sample, or the whole space."""

from __future__ import annotations

from collections.abc import Iterable

from proxynas.errors import ProxynasError
from proxynas.spaces.base import get_space


def select_archs(space: str, bench, tokens: Iterable[str] | None = None, sample: int | None = None,
                 all_archs: bool = False, seed: int = 0) -> list:
    """Exactly one of: `tokens` (anything the benchmark's index resolves: an index or the space's grammars),
    `sample` architectures drawn with `seed`, or `all_archs` in the benchmark's index order."""
    if sum((tokens is not None, sample is not None, bool(all_archs))) != 1:
        raise ProxynasError("choose exactly one of --archs FILE, --sample N or --all")
    if tokens is not None:
        archs = [bench.index.resolve(t) for t in tokens if t.strip()]
        if not archs:
            raise ProxynasError("no architectures given")
        return archs
    if sample is not None:
        if sample < 1:
            raise ProxynasError(f"a sample needs at least 1 architecture, not {sample}")
        return get_space(space).sample(sample, seed)
    return [bench.index.arch_at(i) for i in range(get_space(space).size)]
