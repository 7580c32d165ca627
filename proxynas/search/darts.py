"""Differentiable search on the NB201 supernet: DARTS first and second order (Liu et al., ICLR 2019),
GDAS (Dong & Yang, CVPR 2019) and DARTS-PT's fixed-alpha supernet (Wang et al., ICLR 2021).

Every edge mixes its ops with softmax(alpha[edge]) (GDAS: one op per edge drawn by Gumbel-softmax, hard in
the forward pass and soft in the gradient). The training images are cut in two seeded halves: network
weights learn on one (SGD, Nesterov momentum, cosine learning rate, gradient clipping), alpha on the other
(Adam); each step first updates alpha on a batch of the second half, then the weights on a batch of the
first. DARTS-V2 takes alpha's gradient at the weights after one virtual SGD step, with the second-order
term as a finite-difference Hessian-vector product. `uniform` never learns alpha: every edge mixes its ops
equally while the weights train (still paired with batches of the alpha half, only to report their loss),
and the cell can only be chosen by perturbation. The derived cell keeps the largest alpha per edge, or,
with `select="perturb"` (DARTS-PT: Wang et al., ICLR 2021), the op whose removal costs the trained supernet
most validation accuracy: after the search, edges are decided one at a time in a seeded random order (the
edge then carries that op alone) with `tune_epochs` epochs of further search at a tenth of the learning rate
between two decisions.
Defaults are the NAS-Bench-201 paper's (AutoDL-Projects DARTS config). After every epoch a checkpoint
(supernet, alpha, optimisers, schedule, generator, history) is written atomically: a killed search resumes.
On CUDA the forward passes of DARTS and GDAS run under bfloat16 autocast.
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from proxynas import paths
from proxynas.errors import ProxynasError
from proxynas.search.base import Strategy, register_strategy
from proxynas.spaces.init import init_weights
from proxynas.spaces.nb201 import EDGES, OPS, Arch
from proxynas.spaces.nb201_supernet import build_supernet
from proxynas.tasks import Task
from proxynas.train import TrainConfig, augment, checkpoint_state, load_split, restore_checkpoint, save_checkpoint


METHODS = ("darts", "darts-v2", "gdas", "uniform")
SELECTIONS = ("argmax", "perturb")
HVP_STEP = 0.01  # DARTS-V2's finite-difference step, as a length in weight space


@dataclass(frozen=True)
class DartsConfig:
    epochs: int = 50
    batch_size: int = 64
    learning_rate: float = 0.025  # weights: SGD, Nesterov momentum, cosine to learning_rate_min
    learning_rate_min: float = 0.001
    momentum: float = 0.9
    weight_decay: float = 5e-4
    grad_clip: float = 5.0
    arch_learning_rate: float = 3e-4  # alpha: Adam
    arch_betas: tuple[float, float] = (0.5, 0.999)
    arch_weight_decay: float = 1e-3
    method: str = "darts"  # darts (first order), darts-v2 (second order), gdas or uniform (alpha fixed)
    tau: tuple[float, float] = (10.0, 0.1)  # GDAS: Gumbel-softmax temperature, annealed linearly over the epochs
    channels: int = 16
    cells_per_stage: int = 5
    seed: int = 0
    max_images: int | None = None  # a seeded subset of the data (None: all)
    select: str = "argmax"  # argmax (largest alpha per edge) or perturb (DARTS-PT); uniform: perturb only
    tune_epochs: int = 5  # perturb: epochs between two edge decisions (DARTS-PT's NB201 setting)

    @property
    def total_epochs(self) -> int:
        """The search epochs, then (perturb) the tuning epochs between the edge decisions."""
        return self.epochs + (self.tune_epochs * (len(EDGES) - 1) if self.select == "perturb" else 0)


@dataclass
class DartsEpoch:
    epoch: int
    train_loss: float
    train_acc: float
    arch_loss: float  # on the alpha half
    arch_acc: float
    alpha: list[list[float]]  # softmax(alpha) per edge, ops in the space's order
    derived: str  # the cell of the largest alpha per edge (decided edges: their op)
    seconds: float
    decided: list[list[int]] = field(default_factory=list)  # perturb: [edge, op] pairs decided so far
    decision: dict | None = None  # perturb: the decision made at this epoch's start


@dataclass
class DartsResult:
    derived: Arch
    history: list[DartsEpoch] = field(default_factory=list)
    decisions: list[dict] = field(default_factory=list)  # perturb: every edge decision, in order


def derive(alpha: torch.Tensor, decided: dict[int, int] | None = None) -> Arch:
    ops = alpha.argmax(dim=1).tolist()
    for edge, op in (decided or {}).items():
        ops[edge] = op
    return Arch(ops)


def run_darts(source: Path, config: DartsConfig, device: str = "cpu", checkpoint_dir: Path | None = None,
              progress=None) -> DartsResult:
    """Search on the images at `source`; the history of every epoch (resumed from a checkpoint if any)."""
    if config.method not in METHODS:
        raise ProxynasError(f"unknown differentiable search {config.method!r}; valid: {', '.join(METHODS)}")
    if config.epochs < 1:
        raise ProxynasError("search for at least one epoch")
    if config.select not in SELECTIONS:
        raise ProxynasError(f"unknown selection {config.select!r}; valid: {', '.join(SELECTIONS)}")
    if config.tune_epochs < 0:
        raise ProxynasError("tune for zero or more epochs between two edge decisions")
    if config.method == "uniform" and config.select != "perturb":
        raise ProxynasError("a uniform-alpha supernet has no largest alpha: select its cell by perturbation")
    split = load_split(source, TrainConfig(batch_size=config.batch_size, val_fraction=0.5, seed=config.seed,
                                           max_images=config.max_images))
    task = Task(Path(source).name, split.num_classes, split.train_x.shape[-1])
    net = init_weights(build_supernet(task, config.channels, config.cells_per_stage), config.seed).to(device)
    alpha = 1e-3 * torch.randn(len(EDGES), len(OPS), generator=torch.Generator().manual_seed(config.seed))
    if config.method == "uniform":
        alpha = torch.zeros_like(alpha)  # stays so: no gradient, no Adam step
    alpha = alpha.to(device).requires_grad_(config.method != "uniform")
    weights_opt = torch.optim.SGD(net.parameters(), lr=config.learning_rate, momentum=config.momentum,
                                  weight_decay=config.weight_decay, nesterov=True)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(weights_opt, config.epochs, eta_min=config.learning_rate_min)
    alpha_opt = torch.optim.Adam([alpha], lr=config.arch_learning_rate, betas=config.arch_betas,
                                 weight_decay=config.arch_weight_decay)
    tune_opt = torch.optim.SGD(net.parameters(), lr=config.learning_rate / 10, momentum=config.momentum,
                               weight_decay=config.weight_decay, nesterov=True)
    generator = torch.Generator().manual_seed(config.seed)
    data = [t.to(device) for t in (split.train_x, split.train_y, split.val_x, split.val_y)]
    checkpoint = Path(checkpoint_dir) / f"darts-{run_key(source, config)}.pt" if checkpoint_dir else None
    history: list[DartsEpoch] = []
    parts = {"net": net, "weights_opt": weights_opt, "alpha_opt": alpha_opt, "schedule": schedule, "alpha": alpha,
             "tune_opt": tune_opt}
    if checkpoint is not None and checkpoint.exists():
        history = restore_checkpoint(checkpoint, parts, generator, DartsEpoch)
    decided = {edge: op for edge, op in history[-1].decided} if history else {}
    for epoch in range(len(history), config.total_epochs):
        start = time.perf_counter()
        tuning = epoch >= config.epochs
        decision = None
        if tuning and (epoch - config.epochs) % config.tune_epochs == 0:
            decision = _decide_edge(net, alpha, decided, data, config.batch_size, generator)
        tau = config.tau[0] - (config.tau[0] - config.tau[1]) * min(epoch, config.epochs - 1) / max(config.epochs - 1, 1)
        losses = _search_epoch(net, alpha, tune_opt if tuning else weights_opt, alpha_opt, data, config, generator,
                               tau, task.loss, decided)
        if not all(math.isfinite(v) for v in losses):
            raise ProxynasError(f"the search diverged in epoch {epoch + 1} (losses {losses}); try a lower learning rate")
        if not tuning:
            schedule.step()
        soft = F.softmax(alpha.detach(), dim=1)
        history.append(DartsEpoch(epoch + 1, *losses, soft.cpu().tolist(), str(derive(alpha.detach(), decided)),
                                  time.perf_counter() - start, sorted(map(list, decided.items())), decision))
        if checkpoint is not None:
            save_checkpoint(checkpoint, checkpoint_state(parts, generator, history))
        if progress:
            progress(epoch + 1, config.total_epochs)
    decisions = [e.decision for e in history if e.decision]
    while config.select == "perturb" and len(decided) < len(EDGES):  # the last edge (all, with no tuning)
        decisions.append(_decide_edge(net, alpha, decided, data, config.batch_size, generator))
    return DartsResult(derive(alpha.detach(), decided), history, decisions)


def _projected(weights: torch.Tensor, decided: dict[int, int]) -> torch.Tensor:
    """`weights` with each decided edge carrying its op alone."""
    if not decided:
        return weights
    rows = torch.tensor(list(decided), device=weights.device)
    one_hot = F.one_hot(torch.tensor(list(decided.values()), device=weights.device), weights.shape[1])
    return weights.index_put((rows,), one_hot.to(weights.dtype))


def _decide_edge(net, alpha, decided: dict[int, int], data, batch_size: int, generator) -> dict:
    """DARTS-PT's step: on an undecided edge drawn at random, the supernet's accuracy (%) on the alpha half
    with each op removed in turn; the edge keeps the op whose removal lowers it most (`decided` is updated)."""
    undecided = [e for e in range(len(EDGES)) if e not in decided]
    edge = undecided[int(torch.randint(len(undecided), (1,), generator=generator))]
    base = _projected(F.softmax(alpha.detach(), dim=1), decided)
    accuracies = []
    for op in range(len(OPS)):
        trial = base.clone()
        trial[edge, op] = 0.0
        accuracies.append(_accuracy(net, trial, data[2], data[3], batch_size))
    decided[edge] = int(np.argmin(accuracies))
    return {"edge": edge, "kept": OPS[decided[edge]], "accuracy_without_op": accuracies}


@torch.no_grad()
def _accuracy(net, weights: torch.Tensor, images: torch.Tensor, labels: torch.Tensor, batch_size: int) -> float:
    correct = 0
    for rows in torch.arange(len(images), device=images.device).split(batch_size):
        with _mixed_precision(images):
            correct += int((net(images[rows], weights).argmax(1) == labels[rows]).sum())
    return 100.0 * correct / len(images)


def run_key(source: Path, config: DartsConfig) -> str:
    stat = Path(source).stat()
    text = f"{Path(source).resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{sorted(asdict(config).items())}"
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _mixing(alpha: torch.Tensor, method: str, tau: float, generator: torch.Generator,
            decided: dict[int, int]) -> torch.Tensor:
    """The op weights of one forward pass: softmax(alpha), or GDAS's hard Gumbel-softmax sample whose
    gradient is the soft sample's (straight through); decided edges carry their op alone."""
    if method != "gdas":
        return _projected(F.softmax(alpha, dim=1), decided)
    uniform = torch.rand(alpha.shape, generator=generator).clamp_(1e-20, 1.0).to(alpha.device)
    soft = F.softmax((F.log_softmax(alpha, dim=1) - torch.log(-torch.log(uniform))) / tau, dim=1)
    hard = F.one_hot(soft.argmax(dim=1), alpha.shape[1]).to(soft.dtype)
    return _projected(hard - soft.detach() + soft, decided)


