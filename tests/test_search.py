"""Search strategies, the loop's budget accounting and sealing, and the search / rank commands."""

import json
import time

import numpy as np
import pytest
from click.testing import CliRunner

from proxynas import metrics
from proxynas.cli import cli
from proxynas.data import BatchSpec
from proxynas.errors import ProxynasError
from proxynas.scoring import scorer
from proxynas.search import (Strategy, TabularEvaluator, get_strategy, get_strategy_class, run_search,
                             strategy_names)
from proxynas.spaces import nb201


def make_strategy(name, seed=0, **options):
    if name == "guided":
        options = {"score": scorer(BatchSpec("cifar10")), **options}
    return get_strategy(name, "nb201", seed, **options)


def strategy(name, seed=0):
    return make_strategy(name, seed, **({"pool": 60, "warm": 2} if name == "guided" else {}))


def test_the_registry_has_every_strategy_and_names_the_valid_ones():
    assert strategy_names() == ["darts", "darts-pt-uniform", "darts-v2", "gdas", "guided", "ls", "random", "rea",
                                "reinforce", "zc-pt"]
    with pytest.raises(ProxynasError, match="unknown strategy 'bogus'; valid: darts, darts-pt-uniform, darts-v2, gdas"):
        get_strategy("bogus", "nb201", 0)
    with pytest.raises(ProxynasError, match="unknown search space 'nb999'; valid: nb201"):
        get_strategy("random", "nb999", 0)


@pytest.mark.parametrize("name", [n for n in strategy_names() if not get_strategy_class(n).one_shot])
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
        run_search(Peeking("nb201", 0), TabularEvaluator(bench, "cifar10"), 3, seed=0)
    assert len(bench.column("cifar10", "val_acc")) == nb201.NUM_ARCHS  # unsealed again afterwards


def test_local_search_climbs_to_the_best_neighbour_then_restarts():
    search = make_strategy("ls", 0)
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
    search = make_strategy("ls", 1)
    start = search.ask()
    search.tell(start, 90.0)
    for _ in range(24):
        search.tell(search.ask(), 10.0)
    assert search.ask() not in set(nb201.neighbours(start))  # a random restart, not a climb


def test_regularized_evolution_mutates_tournament_winners_and_ages_out():
    search = make_strategy("rea", 0, population=4, tournament=2)
    for value in range(4):
        search.tell(search.ask(), float(value))
    child = search.ask()
    assert any(child in nb201.neighbours(member) for member, _ in search.population)
    search.tell(child, 99.0)
    assert len(search.population) == 4 and search.population[-1] == (child, 99.0)


def test_guided_search_trains_the_best_proxy_vote_first_and_needs_a_warm_start():
    guided = strategy("guided")
    first = guided.ask()
    vote = metrics.rank_vote([guided.scores[p] for p in ("synflow", "params", "flops")])
    assert vote[guided.row[first]] == np.nanmax(vote)
    with pytest.raises(ProxynasError, match="at least 2 warm-start"):
        make_strategy("guided", 0, warm=1)
    with pytest.raises(ProxynasError, match="needs a scoring function"):
        get_strategy("guided", "nb201", 0)


def synthetic_scores(archs, names):
    """Deterministic stand-in proxy scores (no networks): a hash of the cell code per proxy."""
    return {n: np.array([((a.code * 7919 + 31 * i) % 1009) / 1009.0 for a in archs]) for i, n in enumerate(names)}


