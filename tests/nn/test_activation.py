"""Activations (ember/nn/functional/activation.py, ember/nn/modules/activation.py) against torch:
values and gradients in float32 and float64, kinks, extremes, NaN, in-place variants, reprs."""
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

import ember
from ember.autograd import gradcheck
from tests.helpers import check_against_torch, same_error

# (id, fn(lib, x)): every activation with non-default arguments where it has them
ACTIVATIONS = [
    ("relu", lambda lib, x: lib.nn.functional.relu(x)),
    ("relu6", lambda lib, x: lib.nn.functional.relu6(x)),
    ("leaky_relu", lambda lib, x: lib.nn.functional.leaky_relu(x)),
    ("leaky_relu_0.2", lambda lib, x: lib.nn.functional.leaky_relu(x, 0.2)),
    ("leaky_relu_neg", lambda lib, x: lib.nn.functional.leaky_relu(x, -0.5)),
    ("threshold", lambda lib, x: lib.nn.functional.threshold(x, 0.5, -2.0)),
    ("hardtanh", lambda lib, x: lib.nn.functional.hardtanh(x)),
    ("hardtanh_2_3", lambda lib, x: lib.nn.functional.hardtanh(x, -2.0, 3.0)),
    ("elu", lambda lib, x: lib.nn.functional.elu(x)),
    ("elu_0.3", lambda lib, x: lib.nn.functional.elu(x, 0.3)),
    ("elu_neg", lambda lib, x: lib.nn.functional.elu(x, -0.7)),
    ("selu", lambda lib, x: lib.nn.functional.selu(x)),
    ("celu", lambda lib, x: lib.nn.functional.celu(x)),
    ("celu_0.7", lambda lib, x: lib.nn.functional.celu(x, 0.7)),
    ("gelu", lambda lib, x: lib.nn.functional.gelu(x)),
    ("gelu_tanh", lambda lib, x: lib.nn.functional.gelu(x, approximate="tanh")),
    ("sigmoid", lambda lib, x: lib.nn.functional.sigmoid(x)),
    ("tanh", lambda lib, x: lib.nn.functional.tanh(x)),
    ("silu", lambda lib, x: lib.nn.functional.silu(x)),
    ("mish", lambda lib, x: lib.nn.functional.mish(x)),
    ("softplus", lambda lib, x: lib.nn.functional.softplus(x)),
    ("softplus_2_5", lambda lib, x: lib.nn.functional.softplus(x, 2.0, 5.0)),
    ("logsigmoid", lambda lib, x: lib.nn.functional.logsigmoid(x)),
    ("hardsigmoid", lambda lib, x: lib.nn.functional.hardsigmoid(x)),
    ("hardswish", lambda lib, x: lib.nn.functional.hardswish(x)),
    ("hardshrink", lambda lib, x: lib.nn.functional.hardshrink(x)),
    ("hardshrink_1", lambda lib, x: lib.nn.functional.hardshrink(x, 1.0)),
    ("softshrink", lambda lib, x: lib.nn.functional.softshrink(x)),
    ("softshrink_1", lambda lib, x: lib.nn.functional.softshrink(x, 1.0)),
    ("tanhshrink", lambda lib, x: lib.nn.functional.tanhshrink(x)),
    ("softsign", lambda lib, x: lib.nn.functional.softsign(x)),
    ("rrelu_eval", lambda lib, x: lib.nn.functional.rrelu(x, 0.1, 0.4)),
    ("glu", lambda lib, x: lib.nn.functional.glu(x, 1)),
    ("glu_last", lambda lib, x: lib.nn.functional.glu(x)),
    ("softmax_0", lambda lib, x: lib.nn.functional.softmax(x, 0)),
    ("softmax_1", lambda lib, x: lib.nn.functional.softmax(x, 1)),
    ("softmax_-1", lambda lib, x: lib.nn.functional.softmax(x, -1)),
    ("log_softmax_1", lambda lib, x: lib.nn.functional.log_softmax(x, 1)),
    ("log_softmax_-1", lambda lib, x: lib.nn.functional.log_softmax(x, -1)),
    ("softmin_1", lambda lib, x: lib.nn.functional.softmin(x, 1)),
]
IDS = [a[0] for a in ACTIVATIONS]

