"""The `proxynas` command line: parse options, call the library, print a table or --json."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from proxynas import paths
from proxynas.errors import ProxynasError

dataset_option = click.option(
    "--dataset", type=click.Choice(["cifar10", "cifar100", "imagenet16", "ImageNet16-120"], case_sensitive=False),
    default="cifar10", show_default=True, callback=lambda ctx, param, value: value and value.lower().removesuffix("-120"))
QUERY_COLUMNS = ("test_acc", "val_acc", "test_acc_12", "val_acc_12", "params_m", "train_time_total_s")


class OneLineErrors(click.Group):
    """A click group whose user errors print one line on stderr and exit with code 2, no traceback."""

    def main(self, args=None, prog_name=None, **extra):
        extra["standalone_mode"] = False
        try:
            code = super().main(args, prog_name, **extra)
        except (ProxynasError, click.ClickException, OSError) as exc:
            message = exc.format_message() if isinstance(exc, click.ClickException) else str(exc)
            click.echo(f"proxynas: error: {' '.join(message.split())}", err=True)
            sys.exit(2)
        except click.Abort:
            click.echo("proxynas: aborted", err=True)
            sys.exit(130)
        sys.exit(code if isinstance(code, int) else 0)


def echo_table(rows: list[dict], columns: list[str]) -> None:
    """Print rows as an aligned text table (floats with 2 decimals)."""
    cells = [[f"{r[c]:.2f}" if isinstance(r[c], float) else str(r[c]) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    for line in [columns, *cells]:
        click.echo("  ".join(v.ljust(w) for v, w in zip(line, widths)).rstrip())


def echo_json(value) -> None:
    click.echo(json.dumps(value, indent=2, allow_nan=True))


def read_tokens(tokens: tuple[str, ...]) -> list[str]:
    """Architecture tokens from the command line; '-' reads more, one per line, from stdin."""
    result = []
    for token in tokens:
        if token == "-":
            result.extend(line.strip() for line in sys.stdin if line.strip())
        else:
            result.append(token)
    if not result:
        raise ProxynasError("no architectures given")
    return result


@click.group(cls=OneLineErrors)
@click.version_option(package_name="proxynas")
def cli():
    """proxynas: training-free neural architecture search over NAS benchmarks."""


@cli.group()
def data():
    """Build, inspect and extend the benchmark store."""


@data.command("build")
@click.option("--source", type=click.Path(path_type=Path), help="Folder or file with the NB201 table.")
@click.option("--force", is_flag=True, help="Rebuild even if the store exists.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def data_build(source, force, as_json):
    """Convert the NB201 benchmark table into the HDF5 store under cache/."""
    from proxynas.bench import store

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
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def data_info(as_json):
    """Show what is built, where, record counts and the best architecture per dataset."""
    from proxynas.bench import store

    info = store.describe(store.open_bench())
    if as_json:
        return echo_json(info)
    click.echo(f"store: {info['path']}\nbuilt: {info['built_utc']} from {info['source']}")
    click.echo(f"architectures: {info['archs']}  classes: " +
               ", ".join(f"{n} ({form})" for form, n in info["classes"].items()))
    rows = [{"dataset": ds, **d} for ds, d in info["datasets"].items()]
    echo_table(rows, ["dataset", "records", "best_index", "best_test_acc", "best_arch"])
    for name, per_ds in info["precomputed"].items():
        click.echo(f"precomputed '{name}': " + "; ".join(
            f"{ds}: {d['archs']} archs, {len(d['proxies'])} proxies" for ds, d in per_ds.items()))


@data.command("import-zc")
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--name", default="suite_zero", show_default=True, help="Name of the precomputed source.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def data_import_zc(file, name, as_json):
    """Import a NAS-Bench-Suite-Zero score file (zc_nasbench201.json) as precomputed scores."""
    from proxynas.bench import store, suite_zero

    bench = store.open_bench()
    counts = suite_zero.import_suite_zero(bench.path, file, bench.index, name)
    if as_json:
        return echo_json({"source": name, "file": str(file), "archs": counts})
    click.echo(f"imported '{name}' from {file}: " + ", ".join(f"{ds} {n} archs" for ds, n in counts.items()))


@cli.command()
@click.argument("archs", nargs=-1)
@dataset_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def query(archs, dataset, as_json):
    """Look up benchmark results of architectures (arch strings, NASLib tuples or indices; - = stdin)."""
    from proxynas.bench import store

    bench = store.open_bench()
    records = [store.arch_record(bench, bench.index.resolve(t), dataset) for t in read_tokens(archs)]
    if as_json:
        return echo_json({"dataset": dataset, "results": records, "cost": vars(bench.cost)})
    echo_table([{**r, **r["metrics"]} for r in records], ["index", *QUERY_COLUMNS, "arch"])
    click.echo(f"({dataset}: val_acc = {bench.source_column(dataset, 'val_acc')}; simulated training cost "
               f"{bench.cost.trainings} full trainings, {bench.cost.train_seconds / 3600:.2f} h)")


def scoring_options(command):
    """Options shared by every command that scores architectures."""
    options = [
        click.option("--space", type=click.Choice(["nb201"]), default="nb201", show_default=True),
        dataset_option,
        click.option("--proxies", default="synflow,grad_norm,jacob_cov", show_default=True,
                     help="Comma-separated proxy names, or 'all'."),
        click.option("--archs", "archs_file", type=click.File("r"), help="File (or -) with one arch per line."),
        click.option("--sample", type=int, help="Score N architectures sampled uniformly."),
        click.option("--all", "all_archs", is_flag=True, help="Score all 15,625 architectures."),
        click.option("--seed", type=int, default=0, show_default=True,
                     help="Seed for sampling, the image batch and weight init."),
        click.option("--batch-size", type=int, default=64, show_default=True),
        click.option("--input", "input_kind", type=click.Choice(["images", "noise"]), default="images",
                     show_default=True),
        click.option("--images", type=click.Path(path_type=Path), help="npz file or CIFAR python folder."),
        click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True),
        click.option("--quiet", is_flag=True, help="No progress bar."),
        click.option("--json", "as_json", is_flag=True, help="Machine-readable output."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def run_scoring(bench, dataset, proxies, archs_file, sample, all_archs, seed, batch_size, input_kind, images,
                device, quiet, **_):
    """Select architectures and score them; returns (archs, ScoreTable, BatchSpec)."""
    from proxynas import proxies as registry
    from proxynas import scoring
    from proxynas.data import BatchSpec
    from proxynas.spaces import nb201

    if sum(x is not None and x is not False for x in (archs_file, sample, all_archs or None)) != 1:
        raise ProxynasError("choose exactly one of --archs FILE, --sample N or --all")
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise ProxynasError("--device cuda: no CUDA device is available to PyTorch here")
    if archs_file is not None:
        archs = [bench.index.resolve(line) for line in archs_file if line.strip()]
    elif sample is not None:
        archs = nb201.sample(sample, seed)
    else:
        archs = [bench.index.arch_at(i) for i in range(nb201.NUM_ARCHS)]
    spec = BatchSpec(dataset, input_kind, batch_size, seed, str(images) if images else None)
    with progress_bar(quiet, "scoring") as progress:
        table = scoring.score(archs, registry.parse_list(proxies), spec, device, progress=progress)
    return archs, table, spec


class progress_bar:
    """A click progress bar on stderr fed by the library's (done, total) callback; silent if quiet."""

    def __init__(self, quiet: bool, label: str):
        self.quiet, self.label, self.bar, self.shown = quiet, label, None, 0

    def __enter__(self):
        return None if self.quiet else self.update

    def update(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr, show_eta=True,
                                         show_pos=True)
            self.bar.__enter__()
        self.bar.update(done - self.shown)
        self.shown = done

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.__exit__(*exc)


