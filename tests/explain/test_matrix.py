"""ember.explain.matrix: C @ x is the convolution (ember's and torch's), C measured with ember's
conv on basis vectors is the same C, and C.T @ y is the transposed convolution."""
import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import ember
from ember.explain.matrix import conv_matrix, conv_matrix_by_probing, explain_matrix
from ember.nn import _shapes


@st.composite
def convolutions(draw):
    n = draw(st.integers(1, 3))
    spatial = tuple(draw(st.integers(1, 6 if n < 3 else 4)) for _ in range(n))
    dims = lambda lo, hi: tuple(draw(st.integers(lo, hi)) for _ in range(n))  # noqa: E731
    k, s, p, d = dims(1, 3), dims(1, 3), dims(0, 2), dims(1, 2)
    groups = draw(st.sampled_from([1, 1, 2]))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    assume(all(i + 2 * pp >= dd * (kk - 1) + 1 for i, kk, pp, dd in zip(spatial, k, p, d)))
    return spatial, k, s, p, d, groups, c_in, c_out


@settings(max_examples=30, deadline=None)
@given(conf=convolutions(), seed=st.integers(0, 2**16))
def test_C_is_the_convolution_and_C_T_the_transposed_one(conf, seed):
    spatial, k, s, p, d, groups, c_in, c_out = conf
    n = len(spatial)
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((c_out, c_in // groups) + k)
    x = rng.standard_normal((1, c_in) + spatial)
    C = conv_matrix(w, (c_in,) + spatial, s, p, d, groups)

    conv = getattr(torch.nn.functional, f"conv{n}d")
    y_torch = conv(torch.tensor(x), torch.tensor(w), None, s, p, d, groups).numpy()
    np.testing.assert_allclose(C @ x.ravel(), y_torch.ravel(), atol=1e-12)
    y_ember = getattr(ember.nn.functional, f"conv{n}d")(ember.tensor(x), ember.tensor(w), None, s, p,
                                                       d, groups).numpy()
    np.testing.assert_allclose(C @ x.ravel(), y_ember.ravel(), atol=1e-12)
    np.testing.assert_array_equal(conv_matrix_by_probing(w, (c_in,) + spatial, s, p, d, groups), C)

    # the transposed convolution with the same weight is C.T (output_padding lands it on x's shape)
    out = y_torch.shape[2:]
    output_padding = tuple(i - _shapes.conv_transpose_output_size(o, kk, ss, pp, dd)
                           for i, o, kk, ss, pp, dd in zip(spatial, out, k, s, p, d))
    g = rng.standard_normal(y_torch.shape)
    conv_t = getattr(torch.nn.functional, f"conv_transpose{n}d")
    back = conv_t(torch.tensor(g), torch.tensor(w), None, s, p, output_padding, groups, d).numpy()
    np.testing.assert_allclose(C.T @ g.ravel(), back.ravel(), atol=1e-12)
    back_ember = getattr(ember.nn.functional, f"conv_transpose{n}d")(
        ember.tensor(g), ember.tensor(w), None, s, p, output_padding, groups, d).numpy()
    np.testing.assert_allclose(C.T @ g.ravel(), back_ember.ravel(), atol=1e-12)


def test_the_tutorials_4x4_input_3x3_kernel():
    report = explain_matrix()  # 4x4 input, 3x3 kernel of 1..9
    assert report.matrix.shape == (4, 16)
    np.testing.assert_array_equal(report.matrix[0], [1, 2, 3, 0, 4, 5, 6, 0, 7, 8, 9, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(report.matrix[3], [0, 0, 0, 0, 0, 1, 2, 3, 0, 4, 5, 6, 0, 7, 8, 9])
    assert max(report.conv_error, report.transpose_error, report.probe_error) < 1e-12
    text = str(report)
    assert "   1 2 3 . 4 5 6 . 7 8 9 . . . . ." in text
    assert "C is 4 x 16" in text and "36 of 64 entries are non-zero" in text


def test_strided_report_needs_output_padding():
    report = explain_matrix((6, 5), kernel_size=3, stride=2, padding=(1, 0), weights="random")
    assert report.output_padding == (1, 0)   # 6 -> 3 -> 5 without it
    assert report.transpose_error < 1e-12 and report.conv_error < 1e-12


def test_bad_configurations():
    with pytest.raises(ValueError, match="kernel 5 is larger than the padded input 4"):
        explain_matrix((4, 4), kernel_size=5)
    with pytest.raises(ValueError, match="weights must be"):
        explain_matrix(weights="ones")


def test_heat_map(tmp_path):
    pytest.importorskip("matplotlib")
    from ember.explain.matrix import matrix_figure
    fig = matrix_figure(explain_matrix())
    left, right = fig.axes[:2]
    np.testing.assert_array_equal(left.images[0].get_array().filled(0), explain_matrix().matrix)
    np.testing.assert_array_equal(right.images[0].get_array().filled(0), explain_matrix().matrix.T)
    fig.savefig(tmp_path / "m.png")
    assert (tmp_path / "m.png").stat().st_size > 1000