# every kink and breakpoint of the layers above, and values far out on both sides
SPECIAL = [0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 2.0, -2.0, 3.0, -3.0, 6.0, -6.0, 5.0, 2.5, 0.25,
           20.0, -20.0, 30.0, -30.0, 90.0, -90.0, 1e4, -1e4, 1e-4, -1e-4]


def mixed_input(dtype, rng=None):
    """(4, 2, 40): the special values, then standard normals scaled by 3."""
    rng = rng or np.random.default_rng(0)
    values = np.concatenate([SPECIAL, 3 * rng.standard_normal(320 - len(SPECIAL))])
    return values.reshape(4, 2, 40).astype(dtype)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("fn", [a[1] for a in ACTIVATIONS], ids=IDS)
def test_values_and_gradients_match_torch(fn, dtype):
    check_against_torch(fn, [mixed_input(dtype)], dtype=dtype)


@pytest.mark.parametrize("fn", [a[1] for a in ACTIVATIONS], ids=IDS)
def test_nan_propagates_as_in_torch(fn):
    x = mixed_input("float64")
    x[0, 0, :4] = np.nan
    x[2, 1, 7] = np.nan
    check_against_torch(fn, [x], dtype="float64")


@pytest.mark.parametrize("fn", [a[1] for a in ACTIVATIONS], ids=IDS)
def test_grad_fn_names_match_torch(fn):
    x = mixed_input("float32")
    e = fn(ember, ember.tensor(x, requires_grad=True))
    t = fn(torch, torch.tensor(x, requires_grad=True))
    assert type(e.grad_fn).__name__ == type(t.grad_fn).__name__


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(1, 5), min_size=2, max_size=4), st.sampled_from(ACTIVATIONS),
       st.sampled_from(["float32", "float64"]))
def test_property_random_shapes(shape, activation, dtype):
    if activation[0].startswith("glu"):
        shape[1] = shape[-1] = 2 * shape[-1]
    x = np.random.default_rng(sum(shape)).standard_normal(shape) * 4
    check_against_torch(activation[1], [x], dtype=dtype)


SMOOTH = ["elu", "selu", "celu_0.7", "gelu", "gelu_tanh", "sigmoid", "tanh", "silu", "mish",
          "softplus_2_5", "logsigmoid", "tanhshrink", "softsign", "glu", "softmax_1",
          "log_softmax_-1", "softmin_1", "leaky_relu_0.2", "relu", "hardtanh", "hardswish"]


@pytest.mark.parametrize("name", SMOOTH)
def test_gradcheck_float64(name):
    fn = dict(ACTIVATIONS)[name]
    rng = np.random.default_rng(3)
    x = rng.uniform(0.2, 2.5, (3, 4)) * rng.choice([-1, 1], (3, 4))    # away from kinks
    assert gradcheck(lambda t: fn(ember, t), (ember.tensor(x, requires_grad=True),))


# ------------------------------------------------------------------------------ named edge cases
def _grad_at(fn, values, dtype="float64"):
    x = ember.tensor(np.array(values, dtype=dtype), requires_grad=True)
    fn(x).sum().backward()
    return x.grad.numpy()


def test_relu_gradient_at_zero_is_zero():
    np.testing.assert_array_equal(_grad_at(ember.nn.functional.relu, [-1.0, 0.0, 1.0]), [0, 0, 1])


def test_leaky_relu_gradient_at_zero_is_the_slope():
    g = _grad_at(lambda t: ember.nn.functional.leaky_relu(t, 0.1), [0.0, -0.0])
    np.testing.assert_allclose(g, [0.1, 0.1])


def test_hardtanh_and_relu6_gradient_is_zero_at_the_bounds():
    g = _grad_at(lambda t: ember.nn.functional.hardtanh(t, -1.0, 2.0), [-1.0, -0.5, 2.0, 2.5])
    np.testing.assert_array_equal(g, [0, 1, 0, 0])
    np.testing.assert_array_equal(_grad_at(ember.nn.functional.relu6, [0.0, 3.0, 6.0]), [0, 1, 0])


def test_threshold_gradient_is_zero_at_the_threshold():
    g = _grad_at(lambda t: ember.nn.functional.threshold(t, 1.0, 5.0), [1.0, 1.5, 0.5])
    np.testing.assert_array_equal(g, [0, 1, 0])
    y = ember.nn.functional.threshold(ember.tensor([1.0, 1.5]), 1.0, 5.0)
    np.testing.assert_array_equal(y.numpy(), [5.0, 1.5])