def setting_dict(spec, device: str) -> dict:
    return {"space": "nb201", "dataset": spec.dataset, "input": spec.kind, "images": spec.images,
            "batch_size": spec.batch_size, "seed": spec.seed, "device": device}


def finite_or_none(value: float):
    return value if value == value and abs(value) != float("inf") else None


@cli.command()
@scoring_options
@click.option("--output", type=click.Path(path_type=Path, dir_okay=False), help="Write results to .csv or .json.")
def score(output, **options):
    """Score architectures with zero-cost proxies (cached; resumes where a killed run stopped)."""
    from proxynas.bench import store

    bench = store.open_bench()
    archs, table, spec = run_scoring(bench, **options)
    indices = bench.index.indices_of(archs)
    results = [{"index": int(i), "arch": str(a),
                "scores": {p: finite_or_none(float(table.scores[p][row])) for p in table.proxies},
                "failures": {p: f[row] for p, f in table.failures.items() if row in f}}
               for row, (i, a) in enumerate(zip(indices, archs))]
    payload = {"setting": setting_dict(spec, options["device"]), "proxies": table.proxies,
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
@click.option("--plot", type=click.Path(path_type=Path, dir_okay=False), help="Write a scatter plot (PNG).")
def correlate(metric, plot, **options):
    """Correlate proxy scores with benchmark accuracy: Spearman, Kendall, top-10% precision, rank vote."""
    from proxynas import metrics
    from proxynas.bench import store

    bench = store.open_bench()
    archs, table, spec = run_scoring(bench, **options)
    column = f"{metric}_acc"
    truth = bench.column(options["dataset"], column)[bench.index.indices_of(archs)]
    rows = metrics.correlation_table(table.scores, truth)
    if plot:
        from proxynas.plots import correlation_scatter

        correlation_scatter(table.scores, truth, rows, plot, f"{options['dataset']} {column}")
    payload = {"setting": setting_dict(spec, options["device"]), "metric": column,
               "source_column": bench.source_column(options["dataset"], column), "archs": len(archs),
               "correlations": {p: {k: finite_or_none(v) for k, v in r.items()} for p, r in rows.items()}}
    if options["as_json"]:
        return echo_json(payload)
    echo_table([{"proxy": p, **{k: f"{v:.3f}" if isinstance(v, float) else v for k, v in r.items()}}
                for p, r in rows.items()], ["proxy", "spearman", "kendall", "top10_precision", "n", "nan"])
    click.echo(f"{options['dataset']}, accuracy column {payload['source_column']}; " + summary_line(table))


DEFAULT_ZC = "synflow,grad_norm,snip,jacob_cov,nwot,l2_norm,params,flops"


@cli.command()
@click.option("--space", type=click.Choice(["nb201"]), default="nb201", show_default=True)
@dataset_option
@click.option("--train-size", type=click.IntRange(2), default=100, show_default=True)
@click.option("--features", "groups", default="onehot,zc", show_default=True,
              help="Comma-separated groups: onehot, path, zc, size.")
@click.option("--proxies", default=DEFAULT_ZC, show_default=True, help="Proxies of the zc group.")
@click.option("--zc-source", default="engine", show_default=True,
              help="'engine' (compute and cache) or a precomputed source imported with `data import-zc`.")
@click.option("--target", type=click.Choice(["test", "val"]), default="test", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for the sample, batch and model.")
@click.option("--model", "model_path", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="Where to save the model (JSON metadata; XGBoost members beside it).")
@click.option("--eval-size", type=click.IntRange(0), default=0, help="Held-out cells to evaluate on.")
@click.option("--batch-size", type=int, default=64, show_default=True)
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def fit(space, dataset, train_size, groups, proxies, zc_source, target, seed, model_path, eval_size, batch_size,
        device, quiet, as_json):
    """Fit an XGBoost accuracy predictor on a seeded sample of benchmark cells."""
    from proxynas import features, metrics
    from proxynas.bench import store
    from proxynas.data import BatchSpec
    from proxynas.surrogate import Surrogate, training_split

    bench = store.open_bench()
    spec = features.FeatureSpec(tuple(g.strip() for g in groups.split(",") if g.strip()),
                                tuple(p.strip() for p in proxies.split(",") if p.strip()) if "zc" in groups else (),
                                zc_source, BatchSpec(dataset, batch_size=batch_size, seed=seed))
    archs = training_split(bench, spec, train_size, eval_size, seed)
    with progress_bar(quiet, "features") as progress:
        x = features.build(archs, spec, bench, device, progress)
    truth = bench.column(dataset, f"{target}_acc")[bench.index.indices_of(archs)]
    model = Surrogate(spec, target=f"{target}_acc", seed=seed).fit(x.rows(slice(train_size)), truth[:train_size])
    model.save(model_path)
    payload = {"model": str(model_path), "dataset": dataset, "target": f"{target}_acc", "train_size": train_size,
               "features": spec.to_dict(), "feature_columns": len(spec.names())}
    if eval_size:
        held_out = slice(train_size, None)
        row = metrics.correlation_row(model.predict(x.rows(held_out)), truth[held_out])
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
@click.option("--archs", "archs_file", type=click.File("r"), help="File (or -) with one arch per line.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def predict(archs, model_path, archs_file, device, quiet, as_json):
    """Predict accuracy (and its uncertainty) of architectures with a fitted model."""
    from proxynas import features
    from proxynas.bench import store
    from proxynas.surrogate import Surrogate

    model = Surrogate.load(model_path)
    bench = store.open_bench()
    tokens = list(archs) + ([line.strip() for line in archs_file if line.strip()] if archs_file else [])
    cells = [bench.index.resolve(t) for t in read_tokens(tuple(tokens))]
    with progress_bar(quiet, "features") as progress:
        mean, std = model.predict_with_uncertainty(features.build(cells, model.features, bench, device, progress))
    rows = [{"index": int(i), "arch": str(a), "predicted": float(m), "std": float(s)}
            for i, a, m, s in zip(bench.index.indices_of(cells), cells, mean, std)]
    if as_json:
        return echo_json({"model": str(model_path), "target": model.target, "dataset": model.features.dataset,
                          "predictions": rows})
    echo_table(rows, ["index", "predicted", "std", "arch"])


@cli.command()
@click.option("--space", type=click.Choice(["nb201"]), default="nb201", show_default=True)
@dataset_option
@click.option("--budget", type=click.IntRange(1), default=20, show_default=True, help="Full trainings allowed.")
@click.option("--strategy", type=click.Choice(["guided", "ls", "rea", "random"]), default="guided", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--proxies", default=None, help="Proxies the guided search scores candidates with.")
@click.option("--time-budget", type=click.FloatRange(0, min_open=True), help="Also stop after this many seconds.")
@click.option("--evaluator", type=click.Choice(["benchmark", "train"]), default="benchmark", show_default=True,
              help="Full training = a counted benchmark query, or real training on --data.")
@click.option("--data", type=click.Path(path_type=Path, exists=True), help="npz or CIFAR folder (--evaluator train).")
@click.option("--epochs", type=click.IntRange(1), default=200, show_default=True, help="Epochs of real training.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def search(space, dataset, budget, strategy, seed, proxies, time_budget, evaluator, data, epochs, device, quiet,
           as_json):
    """Search for the best architecture, fully training (querying) at most --budget cells."""
    from proxynas import proxies as registry
    from proxynas import search as searching

    options = {"device": device} if strategy == "guided" else {}
    if proxies:
        if strategy != "guided":
            raise ProxynasError("--proxies applies to the guided strategy only")
        options["proxies"] = tuple(p.name for p in registry.parse_list(proxies))
    if evaluator == "train":
        if data is None:
            raise ProxynasError("--evaluator train needs --data FILE")
        from proxynas.train import TrainConfig

        options["images"] = str(data) if strategy == "guided" else None  # proxies see the same data
        full_training = searching.TrainingEvaluator(data, TrainConfig(epochs=epochs, seed=seed), device,
                                                    paths.cache_dir() / "checkpoints")
    else:
        from proxynas.bench import store

        full_training = searching.TabularEvaluator(store.open_bench(), dataset)
    options = {k: v for k, v in options.items() if v is not None}
    with progress_bar(quiet, "full trainings") as progress:
        result = searching.run_search(searching.make_strategy(strategy, dataset, seed, **options), full_training,
                                      budget, seed, time_budget, progress)
    if as_json:
        return echo_json(result.to_dict())
    echo_table([{"trainings": s.trainings, "val_acc": s.val_acc, "best_val_acc": s.best_val_acc, "arch": s.arch}
                for s in result.trajectory], ["trainings", "val_acc", "best_val_acc", "arch"])
    hours = "simulated GPU hours" if evaluator == "benchmark" else "hours of real training"
    click.echo(f"best: {result.best_arch}\nvalidation {result.val_acc:.2f}, test {result.test_acc:.2f} ({dataset}); "
               f"{result.trainings} full trainings = {result.train_hours:.1f} {hours}; "
               f"{result.compute_seconds:.1f} s of compute; stopped by {result.stopped_by}")


@cli.command()
@click.argument("archs_file", metavar="[FILE|-]", type=click.File("r"), default="-")
@click.option("--space", type=click.Choice(["nb201"]), default="nb201", show_default=True)
@dataset_option
@click.option("--by", default="vote", show_default=True, help="A proxy name, 'vote' or 'surrogate'.")
@click.option("--proxies", default="synflow,grad_norm,jacob_cov", show_default=True, help="Proxies of the vote.")
@click.option("--model", "model_path", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Surrogate model (for --by surrogate).")
@click.option("--top", type=click.IntRange(1), help="Show only the best K.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the batch and weight init.")
@click.option("--batch-size", type=int, default=64, show_default=True)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def rank(archs_file, space, dataset, by, proxies, model_path, top, seed, batch_size, quiet, as_json):
    """Rank architectures (arch strings or indices, one per line) by a proxy, a rank vote or a surrogate."""
    from proxynas import ranking
    from proxynas.bench import store
    from proxynas.data import BatchSpec

    bench = store.open_bench()
    cells = [bench.index.resolve(t) for t in read_tokens(tuple(line.strip() for line in archs_file if line.strip()))]
    with progress_bar(quiet, "scoring") as progress:
        order, columns = ranking.rank(cells, by, BatchSpec(dataset, batch_size=batch_size, seed=seed), proxies,
                                      model_path, bench, progress)
    rows = [{"rank": r + 1, "index": int(bench.index.index_of(cells[i])), "arch": str(cells[i]),
             **{name: finite_or_none(float(values[i])) for name, values in columns.items()}}
            for r, i in enumerate(order[:top])]
    if as_json:
        return echo_json({"dataset": dataset, "by": by, "ranking": rows})
    echo_table([{**r, **{c: "nan" if r[c] is None else f"{r[c]:.6g}" for c in columns}} for r in rows],
               ["rank", "index", *columns, "arch"])


@cli.command()
@click.argument("arch")
@click.option("--data", type=click.Path(path_type=Path, exists=True), required=True,
              help="npz (images uint8 N×H×W×3, labels) or an official CIFAR python folder.")
@click.option("--epochs", type=click.IntRange(1), default=200, show_default=True)
@click.option("--batch-size", type=click.IntRange(1), default=256, show_default=True)
@click.option("--val-fraction", type=float, default=0.1, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True, help="Split, init, shuffling and augmentation.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def train(arch, data, epochs, batch_size, val_fraction, seed, device, quiet, as_json):
    """Train one architecture for real (NB201 recipe; checkpointed each epoch, so a killed run resumes)."""
    from dataclasses import asdict

    from proxynas.spaces import nb201
    from proxynas.train import TrainConfig, train as train_cell

    cell = nb201.parse(arch)
    config = TrainConfig(epochs=epochs, batch_size=batch_size, val_fraction=val_fraction, seed=seed)
    with progress_bar(quiet, "epochs") as progress:
        history = train_cell(cell, data, config, device, paths.cache_dir() / "checkpoints", progress)
    if as_json:
        return echo_json({"arch": str(cell), "data": str(data), "config": asdict(config), "device": device,
                          "epochs": [asdict(e) for e in history]})
    echo_table([asdict(e) for e in history], ["epoch", "train_loss", "train_acc", "val_loss", "val_acc", "seconds"])


def main() -> None:
    cli(prog_name="proxynas")


if __name__ == "__main__":
    main()
