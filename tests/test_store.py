import csv
import io
import json
import shutil

import h5py
import numpy as np
import pytest

from proxynas.bench import nb201_store as store, suite_zero
from proxynas.bench.nb201_store import NB201Bench, build_store, open_bench
from proxynas.errors import ProxynasError
from proxynas.spaces import nb201

SUITE_ZERO = "nb201/sources/suite_zero/zc_nasbench201_725.json"


def test_best_cells_and_columns_match_the_published_table(bench):
    # Best 200-epoch test accuracies of NAS-Bench-201 (NATS-Bench means over seeds).
    for dataset, index, acc in [("cifar10", 6111, 94.3733), ("cifar100", 9930, 73.5133), ("imagenet16", 857, 47.3111)]:
        arch, best = bench.best(dataset)
        assert bench.index.index_of(arch) == index and best == pytest.approx(acc, abs=1e-4)
    arch, best_val = bench.best("cifar10", "val_acc")
    assert bench.index.index_of(arch) == 1459 and best_val == pytest.approx(91.57)
    assert bench.source_column("cifar10", "val_acc") == "val200_cifar10valid_naslib"
    assert bench.column("imagenet16", "hw_edgegpu_latency").shape == (nb201.NUM_ARCHS,)
    ids = bench.class_ids
    assert ids["nb201"].max() + 1 == 6466 and ids["function"].max() + 1 == 4930


def test_query_counts_full_trainings_and_their_simulated_time(bench):
    fresh = NB201Bench(bench.path)
    arch = fresh.index.arch_at(6111)
    first = fresh.query(arch, "cifar10")
    fresh.query(fresh.index.arch_at(0), "cifar10")
    expected = first["train_time_total_s"] + fresh.column("cifar10", "train_time_total_s")[0]
    assert fresh.cost.trainings == 2 and fresh.cost.train_seconds == pytest.approx(expected)
    assert fresh.query(6111, "cifar10") == fresh.query(str(arch), "cifar10") == first
    assert fresh.query("(2, 2, 0, 2, 2, 3)", "cifar10") == first
    assert fresh.cost.trainings == 5
    fresh.column("cifar10", "test_acc")  # bulk analysis reads are not trainings
    assert fresh.cost.trainings == 5
    with pytest.raises(ProxynasError, match="unknown dataset"):
        fresh.query(arch, "mnist")


def test_first_use_builds_the_store_from_the_data_folder(tmp_path, data_dir, monkeypatch):
    monkeypatch.setenv("PROXYNAS_DATA", str(data_dir))
    path = tmp_path / "auto" / "nb201.h5"
    assert open_bench(path).index.arch_at(6111) is not None and path.is_file()