def test_guided_search_with_a_prior_starts_from_the_ensemble_over_the_whole_space(bench):
    from proxynas import ensembles

    guided = get_strategy("guided", "nb201", 0, score=synthetic_scores, proxies=(), prior="zs", pool=10**6)
    first = guided.ask()
    assert len(guided.candidates) == nb201.SPACE.size  # a pool as large as the space: every cell
    assert set(guided.spec.proxies) == set(ensembles.ENSEMBLES["zs"]) and guided.spec.groups[-1] == "prior"
    ensemble = ensembles.combine("zs", guided.scores)
    open_best = max(ensemble[i] for i, a in enumerate(guided.candidates) if not nb201.SPACE.is_zero(a))
    assert ensemble[guided.row[first]] == open_best  # the warm start takes the ensemble's best cell
    result = run_search(guided, TabularEvaluator(bench, "cifar10"), 8, 0)
    assert result.trainings == 8 and guided.prior is not None
    with pytest.raises(ProxynasError, match="unknown ensemble 'nope'"):
        get_strategy("guided", "nb201", 0, score=synthetic_scores, prior="nope")
    for bad in (-1.0, float("nan"), "30"):  # refused before any training, not at the first fit
        with pytest.raises(ProxynasError, match="prior_shrink must be a finite number >= 0"):
            get_strategy("guided", "nb201", 0, score=synthetic_scores, prior="zs", prior_shrink=bad)


def test_a_named_ensemble_becomes_the_prior_and_the_whole_space_the_pool_when_its_scores_are_there(monkeypatch):
    from proxynas import scoring
    from proxynas.search import SearchSetup

    setup = SearchSetup(proxies=("zs", "synflow"))
    monkeypatch.setattr(scoring, "uncached", lambda *args: 0)
    assert setup.proxy_options(setup.proxies, "engine") == {"proxies": ("synflow",), "prior": "zs", "pool": 15625,
                                                            "radius": 1, "kappa": 0.0}
    monkeypatch.setattr(scoring, "uncached", lambda *args: 3)  # some cells would need computing: the usual pool
    assert setup.proxy_options(setup.proxies, "engine") == {"proxies": ("synflow",), "prior": "zs"}
    assert setup.proxy_options(("synflow",), "engine") == {"proxies": ("synflow",)}


def test_after_the_warm_start_a_radius_keeps_the_search_near_its_best_cells_and_grows_when_they_are_used_up():
    guided = get_strategy("guided", "nb201", 0, score=synthetic_scores, proxies=(), prior="zs", pool=10**6,
                          warm=2, expand=2, radius=1)
    guided.ask()
    guided.queue = []
    best = nb201.parse("|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|")
    worse = nb201.parse("|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|avg_pool_3x3~1|none~2|")
    guided.tell(best, 90.0)
    guided.tell(worse, 10.0)

    def edits(arch):
        return min(sum(a != b for a, b in zip(arch, told)) for told in (best, worse))

    for _ in range(6):
        arch = guided.ask()
        assert edits(arch) == 1  # one edit from the 2 best trained cells, though every cell is a candidate
        guided.tell(arch, 5.0)
    # With every cell within one edit of the trained ones used up, the radius grows to the nearest open cells.
    near = {guided.functions[i] for i in range(len(guided.candidates)) if edits(guided.candidates[i]) <= 1}
    guided.known_functions |= near
    guided.queue = []
    assert edits(guided.ask()) == 2
    with pytest.raises(ProxynasError, match="radius must be at least 1"):
        get_strategy("guided", "nb201", 0, score=synthetic_scores, radius=0)


def test_guided_search_never_trains_a_second_cell_of_a_trained_function():
    guided = make_strategy("guided", 0, pool=60, warm=2)
    # Node 1 feeds nothing (only through `none`), so the op on edge 0->1 cannot change the function.
    cells = [nb201.parse(f"|{op}~0|+|nor_conv_3x3~0|none~1|+|nor_conv_3x3~0|none~1|nor_conv_3x3~2|")
             for op in nb201.OPS]
    assert len({nb201.canonical_function(a) for a in cells}) == 1
    guided.ask()  # the pool is scored at the first ask
    guided.queue = []
    guided.tell(cells[0], 95.0)
    for arch in guided.candidates[:3]:
        guided.tell(arch, 40.0)
    guided._add(cells)  # the surrogate rates the told best cell's one-edge variants highest
    for _ in range(6):
        arch = guided.ask()
        assert arch not in cells
        guided.tell(arch, 50.0)


