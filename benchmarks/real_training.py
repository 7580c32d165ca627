"""Guided search with real training vs random cells, on the 4,000-image CIFAR-10 subset.

Usage: python benchmarks/real_training.py [--epochs 10] [--batch-size 128] [--budget 10] [--random 5]
                                          [--seed 0] [--device cpu|cuda]
Both arms train with one recipe (NB201's, shortened to --epochs) on the same seeded split
(3,600 training / 400 validation images):
- guided: `proxynas search --strategy guided --evaluator train` with --budget real trainings
  (its proxies scored on the same images); its best --random cells by validation are compared;
- random: --random uniformly drawn cells (random search, seed + 1), trained the same way.
The guided arm keeps its best cells of a larger budget, so its best is a maximum over more runs;
to show that the gap is not that selection, each arm's best cell is trained again with a fresh
seed (new split, init and augmentation) and the two retrained accuracies are compared too.
The NB201 table's 200-epoch CIFAR-10 test accuracy of every trained cell is reported beside it.
Checkpoints go to cache/checkpoints, so a killed run resumes, and the two arms can be trained side by
side on one GPU (`--arm guided` and `--arm random` as two processes; a final run without `--arm`
then reads every training back from the checkpoints and writes the results).
Writes benchmarks/results/real_training_<device>_<epochs>ep.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np
import torch

from proxynas import metrics, paths
from proxynas.bench import nb201_store as store
from proxynas.data import BatchSpec
from proxynas.errors import ProxynasError
from proxynas.scoring import scorer
from proxynas.search import TrainingEvaluator, get_strategy, get_strategy_class, run_search
from proxynas.spaces import nb201
from proxynas.train import TrainConfig, train

RESULTS = Path(__file__).resolve().parent / "results"


def data_file() -> Path:
    root = paths.data_dir()
    if root is None:
        raise ProxynasError("benchmark data not found: set PROXYNAS_DATA or put ../shared/data beside the repo")
    return root / "images" / "cifar10_train_first4000.npz"


def log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def search_arm(strategy: str, budget: int, seed: int, config: TrainConfig, device: str) -> list[dict]:
    """Every cell the strategy trained: arch, final validation accuracy, seconds per epoch."""
    data = data_file()
    evaluator = TrainingEvaluator(data, config, device, paths.cache_dir() / "checkpoints")
    options = ({"score": scorer(BatchSpec("cifar10", images=str(data)), device)}  # proxies see the same images
               if get_strategy_class(strategy).uses_proxies else {})
    result = run_search(get_strategy(strategy, "nb201", seed, **options), evaluator, budget, seed,
                        progress=lambda done, total: log(f"{strategy}: {done}/{total} trained"))
    rows = []
    for step in result.trajectory:
        history = evaluator.histories[nb201.parse(step.arch)]
        seconds = [e.seconds for e in history]
        rows.append({"arch": step.arch, "val_acc": step.val_acc, "seconds_per_epoch": float(np.median(seconds)),
                     "train_seconds": float(sum(seconds)), "history": [asdict(e) for e in history]})
    return rows


def retrain(arch: str, config: TrainConfig, device: str) -> float:
    history = train(nb201.parse(arch), data_file(), config, device, paths.cache_dir() / "checkpoints")
    return history[-1].val_acc


def train_arm(arm: str, budget: int, n_random: int, seed: int, config: TrainConfig, device: str):
    """One arm's trained cells, and its best cell's validation accuracy retrained with a fresh seed."""
    count, arm_seed = (budget, seed) if arm == "guided" else (n_random, seed + 1)
    rows = search_arm(arm, count, arm_seed, config, device)
    best = sorted(rows, key=lambda r: -r["val_acc"])[0]["arch"]
    log(f"{arm}: retraining its best cell with a fresh seed")
    return rows, best, retrain(best, replace(config, seed=config.seed + 1), device)


def run(epochs: int, batch_size: int, budget: int, n_random: int, seed: int, device: str) -> dict:
    config = TrainConfig(epochs=epochs, batch_size=batch_size, seed=seed)
    guided, best_guided, guided_retrained = train_arm("guided", budget, n_random, seed, config, device)
    random, best_random, random_retrained = train_arm("random", budget, n_random, seed, config, device)
    kept = sorted(guided, key=lambda r: -r["val_acc"])[:n_random]
    best_random_row = next(r for r in random if r["arch"] == best_random)
    fresh = replace(config, seed=seed + 1)
    retrained = {"guided": guided_retrained, "random": random_retrained}
    bench = store.open_bench()
    table = bench.column("cifar10", "test_acc")
    everything = guided + random
    for row, index in zip(everything, bench.index.indices_of([nb201.parse(r["arch"]) for r in everything])):
        row["nb201_test_acc_200ep"] = float(table[index])
    return {
        "data": data_file().name, "config": asdict(config), "device": device_name(device),
        "torch_threads": torch.get_num_threads(), "guided_budget": budget,
        "guided": guided, "random": random,
        "guided_kept": [r["arch"] for r in kept],
        "summary": {
            "guided_best": kept[0]["val_acc"], "random_best": best_random_row["val_acc"],
            "guided_kept_mean": float(np.mean([r["val_acc"] for r in kept])),
            "random_mean": float(np.mean([r["val_acc"] for r in random])),
            "retrained_fresh_seed": {"seed": fresh.seed, "guided": retrained["guided"], "guided_arch": best_guided,
                                     "random": retrained["random"], "random_arch": best_random},
            "seconds_per_epoch_median": float(np.median([r["seconds_per_epoch"] for r in everything])),
            "seconds_per_epoch_guided": float(np.median([r["seconds_per_epoch"] for r in guided])),
            "seconds_per_epoch_random": float(np.median([r["seconds_per_epoch"] for r in random])),
            "spearman_short_run_vs_nb201": metrics.spearman(
                np.array([r["val_acc"] for r in everything]), np.array([r["nb201_test_acc_200ep"] for r in everything])),
        }}


def device_name(device: str) -> str:
    if device == "cuda":
        return torch.cuda.get_device_name()
    return f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def markdown(result: dict) -> str:
    c, s = result["config"], result["summary"]
    r = s["retrained_fresh_seed"]
    lines = [
        f"# Guided search with real training vs {len(result['random'])} random cells",
        "",
        f"Data: {result['data']} (3,600 training / 400 validation images, split seed {c['seed']}); "
        f"{c['epochs']} epochs, batch {c['batch_size']}, NB201 recipe otherwise; device: {result['device']}.",
        f"Guided search: {result['guided_budget']} real trainings; its best {len(result['guided_kept'])} are kept.",
        "",
        "| | best val acc | mean val acc | best cell retrained, fresh seed | median s/epoch |",
        "|---|---|---|---|---|",
        f"| guided (best {len(result['guided_kept'])} of {result['guided_budget']}) | {s['guided_best']:.2f} | "
        f"{s['guided_kept_mean']:.2f} | {r['guided']:.2f} | {s['seconds_per_epoch_guided']:.1f} |",
        f"| random ({len(result['random'])}) | {s['random_best']:.2f} | {s['random_mean']:.2f} | {r['random']:.2f} | "
        f"{s['seconds_per_epoch_random']:.1f} |",
        "",
        "Guided ahead of random? " + "; ".join(
            f"{name}: {'yes' if g > r_ else 'no'} ({g:.2f} vs {r_:.2f})" for name, g, r_ in (
                ("best", s["guided_best"], s["random_best"]), ("mean", s["guided_kept_mean"], s["random_mean"]),
                ("fresh-seed retrain of the best", r["guided"], r["random"]))) + ".",
        f"Distinct network functions among the guided search's {result['guided_budget']} trainings: "
        f"{len({nb201.canonical_function(nb201.parse(row['arch'])) for row in result['guided']})}.",
        "",
        f"Spearman between these short runs' validation accuracy and the NB201 table's 200-epoch test accuracy, "
        f"over all {len(result['guided']) + len(result['random'])} trained cells: "
        f"{s['spearman_short_run_vs_nb201']:.3f}.",
        "",
        "| arm | val acc | NB201 200-epoch test | s/epoch | cell |",
        "|---|---|---|---|---|",
    ]
    for arm in ("guided", "random"):
        lines += [f"| {arm} | {row['val_acc']:.2f} | {row['nb201_test_acc_200ep']:.2f} | "
                  f"{row['seconds_per_epoch']:.1f} | `{row['arch']}` |" for row in result[arm]]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--budget", type=int, default=10)
    parser.add_argument("--random", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--markdown-only", action="store_true", help="Rewrite the .md from the saved .json.")
    parser.add_argument("--arm", choices=["guided", "random"], help="Train only this arm (and its retrain) into the "
                        "checkpoints; run the arms side by side, then once without --arm to collect the results.")
    args = parser.parse_args()
    stem = RESULTS / f"real_training_{args.device}_{args.epochs}ep"
    if args.arm:
        config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, seed=args.seed)
        train_arm(args.arm, args.budget, args.random, args.seed, config, args.device)
        return
    if args.markdown_only:
        result = json.loads(stem.with_suffix(".json").read_text())
    else:
        result = run(args.epochs, args.batch_size, args.budget, args.random, args.seed, args.device)
        RESULTS.mkdir(exist_ok=True)
        stem.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    stem.with_suffix(".md").write_text(markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
