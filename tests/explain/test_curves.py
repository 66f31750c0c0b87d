"""ember.explain.curves: the plotted f and f' are ember's function and ember's autograd
derivative, and both equal torch's (values and autograd) on the whole plotted range."""
import numpy as np
import pytest
import torch

import ember
from ember.explain import curves
from ember.explain.curves import ACTIVATIONS, activation_curve


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_plotted_derivative_equals_torchs_autograd(name):
    if not hasattr(ember.nn.functional, name):
        pytest.skip(f"ember.nn.functional.{name} is not there yet")
    ours = activation_curve(name, (-5.0, 5.0))
    theirs = curves._curve(torch, name, (-5.0, 5.0), None)
    np.testing.assert_array_equal(ours.x, theirs.x)
    np.testing.assert_allclose(ours.f, theirs.f, rtol=1e-10, atol=1e-12)
    # rtol 1e-7: torch computes hardsigmoid's slope 1/6 in float32 even for float64 input
    np.testing.assert_allclose(ours.df, theirs.df, rtol=1e-7, atol=1e-12)
    assert ours.df0 == pytest.approx(theirs.df0, rel=1e-7, abs=1e-12)

    pytest.importorskip("matplotlib")
    fig = curves.activation_figure(ours)
    f_line, df_line = fig.axes[0].lines[2:4]   # after the two axis lines
    np.testing.assert_array_equal(f_line.get_ydata(), ours.f)
    np.testing.assert_array_equal(df_line.get_ydata(), ours.df)


def test_famous_facts():
    sig = activation_curve("sigmoid")
    assert sig.df.max() == pytest.approx(0.25) and sig.x[np.argmax(sig.df)] == 0
    assert "max f'(x) = 0.25 at x = 0" in sig.annotations()
    assert "range of f: (0, 1)" in sig.annotations()
    relu = activation_curve("relu")
    assert relu.df0 == 0.0   # ReLU'(0) = 0 as in torch (TRAPS.md #13)
    assert set(np.unique(relu.df)) == {0.0, 1.0}
    shrink = activation_curve("softshrink", (-4, 4))
    assert "on [-4, -0.51] and [0.51, 4]" in shrink.annotations()[1]


def test_keyword_arguments_and_errors():
    curve = activation_curve("leaky_relu", (-2, 2), negative_slope=0.2)
    assert curve.kwargs == {"negative_slope": 0.2}
    assert curve.df.min() == pytest.approx(0.2)
    with pytest.raises(ValueError, match="no activation 'nope'"):
        activation_curve("nope")
    with pytest.raises(ValueError, match="low to high"):
        activation_curve("relu", (1, -1))


def test_files(tmp_path):
    pytest.importorskip("matplotlib")
    path, curve = curves.plot_activation("tanh", tmp_path / "tanh.png")
    assert path.stat().st_size > 5000
    names = [n for n in ACTIVATIONS if hasattr(ember.nn.functional, n)][:4]
    path, all_curves = curves.plot_all_activations(tmp_path / "all.png", names=names)
    assert [c.name for c in all_curves] == names and path.stat().st_size > 5000
