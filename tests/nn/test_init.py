"""ember.nn.init against torch.nn.init: the deterministic ones value for value, the random ones
statistically against their formulas (support, mean, std), plus the argument checks."""
import math
import warnings

import numpy as np
import pytest
import torch

import ember
import ember.nn as nn
from ember.nn import init

N = 200_000  # samples for the statistical checks: mean/std to within ~1% (5 sigma)


def empty(*shape, dtype=ember.float32):
    return ember.zeros(*shape, dtype=dtype)


def assert_moments(x, mean, std, sigmas=5.0):
    """Sample mean and std within `sigmas` standard errors of the expected ones."""
    x = np.asarray(x, dtype=np.float64).ravel()
    n = x.size
    assert abs(x.mean() - mean) <= sigmas * std / math.sqrt(n), (x.mean(), mean)
    # the std of the sample std is about std / sqrt(2n) for near-normal data; give it room
    assert abs(x.std() - std) <= sigmas * 1.5 * std / math.sqrt(2 * n), (x.std(), std)


# -- gains and fans ------------------------------------------------------------------------------

@pytest.mark.parametrize("nonlinearity,param", [
    ("linear", None), ("conv1d", None), ("conv2d", None), ("conv3d", None),
    ("conv_transpose1d", None), ("conv_transpose2d", None), ("conv_transpose3d", None),
    ("sigmoid", None), ("tanh", None), ("relu", None), ("leaky_relu", None),
    ("leaky_relu", 0.2), ("leaky_relu", 3), ("leaky_relu", math.sqrt(5)), ("selu", None)])
def test_calculate_gain_matches_torch(nonlinearity, param):
    assert init.calculate_gain(nonlinearity, param) == torch.nn.init.calculate_gain(nonlinearity, param)


def test_calculate_gain_rejects_unknown_nonlinearity_and_bad_slope():
    with pytest.raises(ValueError, match="Unsupported nonlinearity foo"):
        init.calculate_gain("foo")
    with pytest.raises(ValueError, match="negative_slope True not a valid number"):
        init.calculate_gain("leaky_relu", True)
    with pytest.raises(ValueError, match="negative_slope 0.1 not a valid number"):
        init.calculate_gain("leaky_relu", "0.1")


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (1, 1), (16, 3, 3), (8, 4, 3, 5), (6, 2, 3, 1, 2),
                                   (4, 0), (0, 3, 2)])
def test_fan_in_and_fan_out_match_torch(shape):
    ours = init._calculate_fan_in_and_fan_out(empty(*shape))
    assert ours == torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    for mode in ("fan_in", "fan_out", "FAN_IN"):
        assert init._calculate_correct_fan(empty(*shape), mode) == \
            torch.nn.init._calculate_correct_fan(torch.empty(shape), mode)


