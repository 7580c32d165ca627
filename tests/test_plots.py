"""Figures are optional: without matplotlib a benchmark says why and goes on; with it, a grid is saved."""

import pytest

from proxynas import plots
from proxynas.errors import ProxynasError


def test_grid_without_matplotlib_prints_the_reason_and_returns_none(monkeypatch, capsys):
    def missing():
        raise ProxynasError('plotting needs matplotlib: pip install "proxynas[plot]"')

    monkeypatch.setattr(plots, "pyplot", missing)
    assert plots.optional_grid(1, 2, (3, 2)) is None
    assert 'no plot: plotting needs matplotlib: pip install "proxynas[plot]"' in capsys.readouterr().out


def test_grid_is_saved_as_an_image(tmp_path):
    pytest.importorskip("matplotlib")
    figure, axes = plots.optional_grid(2, 3, (2, 1.5))
    assert axes.shape == (2, 3)
    axes[1][2].plot([0, 1], [1, 0])
    plots.save_figure(figure, tmp_path / "grid.png", dpi=50)
    assert (tmp_path / "grid.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
