"""G4 of issue 11: reductions, scans, sorting and statistics against torch (values, indices,
dtypes, gradients, errors)."""
import numpy as np
import pytest
import torch

import ember
from ember.autograd import gradcheck
from tests.helpers import check_against_torch, same_error

RNG = np.random.default_rng(11)
X = RNG.standard_normal((3, 5))            # distinct values: no ties in order statistics
X4 = RNG.standard_normal((2, 3, 4))
NAN = float("nan")
WITH_ZEROS = np.array([[1.5, 0.0, 2.0, -3.0, 0.5], [0.0, 0.0, 1.0, 2.0, -1.0], [2.0, 3.0, -1.0, 0.5, 0.0]])
TIES = np.array([[1.0, 3.0, 3.0, 2.0, 1.0, 5.0], [2.0, 2.0, 2.0, 0.0, 0.0, 7.0]])

DIFFERENTIABLE = {
    "cumsum": lambda L, x: L.cumsum(x, 1),
    "cumprod": lambda L, x: L.cumprod(x, dim=1),
    "cumprod_0d": lambda L, x: L.cumprod(x.sum(), 0),
    "cummax": lambda L, x: L.cummax(x, 1),
    "cummin_dim0": lambda L, x: x.cummin(0),
    "logcumsumexp": lambda L, x: L.logcumsumexp(x * 30, dim=1),
    "diff": lambda L, x: L.diff(x, n=2, dim=0, prepend=x[:1], append=x),
    "median_dim": lambda L, x: L.median(x, 1, keepdim=True),
    "median_all": lambda L, x: L.median(x),
    "nanmedian_dim": lambda L, x: L.nanmedian(x, dim=0),
    "kthvalue": lambda L, x: L.kthvalue(x, 2, 1),
    "quantile_linear": lambda L, x: L.quantile(x, 0.3, dim=1),
    "quantile_vector_q": lambda L, x: L.quantile(x, L.tensor([0.0, 0.25, 0.9, 1.0], dtype=x.dtype),
                                                 dim=0, keepdim=True),
    "quantile_all_keepdim": lambda L, x: L.quantile(x, 0.7, keepdim=True),
    "quantile_lower": lambda L, x: x.quantile(0.4, 1, interpolation="lower"),
    "quantile_higher": lambda L, x: x.quantile(0.4, 1, interpolation="higher"),
    "quantile_midpoint": lambda L, x: x.quantile(0.4, 1, interpolation="midpoint"),
    "quantile_nearest": lambda L, x: x.quantile(0.375, 1, interpolation="nearest"),
    "nanquantile": lambda L, x: L.nanquantile(x, 0.6, dim=1),
    "std_mean": lambda L, x: L.std_mean(x, 1, keepdim=True),
    "var_mean_correction": lambda L, x: L.var_mean(x, dim=(0, 1), correction=0),
    "var_mean_unbiased": lambda L, x: L.var_mean(x, 0, False),
    "nansum": lambda L, x: L.nansum(x, 1),
    "nanmean": lambda L, x: L.nanmean(x, dim=0, keepdim=True),
    "sort_stable_desc": lambda L, x: L.sort(x, dim=0, descending=True, stable=True),
    "msort": lambda L, x: L.msort(x),
    "topk": lambda L, x: L.topk(x, 3, dim=1, largest=False),
    "aminmax": lambda L, x: L.aminmax(x, dim=1),
    "logsumexp": lambda L, x: L.logsumexp(x, dim=(0, 1)),
    "prod": lambda L, x: L.prod(x, 1),
    "norm_p3": lambda L, x: x.norm(3, dim=1),
    "norm_inf": lambda L, x: L.norm(x, float("inf"), dim=0, keepdim=True),
    "dist": lambda L, x: L.dist(x, x.flip(0), p=1.5),
    "cdist": lambda L, x: L.cdist(x, x[:2] * 2),
    "cdist_p1": lambda L, x: L.cdist(x, x[:2] * 2, p=1),
    "cosine_similarity": lambda L, x: L.nn.functional.cosine_similarity(x, x.flip(1), dim=1),
    "cosine_similarity_broadcast": lambda L, x: L.cosine_similarity(x, x[:1], dim=-1, eps=1e-3),
    "renorm": lambda L, x: x.renorm(2, 0, 1.0),
}


