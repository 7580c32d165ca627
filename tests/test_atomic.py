"""Atomic text writes: the old file survives a failed write, and no temporary file is left behind."""

import pytest

from proxynas.atomic import write_text_atomic


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