@pytest.mark.parametrize("shape", [(), (5,)])
def test_fan_needs_two_dimensions(shape):
    with pytest.raises(ValueError, match="Fan in and fan out can not be computed for tensor with "
                                         "fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(empty(*shape))


def test_correct_fan_rejects_unknown_mode():
    with pytest.raises(ValueError, match=r"Mode fan_avg not supported, please use one of "
                                         r"\['fan_in', 'fan_out'\]"):
        init._calculate_correct_fan(empty(3, 2), "fan_avg")


# -- deterministic fills: identical to torch -------------------------------------------------------

@pytest.mark.parametrize("dtype", [ember.float32, ember.float64, ember.int64])
def test_constant_ones_zeros(dtype):
    t = ember.ones(2, 3, dtype=dtype)
    assert init.zeros_(t) is t and np.all(t.numpy() == 0)
    assert init.ones_(t) is t and np.all(t.numpy() == 1)
    assert init.constant_(t, 2.7) is t
    expected = torch.nn.init.constant_(torch.zeros(2, 3, dtype=getattr(torch, dtype.name)), 2.7)
    np.testing.assert_array_equal(t.numpy(), expected.numpy())
    assert t.dtype is dtype


@pytest.mark.parametrize("shape", [(3, 3), (2, 5), (5, 2), (1, 4)])
def test_eye_matches_torch(shape):
    t = empty(*shape) + 7
    init.eye_(t)
    np.testing.assert_array_equal(t.numpy(), torch.nn.init.eye_(torch.empty(shape)).numpy())


@pytest.mark.parametrize("shape", [(3,), (2, 2, 2)])
def test_eye_needs_two_dimensions(shape):
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
        init.eye_(empty(*shape))


@pytest.mark.parametrize("shape,groups", [((3, 5, 3), 1), ((4, 2, 3, 3), 1), ((6, 4, 3, 4), 2),
                                          ((3, 16, 5, 5), 1), ((3, 24, 5, 5), 3), ((4, 4, 3, 3, 3), 2),
                                          ((2, 3, 2, 2, 4), 1)])
def test_dirac_matches_torch(shape, groups):
    t = ember.ones(*shape)
    init.dirac_(t, groups)
    np.testing.assert_array_equal(t.numpy(), torch.nn.init.dirac_(torch.empty(shape), groups).numpy())


def test_dirac_argument_checks():
    with pytest.raises(ValueError, match="Only tensors with 3, 4, or 5 dimensions are supported"):
        init.dirac_(empty(3, 3))
    with pytest.raises(ValueError, match="dim 0 must be divisible by groups"):
        init.dirac_(empty(5, 2, 3), groups=2)


# -- random distributions: support and moments -------------------------------------------------------

@pytest.mark.parametrize("dtype", [ember.float32, ember.float64])
def test_uniform_support_and_moments(dtype):
    t = empty(N, dtype=dtype)
    assert init.uniform_(t, -2.0, 3.0) is t
    x = t.numpy()
    assert x.dtype == dtype.np
    assert x.min() >= -2.0 and x.max() <= 3.0
    assert x.min() < -1.99 and x.max() > 2.99
    assert_moments(x, 0.5, 5.0 / math.sqrt(12))
    init.uniform_(t)  # defaults: U(0, 1)
    assert t.numpy().min() >= 0 and t.numpy().max() < 1


def test_uniform_float16_stays_float16():
    t = empty(1000, dtype=ember.float16)
    init.uniform_(t, -1, 1)
    assert t.dtype is ember.float16 and np.all(np.abs(t.numpy()) <= 1)


def test_uniform_rejects_reversed_bounds():
    with pytest.raises(RuntimeError, match=r"uniform_ expects to return a \[from, to\) range, but "
                                           r"found from=1 > to=0"):
        init.uniform_(empty(3), 1, 0)


@pytest.mark.parametrize("fn", [init.uniform_, init.normal_, init.trunc_normal_, init.orthogonal_,
                                init.kaiming_uniform_, init.xavier_normal_])
def test_random_inits_reject_integer_tensors(fn):
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        fn(ember.zeros(3, 3, dtype=ember.int64))


@pytest.mark.parametrize("dtype", [ember.float32, ember.float64])
def test_normal_moments(dtype):
    t = empty(N, dtype=dtype)
    assert init.normal_(t, mean=1.5, std=0.3) is t
    assert t.numpy().dtype == dtype.np
    assert_moments(t.numpy(), 1.5, 0.3)


def test_normal_rejects_negative_std():
    with pytest.raises(RuntimeError, match="normal expects std >= 0.0, but found std -1"):
        init.normal_(empty(3), 0, -1)


def _truncnorm_moments(mean, std, a, b):
    """Mean and std of N(mean, std^2) truncated to [a, b] (closed form)."""
    alpha, beta = (a - mean) / std, (b - mean) / std
    pdf = lambda z: math.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))  # noqa: E731
    Z = cdf(beta) - cdf(alpha)
    m = mean + std * (pdf(alpha) - pdf(beta)) / Z
    var = std**2 * (1 + (alpha * pdf(alpha) - beta * pdf(beta)) / Z - ((pdf(alpha) - pdf(beta)) / Z) ** 2)
    return m, math.sqrt(var)


@pytest.mark.parametrize("mean,std,a,b", [
    (0.0, 1.0, -2.0, 2.0),     # torch's defaults; wide interval: redraw branch
    (0.5, 0.02, 0.45, 0.6),    # ViT-style small std
    (0.0, 1.0, 0.5, 0.9),      # narrow interval (< 30% mass): uniform-proposal branch
    (0.0, 1.0, 1.5, 3.0),      # interval in the tail
])
def test_trunc_normal_support_and_moments(mean, std, a, b):
    t = empty(N, dtype=ember.float64)
    assert init.trunc_normal_(t, mean, std, a, b) is t
    x = t.numpy()
    assert x.min() >= a and x.max() <= b
    m, s = _truncnorm_moments(mean, std, a, b)
    assert_moments(x, m, s)


