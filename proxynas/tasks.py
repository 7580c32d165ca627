"""Dataset and task facts in one place: outputs, input shape, normalisation, targets, loss, metrics.

A task is what a network is trained and judged on. Networks read their output size and input shape
from it, input batches their normalisation, default image file and (for Gaussian input) the targets
drawn in the task's own label space, proxies and training their loss, and searches the name and
direction of the metric they see (validation) and report (test).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from proxynas.errors import ProxynasError

# What a task's network predicts, and so which targets and loss it has:
TARGETS = {
    "label": "one class per input; cross-entropy",
    "label_map": "one class per pixel; cross-entropy averaged over pixels",
    "vector": "num_classes real values; mean squared error",
    "image": "a 3-channel image in [-1, 1]; mean absolute (L1) error",
    "input": "the input itself (reconstruction); mean absolute (L1) error",
}


@dataclass(frozen=True)
class Metric:
    name: str
    higher_is_better: bool = True
    description: str = ""


@dataclass(frozen=True)
class Task:
    """One dataset or task. `search_metric` is what a search sees, `report_metric` what results report."""

    name: str
    num_classes: int | None  # classes (labels, label maps) or outputs (vectors)
    input_size: int | None  # side of a square input image
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)  # per channel, 0-255 scale
    std: tuple[float, float, float] = (255.0, 255.0, 255.0)
    default_images: str | None = None  # relative to the data folder
    search_metric: Metric = Metric("val_acc", True, "validation accuracy (%)")
    report_metric: Metric = Metric("test_acc", True, "test accuracy (%)")
    aliases: tuple[str, ...] = field(default=())
    target: str = "label"  # a key of TARGETS
    tiles: int = 0  # > 0: each input is this many tiles of input_size (a jigsaw puzzle)

    def __post_init__(self):
        if self.target not in TARGETS:
            raise ValueError(f"unknown target kind {self.target!r}; valid: {', '.join(TARGETS)}")

    @property
    def input_shape(self) -> tuple[int, ...]:
        """One input's shape: (3, H, W), or (tiles, 3, H, W)."""
        image = (3, self.input_size, self.input_size)
        return (self.tiles, *image) if self.tiles else image

    def draw_targets(self, rng: np.random.Generator, inputs: np.ndarray) -> np.ndarray:
        """Targets for a batch of Gaussian `inputs`, uniform over the task's label space."""
        n = len(inputs)
        if self.target == "label":
            return rng.integers(0, self.num_classes, n)
        if self.target == "label_map":
            return rng.integers(0, self.num_classes, (n, self.input_size, self.input_size))
        if self.target == "vector":
            return rng.standard_normal((n, self.num_classes), dtype=np.float32)
        if self.target == "image":
            return rng.uniform(-1, 1, (n, 3, self.input_size, self.input_size)).astype(np.float32)
        return inputs.copy()

    def loss(self, outputs, targets):
        """The training loss of the task's outputs against its targets (see TARGETS)."""
        import torch.nn.functional as F

        if self.target in ("label", "label_map"):
            return F.cross_entropy(outputs, targets)
        if self.target == "vector":
            return F.mse_loss(outputs, targets)
        return F.l1_loss(outputs, targets)

    def better(self, a: float, b: float) -> bool:
        """Is search-metric value `a` better than `b`?"""
        return a > b if self.search_metric.higher_is_better else a < b


_TASKS: dict[str, Task] = {}


def register_task(task: Task) -> Task:
    """Make `task` known by its name and aliases (case-insensitive); a name taken twice is an error."""
    for key in (task.name, *task.aliases):
        if key.lower() in _TASKS:
            raise ValueError(f"task name {key!r} is already registered")
        _TASKS[key.lower()] = task
    return task


def get_task(name: str | Task) -> Task:
    """The task called `name` (or an alias, case-insensitive); an unknown name lists the valid ones."""
    if isinstance(name, Task):
        return name
    try:
        return _TASKS[name.lower()]
    except KeyError:
        raise ProxynasError(f"unknown dataset {name!r}; valid: {', '.join(task_names())}") from None


def task_names() -> list[str]:
    return list(dict.fromkeys(t.name for t in _TASKS.values()))


# NAS-Bench-201's datasets, with its training code's normalisation and the in-house image files
# under <data>/images (see ../shared/data/README.md).
CIFAR10 = register_task(Task("cifar10", 10, 32, (125.3, 123.0, 113.9), (63.0, 62.1, 66.7),
                             "images/cifar10_train_first4000.npz"))
CIFAR100 = register_task(Task("cifar100", 100, 32, (129.3, 124.1, 112.4), (68.2, 65.4, 70.4),
                              "images/cifar100_test_subset.npz"))
IMAGENET16 = register_task(Task("imagenet16", 120, 16, (122.68, 116.66, 104.01), (63.22, 61.26, 65.09),
                                "images/imagenet16_120_approx.npz", aliases=("imagenet16-120", "imagenet")))

# TransNAS-Bench-101's seven Taskonomy tasks, with the outputs of the benchmark's network (63 scene and
# 100 object classes, 1000 jigsaw permutations of 9 tiles, 9 room-layout values, 17 segmentation
# classes). Taskonomy's images are not available: inputs are Gaussian, targets drawn in the task's label
# space. Each task has one stored score, its validation score (there is no test split); what it
# measures differs per task (the benchmark's `valid_top1`, `valid_neg_loss`, `valid_acc`, `valid_ssim`,
# as NASLib reads them), and for every task higher is better as stored.
TNB101_SCORES = {
    "class_scene": "top-1 validation accuracy of scene classification (%)",
    "class_object": "top-1 validation accuracy of object classification (%)",
    "jigsaw": "validation accuracy of jigsaw-permutation classification (%)",
    "segmentsemantic": "pixel-wise validation accuracy of semantic segmentation (%)",
    "room_layout": "negative validation loss of room-layout regression (higher is better)",
    "normal": "validation SSIM of predicted surface normals (0-1)",
    "autoencoder": "validation SSIM of the reconstructed image (0-1)",
}
_TNB101_OUTPUTS = {  # task: (target kind, classes or outputs, input side, tiles)
    "class_scene": ("label", 63, 256, 0),
    "class_object": ("label", 100, 256, 0),
    "jigsaw": ("label", 1000, 64, 9),
    "segmentsemantic": ("label_map", 17, 256, 0),
    "room_layout": ("vector", 9, 256, 0),
    "normal": ("image", 3, 256, 0),
    "autoencoder": ("input", 3, 256, 0),
}
for _name, _description in TNB101_SCORES.items():
    _score = Metric("val_score", True, _description)
    _target, _outputs, _side, _tiles = _TNB101_OUTPUTS[_name]
    register_task(Task(_name, _outputs, _side, search_metric=_score, report_metric=_score, target=_target,
                       tiles=_tiles))