@pytest.mark.parametrize("name", DIFFERENTIABLE)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_values_and_gradients_match_torch(name, dtype):
    check_against_torch(DIFFERENTIABLE[name], [X], dtype=dtype)


@pytest.mark.parametrize("name", ["cumprod", "cummax", "logcumsumexp", "median_dim", "quantile_linear",
                                  "cosine_similarity", "renorm", "cdist"])
def test_gradcheck(name):
    x = ember.tensor(X, requires_grad=True)
    assert gradcheck(lambda t: DIFFERENTIABLE[name](ember, t), (x,))


@pytest.mark.parametrize("dim", [0, 1])
def test_cumprod_gradient_with_zeros_matches_torch(dim):
    # one zero, two zeros and a zero at the end of a row: the exact (division-free) gradient
    check_against_torch(lambda L, x: L.cumprod(x, dim), [WITH_ZEROS])
    check_against_torch(lambda L, x: L.prod(x, dim), [WITH_ZEROS])


def test_cumprod_integer_promotes_to_int64():
    check_against_torch(lambda L, x: L.cumprod(x, 0), [np.array([1, 2, 3], np.int32)])
    check_against_torch(lambda L, x: L.cumprod(x, 0), [np.array([True, False])])


def test_cummax_cummin_ties_and_nan_take_the_latest_index():
    row = np.array([1.0, 3.0, 3.0, 2.0, NAN, 5.0, NAN, 1.0])
    check_against_torch(lambda L, x: L.cummax(x, 0), [row], grad=False)
    check_against_torch(lambda L, x: L.cummin(x, 0), [row], grad=False)
    check_against_torch(lambda L, x: L.cummin(x, 1), [TIES])


def test_logcumsumexp_large_and_minus_inf():
    a = np.array([[1000.0, -np.inf, 999.0, 1.0], [-np.inf, -np.inf, 0.0, 2.0]])
    check_against_torch(lambda L, x: L.logcumsumexp(x, 1), [a], grad=False)
    check_against_torch(lambda L, x: L.logcumsumexp(x, 1), [X * 300])


def test_diff_bool_and_orders():
    b = np.array([True, False, False, True])
    check_against_torch(lambda L, x: L.diff(x), [b])
    check_against_torch(lambda L, x: L.diff(x, n=0), [X])
    check_against_torch(lambda L, x: L.diff(x, n=7, dim=1), [X])


def test_median_nan_and_lower_median():
    a = np.array([[2.0, NAN, 2.5, 1.0], [4.0, 1.0, 3.0, 2.0], [NAN, NAN, NAN, NAN]])
    check_against_torch(lambda L, x: L.median(x, 1).values, [a], grad=False)
    check_against_torch(lambda L, x: L.nanmedian(x, 1).values, [a], grad=False)
    check_against_torch(lambda L, x: (L.median(x), L.nanmedian(x)), [a], grad=False)
    # even length: torch picks the lower of the two middle values
    check_against_torch(lambda L, x: L.median(x[1], 0), [a], grad=False)


def test_global_median_gradient_is_shared_by_ties():
    check_against_torch(lambda L, x: L.median(x), [np.array([1.0, 1.0, 2.0, 1.0, 3.0])])


def test_mode_picks_smallest_most_frequent_at_last_occurrence():
    check_against_torch(lambda L, x: L.mode(x, 1), [TIES])
    check_against_torch(lambda L, x: L.mode(x, 0, keepdim=True), [np.array([[3, 1], [1, 1], [3, 2]])])


