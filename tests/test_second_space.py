"""A tiny cell space of the test's own (other ops, 64 architectures, a task whose metric is a loss: lower is
better) runs space -> score -> fit -> search end to end through the public API, with no library change."""

import numpy as np
import pytest
import torch
from torch import nn

import proxynas
from proxynas.search import get_strategy_class
from proxynas.spaces.cell import IndexMap

OPS = ("zero", "identity", "conv1x1", "maxpool")
EDGES = ((0, 1), (0, 2), (1, 2))


class TinyNet(nn.Module):
    """Stem conv, one cell (node 2 = sum of its edges' ops), global pooling, linear head."""

    def __init__(self, arch, task, benchmark: bool, skip_dead_edges: bool):
        super().__init__()
        space = arch.space
        self.stem = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.ops = nn.ModuleList(self._op(space.ops[o], benchmark) for o in arch)
        live = space.live_edges(arch) if skip_dead_edges else [space.ops[o] != "zero" for o in arch]
        self.inputs = [[(src, i) for i, ((src, dst), on) in enumerate(zip(space.edges, live)) if dst == t and on]
                       for t in (1, 2)]
        self.head = nn.Linear(8, task.num_classes)

    @staticmethod
    def _op(name: str, benchmark: bool) -> nn.Module:
        if name == "conv1x1":
            return nn.Sequential(nn.ReLU(), nn.Conv2d(8, 8, 1, bias=False),
                                 nn.BatchNorm2d(8, affine=benchmark, track_running_stats=benchmark))
        return nn.MaxPool2d(3, 1, 1) if name == "maxpool" else nn.Identity()

    def features(self, x):
        nodes = [self.stem(x)]
        for inputs in self.inputs:
            terms = [self.ops[i](nodes[src]) for src, i in inputs]
            nodes.append(sum(terms[1:], terms[0]) if terms else torch.zeros_like(nodes[0]))
        return nodes[-1]

    def forward(self, x):
        return self.head(self.features(x).mean(dim=(2, 3)))


class TinySpace(proxynas.CellSpace):
    tasks = ("tiny-task",)

    def __init__(self):
        super().__init__("tiny3", OPS, EDGES, zero_op="zero", identity_op="identity")

    def build_network(self, arch, task, convention="benchmark", skip_dead_edges=False):
        return TinyNet(arch, task, convention == "benchmark", skip_dead_edges)


@pytest.fixture(scope="module")
def tiny():
    """The space, its task and an in-memory benchmark whose loss falls with live convolutions."""
    space = proxynas.get_space("tiny3") if "tiny3" in proxynas.space_names() else proxynas.register_space(TinySpace())
    loss = proxynas.Metric("val_loss", higher_is_better=False)
    try:
        task = proxynas.get_task("tiny-task")
    except proxynas.ProxynasError:
        task = proxynas.register_task(proxynas.Task("tiny-task", 4, 8, search_metric=loss,
                                                    report_metric=proxynas.Metric("test_loss", False)))
    archs = space.all_archs()[::-1]  # official index order differs from the space's own enumeration
    rng = np.random.default_rng(0)
    quality = np.array([sum(on and space.ops[o] == "conv1x1" for o, on in zip(a, space.live_edges(a))) for a in archs])
    val = 2.0 - 0.4 * quality + rng.normal(0, 0.05, len(archs))
    bench = proxynas.InMemoryBenchmark(IndexMap(space, np.array(archs)), {
        ("tiny-task", "val_loss"): val, ("tiny-task", "test_loss"): val + rng.normal(0, 0.05, len(archs)),
        ("tiny-task", "train_time_total_s"): np.full(len(archs), 60.0)})
    return space, task, bench


def test_the_space_is_generic(tiny):
    space, _, _ = tiny
    assert space.size == 64 and len(space.all_archs()) == 64
    arch = space.parse("|conv1x1~0|+|maxpool~0|identity~1|")
    assert str(arch) == "|conv1x1~0|+|maxpool~0|identity~1|" and arch.space is space
    assert len(space.neighbours(arch)) == 9 and space.encode([arch], "onehot").shape == (1, 12)
    assert space.encoding_names("path") == ["path=" + ">".join(s) for s in space.path_sequences]
    with pytest.raises(proxynas.ProxynasError, match="unknown operation 'nor_conv_3x3'"):
        space.parse("|nor_conv_3x3~0|+|zero~0|zero~1|")


def test_score_fit_and_search_run_on_the_second_space(tiny, tmp_path):
    space, task, bench = tiny
    from proxynas.cache import ScoreCache

    batch = proxynas.BatchSpec("tiny-task", kind="noise", batch_size=8)
    archs = space.sample(20, seed=1)
    table = proxynas.score(archs, proxynas.get_proxies("synflow,grad_norm,params"), batch, cache=ScoreCache(tmp_path))
    live = [not space.is_zero(a) for a in archs]
    assert np.isfinite(table.scores["params"]).all() and np.isfinite(table.scores["synflow"][live]).all()
    assert table.computed_cells < 2 * len(archs)  # function-only proxies ran once per function class

    spec = proxynas.FeatureSpec(("onehot", "path", "zc"), ("synflow", "params"), batch=batch, space="tiny3")
    model, row = proxynas.fit_on_benchmark(bench, spec, "val", train_size=30, eval_size=30, seed=0)
    assert model.target == "val_loss" and row["spearman"] > 0.5

    for name in proxynas.strategy_names():
        if get_strategy_class(name).one_shot:
            continue  # a supernet is built for NB201 only
        options = {"score": proxynas.scorer(batch), "pool": 30, "warm": 3} if name == "guided" else {}
        result = proxynas.run_search(proxynas.get_strategy(name, "tiny3", 0, **options),
                                     proxynas.TabularEvaluator(bench, "tiny-task"), 15, seed=0)
        values = [s.val_acc for s in result.trajectory]
        assert result.search_metric == "val_loss" and result.val_acc == min(values), name  # lower is better
        assert result.test_acc == bench.column("tiny-task", "test_loss")[bench.index.index_of(
            space.parse(result.best_arch))]
    everything = proxynas.run_search(proxynas.get_strategy("random", "tiny3", 0),
                                     proxynas.TabularEvaluator(bench, "tiny-task"), 100, seed=0)
    assert everything.stopped_by == "space" and everything.trainings == 64
    assert everything.val_acc == bench.best("tiny-task", "val_loss")[1]
