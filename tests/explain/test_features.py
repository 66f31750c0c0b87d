"""ember.explain.features: every map in the grid is what torch computes with the same kernel;
seeds give different (reproducible) kernels."""
import numpy as np
import pytest
import torch

from ember.explain.features import BUNDLED_IMAGE, feature_maps, load_image

pytest.importorskip("PIL")


@pytest.fixture(scope="module")
def maps():
    return feature_maps(seeds=(0, 1, 2), size=48)


def test_bundled_photo():
    image = load_image(size=None)
    assert image.shape == (3, 188, 160) and 0 <= image.min() < image.max() <= 1
    assert load_image(BUNDLED_IMAGE, size=48).shape == (3, 48, 41)


def test_maps_equal_torch(maps):
    F = torch.nn.functional
    x = torch.tensor(maps.image[None])
    for row in maps.rows:
        y = F.conv2d(x, torch.tensor(row.kernel[None]), torch.tensor([row.bias], dtype=torch.float64))
        np.testing.assert_allclose(row.conv, y[0, 0].numpy(), rtol=1e-10, atol=1e-12)
        r = F.relu(y)
        np.testing.assert_allclose(row.relu, r[0, 0].numpy(), atol=1e-12)
        np.testing.assert_allclose(row.max_pool, F.max_pool2d(r, 2)[0, 0].numpy(), atol=1e-12)
        np.testing.assert_allclose(row.avg_pool, F.avg_pool2d(r, 2)[0, 0].numpy(), atol=1e-12)


def test_seeds_give_different_reproducible_kernels(maps):
    kernels = [row.kernel for row in maps.rows[:3]]
    assert not np.allclose(kernels[0], kernels[1]) and not np.allclose(kernels[1], kernels[2])
    again = feature_maps(seeds=(1,), classic=False, size=48)
    np.testing.assert_array_equal(again.rows[0].kernel, kernels[1])
    # ember's default init: U(-1/sqrt(fan_in), 1/sqrt(fan_in)), fan_in = 3*3*3
    assert np.abs(np.stack(kernels)).max() <= 1 / np.sqrt(27)
    assert [row.label for row in maps.rows[3:]] == ["vertical edges (Sobel x)", "horizontal edges (Sobel y)"]


def test_grid_image(maps, tmp_path):
    pytest.importorskip("matplotlib")
    from ember.explain.features import features_figure
    fig = features_figure(maps)
    fig.savefig(tmp_path / "f.png")
    assert (tmp_path / "f.png").stat().st_size > 10000
    shown = [ax.images[0].get_array() for ax in fig.axes if ax.images and ax.get_visible()]
    assert any(np.array_equal(a, maps.rows[0].conv) for a in shown)
