"""`score` and `correlate`: zero-cost proxy scores of chosen cells, and how well they rank accuracy."""

from __future__ import annotations

import json
from pathlib import Path

import click

from proxynas.cli.common import (cli, dataset_option, device_option, echo_json, echo_table, finite_or_none,
                                 json_option, output_path, progress_bar, quiet_option, read_lines, seed_option,
                                 space_option)
from proxynas.defaults import SCORE_PROXIES
from proxynas.errors import ProxynasError


def scoring_options(command):
    """Options shared by every command that scores architectures."""
    options = [
        space_option,
        dataset_option,
        click.option("--proxies", default=",".join(SCORE_PROXIES), show_default=True,
                     help="Comma-separated proxy or ensemble (zs) names, or 'all'."),
        click.option("--archs", "archs_file", type=click.Path(dir_okay=False, allow_dash=True),
                     help="File (or -) with one arch per line."),
        click.option("--sample", type=click.IntRange(1), help="Score N architectures sampled uniformly."),
        click.option("--all", "all_archs", is_flag=True, help="Score every architecture of the space."),
        seed_option("Seed for sampling, the image batch and weight init."),
        click.option("--batch-size", type=int, default=64, show_default=True, help="Proxy input batch size."),
        click.option("--input", "input_kind", type=click.Choice(["images", "noise"]), default=None,
                     help="images (default where the task has an image file) or Gaussian noise (TransNAS tasks)."),
        click.option("--images", type=click.Path(path_type=Path), help="npz file or CIFAR python folder."),
        device_option,
        click.option("--workers", type=click.IntRange(1),
                     help="Score on a local Dask cluster of N single-threaded worker processes (needs proxynas[dask])."),
        click.option("--scheduler", help="Score on the existing Dask cluster at this scheduler address."),
        quiet_option,
        json_option,
    ]
    for option in reversed(options):
        command = option(command)
    return command


def run_scoring(bench, space, dataset, proxies, archs_file, sample, all_archs, seed, batch_size, input_kind, images,
                device, workers, scheduler, quiet, live_ops_only=False, **_):
    """Select architectures (`live_ops_only`: keep those whose every op lies on an input-output path) and score
    them (here, or on a Dask cluster); returns (archs, ScoreTable, BatchSpec)."""
    from proxynas import ensembles, scoring
    from proxynas.data import BatchSpec
    from proxynas.selection import select_archs

    executor = None
    if workers is not None or scheduler is not None:
        from proxynas.dask_executor import DaskExecutor

        if device != "cpu":
            raise ProxynasError(f"Dask workers score on their CPUs: pass --device cpu with --workers/--scheduler "
                                f"(the device here is {device})")
        executor = DaskExecutor(scheduler, workers)
    archs = select_archs(space, bench, read_lines(archs_file) if archs_file else None, sample, all_archs, seed)
    if live_ops_only:
        archs = [a for a in archs if a.space.uses_every_op(a)]
        if not archs:
            raise ProxynasError("none of the selected architectures uses every op (--live-ops-only)")
    spec = BatchSpec(dataset, input_kind, batch_size, seed, str(images) if images else None)
    chosen, wanted = ensembles.parse_list(proxies)
    with progress_bar(quiet, "scoring") as progress:
        table = scoring.score(archs, chosen, spec, device, progress=progress, executor=executor)
    ensembles.add_columns(table, wanted)
    return archs, table, spec


def setting_dict(space: str, spec, device: str) -> dict:
    return {"space": space, "dataset": spec.dataset, "input": spec.kind, "images": spec.images,
            "batch_size": spec.batch_size, "seed": spec.seed, "device": device}


