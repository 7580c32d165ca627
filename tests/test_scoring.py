"""The scoring engine: dedup, determinism, OOM splitting, and the cache under kill -9 and concurrency."""

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

from proxynas import proxies, scoring
from proxynas.cache import ScoreCache
from proxynas.data import BatchSpec
from proxynas.proxies.registry import Proxy
from proxynas.spaces import nb201

SPEC = BatchSpec("cifar10", batch_size=8, seed=0)
PROXIES = "synflow,grad_norm"
# A child process scoring a seeded sample into a cache; it prints "done total time" after each cell
# and waits `pause` seconds there, so a test can kill it part-way through a short run.
CHILD = """
import sys, time
from pathlib import Path
import torch
from proxynas import proxies, scoring
from proxynas.cache import ScoreCache
from proxynas.data import BatchSpec
from proxynas.spaces import nb201

root, n, flush, pause = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
torch.set_num_threads(1)  # two children share a 2-core CI machine
def progress(done, total):
    print(done, total, time.time(), flush=True)
    time.sleep(pause)
scoring.score(nb201.sample(n, 0), proxies.parse_list("{proxies}"), BatchSpec("cifar10", batch_size=8, seed=0),
              cache=ScoreCache(Path(root)), progress=progress, flush_seconds=flush)
""".format(proxies=PROXIES)


def start_child(root: Path, n: int, flush: float, pause: float) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", CHILD, str(root), str(n), str(flush), str(pause)],
                            stdout=subprocess.PIPE, text=True, env=os.environ.copy())


def flushed_by_now(done_at: list[float], flush: float) -> list[float]:
    """Report times of cells that must be on disk: the engine checks its flush clock after every cell,
    before reporting it, so a cell reported `flush` + the longest report gap before the last report was
    written by then."""
    return [t for t in done_at if t <= done_at[-1] - flush - max(np.diff(done_at))]


def assert_segments_readable(root: Path) -> None:
    for path in root.glob("seg-*.h5"):
        with h5py.File(path, "r", locking=False) as h5:
            assert len(h5["arch"]) == len(h5["score"]) == len(h5["proxy"]) > 0


def test_function_only_proxies_are_shared_by_class_and_others_are_not(tmp_path):
    members = [a for a in nb201.all_archs() if nb201.canonical_function(a) == nb201.canonical_function(
        nb201.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|nor_conv_3x3~1|none~2|"))]
    assert len(members) > 2
    table = scoring.score(members[:3], proxies.parse_list("synflow,params"), SPEC, cache=ScoreCache(tmp_path))
    assert table.shared_by_class == ["synflow"]
    assert len(set(table.scores["synflow"])) == 1
    assert table.computed_cells == len({nb201.function_representative(members[0]), *members[:3]})


def test_scores_are_deterministic_across_fresh_caches(tmp_path):
    archs = nb201.sample(3, seed=5)
    chosen = proxies.parse_list("all")
    first = scoring.score(archs, chosen, SPEC, cache=ScoreCache(tmp_path / "a"))
    second = scoring.score(archs, chosen, SPEC, cache=ScoreCache(tmp_path / "b"))
    for name in first.scores:
        np.testing.assert_array_equal(first.scores[name], second.scores[name], err_msg=name)
    again = scoring.score(archs, chosen, SPEC, cache=ScoreCache(tmp_path / "a"))
    assert again.computed_cells == 0 and again.cached_values == len(archs) * len(chosen)


def test_out_of_memory_splits_the_batch_or_records_why_it_cannot(tmp_path):
    """A fake OOM on the whole batch: the splittable proxy succeeds on chunks, the other is NaN with a reason."""
    def needs_chunks(probe):
        if probe.chunks == 1:
            raise torch.OutOfMemoryError("CUDA out of memory (simulated)")
        return float(probe.chunks)

    splittable = Proxy("split_ok", needs_chunks, frozenset(), True, True, True)
    whole_only = Proxy("whole_only", needs_chunks, frozenset(), True, False, True)
    grad_norm = proxies.get("grad_norm")
    table = scoring.score(nb201.sample(2, seed=1), [splittable, whole_only, grad_norm], SPEC,
                          cache=ScoreCache(tmp_path))
    assert list(table.scores["split_ok"]) == [2.0, 2.0]
    assert np.isnan(table.scores["whole_only"]).all()
    assert "cannot be split" in table.failures["whole_only"][0]
    assert np.isfinite(table.scores["grad_norm"]).all()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_real_cuda_out_of_memory_splits_the_batch(tmp_path):
    """With the GPU's allocator capped at 300 MB, a batch of 512 does not fit the largest cell: grad_norm is
    computed in chunks, nwot (which needs the whole batch) is NaN with the reason."""
    largest = nb201.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|"
                          "nor_conv_3x3~2|")
    torch.cuda.empty_cache()
    torch.cuda.set_per_process_memory_fraction(300e6 / torch.cuda.get_device_properties(0).total_memory)
    try:
        table = scoring.score([largest], proxies.parse_list("grad_norm,nwot"), BatchSpec("cifar10", batch_size=512),
                              "cuda", ScoreCache(tmp_path))
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0)
        torch.cuda.empty_cache()
    assert np.isfinite(table.scores["grad_norm"]).all()
    assert np.isnan(table.scores["nwot"]).all() and "out of memory" in table.failures["nwot"][0]


