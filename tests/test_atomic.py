"""Atomic text writes: the old file survives a failed write, and no temporary file is left behind; merges into
one JSON file from several processes keep every part."""

import json

import pytest

from proxynas.atomic import update_json, write_text_atomic


def test_write_text_atomic_replaces_and_cleans_up(tmp_path):
    path = tmp_path / "sub" / "result.json"
    write_text_atomic(path, "first\n")
    write_text_atomic(path, "second\n")
    assert path.read_text() == "second\n"
    assert path.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in path.parent.iterdir()] == ["result.json"]


def test_write_text_atomic_failure_keeps_the_old_file(tmp_path):
    path = tmp_path / "result.json"
    write_text_atomic(path, "kept\n")
    with pytest.raises(TypeError):
        write_text_atomic(path, None)
    assert path.read_text() == "kept\n"
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def _merge_parts(path, worker: int) -> None:
    for part in range(20):
        update_json(path, lambda result: result["parts"].append([worker, part]), empty=lambda: {"parts": []})


def test_update_json_keeps_every_process_part(tmp_path):
    """Four processes merging into one file at once: no part is lost to a read-modify-write race."""
    import multiprocessing

    path = tmp_path / "results" / "merged.json"
    workers = [multiprocessing.get_context("fork").Process(target=_merge_parts, args=(path, w)) for w in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert sorted(map(tuple, json.loads(path.read_text())["parts"])) == [(w, p) for w in range(4) for p in range(20)]


def test_update_json_leaves_the_file_alone_when_the_change_fails(tmp_path):
    path = tmp_path / "merged.json"
    update_json(path, lambda result: result.update(a=1))
    with pytest.raises(KeyError):
        update_json(path, lambda result: result["missing"])
    assert json.loads(path.read_text()) == {"a": 1}
