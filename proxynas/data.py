"""Input batches for proxies: real images (npz or official CIFAR python folders) or Gaussian noise.

Images are normalised with the task's mean/std (`proxynas.tasks`). Which images, how many and the
noise all come from an explicit seed, so a batch is a pure function of its `BatchSpec`.
"""

from __future__ import annotations

import functools
import hashlib
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from proxynas import paths
from proxynas.errors import ProxynasError
from proxynas.tasks import get_task

INPUT_KINDS = ("images", "noise")


@dataclass(frozen=True)
class BatchSpec:
    """Everything that determines an input batch (and so belongs in a score's cache key)."""

    dataset: str = "cifar10"
    kind: str | None = None  # "images" or "noise"; None: images where the task has some, else noise
    batch_size: int = 64
    seed: int = 0
    images: str | None = None  # npz file or CIFAR python folder; None = the dataset's default file

    def __post_init__(self):
        if self.kind is None:
            has_images = self.images is not None or get_task(self.dataset).default_images is not None
            object.__setattr__(self, "kind", "images" if has_images else "noise")

    def key(self) -> str:
        """The batch's identity in score caches: for images, a hash of the batch itself (two files of one
        name differ, one file under two names does not), so scores follow content, not paths."""
        images = f"images={batch_digest(self)}" if self.kind == "images" else "noise"
        return f"{self.dataset}|{images}|bs={self.batch_size}|seed={self.seed}"


class _ArraysOnly(pickle.Unpickler):
    """Unpickles CIFAR's python batches: dicts, lists, bytes and numpy arrays, and nothing else."""

    ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
               ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "scalar"),
               ("numpy._core.multiarray", "scalar"), ("_codecs", "encode")}

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise ProxynasError(f"refusing to load {module}.{name} from a CIFAR batch file (only arrays are allowed)")
        return super().find_class(module, name)


