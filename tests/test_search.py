"""Search strategies, the loop's budget accounting and sealing, and the search / rank commands."""

import json
import time

import numpy as np
import pytest
from click.testing import CliRunner

from proxynas import metrics
from proxynas.cli import cli
from proxynas.errors import ProxynasError
from proxynas.search import STRATEGIES, Strategy, TabularEvaluator, make_strategy, run_search
from proxynas.spaces import nb201

SMALL_GUIDED = {"pool": 60, "warm": 2}


def strategy(name, seed=0):
    return make_strategy(name, "cifar10", seed, **(SMALL_GUIDED if name == "guided" else {}))


@pytest.mark.parametrize("name", STRATEGIES)
def test_each_strategy_spends_exactly_the_budget_without_retraining(bench, name):
    before = bench.cost.trainings
    result = run_search(strategy(name), TabularEvaluator(bench, "cifar10"), 12, seed=0)
    archs = [s.arch for s in result.trajectory]
    assert result.trainings == 12 == len(set(archs)) == bench.cost.trainings - before
    assert result.best_arch in archs and result.val_acc == max(s.val_acc for s in result.trajectory)
    index = bench.index.index_of(bench.index.resolve(result.best_arch))
    assert result.test_acc == bench.column("cifar10", "test_acc")[index]  # reported, never seen by the search
    assert result.train_hours == pytest.approx(
        sum(bench.column("cifar10", "train_time_total_s")[bench.index.index_of(bench.index.resolve(a))]
            for a in archs) / 3600)
    again = run_search(strategy(name), TabularEvaluator(bench, "cifar10"), 12, seed=0)
    assert [s.arch for s in again.trajectory] == archs  # deterministic for a seed


def test_a_search_cannot_read_accuracies_except_through_counted_training(bench):
    class Peeking(Strategy):
        name = "peeking"

        def ask(self):
            values = bench.column("cifar10", "val_acc")  # cheating: reading the table directly
            return bench.index.arch_at(int(np.nanargmax(values)))

    with pytest.raises(ProxynasError, match="only through query"):
        run_search(Peeking("cifar10", 0), TabularEvaluator(bench, "cifar10"), 3, seed=0)
    assert len(bench.column("cifar10", "val_acc")) == nb201.NUM_ARCHS  # unsealed again afterwards


def test_local_search_climbs_to_the_best_neighbour_then_restarts():
    search = make_strategy("ls", "cifar10", 0)
    start = search.ask()
    search.tell(start, 50.0)
    neighbours = set(nb201.neighbours(start))
    told = {}
    for value in range(24):
        arch = search.ask()
        assert arch in neighbours and arch not in told
        told[arch] = 40.0 + value
        search.tell(arch, told[arch])
    best = max(told, key=told.get)
    assert search.ask() in set(nb201.neighbours(best)) - set(told) - {start}  # moved to the best neighbour


def test_local_search_restarts_at_a_local_optimum():
    search = make_strategy("ls", "cifar10", 1)
    start = search.ask()
    search.tell(start, 90.0)
    for _ in range(24):
        search.tell(search.ask(), 10.0)
    assert search.ask() not in set(nb201.neighbours(start))  # a random restart, not a climb


def test_regularized_evolution_mutates_tournament_winners_and_ages_out():
    search = make_strategy("rea", "cifar10", 0, population=4, tournament=2)
    for value in range(4):
        search.tell(search.ask(), float(value))
    child = search.ask()
    assert any(child in nb201.neighbours(member) for member, _ in search.population)
    search.tell(child, 99.0)
    assert len(search.population) == 4 and search.population[-1] == (child, 99.0)


def test_guided_search_trains_the_best_proxy_vote_first_and_needs_a_warm_start():
    guided = strategy("guided")
    first = guided.ask()
    vote = metrics.rank_vote(list(guided.values[:, -3:].T))  # synflow, params, flops
    assert vote[guided.row[first]] == np.nanmax(vote)
    with pytest.raises(ProxynasError, match="at least 2 warm-start"):
        make_strategy("guided", "cifar10", 0, warm=1)


