"""Real training of an architecture's network on an image dataset: the "full training" for cells outside any table.

Recipe (NB201's by default): SGD with Nesterov momentum 0.9, learning rate 0.1 on a cosine schedule
to 0, weight decay 5e-4, batch 256, random crop (4-pixel zero padding) and horizontal flip; images
normalised with the training split's per-channel mean and std. The validation split is a seeded
`val_fraction` of the data. On CUDA the forward runs under bfloat16 autocast (mixed precision).

After every epoch a checkpoint (weights, optimiser, schedule, generator state, history) is written
atomically under `checkpoint_dir`, keyed by everything that defines the run; a killed run resumes
from its last finished epoch, and a finished one is not trained again.
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from proxynas.data import load_images
from proxynas.devices import memory_format
from proxynas.errors import ProxynasError
from proxynas.spaces.init import init_weights
from proxynas.tasks import Task


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 200
    batch_size: int = 256
    learning_rate: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    val_fraction: float = 0.1
    seed: int = 0
    max_images: int | None = None  # train and validate on a seeded subset of this many images (None: all)


@dataclass
class Split:
    """Normalised float tensors (N, 3, H, W) and labels of the training and validation splits."""

    train_x: torch.Tensor
    train_y: torch.Tensor
    val_x: torch.Tensor
    val_y: torch.Tensor
    num_classes: int


def load_split(source: Path, config: TrainConfig) -> Split:
    images, labels = load_images(source)  # uint8 N×H×W×3 with one label each, or a clear error
    if len(images) < 4:
        raise ProxynasError(f"{source}: {len(images)} images are too few to split for training")
    if not 0 < config.val_fraction < 1:
        raise ProxynasError(f"the validation fraction must lie in (0, 1), got {config.val_fraction}")
    if config.max_images is not None and config.max_images < 4:
        raise ProxynasError(f"a training subset needs at least 4 images, not {config.max_images}")
    order = np.random.default_rng(config.seed).permutation(len(images))[:config.max_images]
    n_val = max(1, int(round(config.val_fraction * len(order))))
    val, train = order[:n_val], order[n_val:]
    x = torch.from_numpy(images.transpose(0, 3, 1, 2).astype(np.float32))
    mean, std = x[train].mean(dim=(0, 2, 3), keepdim=True), x[train].std(dim=(0, 2, 3), keepdim=True)
    x = (x - mean) / std
    y = torch.from_numpy(labels.astype(np.int64))
    return Split(x[train], y[train], x[val], y[val], int(labels.max()) + 1)


def augment(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random crop of the 4-pixel zero-padded image and horizontal flip, drawn per image.

    The draws come from the CPU `generator`; the crops are gathered in one indexing operation on the
    batch's own device, so a batch on the GPU never leaves it.
    """
    n, _, h, w = batch.shape
    padded = F.pad(batch, (4, 4, 4, 4)).permute(0, 2, 3, 1)
    dy, dx = (torch.randint(0, 9, (n,), generator=generator).to(batch.device) for _ in range(2))
    flip = (torch.rand(n, generator=generator) < 0.5).to(batch.device)
    rows = dy[:, None] + torch.arange(h, device=batch.device)
    cols = dx[:, None] + torch.arange(w, device=batch.device)
    cols = torch.where(flip[:, None], cols.flip(1), cols)
    return padded[torch.arange(n, device=batch.device)[:, None, None], rows[:, :, None], cols[:, None, :]] \
        .permute(0, 3, 1, 2)


@dataclass
class Epoch:
    epoch: int
    train_loss: float
    train_acc: float
    val_loss: float
    val_acc: float
    seconds: float


