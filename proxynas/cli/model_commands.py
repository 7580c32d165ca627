"""`fit` and `predict`: the XGBoost surrogate on architecture encodings and proxy scores."""

from __future__ import annotations

from pathlib import Path

import click

from proxynas.cli.common import (cli, dataset_option, device_option, echo_json, echo_table, finite_or_none,
                                 json_option, output_path, progress_bar, quiet_option, read_lines, read_tokens,
                                 seed_option, space_option)
from proxynas.defaults import SURROGATE_PROXIES



@cli.command()
@space_option
@dataset_option
@click.option("--train-size", type=click.IntRange(2), default=100, show_default=True)
@click.option("--features", "groups", default="onehot,zc", show_default=True,
              help="Comma-separated groups: onehot, path, zc, size, prior (a zero-shot ensemble the model "
                   "blends with, weighted by the training size).")
@click.option("--proxies", default=",".join(SURROGATE_PROXIES), show_default=True, help="Proxies of the zc group.")
@click.option("--prior", "prior_name", default="zs", show_default=True, help="Ensemble of the prior group.")
@click.option("--zc-source", default="engine", show_default=True,
              help="'engine' (compute and cache) or a precomputed source imported with `data import-zc`.")
@click.option("--target", type=click.Choice(["test", "val"]), default="test", show_default=True)
@seed_option("Seed for the sample, batch and model.")
@output_path("--model", "model_path", required=True,
             help="Where to save the model (JSON metadata; XGBoost members beside it).")
@click.option("--eval-size", type=click.IntRange(0), default=0, help="Held-out cells to evaluate on.")
@click.option("--batch-size", type=int, default=64, show_default=True, help="Proxy input batch size.")
@device_option
@quiet_option
@json_option
def fit(space, dataset, train_size, groups, proxies, prior_name, zc_source, target, seed, model_path, eval_size,
        batch_size, device, quiet, as_json):
    """Fit an XGBoost accuracy predictor on a seeded sample of benchmark cells."""
    from proxynas import features
    from proxynas.bench import open_benchmark
    from proxynas.data import BatchSpec
    from proxynas.modelling import fit_on_benchmark

    spec = features.FeatureSpec(tuple(g.strip() for g in groups.split(",") if g.strip()),
                                tuple(p.strip() for p in proxies.split(",") if p.strip()) if "zc" in groups else (),
                                zc_source, BatchSpec(dataset, batch_size=batch_size, seed=seed), space, prior_name)
    with progress_bar(quiet, "features") as progress:
        model, row = fit_on_benchmark(open_benchmark(space), spec, target, train_size, eval_size, seed, device,
                                      progress)
    model.save(model_path)
    payload = {"model": str(model_path), "dataset": dataset, "target": model.target, "train_size": train_size,
               "features": spec.to_dict(), "feature_columns": len(spec.names())}
    if row:
        payload["eval"] = {"size": eval_size, **{k: finite_or_none(row[k]) for k in ("spearman", "kendall",
                                                                                      "top10_precision")}}
    if as_json:
        return echo_json(payload)
    click.echo(f"fitted on {train_size} {dataset} cells ({len(spec.names())} features: {groups}); saved {model_path}")
    if eval_size:
        e = payload["eval"]
        click.echo(f"held-out {eval_size}: spearman {e['spearman']:.3f}  kendall {e['kendall']:.3f}  "
                   f"top-10% precision {e['top10_precision']:.3f}")


@cli.command()
@click.argument("archs", nargs=-1)
@click.option("--model", "model_path", type=click.Path(path_type=Path, dir_okay=False, exists=True), required=True)
@click.option("--archs", "archs_file", type=click.Path(dir_okay=False, allow_dash=True),
              help="File (or -) with one arch per line.")
@device_option
@quiet_option
@json_option
def predict(archs, model_path, archs_file, device, quiet, as_json):
    """Predict accuracy (and its uncertainty) of architectures with a fitted model."""
    from proxynas import features
    from proxynas.bench import open_benchmark
    from proxynas.surrogate import Surrogate

    model = Surrogate.load(model_path)
    bench = open_benchmark(model.features.space)
    tokens = list(archs) + (read_lines(archs_file) if archs_file else [])
    cells = [bench.index.resolve(t) for t in read_tokens(tuple(tokens))]
    with progress_bar(quiet, "features") as progress:
        mean, std = model.predict(features.build(cells, model.features, bench, device, progress), return_std=True)
    rows = [{"index": int(i), "arch": str(a), "predicted": float(m), "std": float(s)}
            for i, a, m, s in zip(bench.index.indices_of(cells), cells, mean, std)]
    if as_json:
        return echo_json({"model": str(model_path), "target": model.target, "dataset": model.features.dataset,
                          "predictions": rows})
    echo_table(rows, ["index", "predicted", "std", "arch"])
