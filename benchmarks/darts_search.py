"""DARTS, DARTS-V2, GDAS and DARTS-PT's uniform-alpha supernet on NB201: alpha per epoch, the derived
cell's benchmark accuracy per epoch, whether the skip-connection collapse appears, and seconds per epoch.

Usage: python benchmarks/darts_search.py [--methods darts,darts-v2,gdas,uniform] [--epochs 10] [--data FILE|FOLDER]
                                         [--select argmax|perturb] [--device cpu] [--max-images N] [--seed 0]
                                         [--plot] [--out FILE.json] [--checkpoints DIR]

With `--select perturb` (DARTS-PT) the search epochs are followed by 5 x `--tune-epochs` (DARTS-PT: 5) tuning
epochs between the six edge decisions; the table then shows both the argmax cell at the end of the search and the perturbation-selected one.
The method `uniform` (DARTS-PT's fixed-alpha supernet, `--strategy darts-pt-uniform`) always selects by perturbation.

Default data: the 4,000-image CIFAR-10 training subset in PROXYNAS_DATA/images (a reduced setting: the
NAS-Bench-201 paper searches on 25,000 + 25,000 images for 50 epochs). The NB201-protocol run on a GPU is the
same command with a CIFAR-10 python folder, `--epochs 50 --device cuda`. Every epoch is checkpointed under
cache/checkpoints, so a killed run resumes. The derived cells are looked up in the benchmark only after the
search (CIFAR-10 200-epoch test accuracy, `test_acc`). Writes benchmarks/results/darts_search_<device>.{json,md}
(or `--out`'s stem) and, with --plot, darts_alpha_<device>.png. Each finished run is merged into the JSON under a
file lock, so several runs (methods, seeds) can go side by side as separate processes on one device.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from proxynas import paths
from proxynas.atomic import update_json
from proxynas.bench import nb201_store as store
from proxynas.search import darts
from proxynas.spaces import nb201

RESULTS = Path(__file__).resolve().parent / "results"
REFERENCE = {"darts": 54.30, "darts-v2": 54.30, "gdas": 93.61}  # NB201 paper, CIFAR-10 test accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--methods", default=",".join(darts.METHODS))
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--max-images", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--select", choices=darts.SELECTIONS, default="argmax")
    parser.add_argument("--tune-epochs", type=int, default=darts.DartsConfig.tune_epochs,
                        help="perturb: epochs between two edge decisions (DARTS-PT: 5)")
    parser.add_argument("--plot", action="store_true")
    parser.add_argument("--out", type=Path, default=None, help="result JSON (default: results/darts_search_<device>.json)")
    parser.add_argument("--checkpoints", type=Path, default=None, help="checkpoint folder (default: cache/checkpoints)")
    args = parser.parse_args()
    data = args.data or paths.data_dir() / "images" / "cifar10_train_first4000.npz"
    bench = store.open_bench()
    device = args.device.split(":")[0]
    out = args.out or RESULTS / f"darts_search_{device}.json"
    for method in args.methods.split(","):
        select = "perturb" if method == "uniform" else args.select
        config = darts.DartsConfig(epochs=args.epochs, method=method, seed=args.seed, max_images=args.max_images,
                                   select=select, tune_epochs=args.tune_epochs)
        run = darts.run_darts(data, config, args.device, args.checkpoints or paths.cache_dir() / "checkpoints",
                              progress=lambda d, t: print(f"\r{method}: epoch {d}/{t}", end="", flush=True))

        def looked_up(cell: str) -> dict:
            arch = nb201.parse(cell)
            return {"test_acc": float(bench.column("cifar10", "test_acc")[bench.index.index_of(arch)]),
                    "skips": sum(nb201.OPS[o] == "skip_connect" for o in arch)}

        print()
        result = save_run(out, f"{method}/{select}/{args.epochs}/{args.tune_epochs}/{args.seed}", {
            "method": method, "select": select, "data": str(data), "config": asdict(config),
            "device": args.device, "epochs": [asdict(e) | looked_up(e.derived) for e in run.history],
            "decisions": run.decisions, "final": {"cell": str(run.derived)} | looked_up(str(run.derived))})
        write_markdown(result, device, out.with_suffix(".md"))
        if args.plot:
            plot_alpha(result, out.parent / f"darts_alpha_{device}.png")


def save_run(out: Path, key: str, run: dict) -> dict:
    """Merge one run into the result file (other processes may be saving theirs); the merged result."""
    return update_json(out, lambda result: result["runs"].update({key: run}), empty=lambda: {"runs": {}})


def write_markdown(result: dict, device: str, path: Path) -> None:
    lines = [f"Differentiable search on the NB201 supernet ({device}); per epoch the derived cell's CIFAR-10 "
             "200-epoch test accuracy (`test_acc`), its number of skip connections and seconds per epoch. Reference "
             "(NB201 paper, full protocol): DARTS-V1/V2 54.30 (all-skip collapse), GDAS 93.61; DARTS-PT (perturbation "
             "selection after DARTS) 88.11, after a uniform-alpha supernet (`uniform`, which has no argmax cell) "
             "93.80.", "",
             "| method | selection | search epochs | seed | data | test acc per search epoch | skips per search epoch "
             "| median s / search epoch | argmax cell after the search (acc) | selected cell (acc) |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for run in result["runs"].values():
        searched = run["epochs"][:run["config"]["epochs"]]
        seconds = np.median([e["seconds"] for e in searched])
        if run["method"] == "uniform":  # alpha stays uniform: its argmax cell means nothing
            accs = skips = argmax = "—"
        else:
            accs = " ".join(f"{e['test_acc']:.1f}" for e in searched)
            skips = " ".join(str(e["skips"]) for e in searched)
            argmax = f"{searched[-1]['derived']} ({searched[-1]['test_acc']:.2f})"
        lines.append(f"| {run['method']} | {run.get('select', 'argmax')} | {len(searched)} | {run['config']['seed']} "
                     f"| {Path(run['data']).name} | {accs} | {skips} | {seconds:.0f} | {argmax} "
                     f"| {run['final']['cell']} ({run['final']['test_acc']:.2f}) |")
    path.write_text("\n".join(lines) + "\n")


def plot_alpha(result: dict, path: Path) -> None:
    from proxynas.plots import optional_grid, save_figure

    runs = [r for r in result["runs"].values() if r["method"] != "uniform"]  # a uniform alpha is flat
    grid = optional_grid(len(runs), len(nb201.EDGES), (3, 2.5))
    if grid is None:
        return
    figure, axes = grid
    for row, run in zip(axes, runs):
        alpha = np.array([e["alpha"] for e in run["epochs"]])  # epochs x edges x ops
        for edge, ax in enumerate(row):
            for op, name in enumerate(nb201.OPS):
                ax.plot(range(1, len(alpha) + 1), alpha[:, edge, op], label=name)
            ax.set_title(f"{run['method']} edge {nb201.EDGES[edge][0]}->{nb201.EDGES[edge][1]}", fontsize=8)
    axes[0][0].legend(fontsize=6)
    save_figure(figure, path, dpi=100)


if __name__ == "__main__":
    main()