def run_key(arch, source: Path, config: TrainConfig) -> str:
    """Names a run by the cell, the data file (path, size, mtime) and the recipe."""
    stat = Path(source).stat()
    text = f"{arch}|{Path(source).resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{sorted(asdict(config).items())}"
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def train(arch, source: Path, config: TrainConfig, device: str = "cpu",
          checkpoint_dir: Path | None = None, progress=None, split: Split | None = None) -> list[Epoch]:
    """Train `arch` on the images at `source`; per-epoch history (resumed from a checkpoint if any)."""
    if config.epochs < 1:
        raise ProxynasError("train for at least one epoch")
    split = split or load_split(source, config)
    task = Task(Path(source).name, split.num_classes, split.train_x.shape[-1])  # the classes the data has
    net = init_weights(arch.space.build_network(arch, task), config.seed)
    net = net.to(device, memory_format=memory_format(device))
    optimiser = torch.optim.SGD(net.parameters(), lr=config.learning_rate, momentum=config.momentum,
                                weight_decay=config.weight_decay, nesterov=True)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=config.epochs)
    generator = torch.Generator().manual_seed(config.seed)
    train_x, train_y, val_x, val_y = (t.to(device) for t in (split.train_x, split.train_y, split.val_x, split.val_y))
    history: list[Epoch] = []
    checkpoint = Path(checkpoint_dir) / f"{run_key(arch, source, config)}.pt" if checkpoint_dir else None
    parts = {"net": net, "optimiser": optimiser, "schedule": schedule}
    if checkpoint is not None and checkpoint.exists():
        history = restore_checkpoint(checkpoint, parts, generator, Epoch)
    for epoch in range(len(history), config.epochs):
        start = time.perf_counter()
        train_loss, train_acc = _run_epoch(net, task.loss, train_x, train_y, config.batch_size, optimiser, generator)
        val_loss, val_acc = _run_epoch(net, task.loss, val_x, val_y, config.batch_size)
        if not (math.isfinite(train_loss) and math.isfinite(val_loss)):  # this epoch is not saved: not finished
            raise ProxynasError(f"training {arch} diverged in epoch {epoch + 1} (training loss {train_loss}, "
                                f"validation loss {val_loss}); try a lower learning rate")
        schedule.step()
        history.append(Epoch(epoch + 1, train_loss, train_acc, val_loss, val_acc, time.perf_counter() - start))
        if checkpoint is not None:
            save_checkpoint(checkpoint, checkpoint_state(parts, generator, history))
        if progress:
            progress(epoch + 1, config.epochs)
    return history


def _run_epoch(net, loss_fn, x, y, batch_size, optimiser=None, generator=None) -> tuple[float, float]:
    """One pass over (x, y) on their device: training (shuffled, augmented) if an optimiser is given;
    (mean loss, accuracy %). Sums stay on the device, so a GPU epoch never waits for the host."""
    training = optimiser is not None
    net.train(training)
    order = torch.randperm(len(x), generator=generator) if training else torch.arange(len(x))
    total_loss = torch.zeros((), dtype=torch.float64, device=x.device)
    correct = torch.zeros((), dtype=torch.int64, device=x.device)
    with torch.set_grad_enabled(training):
        for rows in order.to(x.device).split(batch_size):
            inputs = augment(x[rows], generator) if training else x[rows]
            inputs = inputs.contiguous(memory_format=memory_format(inputs.device))
            labels = y[rows]
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=inputs.is_cuda):
                logits = net(inputs)
                loss = loss_fn(logits.float(), labels)
            if training:
                optimiser.zero_grad(set_to_none=True)
                loss.backward()
                optimiser.step()
            total_loss += loss.detach().double() * len(rows)
            correct += (logits.argmax(1) == labels).sum()
    return float(total_loss) / len(x), 100.0 * int(correct) / len(x)


def save_checkpoint(path: Path, state: dict) -> None:
    """Write `state` to `path` atomically (a temporary file renamed over it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def checkpoint_state(parts: dict, generator: torch.Generator, history: list) -> dict:
    """What a checkpoint holds: each part's state (a module's, optimiser's or schedule's state dict; a tensor's
    value), the generator's state and the finished epochs' records."""
    return {**{key: part.detach().cpu() if isinstance(part, torch.Tensor) else part.state_dict()
               for key, part in parts.items()},
            "generator": generator.get_state(), "history": [asdict(e) for e in history]}


def restore_checkpoint(path: Path, parts: dict, generator: torch.Generator, record: type) -> list:
    """Put the state of `checkpoint_state` back into `parts` and `generator`; the finished epochs as `record`s.
    A checkpoint of another run is a clear error."""
    state = load_checkpoint(path)
    try:
        with torch.no_grad():
            for key, part in parts.items():
                if isinstance(part, torch.Tensor):
                    part.copy_(state[key])
                else:
                    part.load_state_dict(state[key])
        generator.set_state(state["generator"])
        return [record(**e) for e in state["history"]]
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ProxynasError(f"checkpoint {path} does not fit this run ({str(exc).splitlines()[0]}); delete it to "
                            f"start from scratch") from exc


def load_checkpoint(path: Path) -> dict:
    try:
        return torch.load(path, weights_only=True)
    except Exception as exc:  # torch.load raises many types on a truncated or foreign file
        raise ProxynasError(f"cannot resume from checkpoint {path} ({exc}); delete it to train from scratch") from exc
