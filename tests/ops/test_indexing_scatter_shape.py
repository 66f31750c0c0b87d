"""Issue 11, group G3: indexing, scatter and shape ops against torch (values, gradients, errors,
view vs copy)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import ember
from tests.helpers import assert_close, check_against_torch

RNG = np.random.default_rng(11)
DTYPES = ["float32", "float64"]


def outcome(fn, lib, *arrays):
    """``fn(lib, *tensors)``'s value, or (kind, message) of what it raised."""
    tensors = [lib.tensor(a) for a in arrays]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(lib, *tensors)
    except Exception as e:  # noqa: BLE001 - compared below
        return e


def assert_same_error(fn, *arrays, prefix=False):
    """torch raises; ember raises the same kind with the same message (or, with prefix, the
    start of torch's message: torch appends a C++ trace to some)."""
    e, t = outcome(fn, ember, *arrays), outcome(fn, torch, *arrays)
    assert isinstance(t, Exception), "torch did not raise"
    assert isinstance(e, Exception), f"ember did not raise; torch: {type(t).__name__}: {t}"
    kind = next(k for k in (IndexError, TypeError, NotImplementedError, RuntimeError)
                if isinstance(t, k))
    assert isinstance(e, kind), f"ember {type(e).__name__}: {e}; torch {type(t).__name__}: {t}"
    if prefix:
        assert str(t).startswith(str(e)), (str(e), str(t))
    else:
        assert str(e).replace("ember", "torch") == str(t)


# ------------------------------------------------------------------ scatter_reduce
def _scatter_case():
    self_ = RNG.integers(-2, 3, (4, 5)).astype(float)
    src = RNG.integers(-2, 3, (3, 4)).astype(float)  # small integers: ties and zeros
    index = RNG.integers(0, 4, (3, 4))  # smaller than src and self apart from dim 0
    return self_, index, src


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
def test_scatter_reduce_values_and_grads(reduce, include_self, dtype):
    for dim in (0, 1, -1):
        a, index, src = _scatter_case()
        if dim != 0:
            index = RNG.integers(0, 5, (3, 4))
        check_against_torch(lambda L, a, i, s: a.scatter_reduce(dim, i, s, reduce,
                                                                include_self=include_self),
                            [a, index, src], dtype=dtype)
        check_against_torch(lambda L, a, i, s: L.scatter_reduce(a, dim, i, s, reduce=reduce,
                                                                include_self=include_self),
                            [a, index, src], dtype=dtype)


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
def test_scatter_reduce_gradcheck(reduce):
    a = ember.tensor(RNG.standard_normal((4, 3)), requires_grad=True)
    src = ember.tensor(RNG.standard_normal((5, 3)), requires_grad=True)  # distinct: no ties
    index = ember.tensor(RNG.integers(0, 4, (5, 3)))
    for include_self in (True, False):
        assert ember.autograd.gradcheck(
            lambda a, s: a.scatter_reduce(0, index, s, reduce, include_self=include_self), (a, src))


def test_scatter_reduce_integer_mean_floors_as_torch():
    for lib in (ember, torch):
        pass
    for include_self in (True, False):
        e = ember.tensor([-1, 2, 3]).scatter_reduce(0, ember.tensor([0, 0]), ember.tensor([-2, -5]),
                                                    "mean", include_self=include_self)
        t = torch.tensor([-1, 2, 3]).scatter_reduce(0, torch.tensor([0, 0]), torch.tensor([-2, -5]),
                                                    "mean", include_self=include_self)
        assert e.tolist() == t.tolist()


def test_scatter_reduce_inplace():
    a, index, src = _scatter_case()
    check_against_torch(lambda L, a, i, s: (a * 1).scatter_reduce_(0, i, s, "amax"), [a, index, src])


def test_legacy_scatter_reduce_values_and_no_derivative():
    """regression: reduce='multiply' raised NotImplementedError, reduce='add' was given a
    gradient where torch has none."""
    a, index, src = _scatter_case()
    for reduce in ("add", "multiply"):
        for value in (None, 2.5):
            outs = []
            for lib in (ember, torch):
                x = lib.tensor(a, requires_grad=True)
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    y = x.scatter(0, lib.tensor(index), lib.tensor(src) if value is None else value,
                                  reduce=reduce)
                if lib is ember:  # (torch warns once per process)
                    assert any("deprecated" in str(w.message) for w in caught) == (value is None)
                with pytest.raises(RuntimeError, match="derivative for aten::scatter is not implemented"):
                    y.sum().backward()
                outs.append(y)
            assert_close(*outs)