def _read_cifar_folder(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 32, 32, 3) uint8 and labels from an official cifar-10/100 python folder."""
    names = sorted(folder.glob("data_batch_*")) or [folder / "train"]
    images, labels = [], []
    for path in names:
        if not path.is_file():
            raise ProxynasError(f"{folder} is not a CIFAR python folder: no data_batch_* or train file")
        try:
            with open(path, "rb") as handle:
                batch = _ArraysOnly(handle, encoding="bytes").load()
            data = np.asarray(batch[b"data"])
            label = batch.get(b"labels", batch.get(b"fine_labels"))
        except (OSError, pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ProxynasError(f"cannot read CIFAR batch {path}: {exc}") from exc
        if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
            raise ProxynasError(f"CIFAR batch {path}: data has shape {data.shape}, expected (N, 3072)")
        if label is None:
            raise ProxynasError(f"CIFAR batch {path} has no labels (neither 'labels' nor 'fine_labels')")
        images.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        labels.append(np.asarray(label))
    return _checked(np.concatenate(images), np.concatenate(labels), folder)


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            images, labels = archive["images"], archive["labels"]
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise ProxynasError(f"cannot read images from {path}: {exc} (expected an npz with 'images' and 'labels')") from exc
    return _checked(images, labels, path)


def _checked(images: np.ndarray, labels: np.ndarray, source: Path) -> tuple[np.ndarray, np.ndarray]:
    """Refuse what would make scores meaningless: non-uint8 pixels (0-1 floats read as 0-255 values),
    images that are not (N, H, W, 3), labels that are not one non-negative integer per image."""
    if images.dtype != np.uint8:
        raise ProxynasError(f"images in {source} are {images.dtype}; proxynas needs uint8 RGB values 0-255 "
                            f"(convert them, e.g. (x * 255).round().astype('uint8') for 0-1 floats)")
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ProxynasError(f"images in {source} have shape {images.shape}, expected (N, H, W, 3)")
    if labels.ndim != 1 or len(labels) != len(images):
        raise ProxynasError(f"labels in {source} have shape {labels.shape}, expected one per image ({len(images)},)")
    if labels.dtype.kind not in "iu" or (len(labels) and labels.min() < 0):
        raise ProxynasError(f"labels in {source} must be non-negative integers (got {labels.dtype}, "
                            f"min {labels.min() if labels.dtype.kind in 'iuf' and len(labels) else '?'})")
    return images, labels.astype(np.int64)


def load_images(source: Path) -> tuple[np.ndarray, np.ndarray]:
    """uint8 images (N, H, W, 3) and int64 labels from an npz file or a CIFAR python folder."""
    source = Path(source)
    if source.is_dir():
        return _read_cifar_folder(source)
    if source.is_file():
        return _read_npz(source)
    raise ProxynasError(f"image source {source} does not exist")


def _image_source(spec: BatchSpec) -> Path:
    if spec.images:
        return Path(spec.images)
    root, default = paths.data_dir(), get_task(spec.dataset).default_images
    if root is None or default is None:
        raise ProxynasError("no image data: pass an images file/folder or set PROXYNAS_DATA")
    return root / default


def batch_digest(spec: BatchSpec) -> str:
    """SHA-256 (first 16 hex digits) of the inputs and labels `spec` gives; computed again only when the
    image file (or folder) changes size or modification time."""
    source = _image_source(spec)
    files = sorted(p for p in source.iterdir() if p.is_file()) if source.is_dir() else [source]
    try:
        stamp = tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    except OSError:
        stamp = ()  # missing: make_batch says so
    return _digest(spec, stamp)


@functools.lru_cache(maxsize=32)
def _digest(spec: BatchSpec, stamp: tuple) -> str:
    inputs, labels = make_batch(spec)
    digest = hashlib.sha256(inputs.numpy().tobytes())
    digest.update(labels.numpy().tobytes())
    return digest.hexdigest()[:16]


def make_batch(spec: BatchSpec):
    """(inputs float32 N×C×H×W (N×tiles×3×H×W for tiled tasks), targets) as torch tensors, deterministic
    in `spec`. Noise input gets targets drawn uniformly in the task's label space."""
    import torch

    task = get_task(spec.dataset)
    if spec.kind not in INPUT_KINDS:
        raise ProxynasError(f"unknown input kind {spec.kind!r}; valid: {', '.join(INPUT_KINDS)}")
    if spec.batch_size < 2:
        raise ProxynasError(f"batch size must be at least 2, got {spec.batch_size}")
    rng = np.random.default_rng(spec.seed)
    if spec.kind == "noise":
        inputs = rng.standard_normal((spec.batch_size, *task.input_shape), dtype=np.float32)
        return torch.from_numpy(inputs), torch.from_numpy(task.draw_targets(rng, inputs))
    if task.target != "label" or task.tiles:
        raise ProxynasError(f"proxynas reads images only for image-classification tasks; {task.name} takes "
                            f"Gaussian input (--input noise)")
    size, source = task.input_size, _image_source(spec)
    images, labels = load_images(source)
    if images.shape[1:] != (size, size, 3):
        raise ProxynasError(f"{task.name} needs {size}x{size} RGB images, got array of shape {images.shape}")
    if len(labels) and labels.max() >= task.num_classes:
        raise ProxynasError(f"labels in {source} go up to {labels.max()}, but {task.name} has {task.num_classes} "
                            f"classes (0..{task.num_classes - 1})")
    if spec.batch_size > len(images):
        raise ProxynasError(f"batch size {spec.batch_size} exceeds the {len(images)} images available")
    chosen = rng.choice(len(images), spec.batch_size, replace=False)
    mean, std = (np.array(v, dtype=np.float32).reshape(1, 3, 1, 1) for v in (task.mean, task.std))
    inputs = (images[chosen].transpose(0, 3, 1, 2).astype(np.float32) - mean) / std
    return torch.from_numpy(np.ascontiguousarray(inputs)), torch.from_numpy(labels[chosen])