def test_guided_search_never_trains_a_second_cell_of_a_trained_function():
    guided = make_strategy("guided", "cifar10", 0, pool=60, warm=2)
    # Node 1 feeds nothing (only through `none`), so the op on edge 0->1 cannot change the function.
    cells = [nb201.parse(f"|{op}~0|+|nor_conv_3x3~0|none~1|+|nor_conv_3x3~0|none~1|nor_conv_3x3~2|")
             for op in nb201.OPS]
    assert len({nb201.canonical_function(a) for a in cells}) == 1
    guided.tell(cells[0], 95.0)
    for arch in guided.candidates[:3]:
        guided.tell(arch, 40.0)
    guided._add(cells)  # the surrogate rates the told best cell's one-edge variants highest
    for _ in range(6):
        arch = guided.ask()
        assert arch not in cells
        guided.tell(arch, 50.0)


def test_guided_search_never_trains_a_disconnected_cell():
    guided = make_strategy("guided", "cifar10", 0, pool=2, warm=2)
    # No edge into node 3 carries a signal: the network's output ignores the image.
    zeros = [nb201.parse(f"|{op}~0|+|nor_conv_3x3~0|{op}~1|+|none~0|none~1|none~2|") for op in nb201.OPS]
    assert {nb201.canonical_function(a) for a in zeros} == {"zero"}
    guided._add(zeros)
    for _ in range(4):  # past the 2 pool cells only zero-function candidates are left
        arch = guided.ask()
        assert nb201.canonical_function(arch) != "zero"
        guided.tell(arch, 50.0)


def test_time_budget_stops_the_search(bench):
    class Slow(Strategy):
        name = "slow"

        def ask(self):
            time.sleep(0.05)
            return self.unseen_random()

    result = run_search(Slow("cifar10", 0), TabularEvaluator(bench, "cifar10"), 1000, seed=0, time_budget=0.3)
    assert result.stopped_by == "time" and 1 <= result.trainings < 20
    with pytest.raises(ProxynasError, match="before the first full training"):
        run_search(Slow("cifar10", 0), TabularEvaluator(bench, "cifar10"), 5, seed=0, time_budget=1e-9)


def test_search_cli_reports_best_cell_trajectory_and_cost(bench):
    result = CliRunner().invoke(cli, ["search", "--strategy", "rea", "--budget", "15", "--seed", "3", "--json",
                                      "--quiet"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["trainings"] == 15 and len(report["trajectory"]) == 15
    assert report["test_acc"] > 0 and report["train_hours"] > 0 and report["stopped_by"] == "budget"
    text = CliRunner().invoke(cli, ["search", "--strategy", "random", "--budget", "3", "--quiet"])
    assert "best:" in text.output and "simulated GPU hours" in text.output
    bad = CliRunner().invoke(cli, ["search", "--strategy", "ls", "--proxies", "synflow"])
    assert bad.exit_code == 2 and "guided strategy only" in bad.output


def test_rank_cli_orders_by_a_proxy_and_by_a_vote(bench):
    best = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
    lines = "\n".join(["0", best, "5", "0"]) + "\n"
    result = CliRunner().invoke(cli, ["rank", "-", "--by", "synflow", "--json", "--quiet"], input=lines)
    assert result.exit_code == 0, result.output
    ranking = json.loads(result.output)["ranking"]
    assert ranking[0]["arch"] == best and [r["rank"] for r in ranking] == [1, 2, 3, 4]
    assert ranking[0]["synflow"] >= ranking[1]["synflow"] >= ranking[-1]["synflow"]
    vote = CliRunner().invoke(cli, ["rank", "-", "--by", "vote", "--proxies", "synflow,params", "--top", "2",
                                    "--quiet"], input=lines)
    assert vote.exit_code == 0 and len(vote.output.strip().splitlines()) == 3 and "vote" in vote.output
    missing = CliRunner().invoke(cli, ["rank", "-", "--by", "surrogate"], input=lines)
    assert missing.exit_code == 2 and "needs --model" in missing.output
