"""Every differentiable tensor op against torch: values and gradients, float64 and float32,
broadcasting shapes from hypothesis, and gradcheck."""
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import ember
from tests.helpers import check_against_torch, same_error

DTYPES = ["float64", "float32"]


def arr(rng, *shape, positive=False):
    a = rng.standard_normal(shape)
    return np.abs(a) + 0.5 if positive else a


BINARY = {
    "add": lambda lib, a, b: a + b,
    "sub": lambda lib, a, b: a - b,
    "mul": lambda lib, a, b: a * b,
    "div": lambda lib, a, b: a / b,
    "pow": lambda lib, a, b: lib.pow(a.abs() + 0.5, b),
    "maximum": lambda lib, a, b: lib.maximum(a, b),
    "minimum": lambda lib, a, b: lib.minimum(a, b),
    "add_alpha": lambda lib, a, b: lib.add(a, b, alpha=2.5),
    "sub_alpha": lambda lib, a, b: lib.sub(a, b, alpha=-0.5),
    "where": lambda lib, a, b: lib.where(a > 0, a, b),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", sorted(BINARY))
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4))
def test_binary_broadcasting(op, dtype, shapes):
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal(s) for s in shapes.input_shapes)
    if op == "div":
        b = np.where(np.abs(b) < 0.3, 0.7, b)
    check_against_torch(BINARY[op], [a, b], dtype)


