"""Input batches for proxies: real images (npz or official CIFAR python folders) or Gaussian noise.

Images are normalised with NAS-Bench-201's per-dataset mean/std. Which images, how many and the
noise all come from an explicit seed, so a batch is a pure function of its `BatchSpec`.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from proxynas import paths
from proxynas.errors import ProxynasError

# NB201 training code's normalisation, on the 0-255 scale.
NORMALISATION = {
    "cifar10": ((125.3, 123.0, 113.9), (63.0, 62.1, 66.7)),
    "cifar100": ((129.3, 124.1, 112.4), (68.2, 65.4, 70.4)),
    "imagenet16": ((122.68, 116.66, 104.01), (63.22, 61.26, 65.09)),
}
NUM_CLASSES = {"cifar10": 10, "cifar100": 100, "imagenet16": 120}
IMAGE_SIZE = {"cifar10": 32, "cifar100": 32, "imagenet16": 16}
# The in-house image files under <data>/images (see ../shared/data/README.md).
DEFAULT_IMAGES = {
    "cifar10": "images/cifar10_train_first4000.npz",
    "cifar100": "images/cifar100_test_subset.npz",
    "imagenet16": "images/imagenet16_120_approx.npz",
}
INPUT_KINDS = ("images", "noise")


@dataclass(frozen=True)
class BatchSpec:
    """Everything that determines an input batch (and so belongs in a score's cache key)."""

    dataset: str = "cifar10"
    kind: str = "images"  # "images" or "noise"
    batch_size: int = 64
    seed: int = 0
    images: str | None = None  # npz file or CIFAR python folder; None = the dataset's default file

    def key(self) -> str:
        source = Path(self.images).name if self.images else "default"
        images = f"images={source}" if self.kind == "images" else "noise"
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
            data = np.asarray(batch[b"data"], dtype=np.uint8)
            label = batch.get(b"labels", batch.get(b"fine_labels"))
        except (OSError, pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError) as exc:
            raise ProxynasError(f"cannot read CIFAR batch {path}: {exc}") from exc
        images.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        labels.append(np.asarray(label, dtype=np.int64))
    return np.concatenate(images), np.concatenate(labels)


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with np.load(path, allow_pickle=False) as archive:
            return archive["images"], archive["labels"].astype(np.int64)
    except (OSError, KeyError, ValueError) as exc:
        raise ProxynasError(f"cannot read images from {path}: {exc} (expected an npz with 'images' and 'labels')") from exc


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
    root = paths.data_dir()
    if root is None:
        raise ProxynasError("no image data: pass an images file/folder or set PROXYNAS_DATA")
    return root / DEFAULT_IMAGES[spec.dataset]


def make_batch(spec: BatchSpec):
    """(inputs float32 N×3×H×W, labels int64 N) as torch tensors, deterministic in `spec`."""
    import torch

    if spec.dataset not in NUM_CLASSES:
        raise ProxynasError(f"unknown dataset {spec.dataset!r}; valid: {', '.join(NUM_CLASSES)}")
    if spec.kind not in INPUT_KINDS:
        raise ProxynasError(f"unknown input kind {spec.kind!r}; valid: {', '.join(INPUT_KINDS)}")
    if spec.batch_size < 2:
        raise ProxynasError(f"batch size must be at least 2, got {spec.batch_size}")
    rng = np.random.default_rng(spec.seed)
    size = IMAGE_SIZE[spec.dataset]
    if spec.kind == "noise":
        inputs = rng.standard_normal((spec.batch_size, 3, size, size), dtype=np.float32)
        labels = rng.integers(0, NUM_CLASSES[spec.dataset], spec.batch_size)
        return torch.from_numpy(inputs), torch.from_numpy(labels)
    images, labels = load_images(_image_source(spec))
    if images.ndim != 4 or images.shape[1:] != (size, size, 3):
        raise ProxynasError(f"{spec.dataset} needs {size}x{size} RGB images, got array of shape {images.shape}")
    if spec.batch_size > len(images):
        raise ProxynasError(f"batch size {spec.batch_size} exceeds the {len(images)} images available")
    chosen = rng.choice(len(images), spec.batch_size, replace=False)
    mean, std = (np.array(v, dtype=np.float32).reshape(1, 3, 1, 1) for v in NORMALISATION[spec.dataset])
    inputs = (images[chosen].transpose(0, 3, 1, 2).astype(np.float32) - mean) / std
    return torch.from_numpy(np.ascontiguousarray(inputs)), torch.from_numpy(labels[chosen])