def test_missing_store_and_missing_data_say_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("PROXYNAS_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(ProxynasError, match="no NB201 table found"):
        open_bench(tmp_path / "nb201.h5")
    monkeypatch.delenv("PROXYNAS_DATA")
    monkeypatch.setattr("proxynas.paths.data_dir", lambda: None)
    with pytest.raises(ProxynasError, match="PROXYNAS_DATA"):
        open_bench(tmp_path / "nb201.h5")


def _edit_field(lines, row, column, value):
    """The CSV lines with one field of data row `row` (0-based) replaced."""
    header = next(csv.reader([lines[0]]))
    fields = next(csv.reader([lines[row + 1]]))
    fields[header.index(column)] = value
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(fields)
    return lines[:row + 1] + [out.getvalue()] + lines[row + 2:]


def _broken_copy(data_dir, tmp_path, edit):
    lines = (data_dir / "nb201" / "nb201_merged.csv").read_text().splitlines(keepends=True)
    target = tmp_path / "nb201_merged.csv"
    target.write_text("".join(edit(lines)))
    return target


@pytest.mark.parametrize("edit, message", [
    (lambda lines: lines[:5000], "has 4999 rows"),
    (lambda lines: [lines[0].replace("params_cifar100", "p")] + lines[1:], "missing columns params_cifar100"),
    (lambda lines: _edit_field(lines, 9, "test200_cifar10", "abc"), "line 11, column test200_cifar10"),
    (lambda lines: _edit_field(lines, 3, "arch_str", str(nb201.Arch([1] * 6)).replace("skip_connect~1", "conv~1")),
     "line 5: unknown operation 'conv'"),
    (lambda lines: lines[:1] + [lines[2]] + lines[2:], "expected index 0"),
    # issue 16 #4: values a float parses but no accuracy can be
    (lambda lines: _edit_field(lines, 6111, "test200_cifar10", "nan"), "line 6113, column test200_cifar10: 'nan'"),
    (lambda lines: _edit_field(lines, 6111, "test200_cifar10", "inf"), "'inf' is not a finite value in"),
    (lambda lines: _edit_field(lines, 5, "val12_cifar100", "1e400"), "column val12_cifar100: '1e400'"),
    (lambda lines: _edit_field(lines, 5, "test200_imagenet16", "-1e8"), "'-1e8' is not a finite value in"),
])
def test_bad_source_gives_clear_error_and_no_half_built_store(data_dir, tmp_path, edit, message):
    source = _broken_copy(data_dir, tmp_path, edit)
    target = tmp_path / "cache" / "nb201.h5"
    with pytest.raises(ProxynasError, match=message):
        build_store(source, target)
    assert not target.exists() and list(target.parent.glob("*")) == []


def test_failed_rebuild_keeps_the_previous_store(bench, data_dir, tmp_path):
    target = tmp_path / "nb201.h5"
    shutil.copyfile(bench.path, target)
    before = target.read_bytes()
    with pytest.raises(ProxynasError):
        build_store(_broken_copy(data_dir, tmp_path, lambda lines: lines[:100]), target)
    assert target.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["nb201.h5", "nb201_merged.csv"]


@pytest.mark.parametrize("content", [b"not an hdf5 file", b""])
def test_corrupt_store_says_how_to_rebuild(tmp_path, content):
    path = tmp_path / "nb201.h5"
    path.write_bytes(content)
    with pytest.raises(ProxynasError, match="data build --force"):
        NB201Bench(path)


def test_suite_zero_import_keeps_every_score(bench, data_dir, tmp_path):
    target = tmp_path / "nb201.h5"
    shutil.copyfile(bench.path, target)
    counts = suite_zero.import_suite_zero(target, data_dir / SUITE_ZERO, bench.index)
    assert counts == {"cifar10": 725, "cifar100": 725, "imagenet16": 724}
    imported = NB201Bench(target)
    assert imported.precomputed_sources == ("suite_zero",)
    assert len(imported.precomputed_proxies("suite_zero", "cifar10")) == 12
    raw = json.loads((data_dir / SUITE_ZERO).read_text())
    for key, entry in list(raw["ImageNet16-120"].items())[:50]:
        index = imported.index.index_of(nb201.parse(key))
        for proxy in ("synflow", "jacov", "params"):
            assert imported.precomputed("suite_zero", "imagenet16", proxy)[index] == entry[proxy]["score"]
    scores = imported.precomputed("suite_zero", "imagenet16", "nwot")
    assert (~np.isnan(scores)).sum() == 724  # absent cells are NaN
    assert np.isneginf(scores).sum() == 1  # the file's one -inf nwot score is kept, not hidden


def test_suite_zero_wrapped_format_and_bad_files(bench, data_dir, tmp_path):
    raw = json.loads((data_dir / SUITE_ZERO).read_text())
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"nasbench201": {"cifar10": dict(list(raw["cifar10"].items())[:10])}}))
    scores = suite_zero.read_suite_zero(wrapped, bench.index)
    assert list(scores) == ["cifar10"] and np.isfinite(scores["cifar10"]["synflow"]["score"]).sum() == 10
    target = tmp_path / "nb201.h5"
    shutil.copyfile(bench.path, target)
    before = target.read_bytes()
    for text, message in [('{"cifar10": {', "cannot read"), ('{"cifar10": {"(9, 9)": {}}}', "NASLib"),
                          ('{"mnist": {}}', "unknown dataset"), ("[]", "not a Suite-Zero")]:
        bad = tmp_path / "bad.json"
        bad.write_text(text)
        with pytest.raises(ProxynasError, match=message):
            suite_zero.import_suite_zero(target, bad, bench.index)
        assert target.read_bytes() == before


