"""More double backward (issue 11, G7): create_graph=True through losses, pointwise and
reduction ops, normalisations and activations; gradgradcheck in float64 and second
derivatives (Hessian-vector products) against torch in float32 and float64."""
import numpy as np
import pytest
import torch

import ember
from ember.autograd import gradgradcheck

RNG = np.random.default_rng(7)


def _array(shape, kind):
    if kind == "prob":  # strictly inside (0, 1)
        return RNG.uniform(0.1, 0.9, shape)
    if kind == "pos":
        return RNG.uniform(0.5, 2.0, shape)
    if kind == "simplex":  # rows summing to 1 over dim 1
        a = RNG.uniform(0.1, 1.0, shape)
        return a / a.sum(1, keepdims=True)
    return RNG.standard_normal(shape)


def _second(lib, fn, arrays, dtype, v_seed=1):
    """Gradients of sum(fn(...) * u) with create_graph, then of sum_i <grad_i, v_i>: a
    Hessian-vector product in every input."""
    xs = [lib.tensor(a.astype(dtype), requires_grad=True) for a in arrays]
    out = fn(lib, *xs)
    rng = np.random.default_rng(v_seed)
    u = lib.tensor(rng.standard_normal(tuple(out.shape)).astype(dtype))
    grads = lib.autograd.grad((out * u).sum(), xs, create_graph=True)
    total = sum((g * lib.tensor(rng.standard_normal(tuple(g.shape)).astype(dtype))).sum()
                for g in grads if g is not None)
    hv = lib.autograd.grad(total, xs, allow_unused=True)
    return [g.detach().numpy() for g in grads], [None if h is None else h.numpy() for h in hv]


def _compare(fn, specs, dtype):
    arrays = [_array(shape, kind) for shape, kind in specs]
    (g, h), (tg, th) = _second(ember, fn, arrays, dtype), _second(torch, fn, arrays, dtype)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-7, atol=1e-9)
    for a, b in zip(g, tg):
        np.testing.assert_allclose(a, b, **tol)
    for a, b in zip(h, th):
        if b is None:  # torch: unused; ember may give None or zeros
            assert a is None or not np.any(a)
        else:
            np.testing.assert_allclose(np.zeros_like(b) if a is None else a, b, **tol)


def _check(fn, specs):
    for dtype in (np.float64, np.float32):
        _compare(fn, specs, dtype)
    xs = [ember.tensor(_array(shape, kind), requires_grad=True) for shape, kind in specs]
    assert gradgradcheck(lambda *a: fn(ember, *a), tuple(xs))


def _F(lib):
    return lib.nn.functional


W3, W21 = np.array([1.0, 2.0, 0.5]), np.array([[0.7], [1.6]])


def _const(L, a, like):
    return L.tensor(a, dtype=like.dtype)


N23, P23 = ((2, 3), "normal"), ((2, 3), "prob")

