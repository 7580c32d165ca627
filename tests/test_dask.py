"""Scoring on a real local Dask cluster (2 worker processes): equal values, a killed worker, failures."""

import os
import signal

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from proxynas import proxies, scoring
from proxynas.cache import ScoreCache
from proxynas.cli import cli
from proxynas.data import BatchSpec
from proxynas.dask_executor import DaskExecutor, score_chunk
from proxynas.devices import torch_threads
from proxynas.spaces import nb201

distributed = pytest.importorskip("distributed")
SPEC = BatchSpec("cifar10", batch_size=8, seed=0)
PROXIES = "synflow,grad_norm,jacob_cov"


@pytest.fixture(scope="module")
def single_threaded_reference(tmp_path_factory):
    """The same cells scored in this process on one thread, as every worker scores."""
    with torch_threads(1):
        return scoring.score(nb201.sample(10, 4), proxies.parse_list(PROXIES), SPEC,
                             cache=ScoreCache(tmp_path_factory.mktemp("reference")))


def test_two_workers_give_the_single_process_values(tmp_path, single_threaded_reference):
    table = scoring.score(nb201.sample(10, 4), proxies.parse_list(PROXIES), SPEC, cache=ScoreCache(tmp_path),
                          executor=DaskExecutor(workers=2, chunk_size=3))
    assert table.computed_cells == single_threaded_reference.computed_cells > 0
    for name in table.scores:
        np.testing.assert_array_equal(table.scores[name], single_threaded_reference.scores[name])
    again = scoring.score(nb201.sample(10, 4), proxies.parse_list(PROXIES), SPEC, cache=ScoreCache(tmp_path))
    assert again.computed_cells == 0  # the driver wrote every value to the cache


def test_a_worker_killed_mid_run_loses_nothing_and_counts_nothing_twice(single_threaded_reference):
    archs = nb201.sample(10, 4)
    jobs = list({a.space.function_representative(a): proxies.parse_list(PROXIES) for a in archs}.items())
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    client = distributed.Client(cluster)
    executor = DaskExecutor(cluster.scheduler_address, chunk_size=1)
    try:
        seen = []
        for arch, results in executor.run(jobs, SPEC):
            if not seen:  # kill one worker process while the other chunks are queued or running
                pid = next(iter(client.run(os.getpid).values()))
                os.kill(pid, signal.SIGKILL)
            seen.append((arch, results))
    finally:
        client.close()
        cluster.close()
    assert sorted(a.code for a, _ in seen) == sorted(a.code for a, _ in jobs)  # each once
    row_of = {a.space.function_representative(a): row for row, a in enumerate(archs)}
    for arch, results in seen:
        for proxy, (value, reason) in results.items():
            assert reason == "" and value == single_threaded_reference.scores[proxy.name][row_of[arch]], proxy.name


def test_a_cell_that_fails_on_a_worker_is_nan_with_its_reason(monkeypatch):
    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)  # a worker's setting, not this process's
    good = nb201.sample(1, 0)[0]
    out = score_chunk([("nb201", good.code, ["synflow"]), ("nb201", 10 ** 9, ["synflow"])], SPEC)
    assert np.isfinite(out[0][2]["synflow"][0])
    value, reason = out[1][2]["synflow"]
    assert np.isnan(value) and reason.startswith("failed on a Dask worker")


def test_without_dask_a_cluster_request_is_one_line(monkeypatch, bench):
    monkeypatch.setitem(__import__("sys").modules, "distributed", None)
    result = CliRunner().invoke(cli, ["score", "--sample", "2", "--workers", "2", "--quiet"])
    assert result.exit_code == 2 and "needs dask: pip install 'proxynas[dask]'" in result.output
    both = CliRunner().invoke(cli, ["score", "--sample", "2", "--workers", "2", "--scheduler", "tcp://x:1"])
    assert both.exit_code == 2 and "not both" in both.output