UNARY = {
    "neg": (lambda lib, a: -a, False),
    "abs": (lambda lib, a: a.abs(), False),
    "exp": (lambda lib, a: a.exp(), False),
    "log": (lambda lib, a: a.log(), True),
    "log1p": (lambda lib, a: a.log1p(), True),
    "sqrt": (lambda lib, a: a.sqrt(), True),
    "rsqrt": (lambda lib, a: a.rsqrt(), True),
    "sin": (lambda lib, a: a.sin(), False),
    "cos": (lambda lib, a: a.cos(), False),
    "tanh": (lambda lib, a: a.tanh(), False),
    "sigmoid": (lambda lib, a: a.sigmoid(), False),
    "clamp": (lambda lib, a: a.clamp(-0.5, 0.7), False),
    "clamp_min": (lambda lib, a: lib.clamp(a, min=0.1), False),
    "clip_max": (lambda lib, a: a.clip(max=0.2), False),
    "pow_scalar": (lambda lib, a: a ** 3, False),
    "rpow": (lambda lib, a: 2.0 ** a, False),
    "rsub": (lambda lib, a: 1 - a, False),
    "rdiv": (lambda lib, a: 2 / a, True),
    "square": (lambda lib, a: a.square(), False),
    "log2": (lambda lib, a: a.log2(), True),
    "sign": (lambda lib, a: a.sign() * a, False),
    "reciprocal": (lambda lib, a: a.reciprocal(), True),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", sorted(UNARY))
def test_unary(op, dtype, rng):
    fn, positive = UNARY[op]
    check_against_torch(fn, [arr(rng, 3, 4, positive=positive)], dtype)


def test_clamp_gradient_at_bounds():
    a = np.array([-1.0, -0.5, 0.0, 0.7, 1.0])
    check_against_torch(lambda lib, x: x.clamp(-0.5, 0.7), [a])


def test_maximum_ties_split_gradient():
    a = np.array([1.0, 2.0, 3.0])
    b = np.array([1.0, 1.0, 4.0])
    check_against_torch(lambda lib, x, y: lib.maximum(x, y), [a, b])


REDUCE = {
    "sum": lambda lib, a: a.sum(),
    "sum_dim": lambda lib, a: a.sum(1),
    "sum_dims_keep": lambda lib, a: a.sum((0, 2), keepdim=True),
    "mean": lambda lib, a: a.mean(),
    "mean_dim": lambda lib, a: a.mean(-1, keepdim=True),
    "prod": lambda lib, a: a.prod(),
    "prod_dim": lambda lib, a: a.prod(1),
    "max": lambda lib, a: a.max(),
    "max_dim": lambda lib, a: a.max(1),
    "min_dim_keep": lambda lib, a: a.min(2, keepdim=True),
    "amax": lambda lib, a: a.amax((0, 1)),
    "amin": lambda lib, a: a.amin(-1),
    "var": lambda lib, a: a.var(),
    "var_dim": lambda lib, a: a.var(1, unbiased=False),
    "var_correction": lambda lib, a: a.var(dim=(0, 2), correction=0, keepdim=True),
    "std": lambda lib, a: a.std(0),
    "logsumexp": lambda lib, a: a.logsumexp(1),
    "norm": lambda lib, a: a.norm(),
    "norm_dim": lambda lib, a: a.norm(dim=1),
    "norm_p1": lambda lib, a: a.norm(p=1, dim=2),
    "norm_p3": lambda lib, a: a.norm(p=3),
    "norm_inf": lambda lib, a: a.norm(p=float("inf"), dim=0),
    "cumsum": lambda lib, a: a.cumsum(1),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", sorted(REDUCE))
def test_reductions(op, dtype, rng):
    check_against_torch(REDUCE[op], [arr(rng, 2, 3, 4)], dtype)


def test_prod_with_zero():
    a = np.array([[1.0, 0.0, 3.0], [2.0, 0.0, 0.0]])
    check_against_torch(lambda lib, x: x.prod(1), [a])
    check_against_torch(lambda lib, x: x.prod(), [np.array([2.0, 0.0, 3.0])])


def test_max_ties_and_nan():
    a = np.array([[1.0, 3.0, 3.0], [np.nan, 1.0, 2.0]])
    check_against_torch(lambda lib, x: x.max(1), [a])
    check_against_torch(lambda lib, x: x.amax(1), [np.array([[1.0, 3.0, 3.0]])])
    check_against_torch(lambda lib, x: x.max(), [np.array([[1.0, 3.0, 3.0]])])


def test_logsumexp_large_values():
    a = np.array([[1e4, 1e4 - 1], [-1e4, 0.0]], dtype=np.float32)
    check_against_torch(lambda lib, x: x.logsumexp(1), [a], "float32")


SHAPE = {
    "reshape": lambda lib, a: a.reshape(4, 6),
    "reshape_infer": lambda lib, a: a.reshape(-1, 2),
    "view": lambda lib, a: a.view(2, 12),
    "flatten": lambda lib, a: a.flatten(1),
    "unflatten": lambda lib, a: a.unflatten(2, (2, 2)),
    "permute": lambda lib, a: a.permute(2, 0, 1),
    "transpose": lambda lib, a: a.transpose(0, 2),
    "T_2d": lambda lib, a: a[0].t(),
    "squeeze": lambda lib, a: a[:, :1].squeeze(),
    "squeeze_dim": lambda lib, a: a[:, :1].squeeze(1),
    "unsqueeze": lambda lib, a: a.unsqueeze(-1),
    "expand": lambda lib, a: a[:, :1].expand(2, 3, 4),
    "expand_new_dim": lambda lib, a: a.expand(5, 2, 3, 4),
    "repeat": lambda lib, a: a.repeat(2, 1, 3),
    "repeat_more_dims": lambda lib, a: a.repeat(2, 1, 1, 2),
    "flip": lambda lib, a: a.flip(0, 2),
    "roll": lambda lib, a: a.roll(1, 2),
    "roll_flat": lambda lib, a: a.roll(5),
    "roll_multi": lambda lib, a: a.roll((1, -1), (0, 1)),
    "cat": lambda lib, a: lib.cat([a, a * 2], 1),
    "stack": lambda lib, a: lib.stack([a, a * 2], -1),
    "split": lambda lib, a: a.split(2, dim=2),
    "split_sizes": lambda lib, a: a.split([1, 2], dim=1),
    "chunk": lambda lib, a: a.chunk(3, 2),
    "unbind": lambda lib, a: a.unbind(1),
    "narrow": lambda lib, a: a.narrow(2, 1, 2),
    "contiguous": lambda lib, a: a.transpose(0, 1).contiguous(),
    "clone": lambda lib, a: a.clone(),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", sorted(SHAPE))
def test_shape_ops(op, dtype, rng):
    check_against_torch(SHAPE[op], [arr(rng, 2, 3, 4)], dtype)


INDEX = {
    "int": lambda lib, a: a[1],
    "slice": lambda lib, a: a[:, 1:3],
    "step": lambda lib, a: a[..., ::2],
    "negative": lambda lib, a: a[-1, :, -2],
    "none": lambda lib, a: a[None, 0, :, None],
    "int_array": lambda lib, a: a[lib.tensor([0, 1, 1])],
    "list_dup": lambda lib, a: a[:, [2, 0, 2]],
    "bool_mask": lambda lib, a: a[a > 0],
    "mixed": lambda lib, a: a[lib.tensor([1, 0]), :, lib.tensor([3, 3])],
    "gather": lambda lib, a: a.gather(2, lib.tensor([[[0, 3], [1, 1], [2, 0]]] * 2)),
    "index_select": lambda lib, a: a.index_select(1, lib.tensor([2, 0, 2])),
    "masked_fill": lambda lib, a: a.masked_fill(a > 0.5, -1.0),
    "masked_select": lambda lib, a: a.masked_select(a < 0),
    "scatter": lambda lib, a: a.scatter(2, lib.tensor([[[0, 3], [1, 2], [2, 0]]] * 2), a[:, :, :2] * 3),
    "scatter_add": lambda lib, a: a.scatter_add(2, lib.tensor([[[0, 0], [1, 1], [2, 0]]] * 2), a[:, :, :2]),
    "sort": lambda lib, a: a.sort(1)[0],
    "sort_desc": lambda lib, a: a.sort(-1, descending=True),
    "topk": lambda lib, a: a.topk(2, dim=2),
    "topk_smallest": lambda lib, a: a.topk(2, dim=0, largest=False).values,
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", sorted(INDEX))
def test_indexing(op, dtype, rng):
    check_against_torch(INDEX[op], [arr(rng, 2, 3, 4)], dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_setitem_gradients(dtype, rng):
    def fn(lib, a, v):
        b = a * 1
        b[0, 1:] = v
        b[:, 0] = 2.0
        b[lib.tensor([1, 1])] = b[lib.tensor([1, 1])] * 3
        return b
    check_against_torch(fn, [arr(rng, 2, 3), arr(rng, 2)], dtype)


MATMUL = [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
          ((2, 3), (5, 3, 4)), ((5, 2, 3), (5, 3, 4)), ((2, 1, 2, 3), (5, 3, 2)), ((4,), (2, 4, 3))]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("sa,sb", MATMUL)
def test_matmul(sa, sb, dtype, rng):
    check_against_torch(lambda lib, a, b: a @ b, [arr(rng, *sa), arr(rng, *sb)], dtype)


def test_mm_bmm_names(rng):
    a, b = ember.randn(2, 3, requires_grad=True), ember.randn(3, 4)
    assert type(a.mm(b).grad_fn).__name__ == "MmBackward0"
    x, y = ember.randn(2, 2, 3, requires_grad=True), ember.randn(2, 3, 4)
    assert type(x.bmm(y).grad_fn).__name__ == "BmmBackward0"
    check_against_torch(lambda lib, p, q: lib.bmm(p, q), [arr(rng, 2, 2, 3), arr(rng, 2, 3, 4)])


def test_gradcheck_composite(rng):
    x = ember.tensor(arr(rng, 3, 4), requires_grad=True)
    w = ember.tensor(arr(rng, 4, 2), requires_grad=True)
    assert ember.autograd.gradcheck(
        lambda x, w: ((x @ w).tanh() * x[:, :2].sigmoid()).logsumexp(1) / (w.abs() + 1).sum(), (x, w))


def test_gradcheck_detects_wrong_gradient():
    class Bad(ember.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * a

        @staticmethod
        def backward(ctx, g):
            return g  # wrong: should be 2a*g

    x = ember.tensor([1.0, 2.0], dtype=ember.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="Jacobian mismatch"):
        ember.autograd.gradcheck(Bad.apply, (x,))


def test_type_promotion_matches_torch():
    cases = [
        lambda lib: lib.tensor([1, 2]) + 1.5,
        lambda lib: lib.tensor([1, 2]) / lib.tensor([2, 4]),
        lambda lib: lib.tensor([1.0], dtype=lib.float32) + lib.tensor([1.0], dtype=lib.float64),
        lambda lib: lib.tensor([1.0], dtype=lib.float32) + lib.tensor(1.0, dtype=lib.float64),
        lambda lib: lib.tensor([1, 2], dtype=lib.int32) + 5,
        lambda lib: lib.tensor([1, 2], dtype=lib.int32) + lib.tensor([1], dtype=lib.int64),
        lambda lib: lib.tensor([True, False]) + 1,
        lambda lib: lib.tensor([1, 2]) * lib.tensor([1.5], dtype=lib.float64),
        lambda lib: lib.tensor([1, 2], dtype=lib.uint8) + lib.tensor([1], dtype=lib.int8),
        lambda lib: lib.tensor([1.0], dtype=lib.float16) * 3,
        lambda lib: lib.tensor([3, 4]).exp(),
        lambda lib: lib.tensor([3, 4]).sum(),
        lambda lib: lib.tensor([True, True]).sum(),
        lambda lib: lib.tensor([3, 4]) ** 2,
        lambda lib: 2 ** lib.tensor([3, 4]),
    ]
    for make in cases:
        e, t = make(ember), make(torch)
        assert str(e.dtype).split(".")[1] == str(t.dtype).split(".")[1], (e.dtype, t.dtype)
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-3)


@given(a=hnp.arrays(np.float64, hnp.array_shapes(max_dims=3, max_side=5),
                    elements=st.floats(-100, 100)))
def test_sum_mean_property(a):
    check_against_torch(lambda lib, x: (x.sum(0) if x.ndim else x.sum()) * 2 + x.mean(), [a])


def test_bad_inputs_raise_like_torch():
    same_error(lambda lib: lib.ones(2, 3) + lib.ones(4, 3))
    same_error(lambda lib: lib.ones(2, 3) @ lib.ones(4, 3), match="cannot be multiplied")
    same_error(lambda lib: lib.ones(2, 3).view(4, 2), match="invalid for input of size 6")
    same_error(lambda lib: lib.ones(2, 3).transpose(0, 1).view(6), match="view size is not compatible")
    same_error(lambda lib: lib.ones(2, 3).sum(2), match="Dimension out of range")
    same_error(lambda lib: lib.ones(2, 3)[lib.tensor([0.5])])
    same_error(lambda lib: lib.ones(2, 3)[5], match="out of bounds")
    same_error(lambda lib: lib.ones(2, 3).gather(1, lib.tensor([[0.0, 1.0]])))
    same_error(lambda lib: lib.ones(2, 3).gather(1, lib.tensor([[0, 5]])))
    same_error(lambda lib: lib.cat([lib.ones(2, 3), lib.ones(2, 4)]), match="Sizes of tensors must match")
    same_error(lambda lib: lib.stack([lib.ones(2, 3), lib.ones(2, 4)]))
    same_error(lambda lib: lib.ones(2, 3).expand(4, 3))
    same_error(lambda lib: lib.tensor([1, 2]).mean(), match="mean\\(\\): could not infer output dtype")
    same_error(lambda lib: lib.ones(2, 3, dtype=lib.float32) @ lib.ones(3, 2, dtype=lib.float64))
    same_error(lambda lib: lib.ones(3).masked_fill(lib.tensor([1, 0, 1]), 0.0))
    same_error(lambda lib: lib.ones(2).reshape(-1, -1))
    same_error(lambda lib: bool(lib.ones(2)))