def test_sigmoid_and_tanh_derivative_ranges():
    x = np.linspace(-10, 10, 2001)
    gs = _grad_at(ember.nn.functional.sigmoid, x)
    gt = _grad_at(ember.nn.functional.tanh, x)
    assert gs.min() >= 0 and gs.max() <= 0.25 and np.isclose(gs.max(), 0.25)
    assert gt.min() > 0 and gt.max() <= 1 and np.isclose(gt.max(), 1.0)


STABLE = {
    "sigmoid": lambda lib, x: lib.nn.functional.sigmoid(x),
    "softplus": lambda lib, x: lib.nn.functional.softplus(x, 2.0, 30.0),
    "logsigmoid": lambda lib, x: lib.nn.functional.logsigmoid(x),
    "elu": lambda lib, x: lib.nn.functional.elu(x),
    "tanh": lambda lib, x: lib.nn.functional.tanh(x),
    "silu": lambda lib, x: lib.nn.functional.silu(x),
    "mish": lambda lib, x: lib.nn.functional.mish(x),
    "gelu": lambda lib, x: lib.nn.functional.gelu(x),
    "softmax": lambda lib, x: lib.nn.functional.softmax(x, 1),
    "log_softmax": lambda lib, x: lib.nn.functional.log_softmax(x, 1),
}


@pytest.mark.parametrize("name", list(STABLE))
def test_stable_at_1e4_in_float32(name):
    """Finite, torch-equal values and gradients up to |x| = 1e4, and no overflow warnings."""
    x = np.array([[-1e4, -1e3, -100.0, -20.0, -1.0, 0.0],
                  [1.0, 20.0, 100.0, 1e3, 1e4, -3e3]], dtype=np.float32)
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        out = check_against_torch(STABLE[name], [x], dtype="float32", atol=1e-6, rtol=1e-5)[0]
        leaf = ember.tensor(x, requires_grad=True)
        y = STABLE[name](ember, leaf)
        y.backward(ember.ones_like(y))
    assert np.isfinite(out.detach().numpy()).all() and np.isfinite(leaf.grad.numpy()).all()


def test_softplus_is_stable_beyond_torchs_threshold():
    # with a threshold above exp's range torch overflows to inf; ember stays exact
    x = ember.tensor([1e4, -1e4, 100.0], dtype=ember.float32, requires_grad=True)
    y = ember.nn.functional.softplus(x, 1.0, 1e6)
    np.testing.assert_allclose(y.detach().numpy(), [1e4, 0.0, 100.0])
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0, 0.0, 1.0])


def test_softmax_rows_sum_to_one():
    x = np.random.default_rng(2).standard_normal((64, 1000)).astype(np.float32) * 50
    y = ember.nn.functional.softmax(ember.tensor(x), dim=1).numpy()
    np.testing.assert_allclose(y.sum(axis=1), 1.0, atol=1e-6)


@pytest.mark.parametrize("ndim, chosen", [(0, 0), (1, 0), (2, 1), (3, 0), (4, 1)])
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
def test_softmax_dim_none_warns_and_picks_torchs_dim(name, ndim, chosen):
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5)[:ndim])
    message = f"Implicit dimension choice for {name} has been deprecated"
    with pytest.warns(UserWarning, match=message):
        y = getattr(ember.nn.functional, name)(ember.tensor(x))
    want = getattr(torch.nn.functional, name)(torch.tensor(x), chosen)
    np.testing.assert_allclose(y.numpy(), want.numpy(), rtol=1e-12)
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        getattr(ember.nn, {"softmax": "Softmax", "log_softmax": "LogSoftmax",
                           "softmin": "Softmin"}[name])()(ember.tensor(x))


def test_softmax_dtype_argument():
    x = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    check_against_torch(lambda lib, t: lib.nn.functional.softmax(t, 1, dtype=lib.float64),
                        [x], dtype="float32")
    check_against_torch(lambda lib, t: lib.nn.functional.log_softmax(t, 0, dtype=lib.float64),
                        [x], dtype="float32")


def test_softmax2d_is_softmax_over_channels():
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    check_against_torch(lambda lib, t: lib.nn.Softmax2d()(t), [x])
    check_against_torch(lambda lib, t: lib.nn.Softmax2d()(t), [x[0]])