def test_quantile_nan_rows():
    a = np.array([[1.0, NAN, 3.0, 2.0], [4.0, 1.0, 3.0, 2.0], [NAN, NAN, NAN, NAN]])
    for interpolation in ("linear", "lower", "higher", "midpoint", "nearest"):
        check_against_torch(lambda L, x: (L.quantile(x, L.tensor([0.1, 0.5, 1.0], dtype=x.dtype), 1,
                                                     interpolation=interpolation),
                                          L.nanquantile(x, 0.5, 1, interpolation=interpolation)),
                            [a], grad=False)


@pytest.mark.parametrize("kwargs", [dict(), dict(return_inverse=True), dict(return_counts=True),
                                    dict(return_inverse=True, return_counts=True, sorted=False),
                                    dict(return_inverse=True, return_counts=True, dim=0),
                                    dict(return_inverse=True, return_counts=True, dim=1)])
def test_unique_and_unique_consecutive(kwargs):
    a = np.array([[3, 1, 1, 2], [3, 1, 1, 2], [0, 1, 1, 5], [3, 1, 1, 2]])
    check_against_torch(lambda L, x: L.unique(x, **kwargs), [a])
    kw = {k: v for k, v in kwargs.items() if k != "sorted"}
    check_against_torch(lambda L, x: L.unique_consecutive(x, **kw), [a])
    check_against_torch(lambda L, x: x.unique_consecutive(**kw), [a[:, 1:]])


def test_bincount_weights_and_minlength():
    a = np.array([0, 3, 3, 1, 7])
    check_against_torch(lambda L, x: L.bincount(x), [a])
    check_against_torch(lambda L, x: x.bincount(minlength=10), [a])
    for w in (np.arange(5.0, dtype=np.float32), np.arange(5.0), np.arange(5)):
        check_against_torch(lambda L, x, w: L.bincount(x, weights=w), [a, w], grad=False)
    check_against_torch(lambda L, x: L.bincount(x, minlength=3), [np.zeros(0, np.int64)])


def test_histc_edges_and_range():
    a = np.array([0.0, 0.1, 0.2, 0.3, 0.7, 1.0, 1.5, -0.5, 0.9999999], np.float32)
    for kwargs in (dict(), dict(bins=4), dict(bins=10, min=0, max=1), dict(bins=3, min=0.1, max=0.2)):
        check_against_torch(lambda L, x: L.histc(x, **kwargs), [a], grad=False)
    check_against_torch(lambda L, x: L.histc(x, bins=4), [np.array([2.0, 2.0])], grad=False)


def test_searchsorted_and_bucketize():
    seq = np.array([1.0, 3.0, 3.0, 5.0, 9.0])
    vals = np.array([[3.0, 0.0, 10.0], [5.0, 4.0, 1.0]])
    for kw in (dict(), dict(right=True), dict(side="right"), dict(side="left"), dict(out_int32=True)):
        check_against_torch(lambda L, s, v: L.searchsorted(s, v, **kw), [seq, vals], grad=False)
        check_against_torch(lambda L, v, s: L.bucketize(v, s, right=kw.get("right", False)),
                            [vals, seq], grad=False)
    rows = np.array([[1.0, 2.0, 3.0], [0.0, 5.0, 6.0]])
    check_against_torch(lambda L, s, v: L.searchsorted(s, v), [rows, vals], grad=False)
    perm = np.array([2, 0, 4, 1, 3])
    check_against_torch(lambda L, s, v, p: L.searchsorted(s[p], v, sorter=p),
                        [seq, vals, perm], grad=False)
    check_against_torch(lambda L, s: L.searchsorted(s, 4.0), [seq], grad=False)


def test_count_nonzero_dims():
    check_against_torch(lambda L, x: L.count_nonzero(x, dim=(0, -1)), [X4.round()])
    check_against_torch(lambda L, x: x.count_nonzero(1), [X4.round()])


