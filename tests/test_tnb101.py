"""TransNAS-Bench-101 micro: the cell space, the store built from the real zip, and a search on it."""

import json
import re
import zipfile

import numpy as np
import pytest

import proxynas
from proxynas.bench import open_benchmark, tnb101_store
from proxynas.errors import ProxynasError
from proxynas.spaces import tnb101

from conftest import simulated_function_classes

ZIP = "tnb101/tnb101_micro_zen_all.zip"


def test_codes_tuples_and_arch_strings_name_the_same_cell():
    arch = tnb101.SPACE.parse("64-41414-3_13_321")
    assert tuple(arch) == (3, 1, 3, 3, 2, 1) and str(arch) == "64-41414-3_13_321"
    assert tnb101.SPACE.parse("3_13_321") == tnb101.SPACE.parse("(3, 1, 3, 3, 2, 1)") == arch
    assert tnb101.SPACE.parse(
        "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_1x1~1|skip_connect~2|") == arch
    assert all(tnb101.SPACE.parse(str(a)) == a for a in tnb101.SPACE.sample(50, seed=0))


@pytest.mark.parametrize("text, named", [("64-41414-4_13_321", "malformed TransNAS-Bench-101 micro cell code"),
                                         ("64-41414-3_13_32", "malformed"), ("(3, 1, 3, 3, 2)", "has 6 edges"),
                                         ("(3, 1, 3, 3, 2, 4)", "out of range"), ("garbage", "garbage")])
def test_malformed_cells_name_the_problem(text, named):
    with pytest.raises(ProxynasError, match=re.escape(named)):
        tnb101.SPACE.parse(text)


def test_function_classes_are_exactly_the_distinct_functions():
    archs = tnb101.SPACE.all_archs()
    assert len(archs) == 4096 and len(set(archs)) == 4096
    by_class = tnb101.SPACE.class_ids(archs, "function")
    by_output = simulated_function_classes(tnb101.SPACE, archs)
    assert by_class.max() + 1 == by_output.max() + 1 == 871
    assert len(set(zip(by_class.tolist(), by_output.tolist()))) == 871  # the two partitions are identical
    assert tnb101.SPACE.class_ids(archs, "graph").max() + 1 == 1236  # NB201's isomorphism key on this space


def test_network_function_keys_are_exactly_the_distinct_network_functions():
    """In the network a reduction cell's skip from its input is a projection: 1,229 distinct functions."""
    archs = tnb101.SPACE.all_archs()
    _, by_key = np.unique([tnb101.SPACE.function_key(a) for a in archs], return_inverse=True)
    by_output = simulated_function_classes(tnb101.SPACE, archs, reduction=True)
    assert by_key.max() + 1 == by_output.max() + 1 == 1229
    assert len(set(zip(by_key.tolist(), by_output.tolist()))) == 1229


def test_store_holds_every_task_as_the_zip_has_it(data_dir, tmp_path):
    bench = tnb101_store.open_bench(tmp_path / "tnb101.h5", data_dir)
    assert set(bench.tasks) == set(proxynas.tasks.TNB101_SCORES) and bench.metric_names == ("val_score",)
    with zipfile.ZipFile(data_dir / ZIP) as archive:
        name = next(n for n in archive.namelist() if "--room_layout--" in n)
        rows = json.loads(archive.read(name))
    for row in rows[:50]:
        arch = tnb101.SPACE.parse(row["arch"])
        assert bench.index.index_of(arch) == int(row["idx"])
        assert bench.column("room_layout", "val_score")[int(row["idx"])] == pytest.approx(row["val_accuracy"])
        assert bench.precomputed("zen", "room_layout", "zen")[int(row["idx"])] == pytest.approx(row["zen"]["score"])
    arch, best = bench.best("room_layout")
    assert best < 0 and best == np.max(bench.column("room_layout", "val_score"))  # a negative loss: higher is better
    with pytest.raises(ProxynasError, match="no task 'cifar10'"):
        bench.column("cifar10", "val_score")


def test_bad_sources_are_clear_errors_and_keep_the_old_store(data_dir, tmp_path):
    store = tnb101_store.build_store(data_dir, tmp_path / "tnb101.h5")
    before = store.read_bytes()
    with zipfile.ZipFile(data_dir / ZIP) as archive:
        names = [n for n in archive.namelist() if n.endswith(".json")]
        short = tmp_path / "short.zip"
        with zipfile.ZipFile(short, "w") as out:
            for name in names:
                rows = json.loads(archive.read(name))
                out.writestr(name, json.dumps(rows[:-1] if "--jigsaw--0.json" in name else rows))
    with pytest.raises(ProxynasError, match="task jigsaw lacks 1 of the 4096 cells"):
        tnb101_store.build_store(short, store)
    (tmp_path / "broken.zip").write_bytes(b"not a zip")
    with pytest.raises(ProxynasError, match="cannot read the TransNAS-Bench-101 zip"):
        tnb101_store.build_store(tmp_path / "broken.zip", store)
    assert store.read_bytes() == before