@cli.command()
@scoring_options
@output_path("--output", help="Write results to .csv or .json.")
def score(output, **options):
    """Score architectures with zero-cost proxies (cached; resumes where a killed run stopped)."""
    from proxynas.bench import open_benchmark

    bench = open_benchmark(options["space"])
    archs, table, spec = run_scoring(bench, **options)
    indices = bench.index.indices_of(archs)
    results = [{"index": int(i), "arch": str(a),
                "scores": {p: finite_or_none(float(table.scores[p][row])) for p in table.proxies},
                "failures": {p: f[row] for p, f in table.failures.items() if row in f}}
               for row, (i, a) in enumerate(zip(indices, archs))]
    payload = {"setting": setting_dict(options["space"], spec, options["device"]), "proxies": table.proxies,
               "shared_by_class": table.shared_by_class, "computed_cells": table.computed_cells,
               "cached_values": table.cached_values, "nan": table.nan_counts(), "results": results}
    if output:
        write_scores(output, payload)
    if options["as_json"]:
        return echo_json(payload)
    echo_table([{"index": r["index"], **{p: "nan" if v is None else f"{v:.6g}" for p, v in r["scores"].items()},
                 "arch": r["arch"]} for r in results[:20]], ["index", *table.proxies, "arch"])
    if len(results) > 20:
        click.echo(f"... {len(results) - 20} more rows (use --output or --json for all)")
    click.echo(summary_line(table))


def summary_line(table) -> str:
    nan = ", ".join(f"{p} {n}" for p, n in table.nan_counts().items() if n) or "none"
    shared = ", ".join(table.shared_by_class) or "none"
    return (f"{len(table.archs)} archs; networks evaluated: {table.computed_cells}; values from cache: "
            f"{table.cached_values}; scored once per function class: {shared}; NaN: {nan}")


def write_scores(path: Path, payload: dict) -> None:
    import csv

    if path.suffix == ".json":
        path.write_text(json.dumps(payload, indent=2))
    elif path.suffix == ".csv":
        with open(path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["index", "arch", *payload["proxies"], "failures"])
            for r in payload["results"]:
                writer.writerow([r["index"], r["arch"], *("nan" if r["scores"][p] is None else repr(r["scores"][p])
                                                          for p in payload["proxies"]),
                                 "; ".join(f"{p}: {why}" for p, why in r["failures"].items())])
    else:
        raise ProxynasError(f"--output must end in .csv or .json, got {path.name}")


@cli.command()
@scoring_options
@click.option("--metric", type=click.Choice(["test", "val"]), default="test", show_default=True,
              help="200-epoch test or validation accuracy.")
@click.option("--live-ops-only", is_flag=True,
              help="Keep only cells whose every op lies on an input-output path (one per network; 9,445 of "
                   "NB201's cells, the set the VKDNW paper's figures use).")
@output_path("--plot", help="Write a scatter plot (PNG).")
def correlate(metric, plot, **options):
    """Correlate proxy scores with benchmark accuracy: Spearman, Kendall, top-10% precision, rank vote."""
    from proxynas import metrics, proxies
    from proxynas.bench import open_benchmark

    bench = open_benchmark(options["space"])
    archs, table, spec = run_scoring(bench, **options)
    from proxynas.tasks import get_task

    task = get_task(options["dataset"])
    column = (task.report_metric if metric == "test" else task.search_metric).name
    truth = bench.column(options["dataset"], column)[bench.index.indices_of(archs)]
    directions = proxies.directions(table.scores)
    rows = metrics.correlation_table(table.scores, truth, directions)
    if plot:
        from proxynas.plots import correlation_scatter

        correlation_scatter(table.scores, truth, rows, plot, f"{options['dataset']} {column}", directions)
    payload = {"setting": setting_dict(options["space"], spec, options["device"]), "metric": column,
               "source_column": bench.source_column(options["dataset"], column), "archs": len(archs),
               "correlations": {p: {k: finite_or_none(v) for k, v in r.items()} for p, r in rows.items()}}
    if options["as_json"]:
        return echo_json(payload)
    echo_table([{"proxy": p, **{k: f"{v:.3f}" if isinstance(v, float) else v for k, v in r.items()}}
                for p, r in rows.items()], ["proxy", "spearman", "kendall", "top10_precision", "n", "nan"])
    click.echo(f"{options['dataset']}, {column} = benchmark column {payload['source_column']}; " + summary_line(table))