def test_cosine_similarity_zero_vector_gradient():
    # the eps clamp is applied without autograd in torch 2.13: the gradient flows through the norm
    a = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0], [1e-9, 0.0, 1e-9]])
    b = np.array([[1.0, -1.0, 2.0], [0.5, 0.0, -1.0], [1.0, 1.0, 1.0]])
    check_against_torch(lambda L, x, y: L.cosine_similarity(x, y), [a, b])


def test_renorm_below_and_above_maxnorm():
    check_against_torch(lambda L, x: L.renorm(x, 1, 1, 1.5), [X])
    check_against_torch(lambda L, x: x.renorm(3, -1, 100.0), [X])


ERRORS = [
    lambda L: L.median(L.zeros(0, 3), 0),
    lambda L: L.kthvalue(L.ones(2, 2), 3, 1),
    lambda L: L.kthvalue(L.ones(2, 2), 0),
    lambda L: L.mode(L.zeros(2, 0), 1),
    lambda L: L.quantile(L.ones(3), 1.5),
    lambda L: L.quantile(L.ones(3, dtype=L.int64), 0.5),
    lambda L: L.quantile(L.ones(3), L.tensor([0.5], dtype=L.float64)),
    lambda L: L.quantile(L.ones(3), 0.5, interpolation="cubic"),
    lambda L: L.quantile(L.ones(3), L.ones(1, 1) / 2),
    lambda L: L.quantile(L.ones(0), 0.5),
    lambda L: L.logcumsumexp(L.tensor([1, 2]), 0),
    lambda L: L.diff(L.tensor(1.0)),
    lambda L: L.diff(L.ones(2, 2), n=-1),
    lambda L: L.diff(L.ones(2, 2), prepend=L.zeros(2)),
    lambda L: L.bincount(L.tensor([-1, 2])),
    lambda L: L.bincount(L.tensor([[1, 2]])),
    lambda L: L.bincount(L.tensor([1.0, 2.0])),
    lambda L: L.bincount(L.tensor([1, 2]), minlength=-1),
    lambda L: L.bincount(L.tensor([1, 2]), weights=L.ones(1)),
    lambda L: L.histc(L.tensor([1, 2]), bins=3),
    lambda L: L.histc(L.ones(2), bins=0),
    lambda L: L.histc(L.ones(2), bins=3, min=3, max=1),
    lambda L: L.searchsorted(L.tensor([1, 3]), L.tensor([3]), side="left", right=True),
    lambda L: L.searchsorted(L.tensor([1, 3]), L.tensor([3]), side="middle"),
    lambda L: L.searchsorted(L.tensor([[1, 3]]), L.tensor([[3], [1]])),
    lambda L: L.bucketize(L.tensor([3]), L.tensor([[1, 3]])),
    lambda L: L.cdist(L.zeros(3), L.zeros(2, 3)),
    lambda L: L.cdist(L.zeros(2, 3), L.zeros(2, 4)),
    lambda L: L.cdist(L.zeros(2, 3), L.zeros(2, 3), p=-1),
    lambda L: L.ones(2, 2).renorm(0, 0, 1),
    lambda L: L.ones(2, 2).renorm(2, 0, -1),
    lambda L: L.aminmax(L.zeros(0)),
    lambda L: L.nanmean(L.tensor([1, 2])),
    lambda L: L.std_mean(L.tensor([1, 2])),
    lambda L: L.var_mean(L.tensor([1, 2])),
    lambda L: L.cosine_similarity(L.tensor([1, 2]), L.tensor([1, 2]), 0),
    lambda L: L.cummax(L.ones(2), 1),
    # regressions: these raised another error, or none, before
    lambda L: L.var(L.tensor([1, 2, 3])),
    lambda L: L.tensor([1, 2, 3]).std(),
    lambda L: L.count_nonzero(L.ones(2, 3), (0, -2)),
    lambda L: L.count_nonzero(L.ones(2, 3), 3),
    lambda L: L.amax(L.zeros(0, 3), 0),
    lambda L: L.amin(L.zeros(0, 3)),
    lambda L: L.max(L.zeros(0, 3), 0),
    lambda L: L.min(L.zeros(0, 3), 0),
    lambda L: L.renorm(L.tensor([3.0, 4.0]), 2, 0, 1),
    lambda L: L.histc(L.tensor([1.0, float("inf")]), bins=2),
]


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_errors_match_torch(i):
    err = same_error(ERRORS[i])
    try:
        ERRORS[i](torch)
    except Exception as t_err:  # noqa: BLE001
        assert str(err) == str(t_err)