LOSSES = {
    "bce": (lambda L, x, t: _F(L).binary_cross_entropy(x, t), [P23, P23]),
    "bce_weight_sum": (lambda L, x, t: _F(L).binary_cross_entropy(x, t, weight=_const(L, W3, x), reduction="sum"),
                       [P23, P23]),
    "bce_none": (lambda L, x, t: _F(L).binary_cross_entropy(x, t, reduction="none"), [P23, P23]),
    "bce_logits": (lambda L, x, t: _F(L).binary_cross_entropy_with_logits(x, t), [N23, P23]),
    "bce_logits_weights": (lambda L, x, t: _F(L).binary_cross_entropy_with_logits(
        x, t, weight=_const(L, W21, x), pos_weight=_const(L, W3, x), reduction="none"),
        [N23, P23]),
    "l1": (lambda L, x, t: _F(L).l1_loss(x, t) * (x * t).sum(), [N23, N23]),
    "l1_broadcast_none": (lambda L, x, t: _F(L).l1_loss(x, t, reduction="none") * x, [N23, ((3,), "normal")]),
    "smooth_l1": (lambda L, x, t: _F(L).smooth_l1_loss(x, t, beta=0.7) * x.sum(), [N23, N23]),
    "smooth_l1_beta0": (lambda L, x, t: _F(L).smooth_l1_loss(x, t, beta=0.0, reduction="sum") * x.sum(), [N23, N23]),
    "huber": (lambda L, x, t: _F(L).huber_loss(x, t, delta=0.6, reduction="none"), [N23, N23]),
    "huber_sum": (lambda L, x, t: _F(L).huber_loss(x, t, delta=1.5, reduction="sum") * t.sum(), [N23, N23]),
    "kl_div": (lambda L, x, t: _F(L).kl_div(x, t, reduction="batchmean") * x.sum(), [N23, P23]),
    "kl_div_log_target": (lambda L, x, t: _F(L).kl_div(x, t, reduction="sum", log_target=True) * x.sum(),
                          [N23, N23]),
    "kl_div_none": (lambda L, x, t: _F(L).kl_div(x.log_softmax(1), t, reduction="none"), [N23, P23]),
    "ce_probs": (lambda L, x, t: _F(L).cross_entropy(x, t), [N23, ((2, 3), "simplex")]),
    "ce_probs_smooth_weight": (lambda L, x, t: _F(L).cross_entropy(
        x, t, weight=L.tensor(np.array([1.0, 2.0, 0.5]), dtype=x.dtype), label_smoothing=0.2, reduction="sum"),
        [N23, ((2, 3), "simplex")]),
    "ce_probs_4d_none": (lambda L, x, t: _F(L).cross_entropy(x, t, reduction="none"),
                         [((2, 3, 2, 1), "normal"), ((2, 3, 2, 1), "simplex")]),
    "ce_probs_unbatched": (lambda L, x, t: _F(L).cross_entropy(x, t, label_smoothing=0.1),
                           [((3,), "normal"), ((3,), "pos")]),
    "ce_label_smoothing": (lambda L, x: _F(L).cross_entropy(x, L.tensor(np.array([0, 2])), label_smoothing=0.1),
                           [N23]),
    "ce_label_smoothing_weight_ignore": (lambda L, x: _F(L).cross_entropy(
        x, L.tensor(np.array([1, -100, 2])), weight=L.tensor(np.array([1.0, 2.0, 0.5]), dtype=x.dtype),
        label_smoothing=0.3), [((3, 3), "normal")]),
    "ce_label_smoothing_none_sum": (lambda L, x: _F(L).cross_entropy(
        x, L.tensor(np.array([[1], [0]])), label_smoothing=0.25, reduction="none").sum()
        + _F(L).cross_entropy(x, L.tensor(np.array([[2], [2]])), label_smoothing=0.5, reduction="sum"),
        [((2, 3, 1), "normal")]),
    "ce_label_smoothing_unbatched": (lambda L, x: _F(L).cross_entropy(x, L.tensor(np.array(1)), label_smoothing=0.1),
                                     [((3,), "normal")]),
}


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_loss_double_backward_matches_torch(name):
    fn, specs = LOSSES[name]
    _check(fn, specs)


def test_r1_penalty_through_bce_with_logits_matches_torch():
    """The GAN R1 penalty: |d D(x) / dx|² with D's loss binary_cross_entropy_with_logits,
    differentiated into D's weights."""
    a, w, t = RNG.standard_normal((4, 3)), RNG.standard_normal((3, 1)), RNG.uniform(0, 1, (4, 1))

    def penalty(L):
        x = L.tensor(a, requires_grad=True)
        W = L.tensor(w, requires_grad=True)
        loss = _F(L).binary_cross_entropy_with_logits(x @ W, L.tensor(t))
        (gx,) = L.autograd.grad(loss, x, create_graph=True)
        (gw,) = L.autograd.grad((gx ** 2).sum(), W)
        return gw.numpy()
    np.testing.assert_allclose(penalty(ember), penalty(torch), rtol=1e-10)


def _with_zeros(L, x):
    """x with a zero at [0, 1] and a zero row [1] (prod's and norms' special cases)."""
    mask = L.tensor(np.array([[False, True, False], [True, True, True]]))
    return x.masked_fill(mask, 0.0)