def test_trunc_normal_warns_when_mean_far_from_interval():
    with pytest.warns(UserWarning, match="mean is more than 2 std from"):
        init.trunc_normal_(empty(100), mean=10.0, std=1.0, a=-2, b=2)


@pytest.mark.parametrize("shape", [(400, 500), (64, 32, 3, 3)])
def test_xavier_uniform_bound_and_std(shape):
    t = empty(*shape)
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    gain = init.calculate_gain("relu")
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    init.xavier_uniform_(t, gain=gain)
    x = t.numpy()
    assert np.abs(x).max() <= bound and np.abs(x).max() > 0.99 * bound
    assert_moments(x, 0.0, bound / math.sqrt(3))


def test_xavier_normal_std():
    t = empty(400, 500)
    init.xavier_normal_(t, gain=2.0)
    assert_moments(t.numpy(), 0.0, 2.0 * math.sqrt(2.0 / 900))


@pytest.mark.parametrize("a,mode,nonlinearity", [
    (math.sqrt(5), "fan_in", "leaky_relu"),   # Linear/Conv default: bound = 1/sqrt(fan_in)
    (0, "fan_in", "relu"), (0, "fan_out", "relu"), (0.1, "fan_out", "leaky_relu"),
    (0, "fan_in", "linear")])
def test_kaiming_uniform_bound(a, mode, nonlinearity):
    shape = (200, 64, 3, 3)
    t = empty(*shape)
    fan = torch.nn.init._calculate_correct_fan(torch.empty(shape), mode)
    bound = torch.nn.init.calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    init.kaiming_uniform_(t, a=a, mode=mode, nonlinearity=nonlinearity)
    x = t.numpy()
    assert np.abs(x).max() <= bound and np.abs(x).max() > 0.99 * bound
    assert_moments(x, 0.0, bound / math.sqrt(3))
    if a == math.sqrt(5) and mode == "fan_in":
        assert bound == pytest.approx(1 / math.sqrt(64 * 9))


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
def test_kaiming_normal_std(mode):
    shape = (300, 200, 2)
    t = empty(*shape)
    init.kaiming_normal_(t, mode=mode, nonlinearity="relu")
    fan = 200 * 2 if mode == "fan_in" else 300 * 2
    assert_moments(t.numpy(), 0.0, math.sqrt(2.0) / math.sqrt(fan))


@pytest.mark.parametrize("fn", [init.kaiming_uniform_, init.kaiming_normal_])
def test_kaiming_zero_element_tensor_is_a_noop_with_warning(fn):
    t = empty(0, 3)
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        assert fn(t) is t


@pytest.mark.parametrize("fn", [init.kaiming_uniform_, init.kaiming_normal_, init.xavier_uniform_,
                                init.xavier_normal_])
def test_scaled_inits_need_two_dimensions(fn):
    with pytest.raises(ValueError, match="Fan in and fan out can not be computed"):
        fn(empty(5))


def test_kaiming_rejects_bad_mode_and_nonlinearity():
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        init.kaiming_uniform_(empty(3, 2), mode="fan_avg")
    with pytest.raises(ValueError, match="Unsupported nonlinearity softmax"):
        init.kaiming_normal_(empty(3, 2), nonlinearity="softmax")


@pytest.mark.parametrize("shape,gain", [((5, 3), 1.0), ((3, 5), 1.0), ((4, 4), 2.0), ((6, 2, 2, 2), 0.5),
                                        ((2, 3, 4), 1.0), ((1, 7), 1.0)])
@pytest.mark.parametrize("dtype", [ember.float32, ember.float64])
def test_orthogonal_is_orthogonal(shape, gain, dtype):
    t = empty(*shape, dtype=dtype)
    assert init.orthogonal_(t, gain=gain) is t
    q = t.numpy().reshape(shape[0], -1).astype(np.float64)
    rows, cols = q.shape
    gram = q.T @ q if rows >= cols else q @ q.T
    tol = 1e-5 if dtype is ember.float32 else 1e-12
    np.testing.assert_allclose(gram, gain**2 * np.eye(min(rows, cols)), atol=tol * gain**2 * 10)


def test_orthogonal_is_haar_distributed():
    """Over many draws the entries of a random orthogonal n x n matrix have mean 0, variance 1/n."""
    draws = np.stack([init.orthogonal_(empty(4, 4, dtype=ember.float64)).numpy() for _ in range(4000)])
    assert_moments(draws, 0.0, 0.5)
    # sign fix: without it the diagonal of Q would be biased positive (numpy's R has r_ii<0 often)
    assert abs(draws[:, 0, 0].mean()) < 5 * 0.5 / math.sqrt(4000)