def _search_epoch(net, alpha, weights_opt, alpha_opt, data, config, generator, tau, loss_fn, decided):
    """One pass over the weights half, each step paired with a batch of the alpha half; mean losses and
    accuracies (%) of both."""
    train_x, train_y, val_x, val_y = data
    net.train()
    order = torch.randperm(len(train_x), generator=generator)
    val_order = torch.randperm(len(val_x), generator=generator)
    sums = torch.zeros(4, device=train_x.device)  # summed on the device: no host sync per step
    steps = order.split(config.batch_size)
    for step, rows in enumerate(steps):
        val_rows = val_order[(step * config.batch_size + torch.arange(config.batch_size)) % len(val_x)]
        x, y = augment(train_x[rows.to(train_x.device)], generator), train_y[rows.to(train_y.device)]
        vx, vy = val_x[val_rows.to(val_x.device)], val_y[val_rows.to(val_y.device)]
        alpha_opt.zero_grad(set_to_none=True)
        if config.method == "darts-v2":
            arch_loss, arch_logits = _unrolled_alpha_grad(net, alpha, x, y, vx, vy, weights_opt, loss_fn, decided)
        else:  # a fixed (uniform) alpha: the same pass without a graph, only to report the alpha half's loss
            with torch.set_grad_enabled(alpha.requires_grad), _mixed_precision(vx):
                arch_logits = net(vx, _mixing(alpha, config.method, tau, generator, decided))
            arch_loss = loss_fn(arch_logits.float(), vy)
            if alpha.requires_grad:
                arch_loss.backward(inputs=[alpha])
        if alpha.requires_grad:
            alpha_opt.step()
        weights_opt.zero_grad(set_to_none=True)
        with _mixed_precision(x):
            logits = net(x, _mixing(alpha.detach(), config.method, tau, generator, decided))
        loss = loss_fn(logits.float(), y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), config.grad_clip)
        weights_opt.step()
        sums += torch.stack([loss.detach() * len(rows), (logits.argmax(1) == y).sum(),
                             arch_loss.detach() * len(vy), (arch_logits.argmax(1) == vy).sum()]).float()
    n, nv = len(train_x), len(steps) * config.batch_size
    loss_sum, correct, arch_loss_sum, arch_correct = sums.tolist()
    return loss_sum / n, 100 * correct / n, arch_loss_sum / nv, 100 * arch_correct / nv