def test_suite_zero_transnas_file_imports_as_a_precomputed_source(data_dir):
    from click.testing import CliRunner

    from proxynas.cli import cli

    run = CliRunner().invoke(cli, ["data", "import-zc", str(data_dir / "tnb101" / "zc_transbench101_micro_subset.json"),
                                   "--space", "tnb101", "--json"])
    assert run.exit_code == 0, run.output
    assert json.loads(run.output)["archs"] == {task: 711 for task in proxynas.tasks.TNB101_SCORES}
    bench = proxynas.open_benchmark("tnb101")
    jacov = bench.precomputed("suite_zero", "normal", "jacov")
    assert np.isfinite(jacov).sum() == 711
    raw = json.loads((data_dir / "tnb101" / "zc_transbench101_micro_subset.json").read_text())
    key, entry = next(iter(raw["normal"].items()))
    assert jacov[bench.index.index_of(tnb101.SPACE.parse(key))] == entry["jacov"]["score"]
    bad = CliRunner().invoke(cli, ["data", "import-zc", str(data_dir / "tnb101" / "zc_transbench101_micro_subset.json")])
    assert bad.exit_code == 2 and "not a task of nb201" in bad.output


def test_a_search_on_a_transnas_task_reports_its_validation_score(data_dir, tmp_path):
    bench = tnb101_store.open_bench(tmp_path / "tnb101.h5", data_dir)
    result = proxynas.run_search(proxynas.get_strategy("rea", "tnb101", 0),
                                 proxynas.TabularEvaluator(bench, "segmentsemantic"), 30, seed=0)
    assert result.search_metric == result.report_metric == "val_score" and result.val_acc == result.test_acc
    assert result.val_acc == max(s.val_acc for s in result.trajectory) and result.trainings == 30


def test_search_cli_on_transnas_defaults_to_precomputed_zen_and_gives_clear_errors(data_dir):
    from click.testing import CliRunner

    from proxynas.cli import cli

    run = CliRunner().invoke(cli, ["search", "--space", "tnb101", "--task", "segmentsemantic", "--budget", "20",
                                   "--json", "--quiet"])
    assert run.exit_code == 0, run.output
    report = json.loads(run.output)
    explicit = CliRunner().invoke(cli, ["search", "--space", "tnb101", "--task", "segmentsemantic", "--budget", "20",
                                        "--zc-source", "zen", "--proxies", "zen", "--json", "--quiet"])
    same = [[s["arch"] for s in json.loads(r)["trajectory"]] for r in (explicit.output, run.output)]
    assert same[0] == same[1]  # the default is the benchmark's zen
    assert report["trainings"] == 20 and report["search_metric"] == "val_score"
    assert report["dataset"] == "segmentsemantic"
    assert tnb101.SPACE.parse(report["best_arch"]) in [tnb101.SPACE.parse(s["arch"]) for s in report["trajectory"]]
    for args, message in ((["--task", "cifar10", "--strategy", "rea"], "no task 'cifar10'"),
                          (["--task", "class_scene", "--zc-source", "nope"], "no precomputed scores named 'nope'"),
                          (["--task", "jigsaw", "--zc-source", "zen", "--proxies", "nope"], "has no nope for jigsaw"),
                          (["--task", "imagenet", "--space", "nb999"], "unknown search space")):
        bad = CliRunner().invoke(cli, ["search", "--space", "tnb101", *args, "--quiet"])
        assert bad.exit_code == 2 and message in bad.output and len(bad.output.strip().splitlines()) == 1, bad.output


@pytest.mark.parametrize("space, task", [("nb201", "jigsaw"), ("tnb101", "cifar10")])
def test_scoring_a_task_of_another_space_is_one_clear_line(space, task):
    from click.testing import CliRunner

    from proxynas.cli import cli

    run = CliRunner().invoke(cli, ["score", "--space", space, "--task", task, "--sample", "2", "--proxies", "params",
                                   "--quiet"])
    assert run.exit_code == 2 and f"search space {space} has no task '{task}'" in run.output
    assert len(run.output.strip().splitlines()) == 1


def test_query_and_correlate_work_on_transnas_and_name_the_source_field(data_dir):
    from click.testing import CliRunner

    from proxynas.cli import cli

    bench = open_benchmark("tnb101")
    run = CliRunner().invoke(cli, ["query", "64-41414-3_33_333", "0", "--space", "tnb101", "--task", "normal", "--json"])
    assert run.exit_code == 0, run.output
    records = json.loads(run.output)["results"]
    assert [r["index"] for r in records] == [bench.index.index_of(tnb101.SPACE.parse("64-41414-3_33_333")), 0]
    assert records[1]["metrics"] == {"val_score": float(bench.column("normal", "val_score")[0])}
    text = CliRunner().invoke(cli, ["query", "0", "--space", "tnb101", "--task", "normal"])
    assert "val_score = val_accuracy" in text.output and "no training time recorded" in text.output
    correlate = CliRunner().invoke(cli, ["correlate", "--space", "tnb101", "--task", "jigsaw", "--proxies", "flops",
                                         "--sample", "20", "--metric", "val", "--json", "--quiet"])
    assert correlate.exit_code == 0, correlate.output
    report = json.loads(correlate.output)
    assert report["source_column"] == "val_accuracy" and report["metric"] == "val_score" and report["archs"] == 20
    for args, message in ((["64-41414-9_99_999", "--task", "jigsaw"], "malformed TransNAS-Bench-101 micro cell code"),
                          (["0"], "no task 'cifar10'")):
        bad = CliRunner().invoke(cli, ["query", "--space", "tnb101", *args])
        assert bad.exit_code == 2 and message in bad.output and len(bad.output.strip().splitlines()) == 1, bad.output
    unknown = CliRunner().invoke(cli, ["search", "--space", "tnb101", "--task", "cifar10"])  # not quiet: no bar yet
    assert unknown.exit_code == 2 and len(unknown.output.strip().splitlines()) == 1, unknown.output
