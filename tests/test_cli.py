import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from proxynas.cli import cli

ROOT = Path(__file__).resolve().parents[1]
BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"


def run(*args, input=None):
    return CliRunner().invoke(cli, list(args), input=input)


def test_help_lists_commands_with_descriptions():
    result = run("--help")
    assert result.exit_code == 0
    for command in ("data", "query"):
        assert any(line.strip().startswith(command + " ") for line in result.output.splitlines())
    assert "import-zc" in run("data", "--help").output


def test_query_reports_best_cifar10_cell(bench):
    result = run("query", BEST, "--dataset", "cifar10", "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    record = payload["results"][0]
    assert record["index"] == 6111 and round(record["metrics"]["test_acc"], 2) == 94.37
    assert payload["cost"]["trainings"] == 1


def test_query_reads_indices_and_tuples_from_stdin(bench):
    result = run("query", "-", "--dataset", "cifar100", input="9930\n(2, 2, 0, 2, 2, 3)\n\n")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split()[:2] == ["index", "test_acc"]
    assert lines[1].split()[:2] == ["9930", "73.51"] and lines[2].split()[0] == "6111"


@pytest.mark.parametrize("args, message", [
    (["query", "garbage"], "cannot read 'garbage'"),
    (["query", "15625"], "out of range"),
    (["query", "|none~0|+|none~0|none~1|+|none~0|none~1|bad~2|"], "unknown operation 'bad'"),
    (["query", "1", "--dataset", "mnist"], "--dataset"),
    (["query"], "no architectures"),
    (["data", "import-zc", "/nonexistent.json"], "cannot read Suite-Zero file"),
    (["query", "²"], "cannot read '²'"),  # issue 16 #12: not a digit to int()
    (["query", "--", "--5"], "cannot read '--5'"),
    (["score", "--sample", "0"], "0 is not in the range x>=1"),  # issue 16 #15: empty selections
    (["score", "--sample", "-5"], "-5 is not in the range"),
    (["score", "--archs", "-"], "no architectures given"),
    (["score", "--sample", "2", "--seed", "-1"], "-1 is not in the range 0<=x<=4294967295"),  # issue 16 #11
    (["search", "--seed", str(2 ** 63)], "is not in the range 0<=x<=4294967295"),
    (["train", "5", "--seed", "-2"], "is not in the range"),
    (["fit", "--model", "never.json", "--seed", str(2 ** 64)], "is not in the range"),
    (["fit", "--model", "/proc/m.json"], "cannot write to /proc/m.json"),  # issue 16 #18: before any work
    (["score", "--sample", "2", "--output", "/nonexistent/x.json"], "cannot write to /nonexistent/x.json"),
    pytest.param(["rank", "--device", "cuda"], "no CUDA device", marks=pytest.mark.skipif(
        torch.cuda.is_available(), reason="the error is for machines without CUDA")),
    pytest.param(["rank", "--device", "cuda:7"], "no CUDA device", marks=pytest.mark.skipif(
        torch.cuda.is_available(), reason="the error is for machines without CUDA")),
    (["score", "--sample", "2", "--device", "tpu"], "unknown device 'tpu'"),
    (["score", "--sample", "2", "--device", "cpu:1"], "unknown device 'cpu:1'"),
])
def test_errors_are_one_line_with_exit_code_2(bench, args, message):
    result = run(*args)
    assert result.exit_code == 2
    assert result.stdout == "" and len(result.stderr.splitlines()) == 1
    assert result.stderr.startswith("proxynas: error:") and message in result.stderr


def test_data_build_info_and_import(bench, data_dir):
    assert "store exists" in run("data", "build").stdout
    rebuilt = run("data", "build", "--force", "--source", str(data_dir), "--json")
    assert rebuilt.exit_code == 0 and json.loads(rebuilt.stdout)["path"] == str(bench.path)
    zc = data_dir / "nb201" / "sources" / "suite_zero" / "zc_nasbench201_725.json"
    imported = run("data", "import-zc", str(zc), "--json")
    assert json.loads(imported.stdout)["archs"] == {"cifar10": 725, "cifar100": 725, "imagenet16": 724}
    described = json.loads(run("data", "info", "--json").stdout)
    both, tables = described["benchmarks"], described["shipped_scores"]
    assert [Path(t["path"]).name for t in tables] == ["nb201_scores.h5"]
    assert {c["proxy"] for c in tables[0]["columns"]} >= {"meco@v1", "az_trainability@v1"}
    info = both["nb201"]
    assert info["archs"] == 15625 and info["classes"] == {"nb201": 6466, "function": 4930}
    assert info["datasets"]["imagenet16"]["best_index"] == 857 and info["datasets"]["cifar10"]["metric"] == "test_acc"
    assert info["precomputed"]["suite_zero"]["cifar10"]["archs"] == 725
    assert both["tnb101"]["archs"] == 4096 and both["tnb101"]["classes"] == {"graph": 1236, "function": 871}
    assert both["tnb101"]["precomputed"]["zen"]["jigsaw"] == {"archs": 4096, "proxies": ["zen"]}
    text = run("data", "info").stdout
    assert "cifar100    15625    9930" in text and "precomputed 'suite_zero'" in text and "tnb101 store" in text
    assert "shipped scores:" in text and "regenerate: python benchmarks/nb201_table.py" in text


@pytest.mark.parametrize("entry", [[str(Path(sys.executable).parent / "proxynas")], [sys.executable, str(ROOT / "cli.py")]])
def test_installed_script_and_shim_behave_alike(bench, entry):
    ok = subprocess.run([*entry, "query", BEST, "--json"], capture_output=True, text=True)
    assert ok.returncode == 0 and round(json.loads(ok.stdout)["results"][0]["metrics"]["test_acc"], 2) == 94.37
    bad = subprocess.run([*entry, "query", "garbage"], capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stdout == "" and len(bad.stderr.strip().splitlines()) == 1


FAST = ["--dataset", "imagenet16", "--input", "noise", "--batch-size", "8", "--quiet"]


def test_score_writes_csv_and_json_and_reports_nan_with_reasons(bench, tmp_path):
    archs = tmp_path / "archs.txt"
    archs.write_text("857\n|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|none~0|none~1|none~2|\n")
    result = run("score", "--archs", str(archs), "--proxies", "synflow,jacob_cov,params", *FAST,
                 "--output", str(tmp_path / "s.csv"), "--json")
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    first, dead = payload["results"]
    assert first["index"] == 857 and first["scores"]["synflow"] > 0
    assert dead["scores"]["jacob_cov"] is None and "constant" in dead["failures"]["jacob_cov"]
    assert payload["nan"]["jacob_cov"] == 1 and "synflow" in payload["shared_by_class"]
    lines = (tmp_path / "s.csv").read_text().splitlines()
    assert lines[0] == "index,arch,synflow,jacob_cov,params,failures" and ",nan," in lines[2]


def test_correlate_reports_each_proxy_and_the_vote(bench):
    result = run("correlate", "--sample", "12", "--proxies", "synflow,params", *FAST, "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["correlations"]
    assert set(rows) == {"synflow", "params", "vote"} and -1 <= rows["synflow"]["spearman"] <= 1


def test_correlate_can_keep_only_cells_that_use_every_op(bench):
    dead_conv = "|nor_conv_3x3~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|none~1|none~2|"  # node 2 feeds nothing
    cells = f"{dead_conv}\n6111\n1459\n(2, 2, 0, 2, 2, 3)\n"
    kept = run("correlate", "--archs", "-", "--proxies", "params", "--live-ops-only", *FAST, "--json", input=cells)
    assert kept.exit_code == 0, kept.output
    assert json.loads(kept.stdout)["archs"] == 3
    none_left = run("correlate", "--archs", "-", "--live-ops-only", *FAST, input=dead_conv + "\n")
    assert none_left.exit_code == 2 and "uses every op" in none_left.stderr


@pytest.mark.parametrize("args, message", [
    (["score", "--sample", "2", "--all"], "exactly one of"),
    (["score", "--sample", "2", "--proxies", "magic"], "unknown proxy or ensemble 'magic'"),
    (["score", "--sample", "2", "--output", "x.txt"], ".csv or .json"),
])
def test_score_errors_are_one_line(bench, args, message):
    result = run(*args, *FAST)
    assert result.exit_code == 2 and len(result.stderr.splitlines()) == 1 and message in result.stderr


@pytest.mark.parametrize("command", [["score", "--archs", "{file}", "--proxies", "params"], ["rank", "{file}"],
                                     ["correlate", "--archs", "{file}"], ["predict", "--model", "{model}", "--archs",
                                                                          "{file}"]])
def test_an_archs_file_that_is_not_utf8_is_one_clear_line(bench, tmp_path, command):
    """Issue 16 #14."""
    bad, model = tmp_path / "archs.txt", tmp_path / "m.json"
    bad.write_bytes(b"6111\n\xff\xfe\n")
    if "predict" in command:
        assert run("fit", "--features", "onehot", "--train-size", "5", "--model", str(model), "--quiet").exit_code == 0
    result = run(*[part.format(file=bad, model=model) for part in command], "--quiet")
    assert result.exit_code == 2 and "line 2 is not UTF-8 text" in result.stderr, result.output


@pytest.mark.parametrize("command", [["query", "-"], ["score", "--archs", "-", "--proxies", "params", "--quiet"],
                                     ["rank", "--quiet"], ["predict", "--model", "m.json", "-"]])
@pytest.mark.parametrize("stdin", ["closed", "endless"])
def test_closed_or_endless_stdin_is_one_clear_line(bench, command, stdin, tmp_path):
    """Issue 16 #13 and #19: `<&-` and `< /dev/zero`."""
    if "predict" in command:
        command = ["predict", "--model", str(tmp_path / "m.json"), "-"]
        assert run("fit", "--features", "onehot", "--train-size", "5", "--model", command[2], "--quiet").exit_code == 0
    with open("/dev/zero", "rb") as zeros:
        done = subprocess.run([sys.executable, str(ROOT / "cli.py"), *command], capture_output=True,
                              text=True, timeout=60, stdin=zeros if stdin == "endless" else None,
                              preexec_fn=(lambda: os.close(0)) if stdin == "closed" else None)
    message = "stdin is closed" if stdin == "closed" else "line 1 is longer than 4096 bytes"
    assert done.returncode == 2 and message in done.stderr and len(done.stderr.splitlines()) == 1, done.stderr


@pytest.mark.skipif(torch.cuda.is_available() or torch.backends.mps.is_available(), reason="a CPU-only machine")
def test_the_default_device_is_the_best_one_present(bench):
    from proxynas.devices import resolve_device

    assert resolve_device("auto") == "cpu"
    scored = run("score", "--sample", "2", "--proxies", "params", "--json", "--quiet")
    assert json.loads(scored.stdout)["setting"]["device"] == "cpu"


def test_the_progress_bar_shows_a_side_activity_until_it_completes():
    from proxynas.cli.common import progress_bar

    bar = progress_bar(False, "full trainings", 20)
    with bar as progress:
        scoring = bar.activity("scoring candidates")
        scoring(3, 1000)  # before the first training: the bar starts here
        assert bar.bar.current_item == "scoring candidates 3/1000"
        assert "scoring candidates 3/1000" in bar.bar.format_progress_line()
        scoring(1000, 1000)
        assert bar.bar.current_item is None
        progress(1, 20)
    assert progress_bar(True, "full trainings").activity("scoring candidates") is None
