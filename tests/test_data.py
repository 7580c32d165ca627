import pickle
import re

import numpy as np
import pytest
import torch

from proxynas.data import BatchSpec, load_images, make_batch
from proxynas.tasks import get_task
from proxynas.errors import ProxynasError


@pytest.mark.parametrize("dataset, size", [("cifar10", 32), ("cifar100", 32), ("imagenet16", 16)])
def test_image_batches_are_normalised_and_deterministic(data_dir, dataset, size):
    inputs, labels = make_batch(BatchSpec(dataset, batch_size=32, seed=1))
    again, _ = make_batch(BatchSpec(dataset, batch_size=32, seed=1))
    other, _ = make_batch(BatchSpec(dataset, batch_size=32, seed=2))
    assert inputs.shape == (32, 3, size, size) and labels.dtype == torch.int64
    assert torch.equal(inputs, again) and not torch.equal(inputs, other)
    assert abs(float(inputs.mean())) < 0.5 and 0.5 < float(inputs.std()) < 1.5  # roughly standardised


def test_noise_batches_need_no_files(monkeypatch):
    monkeypatch.setattr("proxynas.paths.data_dir", lambda: None)
    inputs, labels = make_batch(BatchSpec("cifar100", kind="noise", batch_size=8, seed=0))
    assert inputs.shape == (8, 3, 32, 32) and int(labels.max()) < 100


def _write_cifar_folder(folder, images, labels, key=b"labels"):
    folder.mkdir()
    rows = images.transpose(0, 3, 1, 2).reshape(len(images), -1)
    for part in (0, 1):
        half = slice(part * len(images) // 2, (part + 1) * len(images) // 2)
        with open(folder / f"data_batch_{part + 1}", "wb") as handle:
            pickle.dump({b"data": rows[half], key: list(labels[half])}, handle, protocol=2)


def test_official_cifar_python_folder_is_read(tmp_path):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (10, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, 10)
    _write_cifar_folder(tmp_path / "cifar-10-batches-py", images, labels)
    read_images, read_labels = load_images(tmp_path / "cifar-10-batches-py")
    assert np.array_equal(read_images, images) and np.array_equal(read_labels, labels)
    inputs, _ = make_batch(BatchSpec("cifar10", batch_size=4, images=str(tmp_path / "cifar-10-batches-py")))
    mean, std = get_task("cifar10").mean, get_task("cifar10").std
    first = (images[:, 0, 0, 0].astype(np.float32) - mean[0]) / std[0]
    assert any(np.isclose(float(inputs[0, 0, 0, 0]), v) for v in first)


class _Payload:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_cifar_reader_refuses_code_in_pickles(tmp_path):
    folder = tmp_path / "cifar"
    folder.mkdir()
    with open(folder / "data_batch_1", "wb") as handle:
        pickle.dump({b"data": _Payload(), b"labels": [1]}, handle)
    with pytest.raises(ProxynasError, match="refusing to load builtins.print"):
        load_images(folder)


@pytest.mark.parametrize("spec, message", [
    (dict(dataset="cifar100", batch_size=5000), "exceeds the 611 images"),
    (dict(dataset="mnist"), "unknown dataset"),
    (dict(dataset="cifar10", kind="video"), "unknown input kind"),
    (dict(dataset="cifar10", batch_size=1), "at least 2"),
    (dict(dataset="cifar10", images="/no/such/file.npz"), "does not exist"),
    (dict(dataset="imagenet16", images="CIFAR10"), "does not exist"),
    (dict(dataset="segmentsemantic", kind="images", images="x.npz"), "Gaussian input"),
])
def test_bad_batch_requests_are_clear_errors(data_dir, spec, message):
    with pytest.raises(ProxynasError, match=message):
        make_batch(BatchSpec(**spec))


def test_wrong_image_size_is_rejected(data_dir):
    spec = BatchSpec("imagenet16", images=str(data_dir / "images" / "cifar10_test_first1000.npz"))
    with pytest.raises(ProxynasError, match="16x16"):
        make_batch(spec)


@pytest.mark.parametrize("images, labels, message", [
    (np.random.default_rng(0).random((8, 32, 32, 3)), np.zeros(8, int), "are float64; proxynas needs uint8"),
    (np.zeros((8, 32, 32), np.uint8), np.zeros(8, int), "expected (N, H, W, 3)"),
    (np.zeros((8, 32, 32, 3), np.uint8), np.zeros(7, int), "one per image"),
    (np.zeros((8, 32, 32, 3), np.uint8), np.zeros((8, 2), int), "one per image"),
    (np.zeros((8, 32, 32, 3), np.uint8), np.full(8, -1), "non-negative integers"),
    (np.zeros((8, 32, 32, 3), np.uint8), np.full(8, np.nan), "non-negative integers"),
    (np.zeros((8, 32, 32, 3), np.uint8), np.full(8, 10), "go up to 10, but cifar10 has 10 classes"),
])
def test_bad_images_and_labels_are_refused(tmp_path, images, labels, message):
    """Issue 16 #8 and #9: what would make scores meaningless is refused with what is wrong."""
    path = tmp_path / "bad.npz"
    np.savez(path, images=images, labels=labels)
    with pytest.raises(ProxynasError, match=re.escape(message)):
        make_batch(BatchSpec("cifar10", batch_size=4, images=str(path)))


def test_truncated_npz_and_bad_cifar_folders_are_clear_errors(tmp_path):
    """Issue 16 #9 and #10."""
    whole = tmp_path / "whole.npz"
    np.savez(whole, images=np.zeros((8, 32, 32, 3), np.uint8), labels=np.zeros(8, int))
    (tmp_path / "cut.npz").write_bytes(whole.read_bytes()[:300])
    with pytest.raises(ProxynasError, match="cannot read images"):
        load_images(tmp_path / "cut.npz")
    for name, batch, message in [("size", {b"data": np.zeros((4, 100), np.uint8), b"labels": [0] * 4}, "(N, 3072)"),
                                 ("nolabels", {b"data": np.zeros((4, 3072), np.uint8)}, "has no labels")]:
        folder = tmp_path / name
        folder.mkdir()
        with open(folder / "data_batch_1", "wb") as handle:
            pickle.dump(batch, handle)
        with pytest.raises(ProxynasError, match=re.escape(message)):
            load_images(folder)