# ------------------------------------------------------------------------------ PReLU, RReLU
@pytest.mark.parametrize("shape, channels", [((4, 3, 5, 2), 3), ((4, 3, 5, 2), 1), ((6, 3), 3),
                                             ((7,), 1), ((), 1)])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_prelu_per_channel_on_dim_1(shape, channels, dtype):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape)
    w = rng.uniform(-0.5, 0.5, channels)
    check_against_torch(lambda lib, t, a: lib.nn.functional.prelu(t, a), [x, w], dtype=dtype)


def test_prelu_module_learns_one_slope_per_channel():
    m = ember.nn.PReLU(3, init=0.1)
    assert m.weight.shape == (3,) and np.allclose(m.weight.detach().numpy(), 0.1)
    x = ember.tensor(-np.ones((2, 3, 4), dtype=np.float32))
    m(x).sum().backward()
    np.testing.assert_allclose(m.weight.grad.numpy(), [-8.0, -8.0, -8.0])
    assert gradcheck(lambda t, a: ember.nn.functional.prelu(t, a),
                     (ember.tensor(np.random.default_rng(1).standard_normal((2, 3, 2)) + 0.05,
                                   requires_grad=True),
                      ember.tensor([0.1, -0.2, 0.3], dtype=ember.float64, requires_grad=True)))


def test_rrelu_training_draws_a_slope_per_element():
    lower, upper = 0.1, 0.3
    x = ember.tensor(-np.ones(200_000), requires_grad=True)
    y = ember.nn.functional.rrelu(x, lower, upper, training=True)
    slopes = -y.detach().numpy()
    assert slopes.min() >= lower and slopes.max() <= upper
    assert abs(slopes.mean() - 0.2) < 0.002                               # U(0.1, 0.3): mean 0.2
    assert abs(slopes.std() - 0.2 / np.sqrt(12)) < 0.002                  # and std 0.2/sqrt(12)
    assert len(np.unique(slopes)) > 190_000                               # one draw per element
    y.backward(ember.ones_like(y))
    np.testing.assert_allclose(x.grad.numpy(), slopes)                    # dy/dx is the slope
    pos = ember.tensor([0.5, 2.0], requires_grad=True)
    out = ember.nn.functional.rrelu(pos, lower, upper, training=True)
    out.sum().backward()
    np.testing.assert_array_equal(out.detach().numpy(), [0.5, 2.0])
    np.testing.assert_array_equal(pos.grad.numpy(), [1.0, 1.0])


def test_rrelu_is_reproducible_under_manual_seed_and_eval_uses_the_mean_slope():
    x = ember.tensor(-np.ones(50))
    ember.manual_seed(7)
    a = ember.nn.RReLU()(x)
    ember.manual_seed(7)
    b = ember.nn.RReLU()(x)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    m = ember.nn.RReLU(0.1, 0.3).eval()
    np.testing.assert_allclose(m(x).numpy(), -0.2)


# ------------------------------------------------------------------------------ in place
INPLACE = [
    ("relu", lambda lib, t: lib.nn.functional.relu(t, inplace=True)),
    ("relu_", lambda lib, t: lib.nn.functional.relu_(t)),
    ("relu6", lambda lib, t: lib.nn.functional.relu6(t, inplace=True)),
    ("leaky_relu", lambda lib, t: lib.nn.functional.leaky_relu(t, 0.2, inplace=True)),
    ("threshold_", lambda lib, t: lib.nn.functional.threshold_(t, 0.5, -1.0)),
    ("hardtanh_", lambda lib, t: lib.nn.functional.hardtanh_(t, -0.5, 0.5)),
    ("elu_", lambda lib, t: lib.nn.functional.elu_(t, 0.5)),
    ("selu", lambda lib, t: lib.nn.functional.selu(t, inplace=True)),
    ("celu", lambda lib, t: lib.nn.functional.celu(t, 0.7, inplace=True)),
    ("hardsigmoid", lambda lib, t: lib.nn.functional.hardsigmoid(t, inplace=True)),
    ("hardswish", lambda lib, t: lib.nn.functional.hardswish(t, inplace=True)),
    ("silu", lambda lib, t: lib.nn.functional.silu(t, inplace=True)),
    ("mish", lambda lib, t: lib.nn.functional.mish(t, inplace=True)),
    ("rrelu_eval", lambda lib, t: lib.nn.functional.rrelu(t, 0.1, 0.3, inplace=True)),
    ("ReLU(inplace)", lambda lib, t: lib.nn.ReLU(inplace=True)(t)),
    ("LeakyReLU(inplace)", lambda lib, t: lib.nn.LeakyReLU(0.1, inplace=True)(t)),
]


