"""Shipped score tables: read only under matching keys, used by the engine instead of computing, ignored
when unreadable, and — for the table in the package — reproduced by the engine today."""

import logging

import numpy as np
import pytest

from proxynas import proxies, scoring, shipped
from proxynas.cache import ScoreCache
from proxynas.data import BatchSpec
from proxynas.devices import torch_threads
from proxynas.spaces import nb201

SPEC = BatchSpec("cifar10", batch_size=8, seed=0)


def column_for(archs, proxy: str, values, spec=SPEC, failures=None) -> shipped.Column:
    full, covered = np.full(nb201.SPACE.size, np.nan), np.zeros(nb201.SPACE.size, dtype=bool)
    codes = [a.code for a in archs]
    full[codes], covered[codes] = values, True
    return shipped.Column(scoring.setting_key(nb201.SPACE, spec), proxies.get(proxy).key, full, covered,
                          failures or {})


def test_a_table_answers_only_for_its_keys_and_cells(tmp_path):
    archs = nb201.sample(4, 0)
    failed = {archs[1].code: "non-finite gradient"}
    path = tmp_path / "t.h5"
    shipped.write(path, [column_for(archs[:3], "synflow", [1.5, np.nan, 3.0], failures=failed)], {"seed": 0})
    table = shipped.ShippedScores(path)
    setting, key = scoring.setting_key(nb201.SPACE, SPEC), proxies.get("synflow").key
    assert table.get(setting, key, archs[0].code) == (1.5, "")
    value, reason = table.get(setting, key, archs[1].code)
    assert np.isnan(value) and reason == "non-finite gradient"
    assert table.get(setting, key, archs[3].code) is None  # not covered
    assert table.get(setting, proxies.get("nwot").key, archs[0].code) is None
    other = scoring.setting_key(nb201.SPACE, BatchSpec("cifar10", batch_size=8, seed=1))
    assert table.get(other, key, archs[0].code) is None
    assert table.describe()["columns"] == [{"setting": setting, "proxy": key, "cells": 3, "failed": 1}]


def test_the_engine_reads_a_matching_table_instead_of_computing(tmp_path):
    archs = nb201.sample(3, 1)
    path = tmp_path / "t.h5"
    shipped.write(path, [column_for(archs[:2], "synflow", [7.0, 8.0])], {})
    cache = ScoreCache(tmp_path / "cache", [shipped.ShippedScores(path)])
    table = scoring.score(archs, proxies.parse_list("synflow"), SPEC, cache=cache)
    assert table.computed_cells == 1  # only the cell the table lacks
    assert table.scores["synflow"][:2].tolist() == [7.0, 8.0]
    again = scoring.score(archs, proxies.parse_list("synflow"), BatchSpec("cifar10", batch_size=8, seed=2),
                          cache=cache)
    assert again.computed_cells == 3  # another seed: nothing shipped matches


def test_an_unreadable_table_is_ignored_with_a_warning(tmp_path, caplog):
    path = tmp_path / "broken.h5"
    path.write_bytes(b"not an hdf5 file")
    with caplog.at_level(logging.WARNING):
        table = shipped.ShippedScores(path)
    assert table.columns == {} and "unreadable" in caplog.text
    archs = nb201.sample(2, 0)
    cache = ScoreCache(tmp_path / "cache", [table])
    assert scoring.score(archs, proxies.parse_list("params"), SPEC, cache=cache).computed_cells == 2


@pytest.mark.parametrize("table", shipped.load_all(), ids=lambda t: t.path.name)
def test_the_shipped_table_is_what_the_engine_computes_now(table, tmp_path):
    """One seeded covered cell per column, re-scored from scratch: a proxy changed without a version bump,
    or a changed batch file, fails here instead of silently serving stale scores."""
    assert table.columns, f"{table.path} holds no columns"
    with torch_threads(1):  # as most chunks were scored; some proxies' last digits depend on it (e.g. gradsign)
        check_columns(table, tmp_path)


def check_columns(table: shipped.ShippedScores, tmp_path) -> None:
    rng = np.random.default_rng(0)
    for (setting, key), column in table.columns.items():
        space, dataset = setting.split("|")[0], setting.split("|")[-4]
        assert space == nb201.SPACE.name
        batch = int(setting.split("bs=")[1].split("|")[0])
        seed = int(setting.split("seed=")[1])
        spec = BatchSpec(dataset, batch_size=batch, seed=seed)
        assert scoring.setting_key(nb201.SPACE, spec) == setting, "the batch the table was scored on has changed"
        code = int(rng.choice(np.flatnonzero(column.covered)))
        proxy = proxies.get(key.split("@")[0])
        assert proxy.key == key, f"{proxy.name} is now {proxy.key}; the table holds {key}: repack it"
        fresh = scoring.score([nb201.SPACE.Arch.from_code(code)], [proxy], spec, cache=ScoreCache(tmp_path / key))
        assert np.allclose(fresh.scores[proxy.name], column.values[code], rtol=shipped.REPRODUCED_TO, atol=0, equal_nan=True), key