def test_tensor_with_float64_dtype_keeps_python_float_precision():
    # regression: ember.tensor([0.9], dtype=float64) went through float32 first (0.8999999761...)
    # which made quantile(x, tensor(q, dtype=float64)) differ from torch by 1e-7
    expected = torch.tensor([0.9], dtype=torch.float64).item()
    assert ember.tensor([0.9], dtype=ember.float64).numpy()[0] == expected
    assert ember.tensor(0.1, dtype=ember.float64).item() == 0.1


def test_zero_dim_and_empty_results_match_torch():
    # regressions: cumsum of a 0-d tensor was 1-d, quantile of a 0-d tensor along dim 0 was 1-d,
    # topk of a 0-d tensor raised, amax over a non-empty dim of an empty tensor raised
    check_against_torch(lambda L, x: L.cumsum(x.sum(), 0), [X])
    check_against_torch(lambda L, x: L.quantile(x.sum(), 0.5, dim=0, keepdim=True), [X])
    check_against_torch(lambda L, x: L.topk(x.sum(), 1), [X])
    check_against_torch(lambda L, x: L.topk(x.sum(), 0), [X])  # torch returns the element
    check_against_torch(lambda L, x: L.amax(x, 1), [np.zeros((0, 3))])


def test_unique_keeps_nan_apart_and_cosine_similarity_promotes_integers():
    a = np.array([NAN, 1.0, NAN])
    check_against_torch(lambda L, x: L.unique(x, return_inverse=True, return_counts=True), [a],
                        grad=False)
    check_against_torch(lambda L, x, y: L.cosine_similarity(x, y),
                        [np.array([[1, 2]]), np.array([[1.0, 3.0]])])


