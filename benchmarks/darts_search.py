"""DARTS, DARTS-V2 and GDAS on the NB201 supernet: alpha per epoch, the derived cell's benchmark accuracy
per epoch, whether the skip-connection collapse appears, and seconds per epoch.

Usage: python benchmarks/darts_search.py [--methods darts,darts-v2,gdas] [--epochs 10] [--data FILE|FOLDER]
                                         [--device cpu] [--max-images N] [--seed 0] [--plot]

Default data: the 4,000-image CIFAR-10 training subset in PROXYNAS_DATA/images (a reduced setting: the
NAS-Bench-201 paper searches on 25,000 + 25,000 images for 50 epochs). The NB201-protocol run on a GPU is the
same command with a CIFAR-10 python folder, `--epochs 50 --device cuda`. Every epoch is checkpointed under
cache/checkpoints, so a killed run resumes. The derived cells are looked up in the benchmark only after the
search (CIFAR-10 200-epoch test accuracy, `test_acc`). Writes benchmarks/results/darts_search_<device>.{json,md}
and, with --plot, darts_alpha_<device>.png.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from pathlib import Path

import numpy as np

from proxynas import paths
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
    parser.add_argument("--plot", action="store_true")
    args = parser.parse_args()
    data = args.data or paths.data_dir() / "images" / "cifar10_train_first4000.npz"
    bench = store.open_bench()
    out = RESULTS / f"darts_search_{args.device.split(':')[0]}.json"
    result = json.loads(out.read_text()) if out.exists() else {"runs": {}}
    for method in args.methods.split(","):
        config = darts.DartsConfig(epochs=args.epochs, method=method, seed=args.seed, max_images=args.max_images)
        run = darts.run_darts(data, config, args.device, paths.cache_dir() / "checkpoints",
                              progress=lambda d, t: print(f"\r{method}: epoch {d}/{t}", end="", flush=True))
        epochs = []
        for epoch in run.history:
            arch = nb201.parse(epoch.derived)
            index = bench.index.index_of(arch)
            epochs.append(asdict(epoch) | {"test_acc": float(bench.column("cifar10", "test_acc")[index]),
                                           "skips": sum(nb201.OPS[o] == "skip_connect" for o in arch)})
        result["runs"][f"{method}/{args.epochs}/{args.seed}"] = {
            "method": method, "data": str(data), "config": asdict(config), "device": args.device,
            "epochs": epochs}
        print()
        RESULTS.mkdir(exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")
    write_markdown(result, args.device.split(":")[0])
    if args.plot:
        plot_alpha(result, RESULTS / f"darts_alpha_{args.device.split(':')[0]}.png")


def write_markdown(result: dict, device: str) -> None:
    lines = [f"Differentiable search on the NB201 supernet ({device}); per epoch the derived cell's CIFAR-10 "
             "200-epoch test accuracy (`test_acc`), its number of skip connections and seconds per epoch. Reference "
             "(NB201 paper, full protocol): DARTS-V1/V2 54.30 (all-skip collapse), GDAS 93.61.", "",
             "| method | epochs | seed | data | test acc per epoch | skips per epoch | s / epoch | final cell |",
             "|---|---|---|---|---|---|---|---|"]
    for run in result["runs"].values():
        accs = " ".join(f"{e['test_acc']:.1f}" for e in run["epochs"])
        skips = " ".join(str(e["skips"]) for e in run["epochs"])
        seconds = np.mean([e["seconds"] for e in run["epochs"]])
        lines.append(f"| {run['method']} | {len(run['epochs'])} | {run['config']['seed']} | {Path(run['data']).name} "
                     f"| {accs} | {skips} | {seconds:.0f} | {run['epochs'][-1]['derived']} |")
    (RESULTS / f"darts_search_{device}.md").write_text("\n".join(lines) + "\n")


def plot_alpha(result: dict, path: Path) -> None:
    from proxynas.plots import pyplot

    plt = pyplot()
    runs = list(result["runs"].values())
    figure, axes = plt.subplots(len(runs), len(nb201.EDGES), figsize=(3 * len(nb201.EDGES), 2.5 * len(runs)),
                                squeeze=False)
    for row, run in zip(axes, runs):
        alpha = np.array([e["alpha"] for e in run["epochs"]])  # epochs x edges x ops
        for edge, ax in enumerate(row):
            for op, name in enumerate(nb201.OPS):
                ax.plot(range(1, len(alpha) + 1), alpha[:, edge, op], label=name)
            ax.set_title(f"{run['method']} edge {nb201.EDGES[edge][0]}->{nb201.EDGES[edge][1]}", fontsize=8)
    axes[0][0].legend(fontsize=6)
    figure.tight_layout()
    figure.savefig(path, dpi=100)


if __name__ == "__main__":
    main()
