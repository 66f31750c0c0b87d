"""Dropout layers: training vs eval, 1/(1-p) scaling, channel-wise masks, alpha dropout's
moments, in-place variants and torch's argument checks. The masks come from ember's generator,
so they are compared with torch statistically, not element by element."""
import numpy as np
import pytest
import torch

import ember
from tests.helpers import same_error

F = ember.nn.functional


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_dropout_zeroes_with_probability_p_and_scales_the_rest(p):
    x = ember.ones(200, 500, requires_grad=True)
    y = F.dropout(x, p)
    out = y.detach().numpy()
    kept = out != 0
    np.testing.assert_allclose(out[kept], 1 / (1 - p), rtol=1e-6)
    assert abs(kept.mean() - (1 - p)) < 0.01
    assert type(y.grad_fn).__name__ == "MulBackward0"
    y.backward(ember.ones_like(y))
    np.testing.assert_allclose(x.grad.numpy(), out)          # dy/dx is the scaled mask
    assert abs(out.mean() - 1) < 0.02                         # the expectation is unchanged


def test_dropout_eval_p0_and_empty_return_the_input_itself():
    x = ember.randn(4, 5, requires_grad=True)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    assert F.alpha_dropout(x, 0.5) is x                       # alpha_dropout's default: eval
    empty = ember.ones(0, 3)
    assert F.dropout(empty, 0.5) is empty
    assert torch.nn.functional.dropout(torch.ones(2), 0.5, training=False) is not None


def test_dropout_p1_gives_zeros_with_a_gradient_path():
    x = ember.randn(3, 4, requires_grad=True)
    y = F.dropout(x, 1.0)
    assert not y.detach().numpy().any() and type(y.grad_fn).__name__ == "MulBackward0"
    y.sum().backward()
    assert not x.grad.numpy().any()


def test_dropout_module_follows_train_and_eval():
    m = ember.nn.Dropout(0.5)
    x = ember.ones(1000)
    assert (m(x).numpy() == 0).any()
    m.eval()
    assert m(x) is x
    assert repr(m) == repr(torch.nn.Dropout(0.5)) == "Dropout(p=0.5, inplace=False)"


def test_dropout_is_reproducible_under_manual_seed():
    ember.manual_seed(3)
    a = F.dropout(ember.ones(100), 0.5).numpy()
    ember.manual_seed(3)
    b = F.dropout(ember.ones(100), 0.5).numpy()
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("fn, shape, lead", [
    (F.dropout1d, (8, 16, 50), 2), (F.dropout1d, (16, 50), 1), (F.dropout2d, (8, 16, 5, 6), 2),
    (F.dropout3d, (4, 16, 3, 4, 5), 2), (F.dropout3d, (16, 3, 4, 5), 1),
])
def test_channel_dropout_zeroes_whole_channels(fn, shape, lead):
    """``lead`` leading dims name a channel: (N, C) batched, (C,) unbatched."""
    x = ember.ones(*shape, requires_grad=True)
    y = fn(x, 0.5)
    out = y.detach().numpy()
    per_channel = out.reshape(out.shape[:lead] + (-1,))
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2.0).all(-1))
    assert 0.2 < (per_channel[..., 0] == 0).mean() < 0.8
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), out)


def test_channel_dropout_checks_and_warnings_like_torch():
    same_error(lambda lib: lib.nn.functional.dropout1d(lib.ones(2, 3, 4, 5)),
               match="dropout1d: Expected 2D or 3D input, but received a 4D input")
    with pytest.warns(UserWarning, match="dropout2d: Received a 2-D input to dropout2d"):
        F.dropout2d(ember.ones(3, 4))
    with pytest.warns(UserWarning, match="Received a 3D input to dropout2d and assuming"):
        F.dropout2d(ember.ones(2, 3, 4))
    with pytest.warns(UserWarning, match="dropout3d: Received a 3-D input to dropout3d"):
        F.dropout3d(ember.ones(2, 3, 4))
    same_error(lambda lib: lib.nn.functional.feature_alpha_dropout(lib.ones(3), 0.5, True),
               match="Feature dropout requires at least 2 dimensions in the input")