def test_kthvalue_and_median_ties_pick_torchs_index():
    # regression: kthvalue took the k-th of a stable sort; torch runs a quickselect whose swaps
    # decide which of equal values is returned (e.g. kthvalue([5, 5, 5, 5], 2) is index 0)
    rng = np.random.default_rng(3)
    for n in (1, 2, 3, 4, 7, 16, 33):
        a = rng.integers(0, 3, size=(4, n)).astype(np.float32)
        a[rng.random(a.shape) < 0.15] = NAN
        for k in {1, (n + 1) // 2, n}:
            check_against_torch(lambda L, x: L.kthvalue(x, k, 1), [a], dtype="float32")
            ints = rng.integers(0, 3, size=(4, n))
            check_against_torch(lambda L, x: L.kthvalue(x, k, 1), [ints], grad=False)
        check_against_torch(lambda L, x: (L.median(x, 1), L.nanmedian(x, 0)), [a], dtype="float32")


@pytest.mark.parametrize("n", [1, 5, 16, 17, 40, 130, 300])
def test_topk_and_mode_ties_in_torchs_order(n):
    # regression: topk took a stable argsort (ties in index order) and mode the last occurrence;
    # torch orders equal values as GCC's partial_sort / nth_element / sort leave them
    rng = np.random.default_rng(n)
    a = rng.integers(0, 4, size=(3, n)).astype(np.float64)
    a[rng.random(a.shape) < 0.1] = NAN
    for k in sorted({0, 1, min(2, n), n // 3, n}):
        for largest in (True, False):
            for sorted_ in (True, False):
                check_against_torch(lambda L, x: L.topk(x, k, 1, largest, sorted_), [a])
    ints = rng.integers(0, 4, size=(3, n))
    check_against_torch(lambda L, x: L.topk(x, min(2, n), 0), [ints.T.copy()])
    check_against_torch(lambda L, x: L.mode(x, 1), [ints])
    check_against_torch(lambda L, x: L.mode(x, 1), [ints.astype(np.float32)], dtype="float32")


def test_topk_empty_dim_and_bool():
    check_against_torch(lambda L, x: L.topk(x, 0, 1), [np.zeros((2, 0))])
    same_error(lambda L: L.topk(L.tensor([True, False]), 1))


def test_topk_and_mode_distinct_values_fast_path_matches_torch():
    # rows without ties skip the compiled libstdc++ replica: same answers, NaN included
    a = RNG.standard_normal((4, 70))
    a[0, 3] = NAN
    for k in (1, 5, 70):
        check_against_torch(lambda L, x: (L.topk(x, k), L.topk(x, k, largest=False)), [a])
    check_against_torch(lambda L, x: L.mode(x, 1), [a[1:]])


def test_out_argument_writes_and_returns_out():
    x = ember.tensor(X)
    out = ember.empty(0, dtype=ember.float64)
    assert ember.cumprod(x, 1, out=out) is out
    np.testing.assert_allclose(out.numpy(), np.cumprod(X, 1))
    values, indices = ember.empty(0, dtype=ember.float64), ember.empty(0, dtype=ember.int64)
    res = ember.topk(x, 2, out=(values, indices))
    assert res.values is values and res.indices is indices
    np.testing.assert_array_equal(indices.numpy(), torch.topk(torch.tensor(X), 2).indices.numpy())
    idx = ember.empty(3, dtype=ember.int64)
    ember.searchsorted(ember.tensor([1.0, 2.0, 3.0]), ember.tensor([0.5, 2.5, 9.0]), out=idx)
    assert idx.tolist() == [0, 2, 3]
    # NumPy's names still reach the method through the out= wrapper
    check_against_torch(lambda L, x: L.median(x, axis=1, keepdims=True), [X])


def test_grad_fn_names_match_torch():
    for op in (lambda L, x: x.cumprod(0), lambda L, x: x.cummax(0)[0], lambda L, x: x.cummin(0)[0],
               lambda L, x: x.logcumsumexp(0), lambda L, x: x.median(), lambda L, x: x.nanmedian()):
        names = [type(op(L, L.tensor([1.0, 3.0, 2.0], requires_grad=True)).grad_fn).__name__
                 for L in (ember, torch)]
        assert names[0] == names[1]


def test_std_at_zero_and_cdist_inf_ties_gradients():
    # regressions: std of a constant row had a nan gradient (sqrt'(0) * 0); cdist(p=inf) shared
    # the gradient among tied coordinates where torch gives each its full share
    a = np.array([[1.0, -3.0, 3.0, 0.0], [2.0, 2.0, -1.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    for dtype in ("float64", "float32"):
        check_against_torch(lambda L, x: (x.std(1), L.std(x[2])), [a], dtype=dtype)
        check_against_torch(lambda L, x: L.cdist(x, x, p=float("inf")), [a], dtype=dtype)
    check_against_torch(lambda L, x: L.cdist(x, x, p=float("inf")), [np.zeros((2, 0))])


def test_order_statistics_of_int64_beyond_float_precision():
    # int64 values past 2**53 go to the kernels as ranks: float64 would merge neighbours into ties
    big = np.array([[2 ** 60 + 1, 2 ** 60, 2 ** 60 + 1, 5, 2 ** 60]], np.int64)
    check_against_torch(lambda L, x: (L.topk(x, 2), L.kthvalue(x, 2), L.mode(x, 1)), [big])