def _mixed_precision(batch: torch.Tensor):
    """bfloat16 autocast on CUDA (as real training uses), nothing on the CPU. DARTS-V2's finite differences
    stay in full precision."""
    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=batch.is_cuda)


def _unrolled_alpha_grad(net, alpha, x, y, vx, vy, weights_opt, loss_fn, decided):
    """DARTS-V2: alpha.grad = d L_val(w', alpha) / d alpha - xi * (d^2 L_train / d alpha d w) v, with
    w' = w - xi * dL_train/dw (xi: the weights' learning rate), v = dL_val(w')/dw', the Hessian-vector
    product by central differences at w +- eps v, eps = HVP_STEP / |v|."""
    params = [p for p in net.parameters()]
    xi = weights_opt.param_groups[0]["lr"]

    def mix():
        return _projected(F.softmax(alpha, dim=1), decided)

    grads = torch.autograd.grad(loss_fn(net(x, mix()), y), params, allow_unused=True)
    saved = [p.detach().clone() for p in params]
    with torch.no_grad():
        for p, g in zip(params, grads):
            if g is not None:
                p.sub_(xi * g)
    logits = net(vx, mix())
    arch_loss = loss_fn(logits, vy)
    found = torch.autograd.grad(arch_loss, [alpha, *params], allow_unused=True)
    alpha_grad, v = found[0], [torch.zeros_like(p) if g is None else g for p, g in zip(params, found[1:])]
    eps = HVP_STEP / float(torch.sqrt(sum((g * g).sum() for g in v)).clamp(min=1e-12))
    hessian = []
    for sign in (1.0, -1.0):
        with torch.no_grad():
            for p, w, g in zip(params, saved, v):
                p.copy_(w + sign * eps * g)
        (g_alpha,) = torch.autograd.grad(loss_fn(net(x, mix()), y), [alpha])
        hessian.append(g_alpha)
    with torch.no_grad():
        for p, w in zip(params, saved):
            p.copy_(w)
    alpha.grad = alpha_grad - xi * (hessian[0] - hessian[1]) / (2 * eps)
    return arch_loss.detach(), logits.detach()