def test_guided_search_never_trains_a_disconnected_cell():
    guided = make_strategy("guided", 0, pool=2, warm=2)
    # No edge into node 3 carries a signal: the network's output ignores the image.
    zeros = [nb201.parse(f"|{op}~0|+|nor_conv_3x3~0|{op}~1|+|none~0|none~1|none~2|") for op in nb201.OPS]
    assert {nb201.canonical_function(a) for a in zeros} == {"zero"}
    guided.ask()
    guided.queue = []
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

    result = run_search(Slow("nb201", 0), TabularEvaluator(bench, "cifar10"), 1000, seed=0, time_budget=0.3)
    assert result.stopped_by == "time" and 1 <= result.trainings < 20
    with pytest.raises(ProxynasError, match="before the first full training"):
        run_search(Slow("nb201", 0), TabularEvaluator(bench, "cifar10"), 5, seed=0, time_budget=1e-9)


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
    assert bad.exit_code == 2 and "uses no proxies" in bad.output
    for option, value, valid in (("--strategy", "bogus", "guided, ls, random, rea, reinforce"),
                                 ("--space", "nb999", "nb201"), ("--dataset", "mnist", "cifar10, cifar100")):
        unknown = CliRunner().invoke(cli, ["search", option, value])
        assert unknown.exit_code == 2 and valid in unknown.output, unknown.output


def test_searches_end_when_the_space_is_exhausted(bench):
    """A budget larger than the space stops when every cell is trained (it used to spin forever)."""
    class Tiny(Strategy):  # a strategy confined to the 25 cells that differ only on the last two edges
        name = "tiny"

        def ask(self):
            options = [nb201.Arch((0, 0, 0, 0, a, b)) for a in range(5) for b in range(5)]
            untrained = [a for a in options if a not in self.seen]
            if not untrained:
                from proxynas.search import SpaceExhausted

                raise SpaceExhausted("all 25 cells trained")
            return untrained[0]

    result = run_search(Tiny("nb201", 0), TabularEvaluator(bench, "cifar10"), 100, seed=0)
    assert result.stopped_by == "space" and result.trainings == 25
    random = make_strategy("random")
    random.seen = dict.fromkeys(nb201.all_archs(), 0.0)
    from proxynas.search import SpaceExhausted

    with pytest.raises(SpaceExhausted):
        random.ask()


def test_reinforce_policy_moves_towards_rewarded_ops():
    search = make_strategy("reinforce", 0)
    good = nb201.Arch([3] * 6)  # every edge a 3x3 conv
    before = search._policy()[:, 3].mean()
    for _ in range(100):
        arch = search.ask()
        search.tell(arch, 90.0 if arch == good else 50.0 + 5.0 * sum(o == 3 for o in arch))
    after = search._policy()[:, 3]
    assert (after > before + 0.05).all()  # more 3x3 convs rewarded, more sampled (lr 0.01: slow by design)
    assert np.allclose(search._policy().sum(axis=1), 1.0)


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


def test_the_public_facade_resolves_every_name_and_runs_a_search(bench):
    import proxynas

    assert all(getattr(proxynas, name) is not None for name in proxynas.__all__)
    result, evaluator = proxynas.SearchSetup(strategy="rea", budget=5, seed=2).run()
    assert result.trainings == 5 and result.strategy == "rea" and evaluator.task.name == "cifar10"
    with pytest.raises(AttributeError):
        proxynas.no_such_name  # noqa: B018


def test_a_search_passes_its_candidate_scoring_progress_to_the_engine(monkeypatch):
    """Scoring a pool at 256 pixels takes minutes: the CLI shows it beside the trainings, through this callback."""
    from proxynas import scoring
    from proxynas.search import SearchSetup

    given, engine_scorer = [], scoring.scorer
    monkeypatch.setattr(scoring, "scorer", lambda spec, device="cpu", cache=None, progress=None:
                        given.append(progress) or engine_scorer(spec, device, cache))

    def report(done, total):
        pass

    result, _ = SearchSetup(budget=2, proxies=("params",)).run(scoring_progress=report)
    assert result.trainings == 2 and given == [report]