@pytest.mark.parametrize("make", [
    lambda lib: lib.nn.functional.dropout(lib.ones(2), 1.5),
    lambda lib: lib.nn.functional.alpha_dropout(lib.ones(2), -0.1),
    lambda lib: lib.nn.functional.dropout2d(lib.ones(2, 2, 2), 2.0),
    lambda lib: lib.nn.Dropout(-0.5), lambda lib: lib.nn.Dropout3d(1.01),
    lambda lib: lib.nn.AlphaDropout(3),
])
def test_p_is_validated_like_torch(make):
    same_error(make, match="dropout probability has to be between 0 and 1, but got")


@pytest.mark.parametrize("feature", [False, True])
def test_alpha_dropout_keeps_mean_and_variance(feature):
    x = np.random.default_rng(0).standard_normal((400, 500, 1) if feature else (400, 500))
    x = x.astype(np.float32)
    fn = F.feature_alpha_dropout if feature else F.alpha_dropout
    y = fn(ember.tensor(x), 0.2, True).numpy()
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1) < 0.02
    ref = (torch.nn.functional.feature_alpha_dropout if feature else
           torch.nn.functional.alpha_dropout)(torch.tensor(x), 0.2, True).numpy()
    # both libraries: kept elements map to a x + alpha a p, dropped ones to -alpha a (1 - p)
    alpha, p = 1.7580993408473766, 0.2
    a = 1 / np.sqrt((alpha ** 2 * p + 1) * (1 - p))
    for out in (y, ref):
        kept = np.isclose(out, a * x + alpha * a * p, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(out[~kept], -alpha * a * (1 - p), rtol=1e-5)
        assert abs((~kept).mean() - p) < 0.02


def test_alpha_dropout_gradient_is_the_scaled_mask():
    x = ember.randn(50, 40, requires_grad=True)
    y = F.alpha_dropout(x, 0.3, True)
    assert type(y.grad_fn).__name__ == "AddBackward0"
    y.sum().backward()
    a = 1 / np.sqrt((1.7580993408473766 ** 2 * 0.3 + 1) * 0.7)
    g = x.grad.numpy()
    assert np.all(np.isclose(g, 0) | np.isclose(g, a, rtol=1e-6))


@pytest.mark.parametrize("fn", [lambda t: F.dropout(t, 0.5, inplace=True),
                                lambda t: F.alpha_dropout(t, 0.5, True, inplace=True),
                                lambda t: F.dropout1d(t, 0.5, inplace=True),
                                lambda t: F.dropout1d(t[0], 0.5, inplace=True)])
def test_inplace_dropout_writes_into_the_input(fn):
    x = ember.ones(4, 6, 5)
    out = fn(x)
    assert (x.numpy() != 1).any() and np.shares_memory(out.numpy(), x.numpy())
    leaf = ember.ones(4, 6, 5, requires_grad=True)
    y = leaf * 1
    z = F.dropout(y, 0.5, inplace=True)
    assert z is y
    z.sum().backward()
    np.testing.assert_array_equal(leaf.grad.numpy(), y.detach().numpy())


@pytest.mark.parametrize("name, args", [("Dropout", ()), ("Dropout", (0.2, True)),
                                        ("Dropout1d", (0.1,)), ("Dropout2d", ()),
                                        ("Dropout3d", (0.3,)), ("AlphaDropout", (0.4,)),
                                        ("FeatureAlphaDropout", ())])
def test_module_reprs_and_eval_identity(name, args):
    m = getattr(ember.nn, name)(*args)
    assert repr(m) == repr(getattr(torch.nn, name)(*args))
    x = ember.randn(2, 3, 4) if name == "Dropout1d" else ember.randn(2, 3, 4, 5)
    m.eval()
    np.testing.assert_array_equal(m(x).numpy(), x.numpy())
