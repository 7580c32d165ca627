"""A surrogate fitted on a seeded sample of benchmark cells, and evaluated on held-out ones."""

from __future__ import annotations


from proxynas import features, metrics
from proxynas.features import FeatureSpec, training_split
from proxynas.tasks import get_task



def fit_on_benchmark(bench, spec: FeatureSpec, target: str, train_size: int, eval_size: int = 0, seed: int = 0,
                     device: str = "cpu", progress=None):
    """(fitted Surrogate, held-out correlation row or None). `target` is "test" (the task's report metric)
    or "val" (its search metric); `eval_size` further cells, drawn with the training ones, are held out."""
    from proxynas.surrogate import Surrogate

    task = get_task(spec.dataset)
    column = (task.report_metric if target == "test" else task.search_metric).name
    archs = training_split(bench, spec, train_size, eval_size, seed)
    x = features.build(archs, spec, bench, device, progress)
    truth = bench.column(task.name, column)[bench.index.indices_of(archs)]
    model = Surrogate(spec, target=column, seed=seed).fit(x.rows(slice(train_size)), truth[:train_size])
    held_out = slice(train_size, None)
    row = metrics.correlation_row(model.predict(x.rows(held_out)), truth[held_out]) if eval_size else None
    return model, row