def _setitem(L, x, v):
    y = x * 1
    y[0] = v * x[1]
    y[L.tensor(np.array([1, 1])), L.tensor(np.array([0, 2]))] = v[:2] ** 2
    return y ** 2


OPS = {
    "maximum": (lambda L, a, b: L.maximum(a, b) * a, [N23, N23]),
    "maximum_ties_broadcast": (lambda L, a, b: L.maximum(a, a * 1) * b + L.maximum(a, b) * a * b,
                               [N23, ((3,), "normal")]),
    "minimum": (lambda L, a, b: L.minimum(a, b) ** 2, [N23, ((2, 1), "normal")]),
    "masked_fill": (lambda L, x: x.masked_fill(x > 0.3, 2.0) ** 2 * x, [N23]),
    "masked_fill_broadcast_mask": (lambda L, x: x.masked_fill(L.tensor(np.array([True, False, True])), -1.0) * x,
                                   [N23]),
    "setitem": (_setitem, [N23, ((3,), "normal")]),
    "index_put": (lambda L, x, v: x.index_put((L.tensor(np.array([2, 0])),), v * x.sum()) ** 2,
                  [((3, 2), "normal"), ((2,), "normal")]),
    "prod_dim": (lambda L, x: x.prod(1) * x.prod(0, keepdim=True).sum(), [N23]),
    "prod_all": (lambda L, x: x.prod() * x, [((2, 2), "normal")]),
    "prod_zeros": (lambda L, x: _with_zeros(L, x).prod(1) + _with_zeros(L, x).prod(0).sum()
                   + _with_zeros(L, x).prod(), [N23]),
    "std": (lambda L, x: x.std(1) * x.std(), [N23]),
    "std_keepdim_correction0": (lambda L, x: x.std(0, keepdim=True, correction=0) ** 3, [N23]),
    "vector_norm_2": (lambda L, x: L.linalg.vector_norm(x, dim=1) * x.sum(), [N23]),
    "vector_norm_all": (lambda L, x: L.linalg.vector_norm(x) ** 3, [N23]),
    "vector_norm_p": (lambda L, x: L.linalg.vector_norm(x, 3, dim=0, keepdim=True) * x
                      + L.linalg.vector_norm(x, 0.5, dim=1).sum(), [N23]),
    "vector_norm_1_inf": (lambda L, x: (L.linalg.vector_norm(x, 1, dim=1) * L.linalg.vector_norm(x, float("inf"))
                                        + L.linalg.vector_norm(x, -float("inf"), dim=0).sum()) * x.sum(), [N23]),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_double_backward_matches_torch(name):
    fn, specs = OPS[name]
    _check(fn, specs)


def test_std_of_constant_row_double_backward_matches_torch():
    """std 0: torch's first derivative is 0 there (not nan); the second must stay finite too."""
    fn = lambda L, x: (x * L.tensor(np.array([[1.0], [0.0]]), dtype=x.dtype)).std(1)  # noqa: E731
    for dtype in (np.float64, np.float32):
        _compare(fn, [N23], dtype)


@pytest.mark.parametrize("ord", [2.0, 3.0, 1.5, 0.5, 1.0, float("inf")])
def test_vector_norm_double_backward_at_zeros_as_torch(ord):
    """Zero entries and a zero row: torch's values, nan included (its 2-norm's second
    derivative at 0 is nan); gradgradcheck cannot apply at these kinks."""
    fn = lambda L, x: L.linalg.vector_norm(_with_zeros(L, x), ord, dim=1) * x.sum()  # noqa: E731
    for dtype in (np.float64, np.float32):
        _compare(fn, [N23], dtype)


def _hard_points(L, x):
    """x spread over the kinks of the hard activations (-3, 3), not on them."""
    return x * 2.5 + L.tensor(np.array([[-4.0, 0.0, 4.0], [1.0, -1.0, 3.5]]), dtype=x.dtype)


def _prelu(L, x, w):
    return _F(L).prelu(x, w) * x


LAYERS = {
    "group_norm_affine": (lambda L, x, w, b: _F(L).group_norm(x, 2, w, b) * x,
                          [((2, 4, 3), "normal"), ((4,), "normal"), ((4,), "normal")]),
    "group_norm_plain_4d": (lambda L, x: _F(L).group_norm(x, 1, eps=1e-3) ** 2,
                            [((2, 2, 2, 2), "normal")]),
    "mish": (lambda L, x: _F(L).mish(x) * x, [N23]),
    "mish_large": (lambda L, x: _F(L).mish(x * 15), [N23]),
    "hardswish": (lambda L, x: _F(L).hardswish(_hard_points(L, x)) * x, [N23]),
    "glu": (lambda L, x: _F(L).glu(x, 1) ** 2, [((3, 4), "normal")]),
    "glu_dim0": (lambda L, x: _F(L).glu(x, 0) * x[:1], [((2, 3), "normal")]),
    "prelu_channels": (_prelu, [((2, 3, 2), "normal"), ((3,), "normal")]),
    "prelu_shared": (_prelu, [N23, ((1,), "normal")]),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_double_backward_matches_torch(name):
    fn, specs = LAYERS[name]
    _check(fn, specs)


def test_hardsigmoid_double_backward_raises_as_torch():
    """torch has no derivative of hardsigmoid_backward: the first create_graph=True gradient
    works, differentiating it raises."""
    def second(L):
        x = L.tensor(np.array([-4.0, 0.5, 1.0]), requires_grad=True)
        (g,) = L.autograd.grad((_F(L).hardsigmoid(x) * x).sum(), x, create_graph=True)
        first = g.detach().numpy()
        with pytest.raises(RuntimeError, match="derivative for aten::hardsigmoid_backward is not implemented"):
            L.autograd.grad(g.sum(), x)
        return first
    np.testing.assert_allclose(second(ember), second(torch))


# name: the range x is drawn from (None: standard normal)
POINTWISE_UNARY = {"tan": (-1, 1), "asin": (-0.9, 0.9), "acos": (-0.9, 0.9), "atan": None, "sinh": None,
                   "cosh": None, "asinh": None, "acosh": (1.5, 3), "atanh": (-0.9, 0.9), "exp2": None,
                   "log2": (0.5, 2), "log10": (0.5, 2), "expm1": None, "erf": None, "erfc": None,
                   "erfinv": (-0.9, 0.9), "lgamma": (0.5, 3), "digamma": (0.5, 3), "i0": None,
                   "special.i1": None, "sinc": None, "deg2rad": None, "rad2deg": None, "frac": (0.1, 0.4)}


def _lookup(L, dotted):
    for part in dotted.split("."):
        L = getattr(L, part)
    return L


def _in_range(x, lo_hi):
    """x (standard normal) mapped into (lo, hi)."""
    if lo_hi is None:
        return x
    lo, hi = lo_hi
    return lo + (hi - lo) * x.sigmoid()


@pytest.mark.parametrize("name", sorted(POINTWISE_UNARY))
def test_pointwise_unary_double_backward_matches_torch(name):
    fn = lambda L, x: _lookup(L, name)(_in_range(x, POINTWISE_UNARY[name])) * x  # noqa: E731
    _check(fn, [N23])


def test_polygamma_and_i1_at_zero_double_backward_match_torch():
    _check(lambda L, x: L.polygamma(2, x.exp() + 0.5) * x, [N23])
    zero = lambda L, x: L.special.i1(x * L.tensor(np.array([0.0, 1.0, 2.0]), dtype=x.dtype)) * x  # noqa: E731
    for dtype in (np.float64, np.float32):
        _compare(zero, [N23], dtype)


POINTWISE_BINARY = {
    "atan2": (N23, N23), "hypot": (N23, ((3,), "pos")), "logaddexp": (N23, ((2, 1), "normal")),
    "logaddexp2": (N23, N23), "xlogy": (N23, ((3,), "pos")), "fmod": (N23, ((3,), "pos")),
    "remainder": (N23, ((3,), "pos")), "copysign": (N23, N23),
}


@pytest.mark.parametrize("name", sorted(POINTWISE_BINARY))
def test_pointwise_binary_double_backward_matches_torch(name):
    _check(lambda L, a, b: getattr(L, name)(a, b) * a * b, list(POINTWISE_BINARY[name]))


def test_xlogy_double_backward_with_zero_x_matches_torch():
    fn = lambda L, a, b: L.xlogy(a * L.tensor(np.array([0.0, 1.0, 0.0]), dtype=a.dtype), b) * b  # noqa: E731
    for dtype in (np.float64, np.float32):
        _compare(fn, [N23, ((2, 3), "pos")], dtype)


MORE_ACTIVATIONS = {
    "logsigmoid": lambda L, x: _F(L).logsigmoid(x) * x,
    "tanhshrink": lambda L, x: _F(L).tanhshrink(x) * x,
    "softsign": lambda L, x: _F(L).softsign(x) * x,
    "hardshrink": lambda L, x: _F(L).hardshrink(x, 0.4) * x,
    "softshrink": lambda L, x: _F(L).softshrink(x, 0.4) * x,
    "rrelu_eval": lambda L, x: _F(L).rrelu(x, 0.1, 0.3) * x,
}


@pytest.mark.parametrize("name", sorted(MORE_ACTIVATIONS))
def test_more_activation_double_backward_matches_torch(name):
    _check(MORE_ACTIVATIONS[name], [N23])


def test_rrelu_training_double_backward_uses_the_drawn_noise():
    """y = noise * x (noise 1 where x > 0): d²/dx² sum(y x) = 2 noise = 2 y / x."""
    x = ember.tensor(RNG.standard_normal(8), requires_grad=True)
    y = ember.nn.functional.rrelu(x, training=True)
    (g,) = ember.autograd.grad((y * x).sum(), x, create_graph=True)
    (h,) = ember.autograd.grad(g.sum(), x)
    np.testing.assert_allclose(h.numpy(), 2 * y.detach().numpy() / x.detach().numpy(), rtol=1e-12)


MORE_OPS = {
    "round": (lambda L, x: x.round() * x + x.round(decimals=1) * x, [N23]),
    "nan_to_num": (lambda L, x: x.nan_to_num() ** 2 * x, [N23]),
    "clamp_tensor": (lambda L, x, y: x.clamp(min=y * 0.5, max=y + 1) * x * y, [N23, N23]),
    "clamp_tensor_min": (lambda L, x, y: x.clamp(min=y) * x * y, [N23, ((3,), "normal")]),
    "lerp_tensor_weight": (lambda L, x, y, w: L.lerp(x, y * y, w) * x, [N23, N23, ((3,), "prob")]),
    "lerp_scalar_weight": (lambda L, x, y: L.lerp(x, y * y, 0.3) * x * y, [N23, N23]),
    "sort_topk_median": (lambda L, x: x.sort(1)[0] ** 2 * x + x.topk(2)[0].sum() * x
                         + x.median(1)[0].sum() ** 2, [N23]),
}


@pytest.mark.parametrize("name", sorted(MORE_OPS))
def test_more_op_double_backward_matches_torch(name):
    fn, specs = MORE_OPS[name]
    _check(fn, specs)


def test_nan_to_num_double_backward_where_replaced_matches_torch():
    fn = lambda L, x: (x.log() * x).nan_to_num(posinf=3.0) ** 2  # noqa: E731
    for dtype in (np.float64, np.float32):
        _compare(fn, [N23], dtype)


LINEAR_ALGEBRA = {
    "einsum_attention": (lambda L, q, k: L.einsum("bij,bkj->bik", q, k).softmax(-1) * q.sum(),
                         [((2, 3, 2), "normal"), ((2, 3, 2), "normal")]),
    "einsum_same_operand_diag": (lambda L, x: L.einsum("ij,ij->i", x, x) * L.einsum("ii->i", x[:, :2]).sum(),
                                 [N23]),
    "outer_kron": (lambda L, a, b: L.outer(a, b) ** 2 + L.kron(a, b).sum(), [((3,), "normal"), ((2,), "normal")]),
    "cross": (lambda L, a, b: L.linalg.cross(a, b) * a, [N23, N23]),
    "trace_diagonal": (lambda L, x: x[:, :2].trace() * x + x.diagonal(1).sum() ** 2, [N23]),
    "diag_embed": (lambda L, x: L.diag_embed(x) ** 2 * x.sum(), [N23]),
    "tril_triu": (lambda L, x: x.tril() ** 2 + x.triu(1) * x, [N23]),
}


@pytest.mark.parametrize("name", sorted(LINEAR_ALGEBRA))
def test_linear_algebra_double_backward_matches_torch(name):
    fn, specs = LINEAR_ALGEBRA[name]
    _check(fn, specs)


_IDX = np.array([[0, 1], [2, 0]])

SCANS_AND_SCATTERS = {
    "cumprod": (lambda L, x: x.cumprod(1) * x + x.cumprod(0).sum(), [N23]),
    "cumprod_zeros": (lambda L, x: _with_zeros(L, x).cumprod(1) * x, [N23]),
    "logcumsumexp": (lambda L, x: x.logcumsumexp(1) * x + x.logcumsumexp(0).sum() ** 2, [N23]),
    "cummax_cummin": (lambda L, x: x.cummax(1)[0] ** 2 + x.cummin(0)[0] * x, [N23]),
    "scatter_src": (lambda L, x, s: x.scatter(1, L.tensor(_IDX), s * s) * x, [N23, ((2, 2), "normal")]),
    # srcs of the index's shape: torch 2.13's own double backward rejects a larger src
    "scatter_add": (lambda L, x, s: x.scatter_add(1, L.tensor(_IDX), s * x[:, :2]) ** 2, [N23, ((2, 2), "normal")]),
    "scatter_value": (lambda L, x: x.scatter(1, L.tensor(_IDX), 2.0) ** 2 * x, [N23]),
    "index_put_accumulate": (lambda L, x, s: x.index_put((L.tensor(np.array([0, 0])),), s[0] * s[1],
                                                         accumulate=True) ** 2, [N23, N23]),
}


@pytest.mark.parametrize("name", sorted(SCANS_AND_SCATTERS))
def test_scan_and_scatter_double_backward_matches_torch(name):
    fn, specs = SCANS_AND_SCATTERS[name]
    if name == "cumprod_zeros":  # a kink of the zeroed entries: torch's values only
        for dtype in (np.float64, np.float32):
            _compare(fn, specs, dtype)
        return
    _check(fn, specs)


def _well_conditioned(L, a):
    return a + 3 * L.eye(a.shape[-1], dtype=a.dtype)


MATRIX_AND_FOLD = {
    "inv": (lambda L, a: L.linalg.inv(_well_conditioned(L, a)) * a, [((3, 3), "normal")]),
    "inv_batched": (lambda L, a: L.linalg.inv(_well_conditioned(L, a)) ** 2, [((2, 3, 3), "normal")]),
    "det": (lambda L, a: L.linalg.det(_well_conditioned(L, a)) * a, [((3, 3), "normal")]),
    "slogdet_logdet": (lambda L, a: L.linalg.slogdet(_well_conditioned(L, a))[1] * a
                       + L.logdet(a @ a.mT + L.eye(3, dtype=a.dtype)), [((3, 3), "normal")]),
    "solve": (lambda L, a, b: L.linalg.solve(_well_conditioned(L, a), b) * b[:, :1],
              [((3, 3), "normal"), ((3, 2), "normal")]),
    "solve_vector": (lambda L, a, b: L.linalg.solve(_well_conditioned(L, a), b) ** 2,
                     [((3, 3), "normal"), ((3,), "normal")]),
    "unfold": (lambda L, x: _F(L).unfold(x, 2, stride=1) ** 2, [((1, 2, 3, 3), "normal")]),
    "fold": (lambda L, c: _F(L).fold(c, (3, 3), 2) ** 2, [((1, 4, 4), "normal")]),
}


@pytest.mark.parametrize("name", sorted(MATRIX_AND_FOLD))
def test_matrix_and_fold_double_backward_matches_torch(name):
    fn, specs = MATRIX_AND_FOLD[name]
    _check(fn, specs)
