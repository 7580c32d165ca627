"""Seconds per training epoch of three NB201 cells (largest, the CIFAR-10 optimum, smallest), alone and
with several trainings sharing the device.

Usage: python benchmarks/training_speed.py [--device cpu|cuda] [--epochs 3] [--concurrent 4]
Each cell trains with the real-training benchmark's recipe (the 4,000-image CIFAR-10 subset: 3,600
training / 400 validation images, batch 128, NB201 recipe) for --epochs epochs without checkpoints;
the figure is the median over epochs after the first (which includes start-up work). Then
--concurrent processes train the largest cell at once, and the median of their epoch times says how
much one training slows down when several share the device (what running search arms side by side
costs). Writes benchmarks/results/training_speed_<device>.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
from pathlib import Path

import numpy as np
import torch

from proxynas import paths
from proxynas.spaces import nb201
from proxynas.train import TrainConfig, train

RESULTS = Path(__file__).resolve().parent / "results"
CELLS = {
    "largest (all 3x3 convs)": "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "CIFAR-10 optimum (index 6111)": "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
    "small (skips and one 1x1 conv)": "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|nor_conv_1x1~2|",
}


def epoch_seconds(arch: str, epochs: int, device: str) -> list[float]:
    data = paths.data_dir() / "images" / "cifar10_train_first4000.npz"
    history = train(nb201.parse(arch), data, TrainConfig(epochs=epochs, batch_size=128), device)
    return [e.seconds for e in history]


def _worker(args) -> list[float]:
    return epoch_seconds(*args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--concurrent", type=int, default=4)
    args = parser.parse_args()
    alone = {label: float(np.median(epoch_seconds(arch, args.epochs, args.device)[1:]))
             for label, arch in CELLS.items()}
    largest = next(iter(CELLS.values()))
    with multiprocessing.get_context("spawn").Pool(args.concurrent) as pool:
        shared = pool.map(_worker, [(largest, args.epochs, args.device)] * args.concurrent)
    result = {"device": torch.cuda.get_device_name() if args.device == "cuda" else
              f"CPU ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)",
              "torch": torch.__version__, "epochs": args.epochs, "seconds_per_epoch_alone": alone,
              "concurrent": args.concurrent,
              "seconds_per_epoch_largest_concurrent": float(np.median([s for run in shared for s in run[1:]]))}
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"training_speed_{args.device}"
    out.with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown(result))
    print(markdown(result))


def markdown(result: dict) -> str:
    lines = [f"Seconds per epoch on {result['device']} (torch {result['torch']}); 3,600 training + 400 validation "
             f"images, batch 128, median of epochs 2..{result['epochs']}.", "", "| cell | s/epoch alone |", "|---|---|"]
    lines += [f"| {label} | {s:.2f} |" for label, s in result["seconds_per_epoch_alone"].items()]
    lines += ["", f"{result['concurrent']} trainings of the largest cell at once: "
              f"{result['seconds_per_epoch_largest_concurrent']:.2f} s/epoch each."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
