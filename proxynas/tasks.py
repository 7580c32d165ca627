"""Dataset and task facts in one place: classifier head, input size, normalisation, loss, metrics.

A task is what a network is trained and judged on. Networks read their head and input size from
it, input batches their normalisation and default image file, proxies and training their loss,
and searches the name and direction of the metric they see (validation) and report (test).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from proxynas.errors import ProxynasError


@dataclass(frozen=True)
class Metric:
    name: str
    higher_is_better: bool = True
    description: str = ""


@dataclass(frozen=True)
class Task:
    """One dataset or task. `search_metric` is what a search sees, `report_metric` what results report."""

    name: str
    num_classes: int | None  # None: proxynas builds no network for this task (yet)
    input_size: int | None
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)  # per channel, 0-255 scale
    std: tuple[float, float, float] = (255.0, 255.0, 255.0)
    default_images: str | None = None  # relative to the data folder
    search_metric: Metric = Metric("val_acc", True, "validation accuracy (%)")
    report_metric: Metric = Metric("test_acc", True, "test accuracy (%)")
    aliases: tuple[str, ...] = field(default=())

    def loss(self, logits, labels):
        """The training loss (cross-entropy for classification tasks)."""
        import torch.nn.functional as F

        return F.cross_entropy(logits, labels)

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

# TransNAS-Bench-101's seven Taskonomy tasks. Each has one stored score, its validation score (there is
# no test split): what it measures differs per task, and for every task higher is better as stored.
TNB101_SCORES = {
    "class_scene": "top-1 validation accuracy of scene classification (%)",
    "class_object": "top-1 validation accuracy of object classification (%)",
    "jigsaw": "validation accuracy of jigsaw-permutation classification (%)",
    "segmentsemantic": "pixel-wise validation accuracy of semantic segmentation (%)",
    "room_layout": "negative validation loss of room-layout regression (higher is better)",
    "normal": "validation SSIM of predicted surface normals (0-1)",
    "autoencoder": "validation SSIM of the reconstructed image (0-1)",
}
for _name, _description in TNB101_SCORES.items():
    _score = Metric("val_score", True, _description)
    register_task(Task(_name, None, None, search_metric=_score, report_metric=_score))
