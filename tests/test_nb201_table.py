"""The whole-space table's chunks (benchmarks/nb201_table.py): a run stopped at its deadline keeps what it
scored, the next one finishes the chunk from there, and the chunk records its device and time."""

import importlib.util
import sys
import time
import types
from pathlib import Path

import numpy as np
import pytest

from proxynas import proxies, scoring
from proxynas.data import BatchSpec


@pytest.fixture
def table_script(tmp_path, monkeypatch):
    """The benchmark module, writing its chunks under tmp_path, with chunks of 4 cells saved 2 at a time."""
    path = Path(__file__).parents[1] / "benchmarks" / "nb201_table.py"
    spec = importlib.util.spec_from_file_location("nb201_table", path)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "nb201_table", module)  # its dataclass looks its module up there
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "TABLE", tmp_path / "nb201_table")
    monkeypatch.setattr(module, "CHUNK", 4)
    monkeypatch.setattr(module, "SLICE", 2)
    return module


def test_a_chunk_stopped_at_its_deadline_resumes_to_the_whole_chunk(table_script, table_archs, monkeypatch):
    archs = table_archs[:8]
    clock = iter([0.0, 100.0])  # the first slice starts before the deadline (50), the second after it
    monkeypatch.setattr(table_script, "time", types.SimpleNamespace(time=lambda: next(clock),
                                                                    perf_counter=time.perf_counter))
    table_script.score_chunk("cifar10", "counts", 1, archs, deadline=50.0)
    part = table_script.chunk_path("cifar10", "counts", 1).with_suffix(".part.npz")
    stopped = table_script.Chunk.load(part, ("params", "flops"))
    assert len(stopped.values["params"]) == 2 and stopped.devices == ["cpu"] and stopped.seconds > 0

    monkeypatch.setattr(table_script, "time", time)
    table_script.score_chunk("cifar10", "counts", 1, archs)  # no deadline
    assert not part.exists()
    done = table_script.Chunk.load(table_script.chunk_path("cifar10", "counts", 1), ("params", "flops"))
    fresh = scoring.score(archs[4:8], [proxies.get("params"), proxies.get("flops")],
                          BatchSpec("cifar10", batch_size=64, seed=0))
    for name in ("params", "flops"):
        np.testing.assert_array_equal(done.values[name], fresh.scores[name])
    assert done.seconds > stopped.seconds and done.devices == ["cpu"]
    rows, saved = table_script.saved_chunks("cifar10", "counts")
    assert rows.tolist() == [4, 5, 6, 7] and len(saved) == 1


def test_near_optimum_places_and_edits_of_the_cells_a_search_must_reach(table_script, monkeypatch):
    """Six cells of 2 ops: the prior's top cells (3 of them with WARM_START 3) against the two cells within 0.3
    of the optimum, one of which lies two edits from all of them; and the best cell one edit from them."""
    monkeypatch.setattr(table_script, "WARM_START", 3)
    ops = np.array([[0, 0], [0, 1], [1, 1], [2, 2], [2, 0], [3, 3]], dtype=np.int8)
    prior = np.array([6.0, 5.0, 4.0, 1.0, 2.0, 3.0])  # ranking: cells 0, 1, 2, 5, 4, 3
    val = np.array([90.0, 90.5, 89.0, 91.0, 90.8, 80.0])  # optimum 91.0 (cell 3); cell 4 within 0.3
    near = table_script.near_optimum(prior, val, ops)
    assert near["ranks"] == [5, 6]  # cell 4 at place 5, cell 3 at place 6
    assert near["edits_from_top_warm"] == [1, 2]  # cell 4 is one edit from cell 0; cell 3 two from all three
    assert near["top_k_regret"][10] == 0.0
    assert near["regret_one_edit_from_top_warm"] == pytest.approx(0.2)  # cell 4 (90.8), one edit from cell 0