def test_orthogonal_argument_checks_and_empty():
    with pytest.raises(ValueError, match="Only tensors with 2 or more dimensions are supported"):
        init.orthogonal_(empty(3))
    t = empty(0, 3)
    assert init.orthogonal_(t) is t


@pytest.mark.parametrize("sparsity", [0.1, 0.5, 0.0, 1.0])
def test_sparse_zeros_per_column(sparsity):
    rows, cols = 40, 300
    t = empty(rows, cols, dtype=ember.float64)
    assert init.sparse_(t, sparsity, std=0.5) is t
    x = t.numpy()
    num_zeros = math.ceil(sparsity * rows)
    np.testing.assert_array_equal((x == 0).sum(axis=0), np.full(cols, num_zeros))
    if num_zeros < rows:
        assert_moments(x[x != 0], 0.0, 0.5)


def test_sparse_zero_rows_vary_between_columns():
    x = init.sparse_(empty(20, 50), 0.5).numpy()
    assert len({tuple(np.flatnonzero(col == 0)) for col in x.T}) > 1


def test_sparse_needs_two_dimensions():
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
        init.sparse_(empty(3, 3, 3), 0.1)


# -- in place, reproducible, no graph ----------------------------------------------------------------

RANDOM_INITS = [
    lambda t, **kw: init.uniform_(t, -1, 1, **kw),
    lambda t, **kw: init.normal_(t, 0, 2, **kw),
    lambda t, **kw: init.trunc_normal_(t, **kw),
    lambda t, **kw: init.xavier_uniform_(t, **kw),
    lambda t, **kw: init.xavier_normal_(t, **kw),
    lambda t, **kw: init.kaiming_uniform_(t, **kw),
    lambda t, **kw: init.kaiming_normal_(t, **kw),
    lambda t, **kw: init.orthogonal_(t, **kw),
    lambda t, **kw: init.sparse_(t, 0.3, **kw),
]


@pytest.mark.parametrize("fn", RANDOM_INITS)
def test_manual_seed_and_generator_make_inits_reproducible(fn):
    ember.manual_seed(123)
    a = fn(empty(6, 5)).numpy().copy()
    ember.manual_seed(123)
    b = fn(empty(6, 5)).numpy().copy()
    np.testing.assert_array_equal(a, b)
    c = fn(empty(6, 5)).numpy()
    assert not np.array_equal(a, c)
    g1, g2 = ember.Generator().manual_seed(7), ember.Generator().manual_seed(7)
    # the default generator reseeded too: sparse_ draws its zero rows from it whatever
    # ``generator`` is, as torch's sparse_ calls torch.randperm(rows) without it
    ember.manual_seed(5)
    first = fn(empty(6, 5), generator=g1).numpy()
    ember.manual_seed(5)
    np.testing.assert_array_equal(first, fn(empty(6, 5), generator=g2).numpy())


@pytest.mark.parametrize("fn", RANDOM_INITS + [init.ones_, init.zeros_, init.eye_,
                                               lambda t: init.constant_(t, 3.0)])
def test_inits_work_in_place_on_parameters_without_recording(fn):
    p = nn.Parameter(ember.zeros(6, 5))
    data = p._data
    version = p._version
    assert fn(p) is p
    assert p._data is data            # same storage: filled in place
    assert p._version > version    # in-place write is visible to the version counter
    assert p.requires_grad and p.grad_fn is None and p.is_leaf


def test_init_writes_through_views():
    base = ember.zeros(4, 6)
    view = base[1:3]
    init.constant_(view, 5.0)
    expected = np.zeros((4, 6), np.float32)
    expected[1:3] = 5
    np.testing.assert_array_equal(base.numpy(), expected)


def test_deprecated_names_warn_and_work():
    t = empty(3, 3)
    with pytest.warns(FutureWarning, match=r"`nn.init.constant` is now deprecated in favor of "
                                           r"`nn.init.constant_`"):
        init.constant(t, 2.0)
    np.testing.assert_array_equal(t.numpy(), np.full((3, 3), 2.0, np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert init.xavier_uniform(t) is t


def test_public_names_match_torch():
    assert set(init.__all__) == set(torch.nn.init.__all__)