def test_store_schema_is_documented_and_self_describing(bench):
    with h5py.File(bench.path, "r") as h5:
        assert h5.attrs["format"] == store.FORMAT and h5.attrs["schema_version"] == store.SCHEMA_VERSION
        assert h5["archs/arch_str"][6111].decode() == str(bench.index.arch_at(6111))
        for metric in bench.metric_names:
            assert metric in store.__doc__ or metric.startswith("hw_")


def test_import_names_cannot_reach_other_imports(bench, data_dir, tmp_path):
    """Issue 16 #5: '' would have deleted every import; '/' and '..' nest groups; a list entry crashed."""
    target = tmp_path / "nb201.h5"
    shutil.copyfile(bench.path, target)
    suite_zero.import_suite_zero(target, data_dir / SUITE_ZERO, bench.index, "first")
    before = target.read_bytes()
    for name in ("", "a/b", "..", "x/../first"):
        with pytest.raises(ProxynasError, match="not a usable source name"):
            suite_zero.import_suite_zero(target, data_dir / SUITE_ZERO, bench.index, name)
    raw = json.loads((data_dir / SUITE_ZERO).read_text())
    key = next(iter(raw["cifar10"]))
    for entry, message in [([1, 2], "got a list"), ({"a/b": {"score": 1.0}}, "not a usable proxy name"),
                           ({"..": {"score": 1.0}}, "not a usable proxy name")]:
        bad = tmp_path / "bad.json"
        bad.write_text(json.dumps({"cifar10": {key: entry}}))
        with pytest.raises(ProxynasError, match=message):
            suite_zero.import_suite_zero(target, bad, bench.index, "second")
    assert target.read_bytes() == before


@pytest.mark.parametrize("damage, message", [
    (lambda h5: h5.__delitem__("cifar100/val_acc"), "task cifar100 has metrics"),
    (lambda h5: (h5.__delitem__("cifar10/test_acc"), h5.__setitem__("cifar10/test_acc", np.zeros(10))),
     "cifar10/test_acc is not 15625 numbers"),
    (lambda h5: (h5.__delitem__("cifar10/test_acc"), h5.__setitem__("cifar10/test_acc", np.array([b"x"] * 15625))),
     "cifar10/test_acc is not 15625 numbers"),
    (lambda h5: h5["archs/ops"].__setitem__((5, 0), 4), "archs/ops fails its checksum"),
])
def test_a_damaged_store_says_so_on_open(bench, tmp_path, damage, message):
    """Issue 16 #7: a missing, short or text column, or changed cells, is caught when the store is opened."""
    target = tmp_path / "nb201.h5"
    shutil.copyfile(bench.path, target)
    with h5py.File(target, "r+") as h5:
        damage(h5)
    with pytest.raises(ProxynasError, match=f"is damaged \\({message}.*data build --force"):
        NB201Bench(target)


def test_random_bytes_in_a_column_are_caught_when_it_is_read(bench, tmp_path):
    """Issue 16 #7: bytes overwritten inside a column's data are found by its checksum, not served."""
    target = tmp_path / "nb201.h5"
    shutil.copyfile(bench.path, target)
    with h5py.File(target, "r") as h5:
        offset = h5["imagenet16/test_acc"].id.get_offset()
    with open(target, "r+b") as handle:
        handle.seek(offset + 8 * 857)
        handle.write(np.float64(99.9).tobytes())
    damaged = NB201Bench(target)
    assert damaged.column("cifar10", "test_acc")[6111] == pytest.approx(94.3733, abs=1e-4)  # other columns are fine
    with pytest.raises(ProxynasError, match="imagenet16/test_acc fails its checksum"):
        damaged.column("imagenet16", "test_acc")


def test_their_name_inverts_our_names():
    assert suite_zero.their_name("jacob_cov") == "jacov"
    assert suite_zero.their_name("grasp") == "grasp"
    assert all(suite_zero.OUR_NAMES[suite_zero.their_name(ours)] == ours for ours in suite_zero.OUR_NAMES.values())
