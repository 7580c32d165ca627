"""Scoring on a Dask cluster: an existing one (`address`) or a local one of single-threaded worker processes.

Jobs travel in chunks of representative cells, named by space and code, with their proxies by name.
A worker rebuilds the input batch from its `BatchSpec` (seeded, so every worker sees the batch and
weights a local run sees), scores the chunk on one thread and returns plain values; the driver's
engine alone writes the cache and the progress bar. Faults: a worker that dies mid-chunk has its chunk
re-run elsewhere by the scheduler (each chunk's result arrives once, so nothing is lost or counted
twice); a cell whose scoring raises is NaN with the reason, and the run goes on.

Workers know the built-in spaces and proxies (and any registered by modules they import); a space or
proxy registered only in the driver's session cannot be scored on a cluster.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence

from proxynas.data import BatchSpec
from proxynas.errors import ProxynasError

DEFAULT_CHUNK = 4  # cells per task: overhead under 5% of the work (benchmarks/results/dask_scoring.md)
# What local workers start with: one thread for every math library, as Dask sets, but not Dask's
# MALLOC_TRIM_THRESHOLD_=65536, which turns PyTorch's large tensor allocations into mmap/munmap pairs:
# each cell then took 1.7x as long on a worker as in a plain process on this machine.
WORKER_ENVIRONMENT = {"OMP_NUM_THREADS": 1, "MKL_NUM_THREADS": 1, "OPENBLAS_NUM_THREADS": 1}


def _distributed():
    try:
        import distributed
    except ImportError:
        raise ProxynasError("scoring on a Dask cluster needs dask: pip install 'proxynas[dask]'") from None
    return distributed


class DaskExecutor:
    """Runs chunks of jobs on the Dask scheduler at `address`, or on a local cluster of `workers`
    single-threaded processes that it starts for the run and stops after."""

    def __init__(self, address: str | None = None, workers: int | None = None, chunk_size: int = DEFAULT_CHUNK):
        if (address is None) == (workers is None):
            raise ProxynasError("give a Dask scheduler address or a number of local workers, not both or neither")
        if workers is not None and workers < 1:
            raise ProxynasError(f"a local cluster needs at least 1 worker, not {workers}")
        if chunk_size < 1:
            raise ProxynasError(f"a chunk holds at least 1 cell, not {chunk_size}")
        self.address, self.workers, self.chunk_size = address, workers, chunk_size
        self._distributed = _distributed()

    def run(self, jobs: Sequence[tuple], spec: BatchSpec) -> Iterator[tuple]:
        """(arch, {proxy: (value, failure reason)}) per job, in the order chunks finish."""
        distributed = self._distributed
        arch_of = {(a.space.name, a.code): a for a, _ in jobs}
        chunks = [[(a.space.name, a.code, [p.name for p in ps]) for a, ps in jobs[i:i + self.chunk_size]]
                  for i in range(0, len(jobs), self.chunk_size)]
        by_name = {p.name: p for _, ps in jobs for p in ps}
        with self._client() as client:
            futures = [client.submit(score_chunk, chunk, spec, pure=False) for chunk in chunks]
            for future in distributed.as_completed(futures):
                for space, code, results in future.result():
                    yield arch_of[(space, code)], {by_name[n]: value for n, value in results.items()}

    def _client(self):
        distributed = self._distributed
        if self.address is not None:
            try:
                return distributed.Client(self.address, timeout=30)
            except OSError as exc:
                raise ProxynasError(f"cannot reach the Dask scheduler at {self.address}: {exc}") from None
        import dask

        with dask.config.set({"distributed.nanny.pre-spawn-environ": WORKER_ENVIRONMENT}):
            cluster = distributed.LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                                               dashboard_address=None)
        return _ClusterClient(cluster, distributed.Client(cluster))


class _ClusterClient:
    """A client whose local cluster is closed with it."""

    def __init__(self, cluster, client):
        self.cluster, self.client = cluster, client

    def __enter__(self):
        return self.client

    def __exit__(self, *exc):
        self.client.close()
        self.cluster.close()


def score_chunk(chunk: list[tuple[str, int, list[str]]], spec: BatchSpec) -> list[tuple]:
    """On a worker: (space, code, {proxy: (value, reason)}) for each cell of the chunk, on one CPU thread."""
    import torch

    from proxynas import jobs as job
    from proxynas import proxies as registry
    from proxynas.spaces.base import get_space

    torch.set_num_threads(1)
    try:
        inputs, labels = _batch(spec)
    except Exception as exc:  # e.g. the image file is missing on this worker: every cell says so
        reason = f"no input batch on a Dask worker: {type(exc).__name__}: {exc}"
        return [(space, code, {n: (float("nan"), reason) for n in names}) for space, code, names in chunk]
    out = []
    for space, code, names in chunk:
        chosen = [registry.get(n) for n in names]
        try:
            results = job.evaluate(get_space(space).Arch.from_code(code), chosen, spec, inputs, labels)
            out.append((space, code, {p.name: value for p, value in results.items()}))
        except Exception as exc:  # one cell's failure must not stop the run: NaN with its reason
            reason = f"failed on a Dask worker: {type(exc).__name__}: {exc}"
            out.append((space, code, {n: (float("nan"), reason) for n in names}))
    return out


@functools.lru_cache(maxsize=4)
def _batch(spec: BatchSpec):
    """The batch of `spec`, built once per worker process."""
    from proxynas import jobs as job

    return job.device_batch(spec, "cpu")