@pytest.mark.parametrize("fn", [a[1] for a in INPLACE], ids=[a[0] for a in INPLACE])
def test_inplace_modifies_the_input_and_keeps_autograd_right(fn):
    x = mixed_input("float64")
    results = {}
    for lib in (ember, torch):
        leaf = lib.tensor(x, requires_grad=True)
        y = leaf * 2
        out = fn(lib, y)
        assert out is y
        g = np.random.default_rng(5).standard_normal(x.shape)
        out.backward(lib.tensor(g))
        results[lib.__name__] = (y.detach().numpy(), leaf.grad.numpy(), type(out.grad_fn).__name__)
    (ev, eg, en), (tv, tg, tn) = results["ember"], results["torch"]
    np.testing.assert_allclose(ev, tv, rtol=1e-7, atol=1e-9, equal_nan=True)
    np.testing.assert_allclose(eg, tg, rtol=1e-7, atol=1e-9, equal_nan=True)
    assert en == tn


@pytest.mark.parametrize("fn", [a[1] for a in INPLACE], ids=[a[0] for a in INPLACE])
def test_inplace_without_autograd_writes_into_the_array(fn):
    x = mixed_input("float32")
    t = ember.tensor(x)
    data, version = t._data, t._version
    out = fn(ember, t)
    assert out is t and t._data is data and t._version == version + 1
    np.testing.assert_allclose(t.numpy(), fn(torch, torch.tensor(x)).numpy(), rtol=1e-5, atol=1e-6)


def test_inplace_on_a_leaf_that_requires_grad_raises_like_torch():
    same_error(lambda lib: lib.nn.functional.relu_(lib.ones(3, requires_grad=True)),
               match="a leaf Variable that requires grad is being used in an in-place operation")
    with ember.no_grad():                         # allowed when nothing records
        leaf = ember.tensor([-1.0, 2.0], requires_grad=True)
        ember.nn.functional.relu_(leaf)
    np.testing.assert_array_equal(leaf.detach().numpy(), [0.0, 2.0])


def test_modifying_a_saved_output_in_place_is_caught_at_backward():
    for lib in (ember, torch):
        x = lib.tensor([1.0, -2.0], requires_grad=True)
        y = lib.sigmoid(x) if lib is torch else lib.nn.functional.sigmoid(x)
        y.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


# ------------------------------------------------------------------------------ dtypes, errors
def test_integer_and_half_inputs_follow_torch():
    ints = np.array([-2, 0, 3])
    for fn in (lambda lib, t: lib.nn.functional.relu(t), lambda lib, t: lib.nn.functional.relu6(t),
               lambda lib, t: lib.nn.functional.hardtanh(t),
               lambda lib, t: lib.nn.functional.threshold(t, 1, 5),
               lambda lib, t: lib.nn.functional.sigmoid(t),
               lambda lib, t: lib.nn.functional.tanh(t),
               lambda lib, t: lib.nn.functional.softsign(t)):
        e, t = fn(ember, ember.tensor(ints)), fn(torch, torch.tensor(ints))
        assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-6)
    for name in ("gelu", "elu", "leaky_relu", "silu", "softplus", "hardshrink", "logsigmoid"):
        same_error(lambda lib: getattr(lib.nn.functional, name)(lib.tensor(ints)),
                   match="not implemented for 'Long'")
    half = ember.nn.functional.gelu(ember.tensor([-1.0, 0.5], dtype=ember.float16))
    assert half.dtype == ember.float16
    np.testing.assert_allclose(half.numpy(), torch.nn.functional.gelu(
        torch.tensor([-1.0, 0.5], dtype=torch.float16)).numpy(), rtol=1e-3)


