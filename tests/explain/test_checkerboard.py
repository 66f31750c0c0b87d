"""ember.explain.checkerboard: the stride-2 transposed convolution's uneven overlap (values
1, 2, 4 on a constant image) against resize-then-convolve (even), computed by ember as torch."""
import numpy as np
import pytest
import torch

from ember.explain.checkerboard import checkerboard


@pytest.fixture(scope="module")
def cb():
    return checkerboard(size=48)


def test_constant_image_shows_the_overlap_pattern(cb):
    t = cb.constant_transposed[2:-2, 2:-2]
    assert set(np.unique(t)) == {1.0, 2.0, 4.0}
    # taps per pixel along one axis alternate 1, 2, 1, 2 ... (stride 2, kernel 3); in 2-d the
    # count is the product of the two axes' counts
    row = cb.constant_transposed[3, 2:-2]
    col = cb.constant_transposed[2:-2, 3]
    np.testing.assert_array_equal(t, np.outer(col, row) / cb.constant_transposed[3, 3])
    np.testing.assert_array_equal(np.unique(cb.constant_resized[2:-2, 2:-2]), [9.0])


def test_both_paths_equal_torch(cb):
    F = torch.nn.functional
    k = torch.ones(1, 1, 3, 3, dtype=torch.float64)
    x = torch.tensor(cb.constant)[None, None]
    np.testing.assert_allclose(cb.constant_transposed, F.conv_transpose2d(x, k, None, 2, 1, 1)[0, 0].numpy())
    up = F.interpolate(x, scale_factor=2, mode="nearest")
    np.testing.assert_allclose(cb.constant_resized, F.conv2d(up, k, None, 1, 1)[0, 0].numpy())
    assert cb.photo_transposed.shape == cb.photo_resized.shape == tuple(2 * v for v in cb.photo.shape)


def test_summary_and_figure(cb, tmp_path):
    text = cb.summary()
    assert "interior values {1, 2, 4}" in text and "interior values {9}" in text
    pytest.importorskip("matplotlib")
    from ember.explain.checkerboard import checkerboard_figure
    fig = checkerboard_figure(cb)
    np.testing.assert_array_equal(fig.axes[1].images[0].get_array(), cb.constant_transposed)
    fig.savefig(tmp_path / "c.png")
    assert (tmp_path / "c.png").stat().st_size > 1000
