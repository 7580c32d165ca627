"""Real training: one tiny epoch on real CIFAR-10 images, checkpoint resume, bad data, and search with it."""

import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from proxynas import train as training
from proxynas.cli import cli
from proxynas.errors import ProxynasError
from proxynas.search import TrainingEvaluator, get_strategy, run_search
from proxynas.spaces import nb201

CELL = nb201.parse("|nor_conv_1x1~0|+|skip_connect~0|nor_conv_1x1~1|+|skip_connect~0|none~1|nor_conv_1x1~2|")
TINY = training.TrainConfig(epochs=1, batch_size=40, val_fraction=0.25, seed=0)


@pytest.fixture(scope="module")
def tiny_data(data_dir, tmp_path_factory):
    """120 real CIFAR-10 training images (a slice of the shared file, written to a temp npz)."""
    with np.load(data_dir / "images" / "cifar10_train_first4000.npz") as source:
        path = tmp_path_factory.mktemp("data") / "tiny.npz"
        np.savez(path, images=source["images"][:120], labels=source["labels"][:120])
    return path


def test_augment_crops_and_flips_within_the_padded_image():
    batch = torch.arange(6 * 3 * 8 * 8, dtype=torch.float32).reshape(6, 3, 8, 8)
    out = training.augment(batch, torch.Generator().manual_seed(0))
    draws = torch.Generator().manual_seed(0)  # the same draws, applied one image at a time
    dy, dx = (torch.randint(0, 9, (6,), generator=draws) for _ in range(2))
    flip = torch.rand(6, generator=draws) < 0.5
    padded = torch.nn.functional.pad(batch, (4, 4, 4, 4))
    for i in range(6):
        crop = padded[i, :, dy[i]:dy[i] + 8, dx[i]:dx[i] + 8]
        assert torch.equal(out[i], crop.flip(2) if flip[i] else crop)
    assert flip.any() and not flip.all()


def test_one_epoch_reports_history_and_a_checkpoint_resumes_without_retraining(tiny_data, tmp_path):
    history = training.train(CELL, tiny_data, TINY, checkpoint_dir=tmp_path)
    assert len(history) == 1 and 0 <= history[0].val_acc <= 100 and np.isfinite(history[0].train_loss)
    assert len(list(tmp_path.glob("*.pt"))) == 1
    resumed = training.train(CELL, tiny_data, TINY, checkpoint_dir=tmp_path)
    assert resumed == history  # read back from the checkpoint, not trained again
    longer = training.TrainConfig(**{**TINY.__dict__, "epochs": 2})
    assert len(training.train(CELL, tiny_data, longer, checkpoint_dir=tmp_path)) == 2


def test_bad_data_and_corrupt_checkpoints_are_clear_errors(tiny_data, tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, images=np.zeros((5, 8, 8), np.uint8), labels=np.zeros(5, np.int64))
    with pytest.raises(ProxynasError, match="expected \\(N, H, W, 3\\)"):
        training.train(CELL, bad, TINY)
    checkpoint = tmp_path / f"{training.run_key(CELL, tiny_data, TINY)}.pt"
    checkpoint.write_bytes(b"not a checkpoint")
    with pytest.raises(ProxynasError, match="cannot resume from checkpoint"):
        training.train(CELL, tiny_data, TINY, checkpoint_dir=tmp_path)
    torch.save({"net": {"wrong": torch.zeros(1)}, "history": []}, checkpoint)  # issue 16 #17: readable but foreign
    with pytest.raises(ProxynasError, match="does not fit this run"):
        training.train(CELL, tiny_data, TINY, checkpoint_dir=tmp_path)


def test_a_diverged_run_stops_with_its_reason_and_is_not_saved_as_finished(tiny_data, tmp_path):
    """Issue 16 #17: NaN losses are not a finished run."""
    wild = training.TrainConfig(**{**TINY.__dict__, "learning_rate": 1e30})
    with pytest.raises(ProxynasError, match="diverged in epoch 1"):
        training.train(CELL, tiny_data, wild, checkpoint_dir=tmp_path)
    assert not list(tmp_path.glob("*.pt"))


def test_train_cli_and_search_with_real_training(bench, tiny_data):
    def train_cli(arch):
        result = CliRunner().invoke(cli, ["train", arch, "--data", str(tiny_data), "--epochs", "1",
                                          "--train-batch-size", "40", "--quiet", "--json"])
        assert result.exit_code == 0, result.output
        return json.loads(result.output)

    by_string = train_cli(str(CELL))
    assert by_string["epochs"][0]["epoch"] == 1
    by_index = train_cli(str(bench.index.index_of(CELL)))  # the same run: read back from its checkpoint
    assert by_index["arch"] == str(CELL) and by_index["epochs"] == by_string["epochs"]
    evaluator = TrainingEvaluator(tiny_data, TINY)
    found = run_search(get_strategy("random", "nb201", 0), evaluator, 2, seed=0)
    assert found.trainings == 2 and np.isnan(found.test_acc) and found.train_hours > 0
    assert list(evaluator.histories) == [nb201.parse(s.arch) for s in found.trajectory]


def test_search_cli_with_real_training_reports_every_history(tiny_data):
    result = CliRunner().invoke(cli, ["search", "--strategy", "random", "--budget", "2", "--evaluator", "train",
                                      "--data", str(tiny_data), "--epochs", "1", "--train-batch-size", "40", "--quiet",
                                      "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["trainings"] == 2 and np.isnan(payload["test_acc"])
    assert sorted(payload["histories"]) == sorted(s["arch"] for s in payload["trajectory"])
    assert all(len(h) == 1 and h[0]["val_acc"] >= 0 for h in payload["histories"].values())


def test_training_on_a_seeded_subset_of_the_images(data_dir):
    source = data_dir / "images" / "cifar10_train_first4000.npz"
    config = training.TrainConfig(epochs=1, batch_size=20, val_fraction=0.25, seed=3, max_images=40)
    split = training.load_split(source, config)
    assert len(split.train_x) == 30 and len(split.val_x) == 10
    again = training.load_split(source, config)
    assert torch.equal(split.train_x, again.train_x) and torch.equal(split.val_y, again.val_y)
    result = CliRunner().invoke(cli, ["train", "6111", "--data", str(source), "--epochs", "1", "--max-images", "40",
                                      "--train-batch-size", "20", "--quiet", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["config"]["max_images"] == 40