def test_scatter_add_stays_differentiable():
    a, index, src = _scatter_case()
    check_against_torch(lambda L, a, i, s: a.scatter_add(0, i, s), [a, index, src])
    check_against_torch(lambda L, a, i, s: (a * 1).scatter_add_(0, i, s), [a, index, src])
    check_against_torch(lambda L, a, i, s: (a * 1).scatter_(0, i, s), [a, index, src])
    check_against_torch(lambda L, a, i: (a * 1).scatter_(1, i, value=-1.5),
                        [a, RNG.integers(0, 5, (3, 4))])


# ------------------------------------------------------------------ index_* / put / take
@pytest.mark.parametrize("dtype", DTYPES)
def test_index_add_copy_fill(dtype):
    a = RNG.standard_normal((4, 3, 2))
    dup = np.array([3, 0, 3, 1])
    check_against_torch(lambda L, a, i, s: a.index_add(0, i, s, alpha=-0.5),
                        [a, dup, RNG.standard_normal((4, 3, 2))], dtype=dtype)
    check_against_torch(lambda L, a, i, s: L.index_add(a, 1, i, s),
                        [a, np.array([2, 2]), RNG.standard_normal((4, 2, 2))], dtype=dtype)
    check_against_torch(lambda L, a, i, s: (a * 1).index_add_(-1, i, s),
                        [a, np.array([1]), RNG.standard_normal((4, 3, 1))], dtype=dtype)
    check_against_torch(lambda L, a, i, s: a.index_copy(1, i, s),
                        [a, np.array([2, 0]), RNG.standard_normal((4, 2, 2))], dtype=dtype)
    check_against_torch(lambda L, a, i, s: (a * 1).index_copy_(0, i, s),
                        [a, np.array([3]), RNG.standard_normal((1, 3, 2))], dtype=dtype)
    # index_fill wraps negative indices (torch's own backward then fails: values only); a 0-d
    # tensor value gets the filled positions' gradient
    check_against_torch(lambda L, a, i, v: a.index_fill(1, i, v),
                        [a, np.array([-1, 0, -1]), np.array(2.5)], dtype=dtype, grad=False)
    check_against_torch(lambda L, a, i, v: a.index_fill(1, i, v),
                        [a, np.array([2, 0, 2]), np.array(2.5)], dtype=dtype)
    check_against_torch(lambda L, a, i: (a * 1).index_fill_(0, i, -3),
                        [a, np.array([1])], dtype=dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_index_put_masked_scatter_take_put(dtype):
    a = RNG.standard_normal((3, 4))
    rows, cols = np.array([0, 2, 0]), np.array([1, -1, 1])
    for acc in (False, True):
        check_against_torch(lambda L, a, r, c, v: a.index_put((r, c), v, accumulate=acc),
                            [a, rows, np.array([1, 2, 3]), RNG.standard_normal(3)], dtype=dtype)
        check_against_torch(lambda L, a, r, c, v: L.index_put(a, (r, c), v, accumulate=True),
                            [a, rows, cols, RNG.standard_normal(())], dtype=dtype)
        check_against_torch(lambda L, a, m, v: (a * 1).index_put_((m,), v, accumulate=acc),
                            [a, np.array([True, False, True]), RNG.standard_normal(4)], dtype=dtype)
    mask = RNG.random((3, 4)) > 0.5
    check_against_torch(lambda L, a, m, s: a.masked_scatter(m, s), [a, mask, RNG.standard_normal(13)],
                        dtype=dtype)
    check_against_torch(lambda L, a, m, s: (a * 1).masked_scatter_(m, s),
                        [a, np.array([True, False, False, True]), RNG.standard_normal((2, 4))], dtype=dtype)
    check_against_torch(lambda L, a, m, s: L.masked_scatter(a[0], m, s),  # broadcast self to mask
                        [a, mask, RNG.standard_normal(12)], dtype=dtype)
    check_against_torch(lambda L, a, i: L.take(a, i), [a, np.array([[0, -1], [11, 0]])], dtype=dtype)
    for acc in (False, True):
        check_against_torch(lambda L, a, i, s: a.put(i, s, accumulate=acc),
                            [a, np.array([[5, -12], [5, 0]]), RNG.standard_normal((2, 2))], dtype=dtype)
        check_against_torch(lambda L, a, i, s: (a * 1).put_(i, s, accumulate=acc),
                            [a, np.array([7, 3]), RNG.standard_normal(2)], dtype=dtype)


def test_index_ops_gradcheck():
    a = ember.tensor(RNG.standard_normal((4, 3)), requires_grad=True)
    s = ember.tensor(RNG.standard_normal((3, 3)), requires_grad=True)
    i = ember.tensor([1, 3, 1])
    m = ember.tensor(np.arange(12).reshape(4, 3) % 3 != 0)  # 8 ones: fewer than s's 9 values
    assert ember.autograd.gradcheck(lambda a, s: a.index_add(0, i, s, alpha=2.0), (a, s))
    assert ember.autograd.gradcheck(lambda a, s: a.index_copy(0, ember.tensor([1, 3, 0]), s), (a, s))
    assert ember.autograd.gradcheck(lambda a, s: a.masked_scatter(m, s), (a, s))
    assert ember.autograd.gradcheck(lambda a, s: a.put(i, s[0], accumulate=True), (a, s))
    assert ember.autograd.gradcheck(lambda a: a.take(ember.tensor([[0, -1], [5, 5]])), (a,))
    assert ember.autograd.gradcheck(lambda a, s: a.index_put((i,), s, accumulate=True), (a, s))


# ------------------------------------------------------------------ errors (torch's messages)
A = np.zeros((3, 3))
ERRORS = [
    (lambda L, x: x.scatter_reduce(0, L.tensor([[0, 3]]), L.ones(1, 2, dtype=L.float64), "sum"), A),
    (lambda L, x: x.scatter_reduce(0, L.tensor([[0]]), L.ones(1, 1, dtype=L.float64), "foo"), A),
    (lambda L, x: x.scatter_reduce(0, L.tensor([[0]]), L.ones(1, 1), "sum"), A),
    (lambda L, x: x.scatter_reduce(0, L.tensor([[0.]]), L.ones(1, 1, dtype=L.float64), "sum"), A),
    (lambda L, x: x.scatter(0, L.tensor([[0, 1]]), 1., reduce="sum"), A),
    (lambda L, x: x.index_add(0, L.tensor([0, 3]), L.ones(2, 3, dtype=L.float64)), A),
    (lambda L, x: x.index_add(0, L.tensor([0, -1]), L.ones(2, 3, dtype=L.float64)), A),
    (lambda L, x: x.index_add(0, L.tensor([0, 1]), L.ones(3, 3, dtype=L.float64)), A),
    (lambda L, x: x.index_add(0, L.tensor([0., 1]), L.ones(2, 3, dtype=L.float64)), A),
    (lambda L, x: x.index_add(0, L.tensor([[0, 1]]), L.ones(2, 3, dtype=L.float64)), A),
    (lambda L, x: x.index_add(0, L.tensor([0, 1]), L.ones(2, 3)), A),
    (lambda L, x: x.index_add(0, L.tensor([0, 1]), L.ones(2, 4, dtype=L.float64)), A),
    (lambda L, x: x.index_copy(0, L.tensor([0, 3]), L.ones(2, 3, dtype=L.float64)), A),
    (lambda L, x: x.index_copy(0, L.tensor([0, -1]), L.ones(2, 3, dtype=L.float64)), A),
    (lambda L, x: x.index_copy(0, L.tensor([0, 1]), L.ones(3, 3, dtype=L.float64)), A),
    (lambda L, x: x.index_copy(0, L.tensor([0, 1], dtype=L.int32), L.ones(2, 3, dtype=L.float64)), A),
    (lambda L, x: x.index_copy(0, L.tensor([0, 1]), L.ones(2, 3)), A),
    (lambda L, x: x.index_copy(0, L.tensor([0, 1]), L.ones(2, 4, dtype=L.float64)), A),
    (lambda L, x: x.index_fill(0, L.tensor([0, 3]), 1.), A),
    (lambda L, x: x.index_fill(0, L.tensor([0, -4]), 1.), A),
    (lambda L, x: x.index_fill(0, L.tensor([0, 1]), L.tensor([1., 2])), A),
    (lambda L, x: x.index_fill(1, L.tensor([0, 1], dtype=L.int32), 2), A),
    (lambda L, x: x.index_put((L.tensor([0, 3]),), L.tensor(1., dtype=L.float64)), A),
    (lambda L, x: x.index_put((L.tensor([0, -4]),), L.tensor(1., dtype=L.float64)), A),
    (lambda L, x: x.index_put((L.tensor([0]),), L.tensor(1)), A),
    (lambda L, x: x.index_put((L.tensor([0.]),), L.tensor(1., dtype=L.float64)), A),
    (lambda L, x: x.index_put((L.tensor([0]),), 1.), A),
    (lambda L, x: x.index_put(L.tensor([0]), L.tensor(1., dtype=L.float64)), A),
    (lambda L, x: x.masked_scatter(L.ones(3, 3, dtype=L.bool), L.ones(4, dtype=L.float64)), A),
    (lambda L, x: x.masked_scatter(L.ones(3, 3), L.ones(9, dtype=L.float64)), A),
    (lambda L, x: x.masked_scatter(L.ones(3, dtype=L.bool), L.ones(10)), A),
    (lambda L, x: x.take(L.tensor([9])), A),
    (lambda L, x: x.take(L.tensor([-10])), A),
    (lambda L, x: x.take(L.tensor([1.])), A),
    (lambda L, x: x.put(L.tensor([9]), L.ones(1, dtype=L.float64)), A),
    (lambda L, x: x.put(L.tensor([1, 2]), L.ones(1, dtype=L.float64)), A),
    (lambda L, x: x.put(L.tensor([1]), L.ones(1, dtype=L.long)), A),
    (lambda L, x: x.put(L.tensor([0], dtype=L.int32), L.ones(1, dtype=L.float64)), A),
    (lambda L, x: x.movedim((0, 1), (0,)), A),
    (lambda L, x: x.movedim((0, 0), (0, 1)), A),
    (lambda L, x: x.movedim(0, 5), A),
    (lambda L, x: x.rot90(1, [0, 1, 2]), A),
    (lambda L, x: x[0].rot90(), A),
    (lambda L, x: x.rot90(1, [0, -2]), A),
    (lambda L, x: x[0].fliplr(), A),
    (lambda L, x: x[0, 0].flipud(), A),
    (lambda L, x: x.tensor_split(0), A),
    (lambda L, x: x[0, 0].tensor_split(2), A),
    (lambda L, x: x.tensor_split(L.tensor([1.])), A),
    (lambda L, x: x.tensor_split(L.tensor([[1]])), A),
    (lambda L, x: x.hsplit(2), A),
    (lambda L, x: x[0, 0].hsplit(2), A),
    (lambda L, x: x.vsplit(0), A),
    (lambda L, x: x[0].vsplit(1), A),
    (lambda L, x: x.dsplit(1), A),
    (lambda L, x: L.meshgrid(x[0], x[0].long(), indexing="ij"), A),
    (lambda L, x: L.meshgrid(indexing="ij"), A),
    (lambda L, x: L.meshgrid(x[0], indexing="foo"), A),
    (lambda L, x: L.combinations(x), A),
    (lambda L, x: L.combinations(x[0], r=-1), A),
    (lambda L, x: L.cartesian_prod(x), A),
    (lambda L, x: L.dstack([]), A),
    (lambda L, x: x.repeat_interleave(L.tensor([1, 2]), dim=1), A),
    (lambda L, x: x.repeat_interleave(L.tensor([-1, 2, 1]), dim=0), A),
    (lambda L, x: x.repeat_interleave(L.tensor([1., 2, 1]), dim=0), A),
    (lambda L, x: x.repeat_interleave(L.tensor([1, 2, 1]), dim=0, output_size=3), A),
    (lambda L, x: x.repeat_interleave(-1), A),
    (lambda L, x: x.repeat_interleave(L.tensor([[1, 2, 1]]), dim=0), A),
    (lambda L, x: x.roll((1, 2)), A),
    (lambda L, x: x.roll((1, 2), (0,)), A),
    (lambda L, x: x.roll(1, 5), A),
]


@pytest.mark.parametrize("case", range(len(ERRORS)))
def test_errors_match_torch(case):
    fn, arr = ERRORS[case]
    assert_same_error(fn, arr)


# ------------------------------------------------------------------ shape ops
X = RNG.standard_normal((2, 3, 4))
SHAPE_CASES = [
    lambda L, x: [x.rot90(k, d) for k in range(-1, 5) for d in ([0, 1], [2, 0], [-1, -2])],
    lambda L, x: L.rot90(x),
    lambda L, x: [x.movedim(0, -1), L.movedim(x, (0, 1), (2, 0)), L.moveaxis(x, -1, 0)],
    lambda L, x: [x.fliplr(), L.flipud(x), x.flip(0, 2), L.flip(x, (-1,))],
    lambda L, x: [x.tile((2,)), L.tile(x, (2, 1, 1, 2)), x.tile(3, 1)],
    lambda L, x: x.tensor_split(3, dim=2),
    lambda L, x: L.tensor_split(x, [1, 5, -1, 2], dim=-1),
    lambda L, x: x.tensor_split(L.tensor([0, 2]), 1),
    lambda L, x: x.tensor_split(L.tensor(2), 1),
    lambda L, x: [x.hsplit(3), L.vsplit(x, [1]), x.dsplit(2), x[0, 0].hsplit([1, 3])],
    lambda L, x: [L.hstack([x, x[:, :1]]), L.vstack([x[0, 0], x[1, 1]]), L.row_stack([x[0], x[1, :1]]),
                  L.dstack([x[0], x[1]]), L.column_stack([x[0, :, 0], x[0, :, :2]])],
    lambda L, x: [L.hstack([x[0, 0, 0], x[0, 0]]), L.dstack([x[0, 0], x[1, 1]])],
    lambda L, x: [*L.meshgrid(x[0, 0], x[0, 1, :3], x[1, 1, :2], indexing="xy"),
                  *L.meshgrid([x[0, 0], x[1, 0, 0]], indexing="ij")],
    lambda L, x: [L.cartesian_prod(x[0, 0], x[1, 0, :2]), L.cartesian_prod(x[0, 0])],
    lambda L, x: [L.combinations(x[0, 0]), L.combinations(x[0, 0], 3),
                  L.combinations(x[0, 0, :3], 2, with_replacement=True), L.combinations(x[0, 0], 5)],
    lambda L, x: [x.repeat_interleave(2), L.repeat_interleave(x, L.tensor([1, 0, 3]), dim=1),
                  x.repeat_interleave(L.tensor([2]), dim=-1, output_size=8)],
    lambda L, x: [x.roll((1, -2), (0, 2)), L.roll(x, 5), x.roll(-1, 1), x.roll((1, 1), (2, 2))],
    lambda L, x: [x.swapaxes(0, 2), L.swapdims(x, -1, 1), x.unflatten(2, (2, -1))],
    lambda L, x: [*x.split([1, 3], 2), *L.split(x, 2, -1), *x.chunk(3, 1), *L.unbind(x, 1)],
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", range(len(SHAPE_CASES)))
def test_shape_ops_values_and_grads(case, dtype):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_against_torch(SHAPE_CASES[case], [X], dtype=dtype)


def test_meshgrid_refuses_2d_inputs():
    with pytest.raises(RuntimeError, match="Expected 0D or 1D tensor in the tensor list but got"):
        ember.meshgrid(ember.zeros(2, 2), ember.zeros(2), indexing="ij")


def test_meshgrid_warns_without_indexing():
    with pytest.warns(UserWarning, match="it will be required to pass the indexing argument"):
        ember.meshgrid(ember.arange(2), ember.arange(3))


def test_repeat_interleave_of_repeats_alone():
    assert ember.repeat_interleave(ember.tensor([1, 0, 3])).tolist() == \
        torch.repeat_interleave(torch.tensor([1, 0, 3])).tolist()


@pytest.mark.parametrize("op, shares", [
    (lambda L, x: x.movedim(0, 2), True), (lambda L, x: x.tensor_split(2, 2)[1], True),
    (lambda L, x: L.meshgrid(x[0, 0], x[1, 0], indexing="xy")[0], True),
    (lambda L, x: x.hsplit(3)[2], True), (lambda L, x: x.unbind(1)[1], True),
    (lambda L, x: x.rot90(), False), (lambda L, x: x.fliplr(), False),
    (lambda L, x: x.tile(2), False), (lambda L, x: x.repeat_interleave(1), False),
])
def test_view_or_copy_as_torch(op, shares):
    for lib in (ember, torch):
        x = lib.tensor(X)
        y = op(lib, x)
        base = x._data if lib is ember else x.numpy()
        assert np.shares_memory(base, y._data if lib is ember else y.numpy()) == shares, lib.__name__


def test_roll_refuses_misaligned_shifts_regression():
    """regression: NumPy broadcast (1, 2) shifts against dims (0,) and rolled dim 0 by 3."""
    x = ember.arange(9.).reshape(3, 3)
    with pytest.raises(RuntimeError, match="shifts and dimensions must align. shifts: 2, dims:1"):
        x.roll((1, 2), (0,))
    with pytest.raises(RuntimeError, match="shifts and dimensions must align. shifts: 2, dims:0"):
        x.roll((1, 2))


def test_meshgrid_xy_with_three_inputs_regression():
    """regression (found while writing it): 'xy' swaps only the first two inputs/outputs."""
    a, b, c = (np.arange(n, dtype=float) for n in (4, 3, 2))
    for e, t in zip(ember.meshgrid(ember.tensor(a), ember.tensor(b), ember.tensor(c), indexing="xy"),
                    torch.meshgrid(torch.tensor(a), torch.tensor(b), torch.tensor(c), indexing="xy")):
        assert_close(e, t)


SHAPE_ERRORS = [
    lambda L, x: x.split(-1, 0), lambda L, x: x.split([2, -1], 0), lambda L, x: x.split(0, 0),
    lambda L, x: x[0, 0].split(1), lambda L, x: x[0, 0].chunk(1), lambda L, x: x[0, 0].unbind(),
    lambda L, x: x.unflatten(1, (2, -1)), lambda L, x: x.unflatten(1, ()),
    lambda L, x: x.unflatten(1, (-1, -1)), lambda L, x: x.flip(),
    lambda L, x: L.take(x[:0], L.tensor([0])),
    lambda L, x: x.index_put((L.tensor([0, 1]), L.tensor([0, 1, 2])), x[0, 0]),
    lambda L, x: L.zeros(3, 1).masked_scatter_(L.tensor([True, False, True]), L.arange(9.)),
    lambda L, x: L.zeros(3).masked_scatter_(L.tensor([[True], [False]]), L.arange(9.)),
]


@pytest.mark.parametrize("case", range(len(SHAPE_ERRORS)))
def test_shape_errors_match_torch_regression(case):
    """regression: these raised NumPy's or Python's errors (or none: split(-1) looped on
    negative sizes, flip() flipped every dim) instead of torch's."""
    assert_same_error(SHAPE_ERRORS[case], A, prefix=True)


def test_empty_split_and_chunk_as_torch():
    for lib in (ember, torch):
        assert len(lib.zeros(0).chunk(3)) == 3
        assert [tuple(p.shape) for p in lib.zeros(0).split(0)] == [(0,)]


def test_flip_and_tile_take_dims_by_keyword():
    x = np.arange(6.).reshape(2, 3)
    check_against_torch(lambda L, x: [L.flip(x, dims=[0, 1]), x.flip(dims=(1,)), L.tile(x, dims=(2,))],
                        [x])


def test_out_arguments():
    x = np.arange(6.).reshape(2, 3)
    for name, call in [
        ("hstack", lambda L, x, out: L.hstack([x, x], out=out)),
        ("vstack", lambda L, x, out: L.vstack([x, x], out=out)),
        ("dstack", lambda L, x, out: L.dstack([x, x], out=out)),
        ("column_stack", lambda L, x, out: L.column_stack([x, x], out=out)),
        ("index_add", lambda L, x, out: L.index_add(x, 0, L.tensor([1]), x[:1], alpha=2, out=out)),
        ("index_copy", lambda L, x, out: L.index_copy(x, 1, L.tensor([2, 0]), x[:, :2], out=out)),
        ("gather", lambda L, x, out: L.gather(x, 1, L.tensor([[2, 0]]), out=out)),
        ("take_along_dim", lambda L, x, out: L.take_along_dim(x, L.tensor([[2], [0]]), 1, out=out)),
    ]:
        results = []
        for lib in (ember, torch):
            out = lib.empty(0, dtype=lib.float64)  # (resizing a non-empty out warns in torch)
            res = call(lib, lib.tensor(x), out)
            assert res is out, name
            results.append(out)
        assert_close(*results, what=name)


def test_gather_takes_sparse_grad_keyword():
    """regression: gather(..., sparse_grad=False), torch's full signature, was a TypeError."""
    x = np.arange(6.).reshape(2, 3)
    check_against_torch(lambda L, x: L.gather(x, 1, L.tensor([[2, 0]]), sparse_grad=False), [x])
    with pytest.raises(NotImplementedError, match="sparse"):
        ember.tensor(x).gather(1, ember.tensor([[0]]), sparse_grad=True)


def test_index_ops_double_backward():
    """Second derivatives through the affine index ops (a product makes them nonzero)."""
    rng = np.random.default_rng(3)
    a = ember.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    s = ember.tensor(rng.standard_normal((3, 3)), requires_grad=True)
    i = ember.tensor([1, 3, 1])
    m = ember.tensor(np.arange(12).reshape(4, 3) % 2 == 0)  # 6 ones: fewer than s's 9 values
    cases = [
        lambda a, s: a.index_add(0, i, s * s, alpha=2.0) * a,
        lambda a, s: a.index_copy(0, ember.tensor([1, 3, 0]), s * s) * a,
        lambda a, s: a.index_fill(1, ember.tensor([0, 2]), -1.0) * a * s.sum(),
        lambda a, s: a.masked_scatter(m, s * s) * a,
        lambda a, s: (a.take(ember.tensor([[0, -1], [5, 5]])) * s[:2, :2]) ** 2,
        lambda a, s: a.put(i, s[0] * s[1], accumulate=True) * a,
        lambda a, s: a.index_put((i,), s * s, accumulate=True) * a,
    ]
    for fn in cases:
        assert ember.autograd.gradgradcheck(fn, (a, s))


@pytest.mark.parametrize("reduce", ["sum", "mean"])
def test_scatter_reduce_double_backward(reduce):
    rng = np.random.default_rng(4)
    a = ember.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    s = ember.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    index = ember.tensor(rng.integers(0, 4, (5, 3)))
    for include_self in (True, False):
        assert ember.autograd.gradgradcheck(
            lambda a, s: a.scatter_reduce(0, index, s * s, reduce, include_self=include_self) * a,
            (a, s))
    y = a.scatter_reduce(0, index, s, reduce)
    assert type(y.grad_fn).__name__ == "ScatterReduceBackward0" or \
        y.grad_fn.name() == "ScatterReduceBackward0"


ADVANCED_INDEX_ERRORS = [
    lambda L, x: x[L.tensor([5])], lambda L, x: x[:, L.tensor([-5])],
    lambda L, x: x[L.tensor([0, 1]), L.tensor([0, 1, 2])], lambda L, x: x[[0, 9]],
    lambda L, x: x[:, :, L.tensor([9])], lambda L, x: x[:, L.tensor([0]), L.tensor([9])],
    lambda L, x: x[..., L.tensor([9])], lambda L, x: x[None, :, L.tensor([9])],
    lambda L, x: x[0, L.tensor([9])], lambda L, x: x[L.tensor([True, False, True]), L.tensor([9])],
    lambda L, x: x[L.tensor([True, False])], lambda L, x: x[:, L.tensor([[True, False, True, True]] * 3)],
    lambda L, x: x[0, L.tensor([True, False])], lambda L, x: x[5, L.tensor([0])],
    lambda L, x: x[L.tensor([0]), 7], lambda L, x: x[L.tensor([[0]]), :, L.tensor([0, 1]), L.tensor([1])],
    lambda L, x: x[L.tensor([1, 2]), None, L.tensor([-5, 3])],
    lambda L, x: x.__setitem__(L.tensor([7]), 1.), lambda L, x: x.__setitem__((L.tensor([0]), 9), 2.),
    lambda L, x: x.__setitem__(5, 2.), lambda L, x: x.__setitem__((slice(None), 7), 2.),
]


@pytest.mark.parametrize("case", range(len(ADVANCED_INDEX_ERRORS)))
def test_advanced_index_errors_regression(case):
    """regression: x[index tensor] out of range, masks of the wrong shape and index tensors
    that do not broadcast raised NumPy's messages ("for axis 0") instead of torch's."""
    assert_same_error(lambda L, x: ADVANCED_INDEX_ERRORS[case](L, L.zeros(3, 4, 5)), A)


def test_split_overload_keywords():
    """torch's tensor_split/hsplit keyword names (sections=, indices=, ...) work as in torch."""
    x = np.arange(12.).reshape(2, 6)
    check_against_torch(lambda L, x: [*x.tensor_split(sections=4, dim=1),
                                      *L.tensor_split(x, indices=[1, 4], dim=1),
                                      *x.tensor_split(tensor_indices_or_sections=L.tensor(2)),
                                      *L.hsplit(x, sections=2), *x.vsplit(indices=[1])], [x])
    with pytest.raises(TypeError):
        ember.zeros(4).tensor_split(2, sections=2)