class _Differentiable(Strategy):
    """Runs the search on its first `ask`, then asks for the derived cell."""

    one_shot = True
    method = "darts"
    default_select = "argmax"

    def __init__(self, space, seed: int, data: Path | None = None, epochs: int = 50, device: str = "cpu",
                 max_images: int | None = None, channels: int = 16, cells_per_stage: int = 5, select: str | None = None,
                 progress=None):
        super().__init__(space, seed)
        if self.space.name != "nb201":
            raise ProxynasError(f"{self.name} has a supernet for nb201 only, not {self.space.name}")
        if data is None:
            raise ProxynasError(f"{self.name} trains its supernet on images: pass --data FILE.npz or a CIFAR folder")
        self.data, self.device, self.progress = Path(data), device, progress
        self.config = DartsConfig(epochs=epochs, method=self.method, seed=int(seed), max_images=max_images,
                                  channels=channels, cells_per_stage=cells_per_stage,
                                  select=select or self.default_select)
        self.search_seconds = 0.0
        self.search_log: dict = {}
        self._derived: Arch | None = None

    @classmethod
    def setup_options(cls, setup) -> dict:
        return {"data": setup.data, "epochs": setup.epochs or DartsConfig.epochs, "device": setup.device,
                "select": setup.select or cls.default_select}

    def ask(self) -> Arch:
        if self._derived is None:
            start = time.perf_counter()
            result = run_darts(self.data, self.config, self.device, paths.cache_dir() / "checkpoints", self.progress)
            self.search_seconds = time.perf_counter() - start
            self._derived = result.derived
            self.search_log = {"method": self.method, "config": asdict(self.config),
                               "epochs": [asdict(e) for e in result.history], "decisions": result.decisions}
        return self._derived


@register_strategy
class Darts(_Differentiable):
    name = method = "darts"


@register_strategy
class DartsV2(_Differentiable):
    name = method = "darts-v2"


@register_strategy
class Gdas(_Differentiable):
    name = method = "gdas"


@register_strategy
class DartsUniform(_Differentiable):
    """DARTS-PT's fixed-alpha variant: the supernet trains with every op mixed equally, then perturbation
    selection picks the cell."""

    name = "darts-pt-uniform"
    method = "uniform"
    default_select = "perturb"