@pytest.mark.parametrize("call, match", [
    (lambda lib: lib.nn.functional.hardtanh(lib.ones(2), 2.0, 1.0), "min_val cannot be greater"),
    (lambda lib: lib.nn.functional.glu(lib.ones(2, 3), 1), "Halving dimension must be even"),
    (lambda lib: lib.nn.functional.glu(lib.tensor(1.0)), "glu does not support scalars"),
    (lambda lib: lib.nn.functional.softmax(lib.ones(2, 3), 2), "Dimension out of range"),
    (lambda lib: lib.nn.functional.log_softmax(lib.ones(2, 3), -3), "Dimension out of range"),
    (lambda lib: lib.nn.functional.gelu(lib.ones(2), approximate="fast"),
     "approximate argument must be either none or tanh"),
    (lambda lib: lib.nn.functional.prelu(lib.ones(2, 3), lib.ones(4)),
     "Found parameter numbers = 4 and channel size = 3"),
    (lambda lib: lib.nn.functional.prelu(lib.ones(2, 3), lib.ones(2, 3)), "prelu"),
    (lambda lib: lib.nn.functional.prelu(lib.ones(2, 3), lib.ones(3, dtype=lib.float64)),
     "prelu: Type promoting not supported. Got Float and Double"),
    (lambda lib: lib.nn.functional.rrelu(lib.ones(2), 0.5, 0.1, True),
     "Lower bound should be less than or equal to the upper bound"),
    (lambda lib: lib.nn.functional.softshrink(lib.ones(2), -1.0), "lambda must be in range"),
    (lambda lib: lib.nn.functional.celu(lib.ones(2), 0.0), "alpha cannot be 0 for CELU"),
    (lambda lib: lib.nn.Hardtanh(1.0, 1.0), r"max_val \(1.0\) must be greater than min_val"),
    (lambda lib: lib.nn.Softmax2d()(lib.ones(2, 3)), "Softmax2d: expected input to be 3D or 4D"),
])
def test_bad_arguments_raise_like_torch(call, match):
    same_error(call, match=match)


# ------------------------------------------------------------------------------ modules
MODULES = [
    ("Threshold", (0.1, 20.0)), ("Threshold", (0.1, 20.0, True)), ("ReLU", ()), ("ReLU", (True,)),
    ("RReLU", ()), ("RReLU", (0.1, 0.3, True)), ("Hardtanh", ()), ("Hardtanh", (-2.0, 2.0, True)),
    ("ReLU6", ()), ("ReLU6", (True,)), ("Sigmoid", ()), ("Hardsigmoid", ()), ("Tanh", ()),
    ("SiLU", ()), ("SiLU", (True,)), ("Mish", ()), ("Hardswish", ()), ("ELU", ()),
    ("ELU", (0.5, True)), ("CELU", (2.0,)), ("SELU", ()), ("SELU", (True,)), ("GLU", ()),
    ("GLU", (1,)), ("GELU", ()), ("GELU", ("tanh",)), ("Hardshrink", ()), ("Hardshrink", (0.3,)),
    ("LeakyReLU", ()), ("LeakyReLU", (0.2, True)), ("LogSigmoid", ()), ("Softplus", ()),
    ("Softplus", (2.0, 10.0)), ("Softshrink", ()), ("Softshrink", (1.5,)), ("PReLU", ()),
    ("PReLU", (3, 0.1)), ("Softsign", ()), ("Tanhshrink", ()), ("Softmin", (1,)),
    ("Softmax", ()), ("Softmax", (1,)), ("Softmax2d", ()), ("LogSoftmax", (-1,)),
]


@pytest.mark.parametrize("name, args", MODULES, ids=[f"{n}{a}" for n, a in MODULES])
def test_module_repr_matches_torch(name, args):
    assert repr(getattr(ember.nn, name)(*args)) == repr(getattr(torch.nn, name)(*args))


@pytest.mark.parametrize("name, args", [m for m in MODULES if m[0] not in ("RReLU", "PReLU")
                                        and not (m[0].startswith("Softm") and not m[1])],
                         ids=lambda v: str(v))
def test_module_forward_matches_torch(name, args):
    x = mixed_input("float64")[:, :, :8].reshape(4, 2, 2, 4)
    if any(a is True for a in args):        # in-place modules act on a non-leaf
        check_against_torch(lambda lib, t: getattr(lib.nn, name)(*args)(t * 1), [x])
    else:
        check_against_torch(lambda lib, t: getattr(lib.nn, name)(*args)(t), [x])


def test_tutorial_sequential_softmax_rows_sum_to_one():
    nn = ember.nn
    model = nn.Sequential(nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(),
                          nn.Linear(32, 10), nn.Softmax(dim=1))
    out = model(ember.randn(16, 128))
    assert out.shape == (16, 10)
    np.testing.assert_allclose(out.sum(dim=1).detach().numpy(), 1.0, atol=1e-6)
    assert (out.detach().numpy() >= 0).all()
    out[:, 0].sum().backward()
    assert model[0].weight.grad is not None
