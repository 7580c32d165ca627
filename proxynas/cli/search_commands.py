"""`search`, `rank` and `train`: finding, ordering and really training architectures."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import click

from proxynas import paths
from proxynas.cli.common import (Registered, cli, dataset_option, device_option, echo_json, echo_table,
                                 finite_or_none, json_option, progress_bar, quiet_option, read_lines, read_tokens,
                                 seed_option, space_option)
from proxynas.defaults import SCORE_PROXIES


@cli.command()
@space_option
@dataset_option
@click.option("--budget", type=click.IntRange(1), default=20, show_default=True, help="Full trainings allowed.")
@click.option("--strategy", type=Registered("proxynas.search", "strategy_names", "get_strategy_class"),
              default="guided", show_default=True)
@seed_option("Seed of the strategy (and of its proxies' batch).")
@click.option("--proxies", default=None,
              help="Proxies the guided search scores candidates with (an ensemble such as zs: its members, its "
              "ranking as the warm start and as the surrogate's prior); zc-pt's one proxy or ensemble (default zico).")
@click.option("--candidates", type=click.IntRange(1), default=10, show_default=True,
              help="zc-pt: cells proposed (each with its own edge order and batch) before the best is trained.")
@click.option("--edge-order", type=click.Choice(["random", "fixed", "reverse"]), default="random", show_default=True,
              help="zc-pt: the order in which edges are decided.")
@click.option("--select", type=click.Choice(["argmax", "perturb"]), default=None,
              help="darts, darts-v2, gdas: the largest alpha per edge (default), or DARTS-PT's perturbation-based "
              "selection (edge by edge, the op whose removal costs the supernet most accuracy; 25 more epochs). "
              "darts-pt-uniform (alpha never learned) selects by perturbation only.")
@click.option("--zc-source", default=None,
              help="'engine' (compute them) or a source imported into the benchmark. Default: the engine, except "
              "on tnb101 without --proxies, where the benchmark's zen scores are used.")
@click.option("--time-budget", type=click.FloatRange(0, min_open=True), help="Also stop after this many seconds.")
@click.option("--evaluator", type=click.Choice(["benchmark", "train"]), default="benchmark", show_default=True,
              help="Full training = a counted benchmark query, or real training on --data.")
@click.option("--data", type=click.Path(path_type=Path, exists=True),
              help="npz or CIFAR folder: what --evaluator train trains on, and what the differentiable searches "
              "(darts, darts-v2, gdas, darts-pt-uniform) search on.")
@click.option("--epochs", type=click.IntRange(1), default=None,
              help="Epochs of real training (default 200) or of a differentiable search (default 50).")
@click.option("--train-batch-size", type=click.IntRange(1), default=256, show_default=True,
              help="Batch size of real training.")
@device_option
@quiet_option
@json_option
def search(quiet, as_json, proxies, **options):
    """Search for the best architecture, fully training (querying) at most --budget cells."""
    from proxynas import ensembles
    from proxynas import search as searching

    names = tuple(p.strip() for p in proxies.split(",") if p.strip()) if proxies else None
    if names and options["zc_source"] in (None, "engine"):
        ensembles.parse_list(proxies)  # an unknown name is an error here
    setup = searching.SearchSetup(proxies=names, **options)
    bar = progress_bar(quiet, "full trainings", setup.budget)
    with bar as progress:
        result, evaluator = setup.run(progress, bar.activity("scoring candidates"))
    if as_json:
        histories = getattr(evaluator, "histories", {})
        return echo_json(result.to_dict() | ({"histories": {str(a): [asdict(e) for e in h] for a, h in
                                                             histories.items()}} if histories else {}))
    echo_table([{"trainings": s.trainings, "val_acc": s.val_acc, "best_val_acc": s.best_val_acc, "arch": s.arch}
                for s in result.trajectory], ["trainings", "val_acc", "best_val_acc", "arch"])
    hours = "simulated GPU hours" if setup.evaluator == "benchmark" else "hours of real training"
    scores = f"validation {result.val_acc:.4g}" + (f", test {result.test_acc:.4g}"
                                                   if result.report_metric != result.search_metric
                                                   else " (no separate test split)")
    cost = f" = {result.train_hours:.1f} {hours}" if result.train_hours > 0 else " (no training time recorded)"
    searched = (f" ({result.search_hours * 3600:.1f} s searching on {setup.device} before training)"
                if result.search_hours > 0 else "")
    click.echo(f"best: {result.best_arch}\n{scores} ({result.dataset}); {result.trainings} full trainings{cost}; "
               f"{result.compute_seconds:.1f} s of compute{searched}; stopped by {result.stopped_by}")


@cli.command()
@click.argument("archs_file", metavar="[FILE|-]", type=click.Path(dir_okay=False, allow_dash=True), default="-")
@space_option
@dataset_option
@click.option("--by", default="vote", show_default=True, help="A proxy name, an ensemble (zs), 'vote' or 'surrogate'.")
@click.option("--proxies", default=",".join(SCORE_PROXIES), show_default=True, help="Proxies of the vote.")
@click.option("--model", "model_path", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Surrogate model (for --by surrogate).")
@click.option("--top", type=click.IntRange(1), help="Show only the best K.")
@seed_option("Seed of the batch and weight init.")
@click.option("--batch-size", type=int, default=64, show_default=True, help="Proxy input batch size.")
@device_option
@quiet_option
@json_option
def rank(archs_file, space, dataset, by, proxies, model_path, top, seed, batch_size, device, quiet, as_json):
    """Rank architectures (arch strings or indices, one per line) by a proxy, a rank vote or a surrogate."""
    from proxynas import ranking
    from proxynas.bench import open_benchmark
    from proxynas.data import BatchSpec

    bench = open_benchmark(space)
    cells = [bench.index.resolve(t) for t in read_tokens(tuple(read_lines(archs_file)))]
    with progress_bar(quiet, "scoring") as progress:
        order, columns = ranking.rank(cells, by, BatchSpec(dataset, batch_size=batch_size, seed=seed), proxies,
                                      model_path, bench, progress, device)
    rows = [{"rank": r + 1, "index": int(bench.index.index_of(cells[i])), "arch": str(cells[i]),
             **{name: finite_or_none(float(values[i])) for name, values in columns.items()}}
            for r, i in enumerate(order[:top])]
    if as_json:
        return echo_json({"dataset": dataset, "by": by, "ranking": rows})
    echo_table([{**r, **{c: "nan" if r[c] is None else f"{r[c]:.6g}" for c in columns}} for r in rows],
               ["rank", "index", *columns, "arch"])


@cli.command()
@click.argument("arch")
@space_option
@click.option("--data", type=click.Path(path_type=Path, exists=True), required=True,
              help="npz (images uint8 N×H×W×3, labels) or an official CIFAR python folder.")
@click.option("--epochs", type=click.IntRange(1), default=200, show_default=True)
@click.option("--train-batch-size", type=click.IntRange(1), default=256, show_default=True)
@click.option("--val-fraction", type=float, default=0.1, show_default=True)
@click.option("--max-images", type=click.IntRange(4), help="Use a seeded subset of this many images (default: all).")
@seed_option("Split, init, shuffling and augmentation.")
@device_option
@quiet_option
@json_option
def train(arch, space, data, epochs, train_batch_size, val_fraction, max_images, seed, device, quiet, as_json):
    """Train one architecture for real (NB201 recipe; checkpointed each epoch, so a killed run resumes)."""
    from proxynas.spaces.base import get_space
    from proxynas.train import TrainConfig, train as train_cell

    if arch.strip().isdigit():  # an index needs the benchmark's order
        from proxynas.bench import open_benchmark

        cell = open_benchmark(space).index.resolve(arch)
    else:
        cell = get_space(space).parse(arch)
    config = TrainConfig(epochs=epochs, batch_size=train_batch_size, val_fraction=val_fraction, seed=seed,
                         max_images=max_images)
    with progress_bar(quiet, "epochs") as progress:
        history = train_cell(cell, data, config, device, paths.cache_dir() / "checkpoints", progress)
    if as_json:
        return echo_json({"arch": str(cell), "data": str(data), "config": asdict(config), "device": device,
                          "epochs": [asdict(e) for e in history]})
    echo_table([asdict(e) for e in history], ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds"])
