"""Products and matrix structure (issue 11, group G2): einsum, tensordot, outer, kron, cross,
addmm & co, diagonal, diag_embed, triu/tril, trace - values and gradients against torch."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from ember.autograd import gradcheck
from tests.helpers import check_against_torch

rng = np.random.default_rng(0)


def r(*shape):
    return rng.standard_normal(shape)


EINSUM_CASES = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("ij,jk", [(3, 4), (4, 5)]),                 # implicit output
    ("ba,ac", [(3, 4), (4, 2)]),
    ("bA", [(3, 2)]),                            # uppercase sorts first in the implicit output
    ("ii->i", [(3, 3)]),                          # diagonal
    ("ii", [(3, 3)]),                             # trace
    ("iij->ij", [(3, 3, 2)]),
    ("i,i->i", [(1,), (3,)]),                     # size-1 broadcast of a named dim
    ("...ij->...ji", [(5, 2, 3)]),
    ("ij...", [(2, 3, 5)]),                       # implicit: ellipsis dims first
    ("b...ij,b...jk->b...ik", [(2, 1, 3, 4), (2, 5, 4, 2)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ijk->", [(2, 3, 4)]),
    ("ij,ij->", [(3, 4), (3, 4)]),
    ("ij->j", [(3, 4)]),
    ("bij,bjk,bkl->bil", [(2, 3, 4), (2, 4, 5), (2, 5, 3)]),
    ("i,ij->j", [(3,), (3, 4)]),
    ("ij,k->ijk", [(2, 3), (4,)]),
]


@pytest.mark.parametrize("eq,shapes", EINSUM_CASES)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_einsum_matches_torch(eq, shapes, dtype):
    check_against_torch(lambda lib, *xs: lib.einsum(eq, *xs), [r(*s) for s in shapes], dtype)


def test_einsum_list_and_sublist_forms():
    a, b = r(2, 3), r(3, 4)
    check_against_torch(lambda lib, x, y: lib.einsum("ij,jk", [x, y]), [a, b])
    check_against_torch(lambda lib, x, y: lib.einsum(x, [0, 1], y, [1, 2], [0, 2]), [a, b])
    check_against_torch(lambda lib, x, y: lib.einsum(x, [Ellipsis, 1], y, [1, 2]), [a, b])


def test_einsum_gradcheck_repeated_and_summed_indices():
    a = ember.tensor(r(3, 3, 2), requires_grad=True)
    b = ember.tensor(r(2, 4), requires_grad=True)
    assert gradcheck(lambda x, y: ember.einsum("iij,jk->ik", x, y), (a, b))
    assert gradcheck(lambda x, y: ember.einsum("ijk,kl->", x, y), (a, b))


@pytest.mark.parametrize("eq,shapes", [("ij,jk", [(2, 3), (2, 3)]), ("ij", [(2, 3), (2, 3)]),
                                       ("ijk", [(2, 3)]), ("ij->ik", [(2, 3)]), ("ij,j", [(2, 3)])])
def test_einsum_errors_match_torch(eq, shapes):
    with pytest.raises(RuntimeError) as t_err:
        torch.einsum(eq, *[torch.zeros(s) for s in shapes])
    with pytest.raises(RuntimeError) as e_err:
        ember.einsum(eq, *[ember.zeros(s) for s in shapes])
    assert str(e_err.value) == str(t_err.value)


def test_einsum_mixed_dtypes_raise_like_torch():
    with pytest.raises(RuntimeError, match="expected scalar type Float but found Double"):
        ember.einsum("ij,jk", ember.zeros(2, 2), ember.zeros(2, 2, dtype=ember.float64))


@pytest.mark.parametrize("dims", [2, 1, 0, ([1, 0], [0, 1]), ([2], [0]), [[-1], [0]]])
def test_tensordot(dims):
    a, b = r(3, 4, 2), r(2, 4, 3) if dims != ([2], [0]) and dims != [[-1], [0]] else r(2, 5)
    if dims == 2:
        a, b = r(3, 4, 2), r(4, 2, 5)
    if dims == 1:
        a, b = r(3, 4, 2), r(2, 5)
    if dims == ([1, 0], [0, 1]):
        a, b = r(3, 4, 2), r(4, 3, 5)
    check_against_torch(lambda lib, x, y: lib.tensordot(x, y, dims=dims), [a, b])


@pytest.mark.parametrize("name,shapes", [("outer", [(3,), (4,)]), ("ger", [(3,), (4,)]),
                                         ("inner", [(2, 3), (4, 3)]), ("inner", [(3,), (3,)]),
                                         ("kron", [(2, 3), (3, 2)]), ("kron", [(2,), (2, 3, 1)]),
                                         ("vdot", [(3,), (3,)]), ("dot", [(3,), (3,)])])
def test_small_products(name, shapes):
    check_against_torch(lambda lib, x, y: getattr(lib, name)(x, y), [r(*s) for s in shapes])
    check_against_torch(lambda lib, x, y: getattr(x, name)(y), [r(*s) for s in shapes], "float32")


def test_kron_promotes_like_torch():
    out = ember.kron(ember.ones(2), ember.ones(2, dtype=ember.float64))
    assert out.dtype is ember.float64 and out.shape == (4,)


@pytest.mark.filterwarnings("ignore:Using torch.cross without")
@pytest.mark.parametrize("shapes,dim", [([(4, 3), (4, 3)], 1), ([(3, 2), (3, 2)], None),
                                        ([(2, 3), (1, 3)], -1), ([(3, 3), (3, 3)], None)])
def test_cross(shapes, dim):
    # dim=None: the first dim of size 3 (torch warns that this default is deprecated)
    check_against_torch(lambda lib, x, y: lib.cross(x, y, dim=dim), [r(*s) for s in shapes])
    check_against_torch(lambda lib, x, y: lib.linalg.cross(x, y), [r(2, 3), r(2, 3)])


@pytest.mark.parametrize("name,shapes", [("addmm", [(3, 5), (3, 4), (4, 5)]),
                                         ("addmm", [(5,), (3, 4), (4, 5)]),
                                         ("addmv", [(3,), (3, 4), (4,)]),
                                         ("baddbmm", [(2, 3, 5), (2, 3, 4), (2, 4, 5)]),
                                         ("addbmm", [(3, 5), (2, 3, 4), (2, 4, 5)])])
@pytest.mark.parametrize("beta,alpha", [(1, 1), (0.5, 2.0)])
def test_add_products(name, shapes, beta, alpha):
    check_against_torch(lambda lib, i, a, b: getattr(lib, name)(i, a, b, beta=beta, alpha=alpha),
                        [r(*s) for s in shapes])


def test_addmm_beta_zero_ignores_nan_input():
    nan = np.full((2, 2), np.nan)
    res = ember.addmm(ember.tensor(nan), ember.eye(2, dtype=ember.float64),
                      ember.eye(2, dtype=ember.float64), beta=0)
    assert np.array_equal(res.numpy(), np.eye(2))


@pytest.mark.parametrize("n", [0, 1, 2, 3, 5, -1, -2])
def test_matrix_power(n):
    a = r(2, 3, 3) + 3 * np.eye(3)
    check_against_torch(lambda lib, x: lib.matrix_power(x, n), [a])
    check_against_torch(lambda lib, x: lib.linalg.matrix_power(x, n), [a])


@pytest.mark.parametrize("offset,d1,d2", [(0, 0, 1), (1, 0, 1), (-1, 0, 1), (2, 1, 2), (0, -1, 0),
                                          (5, 0, 1)])
def test_diagonal_values_grads_and_view(offset, d1, d2):
    check_against_torch(lambda lib, x: lib.diagonal(x, offset, d1, d2), [r(3, 4, 5)])
    x = ember.zeros(3, 4, 5)
    d = x.diagonal(offset, d1, d2)
    if d.numel():
        d.fill_(1.0)  # a view, as in torch: writes reach the base
        t = torch.zeros(3, 4, 5)
        t.diagonal(offset, d1, d2).fill_(1.0)
        assert np.array_equal(x.numpy(), t.numpy())


@pytest.mark.parametrize("offset,d1,d2", [(0, -2, -1), (1, 0, 2), (-2, 1, 0)])
def test_diag_embed(offset, d1, d2):
    check_against_torch(lambda lib, x: lib.diag_embed(x, offset, d1, d2), [r(2, 3)])


@pytest.mark.parametrize("shape,k", [((4,), 0), ((4,), 1), ((4,), -2), ((3, 4), 0), ((3, 4), 1),
                                     ((3, 4), -1)])
def test_diag(shape, k):
    check_against_torch(lambda lib, x: lib.diag(x, k), [r(*shape)])


@pytest.mark.parametrize("name", ["triu", "tril"])
@pytest.mark.parametrize("k", [0, 1, -1, 7])
def test_triangles(name, k):
    check_against_torch(lambda lib, x: getattr(lib, name)(x, k), [r(2, 3, 4)])
    a = r(3, 4)
    x, t = ember.tensor(a), torch.tensor(a)
    getattr(x, name + "_")(k)
    getattr(t, name + "_")(k)
    assert np.array_equal(x.numpy(), t.numpy())


def test_trace_and_errors():
    check_against_torch(lambda lib, x: lib.trace(x), [r(3, 4)])
    for f in (lambda lib: lib.trace(lib.ones(2, 2, 2)), lambda lib: lib.triu(lib.ones(3)),
              lambda lib: lib.diag(lib.ones(2, 2, 2)), lambda lib: lib.ones(2, 3).diagonal(0, 0, 0),
              lambda lib: lib.outer(lib.ones(2, 3), lib.ones(2))):
        with pytest.raises(RuntimeError) as t_err:
            f(torch)
        with pytest.raises(RuntimeError) as e_err:
            f(ember)
        assert str(e_err.value) == str(t_err.value)


@pytest.mark.parametrize("row,col,offset", [(3, 3, 0), (4, 3, 1), (3, 5, -1), (0, 3, 0)])
def test_triangle_indices(row, col, offset):
    for name in ("triu_indices", "tril_indices"):
        e, t = getattr(ember, name)(row, col, offset), getattr(torch, name)(row, col, offset)
        assert e.dtype is ember.int64
        assert np.array_equal(e.numpy(), t.numpy())


def _same_error(fn):
    with pytest.raises(RuntimeError) as t_err:
        fn(torch)
    with pytest.raises(RuntimeError) as e_err:
        fn(ember)
    assert str(e_err.value) == str(t_err.value)


def test_mv_rejects_a_matrix_vector_regression():
    # regression: mv went through matmul and silently returned a matrix product for a 2-D vec
    _same_error(lambda lib: lib.mv(lib.ones(2, 3), lib.ones(3, 1)))
    _same_error(lambda lib: lib.mv(lib.ones(3), lib.ones(3)))


def test_addmm_input_does_not_grow_the_result_regression():
    # regression: beta * input + product broadcast both ways, so a batched input silently
    # turned addmm into a batched result; torch only expands the input
    with pytest.raises(RuntimeError, match="number of sizes provided"):
        torch.addmm(torch.ones(2, 3, 5), torch.ones(3, 4), torch.ones(4, 5))
    with pytest.raises(RuntimeError, match="number of sizes provided"):
        ember.addmm(ember.ones(2, 3, 5), ember.ones(3, 4), ember.ones(4, 5))
    _same_error(lambda lib: lib.addbmm(lib.ones(3, 3), lib.ones(2, 2, 4), lib.ones(2, 4, 3)))


@pytest.mark.parametrize("fn", [
    lambda lib: lib.dot(lib.ones(3), lib.ones(3, dtype=lib.float64)),
    lambda lib: lib.vdot(lib.ones(3), lib.ones(3, dtype=lib.float64)),
    lambda lib: lib.dot(lib.ones(3), lib.ones(2)),
    lambda lib: lib.inner(lib.ones(3), lib.ones(3, dtype=lib.float64)),
    lambda lib: lib.tensordot(lib.ones(2, 3), lib.ones(2, 3), 1),
    lambda lib: lib.tensordot(lib.ones(2, 3), lib.ones(2, 3), ([1], [0])),
    lambda lib: lib.addmm(lib.ones(2, 2, dtype=lib.float64), lib.ones(2, 2), lib.ones(2, 2)),
    lambda lib: lib.addmv(lib.ones(2, dtype=lib.float64), lib.ones(2, 2), lib.ones(2)),
    lambda lib: lib.addmv(lib.ones(2, 2), lib.ones(2, 2), lib.ones(2)),
    lambda lib: lib.baddbmm(lib.ones(2, dtype=lib.float64), lib.ones(1, 2, 2), lib.ones(1, 2, 2)),
    lambda lib: lib.tensordot(lib.ones(2), lib.ones(2), -1),
    lambda lib: lib.cross(lib.ones(2, 4), lib.ones(2, 4), dim=1),
])
def test_product_errors_match_torch(fn):
    _same_error(fn)


def test_outer_promotes_like_torch():
    assert ember.outer(ember.ones(3), ember.arange(2)).dtype is ember.float32
    assert ember.outer(ember.ones(3), ember.ones(2, dtype=ember.float64)).dtype is ember.float64
    with pytest.raises(ValueError):
        ember.einsum("ij,jk")


def test_einsum_repeated_subscript_sizes_must_match_regression():
    # regression: 'ii' over a (3, 1) operand broadcast the 1 silently; torch raises
    _same_error(lambda lib: lib.einsum("cEE", lib.ones(3, 1, 2)))
    _same_error(lambda lib: lib.einsum("bcb,EE", lib.ones(1, 3, 3), lib.ones(3, 3)))


def _random_equation(gen):
    """A random einsum over letters 'abcdE': 1-3 operands, repeated letters, size-1
    broadcasting, ellipses, implicit or explicit output."""
    size = {c: int(gen.integers(1, 4)) for c in "abcdE"}
    ell_shape = tuple(int(x) for x in gen.integers(1, 3, size=gen.integers(0, 3)))
    use_ell = gen.random() < 0.3
    terms, shapes = [], []
    for _ in range(int(gen.integers(1, 4))):
        t = "".join(gen.choice(list("abcdE"), size=int(gen.integers(0, 4))))
        shape = [size[c] for c in t]
        if use_ell and gen.random() < 0.7:
            pos, n = int(gen.integers(0, len(t) + 1)), int(gen.integers(0, len(ell_shape) + 1))
            t, shape = t[:pos] + "..." + t[pos:], shape[:pos] + list(ell_shape[len(ell_shape) - n:]) + shape[pos:]
        terms.append(t)
        shapes.append(tuple(shape))
    eq = ",".join(terms)
    if gen.random() < 0.5:
        used = sorted(set("".join(terms).replace(".", "")))
        out = "".join(gen.permutation(used)[: gen.integers(0, len(used) + 1)])
        eq += "->" + ("..." if "..." in eq and gen.random() < 0.7 else "") + out
    return eq, shapes


def test_einsum_random_equations_match_torch():
    gen = np.random.default_rng(2026)
    for _ in range(60):
        eq, shapes = _random_equation(gen)
        arrays = [gen.standard_normal(s) for s in shapes]
        check_against_torch(lambda lib, *xs: lib.einsum(eq, *xs), arrays)


def test_eye_forms():
    for args, kw in (((3,), {}), ((2, 4), {}), ((3,), dict(dtype=ember.int64)), ((0, 2), {})):
        tkw = {k: getattr(torch, v.name) for k, v in kw.items()}
        e, t = ember.eye(*args, **kw), torch.eye(*args, **tkw)
        assert np.array_equal(e.numpy(), t.numpy()) and e.numpy().dtype == t.numpy().dtype
    out = ember.zeros(1, dtype=ember.int64)
    assert ember.eye(2, 3, out=out) is out
    assert out.dtype is ember.int64 and np.array_equal(out.numpy(), np.eye(2, 3))
    _same_error(lambda lib: lib.eye(2, -1))
    _same_error(lambda lib: lib.eye(2, out=lib.zeros(1, requires_grad=True)))


@pytest.mark.parametrize("fn", [
    lambda lib: lib.einsum("......", lib.ones(2, 2)),
    lambda lib: lib.einsum("ij->i.", lib.ones(2, 2)),
    lambda lib: lib.einsum("i.j", lib.ones(2, 2)),
    lambda lib: lib.einsum("i1", lib.ones(2, 2)),
    lambda lib: lib.einsum("ij,i1", lib.ones(2, 2), lib.ones(2, 2)),
    lambda lib: lib.triu_indices(-1, 3),
    lambda lib: lib.tril_indices(3, -1),
    lambda lib: lib.mv(lib.ones(2, 2, dtype=lib.float64), lib.ones(2)),
    lambda lib: lib.diag_embed(lib.ones(2, 3), 0, 0, 5),
])
def test_more_product_errors_match_torch(fn):
    with pytest.raises(Exception) as t_err:
        fn(torch)
    with pytest.raises(Exception) as e_err:
        fn(ember)
    assert (type(e_err.value).__name__, str(e_err.value)) == (type(t_err.value).__name__, str(t_err.value))


def test_tensordot_out():
    out = ember.zeros(1)
    res = ember.tensordot(ember.ones(2, 3), ember.ones(3, 2), 1, out=out)
    assert res is out and out.shape == (2, 2) and np.all(out.numpy() == 3)


def test_in_place_on_a_diagonal_view_flows_gradients_like_torch():
    a = r(3, 4)
    grads, values = [], []
    for lib in (torch, ember):
        x = lib.tensor(a, requires_grad=True)
        y = x * 1
        y.diagonal(1).mul_(3)
        (y * y).sum().backward()
        values.append(y.detach().numpy())
        grads.append(x.grad.numpy())
    np.testing.assert_allclose(values[1], values[0])
    np.testing.assert_allclose(grads[1], grads[0])


@pytest.mark.parametrize("eq,shape", [("ij->ji", (2, 3)), ("ii->i", (3, 3)), ("iji->ji", (3, 2, 3)),
                                      ("ij", (2, 3)), ("...ii->...i", (2, 3, 3))])
def test_einsum_without_summation_is_a_view_like_torch(eq, shape):
    # torch returns a view when nothing is summed, so writes reach the input in both
    a = r(*shape)
    results = []
    for lib in (torch, ember):
        x = lib.tensor(a)
        lib.einsum(eq, x).add_(1)
        results.append(x.numpy().copy())
    np.testing.assert_array_equal(results[1], results[0])
    check_against_torch(lambda lib, x: lib.einsum(eq, x), [a])


def test_einsum_result_never_aliases_an_input_when_it_sums():
    x = ember.ones(2, 3)
    ember.einsum("ij->i", x).add_(1)
    assert np.all(x.numpy() == 1)


def test_addmm_beta_zero_gives_the_input_a_zero_gradient_like_torch():
    check_against_torch(lambda lib, i, a, b: lib.addmm(i, a, b, beta=0, alpha=2),
                        [r(3, 5), r(3, 4), r(4, 5)])


@pytest.mark.parametrize("name,shapes", [("addmm", [(2, 2), (2, 3), (3, 2)]), ("outer", [(2,), (3,)]),
                                         ("kron", [(2,), (3,)]), ("triu", [(3, 3)]), ("diag", [(3,)])])
def test_out_argument(name, shapes):
    arrays = [r(*s) for s in shapes]
    e_out, t_out = ember.zeros(1, dtype=ember.float64), torch.zeros(1, dtype=torch.float64)
    e = getattr(ember, name)(*[ember.tensor(a) for a in arrays], out=e_out)
    getattr(torch, name)(*[torch.tensor(a) for a in arrays], out=t_out)
    assert e is e_out
    np.testing.assert_allclose(e_out.numpy(), t_out.numpy())