def test_kill_9_leaves_a_readable_cache_that_resumes_without_recomputing(tmp_path, caplog):
    flush = 0.5
    child = start_child(tmp_path, n=80, flush=flush, pause=0.15)
    done_at, total = [], None
    for line in child.stdout:
        done, total, stamp = line.split()
        done_at.append(float(stamp))
        if len(done_at) > 2 and len(flushed_by_now(done_at, flush)) >= 3:
            break
    must_be_on_disk = len(flushed_by_now(done_at, flush))
    child.send_signal(signal.SIGKILL)
    child.wait()
    reported = len(done_at) + sum(len(line.split()) == 3 for line in child.stdout.read().splitlines())
    assert child.returncode == -signal.SIGKILL and reported < int(total), "child finished before the kill"

    caplog.set_level(logging.WARNING)
    assert_segments_readable(tmp_path)
    resumed = scoring.score(nb201.sample(80, 0), proxies.parse_list(PROXIES), SPEC, cache=ScoreCache(tmp_path))
    assert "unreadable" not in caplog.text and not (tmp_path / "quarantine").exists()
    cached = int(total) - resumed.computed_cells
    assert must_be_on_disk <= cached <= reported + 1  # + 1: a cell flushed but killed before it was reported
    assert not resumed.nan_counts()["synflow"] and not resumed.nan_counts()["grad_norm"]
    fresh = scoring.score(nb201.sample(80, 0)[:5], proxies.parse_list(PROXIES), SPEC,
                          cache=ScoreCache(tmp_path / "fresh"))
    for name in fresh.scores:  # the child ran on one thread: float sums may differ in the last digits
        np.testing.assert_allclose(resumed.scores[name][:5], fresh.scores[name], rtol=1e-5)


def test_two_processes_scoring_into_one_cache_do_not_corrupt_it(tmp_path):
    """Both flush after every cell and compact at the end (over 32 segments), racing each other."""
    children = [start_child(tmp_path, n=40, flush=0.0, pause=0.02) for _ in range(2)]
    for child in children:
        child.communicate()
        assert child.returncode == 0
    assert_segments_readable(tmp_path)
    assert len(list(tmp_path.glob("seg-*.h5"))) < 80, "no compaction happened"
    again = scoring.score(nb201.sample(40, 0), proxies.parse_list(PROXIES), SPEC, cache=ScoreCache(tmp_path))
    assert again.computed_cells == 0
    assert all(np.isfinite(v).all() for v in again.scores.values())


def test_scores_follow_the_images_not_the_file_name(data_dir, tmp_path):
    """Issue 16 #1: two different files of one name must not share cached scores; one file under two names does."""
    import shutil

    archs = nb201.sample(2, 3)
    source = data_dir / "images" / "cifar10_test_first1000.npz"
    with np.load(source) as archive:
        images, labels = archive["images"], archive["labels"]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    np.savez(tmp_path / "a" / "x.npz", images=images[:100], labels=labels[:100])
    np.savez(tmp_path / "b" / "x.npz", images=images[100:200], labels=labels[100:200])
    shutil.copyfile(tmp_path / "a" / "x.npz", tmp_path / "a" / "renamed.npz")
    cache, chosen = ScoreCache(tmp_path / "cache"), proxies.parse_list("grad_norm")

    def run(path):
        return scoring.score(archs, chosen, BatchSpec("cifar10", batch_size=16, images=str(path)), cache=cache)

    first, other = run(tmp_path / "a" / "x.npz"), run(tmp_path / "b" / "x.npz")
    assert other.computed_cells == 2 and not np.allclose(first.scores["grad_norm"], other.scores["grad_norm"])
    renamed = run(tmp_path / "a" / "renamed.npz")
    assert renamed.computed_cells == 0 and np.array_equal(renamed.scores["grad_norm"], first.scores["grad_norm"])


@pytest.mark.parametrize("damage", ["no_reason", "short_column", "not_hdf5"])
def test_a_malformed_segment_is_quarantined_and_the_rest_kept(tmp_path, caplog, damage):
    """Issue 16 #3: one bad segment (valid HDF5 of another layout, or junk) must not stop scoring."""
    archs = nb201.sample(3, 1)
    first = scoring.score(archs, proxies.parse_list("synflow"), SPEC, cache=ScoreCache(tmp_path))
    bad = tmp_path / "seg-0-bad.h5"
    if damage == "not_hdf5":
        bad.write_bytes(b"junk")
    else:
        with h5py.File(bad, "w") as h5:
            h5["setting"], h5["proxy"] = np.array([b"s"]), np.array([b"p"])
            h5["arch"], h5["score"] = np.array([1, 2] if damage == "short_column" else [1]), np.array([1.0])
            if damage == "short_column":
                h5["reason"] = np.array([b""])
    caplog.set_level(logging.WARNING)
    again = scoring.score(archs, proxies.parse_list("synflow"), SPEC, cache=ScoreCache(tmp_path))
    assert again.computed_cells == 0 and np.array_equal(again.scores["synflow"], first.scores["synflow"])
    assert not bad.exists() and (tmp_path / "quarantine" / bad.name).exists()
    assert caplog.text.count("moved it to") == 1
    ScoreCache(tmp_path).compact(min_segments=1)  # compaction keeps the good rows and never deletes the bad file
    assert scoring.score(archs, proxies.parse_list("synflow"), SPEC, cache=ScoreCache(tmp_path)).computed_cells == 0


def test_a_run_killed_in_its_first_seconds_keeps_its_first_cells(tmp_path):
    """Issue 16: with the 30 s flush bound, a run killed at 15 s used to lose everything."""
    child = start_child(tmp_path, n=20, flush=30.0, pause=0.2)
    child.stdout.readline()  # the first cell is reported after it is flushed
    child.send_signal(signal.SIGKILL)
    child.wait()
    resumed = scoring.score(nb201.sample(20, 0), proxies.parse_list(PROXIES), SPEC, cache=ScoreCache(tmp_path))
    assert resumed.computed_cells <= 19
