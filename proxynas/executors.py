"""Where scoring jobs run. An executor takes the planned jobs (a cell and the proxies it still needs) and
yields each job's results as it finishes; the engine's driver alone writes the cache and reports progress."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from proxynas.data import BatchSpec


class InProcessExecutor:
    """Runs the jobs one after another in this process on `device`, building the input batch once."""

    def __init__(self, device: str = "cpu"):
        self.device = device

    def run(self, jobs: Sequence[tuple], spec: BatchSpec) -> Iterator[tuple]:
        """(arch, {proxy: (value, failure reason)}) per job, in job order."""
        from proxynas import jobs as job

        inputs, labels = job.device_batch(spec, self.device)
        for arch, proxies in jobs:
            yield arch, job.evaluate(arch, proxies, spec, inputs, labels)
