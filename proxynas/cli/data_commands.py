"""`data build|info|import-zc` and `query`: the benchmark store and lookups in it."""

from __future__ import annotations

from pathlib import Path

import click

from proxynas import paths
from proxynas.cli.common import cli, dataset_option, echo_json, echo_table, json_option, read_tokens, space_option
from proxynas.errors import ProxynasError

QUERY_COLUMNS = ("test_acc", "val_acc", "test_acc_12", "val_acc_12", "params_m", "train_time_total_s")


@cli.group()
def data():
    """Build, inspect and extend the benchmark store."""


@data.command("build")
@click.option("--source", type=click.Path(path_type=Path), help="Folder or file with the NB201 table.")
@click.option("--force", is_flag=True, help="Rebuild even if the store exists.")
@json_option
def data_build(source, force, as_json):
    """Convert the NB201 benchmark table into the HDF5 store under cache/."""
    from proxynas.bench import nb201_store as store

    path = store.default_store_path()
    if path.exists() and not force:
        message = f"store exists: {path} (use --force to rebuild)"
    else:
        source = source or paths.data_dir()
        if source is None:
            raise ProxynasError("no source data: pass --source DIR or set PROXYNAS_DATA")
        store.build_store(source, path)
        message = f"built {path} from {source}"
    echo_json({"path": str(path), "message": message}) if as_json else click.echo(message)


@data.command("info")
@json_option
def data_info(as_json):
    """Show every benchmark (what is built, where, record counts, the best architecture per task) and the
    score tables shipped with the package."""
    from proxynas import shipped
    from proxynas.bench import benchmark_spaces, open_benchmark

    infos = {space: open_benchmark(space).describe() for space in benchmark_spaces()}
    tables = [table.describe() for table in shipped.load_all()]
    if as_json:
        return echo_json({"benchmarks": infos, "shipped_scores": tables})
    for info in infos.values():
        click.echo(f"{info['space']} store: {info['path']}\nbuilt: {info['built_utc']} from {info['source']}")
        click.echo(f"architectures: {info['archs']}  classes: " +
                   ", ".join(f"{n} ({form})" for form, n in info["classes"].items()))
        rows = [{"task": task, **d} for task, d in info["datasets"].items()]
        echo_table(rows, ["task", "records", "best_index", "metric", "best_value", "best_arch"])
        for name, per_task in info["precomputed"].items():
            click.echo(f"precomputed '{name}': " + "; ".join(
                f"{task}: {d['archs']} archs, {len(d['proxies'])} proxies" for task, d in per_task.items()))
        click.echo("")
    for table in tables:
        meta = table["meta"]
        click.echo(f"shipped scores: {table['path']} ({table['bytes'] / 1e6:.1f} MB), {meta.get('space')}, batch "
                   f"{meta.get('batch_size')}, seed {meta.get('seed')}, packed {meta.get('packed_utc')}; "
                   f"regenerate: {meta.get('command')}")
        rows = [{"proxy": c["proxy"], "setting": "|".join(c["setting"].split("|")[-4:]), "cells": c["cells"],
                 "failed": c["failed"]} for c in table["columns"]]
        echo_table(rows, ["setting", "proxy", "cells", "failed"])


@data.command("import-zc")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@space_option
@click.option("--name", default="suite_zero", show_default=True, help="Name of the precomputed source.")
@json_option
def data_import_zc(file, space, name, as_json):
    """Import a NAS-Bench-Suite-Zero score file (zc_nasbench201.json, or a TransNAS-Bench-101 micro one with
    --space tnb101) as precomputed scores."""
    from proxynas.bench import open_benchmark, suite_zero

    bench = open_benchmark(space)
    counts = suite_zero.import_suite_zero(bench.path, file, bench.index, name)
    if as_json:
        return echo_json({"source": name, "file": str(file), "archs": counts})
    click.echo(f"imported '{name}' from {file}: " + ", ".join(f"{ds} {n} archs" for ds, n in counts.items()))


@cli.command()
@click.argument("archs", nargs=-1)
@space_option
@dataset_option
@json_option
def query(archs, space, dataset, as_json):
    """Look up benchmark results of architectures (the space's cell codes or indices; - = stdin)."""
    from proxynas.bench import open_benchmark
    from proxynas.tasks import get_task

    bench = open_benchmark(space)
    records = [bench.arch_record(bench.index.resolve(t), dataset) for t in read_tokens(archs)]
    if as_json:
        return echo_json({"dataset": dataset, "results": records, "cost": vars(bench.cost)})
    columns = [c for c in QUERY_COLUMNS if c in bench.metric_names] or list(bench.metric_names)
    echo_table([{**r, **r["metrics"]} for r in records], ["index", *columns, "arch"])
    metric = get_task(dataset).search_metric
    cost = (f"simulated training cost {bench.cost.trainings} full trainings, {bench.cost.train_seconds / 3600:.2f} h"
            if bench.cost.train_seconds else f"{bench.cost.trainings} full trainings, no training time recorded")
    click.echo(f"({dataset}: {metric.name} = {bench.source_column(dataset, metric.name)}, {metric.description}; {cost})")
