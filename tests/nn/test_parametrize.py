"""nn.utils.parametrize, nn.utils.parametrizations (weight_norm, spectral_norm, orthogonal) and
the hook-based nn.utils.weight_norm / spectral_norm against torch: values, gradients, buffers
(spectral norm's u and v, drawn with normal_ in torch's order), state_dict keys, errors."""
import copy
import pickle
import warnings

import numpy as np
import pytest
import torch

import ember
from tests.helpers import assert_close, same_error

LIBS = pytest.mark.parametrize("lib", [ember, torch], ids=["ember", "torch"])
DTYPES = ["float64", "float32"]


def set_params(lib, m, dtype, seed=0):
    """The same deterministic parameters in both libraries, in ``dtype``."""
    m.to(getattr(lib, dtype))
    rng = np.random.default_rng(seed)
    with lib.no_grad():
        for p in m.parameters():
            p.copy_(lib.tensor(rng.standard_normal(tuple(p.shape)).astype(dtype)))
    return m


def x_for(lib, shape, dtype, seed=1):
    return lib.tensor(np.random.default_rng(seed).standard_normal(shape).astype(dtype),
                      requires_grad=True)


def compare_training(make, x_shape, dtype, steps=2, eval_too=True):
    """``make(lib)`` builds the parametrized module; forward/backward/SGD steps in both, then
    every state_dict entry, output and gradient compared."""
    results = []
    for lib in (ember, torch):
        lib.manual_seed(0)
        m = make(lib)
        opt = lib.optim.SGD(m.parameters(), lr=0.1)
        log = []
        for step in range(steps):
            x = x_for(lib, x_shape, dtype, seed=step)
            out = m(x)
            opt.zero_grad()
            (out ** 2).sum().backward()
            log += [out, x.grad] + [p.grad for p in m.parameters()]
            opt.step()
        if eval_too:
            m.eval()
            log.append(m(x_for(lib, x_shape, dtype, seed=9)))
        sd = m.state_dict()
        results.append((list(sd), [sd[k] for k in sd], log))
    (ek, ev, el), (tk, tv, tl) = results
    assert ek == tk
    for k, a, b in zip(ek, ev, tv):
        assert_close(a, b, dtype, what=k)
    for i, (a, b) in enumerate(zip(el, tl)):
        assert_close(a, b, dtype, what=f"log {i}")
    return ek


# -- parametrize -----------------------------------------------------------------------------------

def symmetric(lib):
    class Symmetric(lib.nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).transpose(-1, -2)

        def right_inverse(self, A):
            return A.triu()
    return Symmetric()


def scale(lib, factor):
    class Scale(lib.nn.Module):
        def forward(self, X):
            return X * factor

        def right_inverse(self, A):
            return A / factor
    return Scale()


@pytest.mark.parametrize("dtype", DTYPES)
def test_register_parametrization_values_grads_keys(dtype):
    def make(lib):
        m = set_params(lib, lib.nn.Linear(4, 4), dtype)
        P = lib.nn.utils.parametrize
        P.register_parametrization(m, "weight", symmetric(lib))
        P.register_parametrization(m, "weight", scale(lib, 3.0))  # appended
        return m
    keys = compare_training(make, (3, 4), dtype)
    assert keys == ["bias", "parametrizations.weight.original"]


@LIBS
def test_parametrized_module_class_repr_and_flags(lib):
    P = lib.nn.utils.parametrize
    m = lib.nn.Linear(3, 3)
    P.register_parametrization(m, "weight", symmetric(lib))
    assert type(m).__name__ == "ParametrizedLinear" and isinstance(m, lib.nn.Linear)
    assert P.is_parametrized(m) and P.is_parametrized(m, "weight")
    assert not P.is_parametrized(m, "bias")
    assert P.type_before_parametrizations(m) is lib.nn.Linear
    assert "weight" not in m._parameters
    assert [n for n, _ in m.named_parameters()] == ["bias", "parametrizations.weight.original"]
    assert repr(m).startswith("ParametrizedLinear(\n  in_features=3, out_features=3, bias=True\n"
                              "  (parametrizations): ModuleDict(\n    (weight): "
                              "ParametrizationList(")


def _assign_and_remove(lib, leave):
    P = lib.nn.utils.parametrize
    m = set_params(lib, lib.nn.Linear(3, 3), "float64")
    P.register_parametrization(m, "weight", symmetric(lib))
    original = m.parametrizations.weight.original
    A = lib.tensor(np.arange(9.0).reshape(3, 3))
    m.weight = A  # right_inverse: stores triu(A); the getter gives the symmetric matrix
    out = [m.weight.detach().clone(), original.detach().clone()]
    P.remove_parametrizations(m, "weight", leave_parametrized=leave)
    out += [m.weight.detach().clone(), type(m).__name__, type(m.weight).__name__,
            m.weight is original, list(m.state_dict()), hasattr(m, "parametrizations")]
    return out


@pytest.mark.parametrize("leave", [True, False])
def test_assign_and_remove_parametrizations(leave):
    e, t = _assign_and_remove(ember, leave), _assign_and_remove(torch, leave)
    for a, b in zip(e[:3], t[:3]):
        assert_close(a, b)
    assert e[3:] == t[3:]


def _sequence_right_inverse(lib):
    class Split(lib.nn.Module):
        def forward(self, A, B):
            return A + B

        def right_inverse(self, X):
            return X * 0.25, X * 0.75

    P = lib.nn.utils.parametrize
    m = set_params(lib, lib.nn.Linear(2, 3), "float64")
    P.register_parametrization(m, "weight", Split())
    keys = list(m.state_dict())
    w = m.weight.detach().clone()
    m(lib.ones(1, 2, dtype=lib.float64)).sum().backward()
    g = m.parametrizations.weight.original0.grad.clone()
    P.remove_parametrizations(m, "weight")
    return keys, w, g, type(m.weight).__name__, m.weight.requires_grad


def test_right_inverse_returning_a_sequence():
    e, t = _sequence_right_inverse(ember), _sequence_right_inverse(torch)
    assert e[0] == t[0] == ["bias", "parametrizations.weight.original0",
                            "parametrizations.weight.original1"]
    assert_close(e[1], t[1])
    assert_close(e[2], t[2])
    assert e[3:] == t[3:]


def test_sequence_cannot_leave_unparametrized():
    def f(lib):
        class Split(lib.nn.Module):
            def forward(self, A, B):
                return A + B

            def right_inverse(self, X):
                return X, X * 0

        m = lib.nn.Linear(2, 2)
        lib.nn.utils.parametrize.register_parametrization(m, "weight", Split())
        lib.nn.utils.parametrize.remove_parametrizations(m, "weight", leave_parametrized=False)
    same_error(f, match=r"Cannot leave unparametrized \(`leave_parametrized=False`\)")


def test_shape_change_needs_unsafe():
    def cut(lib):
        class Cut(lib.nn.Module):
            def forward(self, X):
                return X[:1]
        return Cut()

    same_error(lambda lib: lib.nn.utils.parametrize.register_parametrization(
        lib.nn.Linear(2, 3), "weight", cut(lib)),
        match="Registering a parametrization may not change the shape of the tensor, unless "
              "`unsafe` flag is enabled")
    for lib in (ember, torch):
        m = lib.nn.Linear(2, 3)
        lib.nn.utils.parametrize.register_parametrization(m, "weight", cut(lib), unsafe=True)
        assert tuple(m.weight.shape) == (1, 2)


def test_parametrization_errors():
    same_error(lambda lib: lib.nn.utils.parametrize.register_parametrization(
        lib.nn.Linear(2, 3), "nothing", symmetric(lib)),
        match="does not have a parameter, a buffer, or a parametrized element with name "
              "'nothing'")
    same_error(lambda lib: lib.nn.utils.parametrize.remove_parametrizations(
        lib.nn.Linear(2, 3), "weight"), match="does not have a parametrization on weight")
    same_error(lambda lib: lib.nn.utils.parametrize.register_parametrization(
        lib.nn.Linear(2, 2), "weight", lib.nn.Sequential(lib.nn.Flatten(0))),
        match="Registering a parametrization may not change the shape")

    def dtype_change(lib):
        class ToDouble(lib.nn.Module):
            def forward(self, X):
                return X.double()

        m = lib.nn.Linear(2, 2)
        lib.nn.utils.parametrize.register_parametrization(m, "weight", symmetric(lib))
        lib.nn.utils.parametrize.register_parametrization(m, "weight", ToDouble())
    same_error(dtype_change, match="Registering a parametrization may not change the dtype of "
                                   "the tensor, unless the `unsafe` flag is enabled")


def test_assign_without_right_inverse_raises():
    def f(lib):
        class NoInverse(lib.nn.Module):
            def forward(self, X):
                return X * 2

        m = lib.nn.Linear(2, 2)
        lib.nn.utils.parametrize.register_parametrization(m, "weight", NoInverse())
        m.weight = lib.zeros(2, 2)
    same_error(f, match="parametrization NoInverse does not implement right_inverse.")


@LIBS
def test_cached(lib):
    P = lib.nn.utils.parametrize
    m = lib.nn.Linear(3, 3)
    P.register_parametrization(m, "weight", symmetric(lib))
    assert m.weight is not m.weight
    with P.cached():
        w1 = m.weight
        assert m.weight is w1
        with P.cached():
            assert m.weight is w1
    assert m.weight is not w1


@LIBS
def test_buffer_parametrization_and_train_mode(lib):
    P = lib.nn.utils.parametrize
    m = lib.nn.BatchNorm1d(3)
    m.eval()
    par = scale(lib, 2.0)
    P.register_parametrization(m, "running_var", par)
    assert not par.training  # follows the module's mode
    assert list(m.state_dict())[-1] == "parametrizations.running_var.original"
    # stored as right_inverse(ones) = 0.5, read back as 2 * 0.5
    np.testing.assert_allclose(m.parametrizations.running_var.original.numpy(), [0.5] * 3)
    np.testing.assert_allclose(m.running_var.numpy(), [1.0, 1.0, 1.0])


def _deepcopy_and_pickle(lib):
    P = lib.nn.utils.parametrize
    m = set_params(lib, lib.nn.Linear(3, 3), "float64")
    P.register_parametrization(m, "weight", symmetric(lib))
    c = copy.deepcopy(m)
    with pytest.raises(RuntimeError, match="Serialization of parametrized modules is only "
                                           "supported through state_dict()"):
        pickle.dumps(m)
    return [type(c).__name__, c.weight.detach(),
            c.parametrizations.weight.original is not m.parametrizations.weight.original]


def test_deepcopy_and_pickling():
    e, t = _deepcopy_and_pickle(ember), _deepcopy_and_pickle(torch)
    assert e[0] == t[0] and e[2] and t[2]
    assert_close(e[1], t[1])


def _transfer(lib):
    P = lib.nn.utils.parametrize
    a = set_params(lib, lib.nn.Linear(3, 3), "float64")
    P.register_parametrization(a, "weight", symmetric(lib))
    b = lib.nn.Linear(3, 3)
    P.transfer_parametrizations_and_params(a, b)
    shared = b.parametrizations.weight.original is a.parametrizations.weight.original
    return [type(b).__name__, shared, b.weight.detach()]


def test_transfer_parametrizations_and_params():
    e, t = _transfer(ember), _transfer(torch)
    assert e[:2] == t[:2]
    assert_close(e[2], t[2])


# -- parametrizations.weight_norm ------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [0, 1, None, -1, 2])
def test_weight_norm_parametrization(dtype, dim):
    def make(lib):
        m = set_params(lib, lib.nn.Conv1d(2, 3, 3), dtype)
        return lib.nn.utils.parametrizations.weight_norm(m, dim=dim)
    keys = compare_training(make, (2, 2, 6), dtype)
    assert keys == ["bias", "parametrizations.weight.original0",
                    "parametrizations.weight.original1"]


def test_weight_norm_parametrization_loads_old_checkpoints():
    res = []
    for lib in (ember, torch):
        old = set_params(lib, lib.nn.Linear(3, 2), "float64")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lib.nn.utils.weight_norm(old)
        new = lib.nn.utils.parametrizations.weight_norm(lib.nn.Linear(3, 2).double())
        new.load_state_dict(old.state_dict())
        res.append(new.weight.detach())
    assert_close(res[0], res[1])


# -- parametrizations.spectral_norm ----------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layer", ["linear", "conv2d", "convT2d"])
def test_spectral_norm_parametrization(dtype, layer):
    def make(lib):
        nn = lib.nn
        m = {"linear": lambda: nn.Linear(5, 4), "conv2d": lambda: nn.Conv2d(2, 3, 3),
             "convT2d": lambda: nn.ConvTranspose2d(3, 2, 2)}[layer]()
        set_params(lib, m, dtype)
        lib.manual_seed(5)  # u and v are drawn from the default generator
        return lib.nn.utils.parametrizations.spectral_norm(m, n_power_iterations=2)
    shape = {"linear": (3, 5), "conv2d": (1, 2, 5, 5), "convT2d": (1, 3, 3, 3)}[layer]
    keys = compare_training(make, shape, dtype, steps=3)
    assert keys == ["bias", "parametrizations.weight.original", "parametrizations.weight.0._u",
                    "parametrizations.weight.0._v"]


def test_spectral_norm_parametrization_one_dim_and_errors():
    def make(lib):
        m = set_params(lib, lib.nn.BatchNorm1d(4), "float64")
        return lib.nn.utils.parametrizations.spectral_norm(m)
    assert compare_training(make, (3, 4), "float64", eval_too=False)[:1] == ["bias"]
    same_error(lambda lib: lib.nn.utils.parametrizations.spectral_norm(lib.nn.Linear(2, 2),
                                                                       dim=2),
               match=r"Dimension out of range \(expected to be in range of \[-2, 1\] but got 2\)")
    same_error(lambda lib: lib.nn.utils.parametrizations.spectral_norm(
        lib.nn.Linear(2, 2), n_power_iterations=0),
        match="Expected n_power_iterations to be positive, but got n_power_iterations=0")
    same_error(lambda lib: lib.nn.utils.parametrizations.spectral_norm(lib.nn.Linear(2, 2),
                                                                       name="nope"),
               match="has no parameter or buffer with name 'nope'")


# -- parametrizations.orthogonal -------------------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("orthogonal_map", [None, "matrix_exp", "cayley", "householder"])
@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5)])
def test_orthogonal(dtype, orthogonal_map, shape):
    def make(lib):
        m = set_params(lib, lib.nn.Linear(shape[1], shape[0]), dtype)
        lib.manual_seed(3)  # non-square bases are completed with randn
        return lib.nn.utils.parametrizations.orthogonal(m, orthogonal_map=orthogonal_map)
    rtol = {"float32": 1e-3}.get(dtype)
    results = []
    for lib in (ember, torch):
        m = make(lib)
        W = m.weight
        x = x_for(lib, (2, shape[1]), dtype)
        (m(x) ** 3).sum().backward()
        orig = m.parametrizations.weight.original
        results.append([W, m(x), x.grad, orig.grad, m.parametrizations.weight[0].base])
    for a, b in zip(*results):
        assert_close(a, b, dtype, rtol=rtol, atol=rtol)
    W = results[0][0].detach().numpy().astype(np.float64)
    gram = W.T @ W if shape[0] >= shape[1] else W @ W.T
    np.testing.assert_allclose(gram, np.eye(min(shape)), atol=1e-5)


def _orthogonal_assign(lib):
    m = lib.nn.Linear(3, 3).double()
    lib.nn.utils.parametrizations.orthogonal(m)
    Q = lib.tensor(np.linalg.qr(np.random.default_rng(0).standard_normal((3, 3)))[0])
    m.weight = Q  # orthogonal: becomes the new base
    return [m.weight.detach(), m.parametrizations.weight.original.detach()]


def test_orthogonal_assignment():
    for a, b in zip(_orthogonal_assign(ember), _orthogonal_assign(torch)):
        assert_close(a, b)


def test_orthogonal_errors():
    same_error(lambda lib: lib.nn.utils.parametrizations.orthogonal(lib.nn.BatchNorm1d(3)),
               match="Expected a matrix or batch of matrices. Got a tensor of 1 dimensions.")
    same_error(lambda lib: lib.nn.utils.parametrizations.orthogonal(lib.nn.Linear(2, 2),
                                                                    orthogonal_map="qr"),
               match='orthogonal_map has to be one of "matrix_exp", "cayley", "householder". '
                     "Got: qr")

    def bad_shape(lib):
        m = lib.nn.utils.parametrizations.orthogonal(lib.nn.Linear(2, 2))
        m.weight = lib.eye(3)
    same_error(bad_shape, match="Expected a matrix or batch of matrices of shape")


# -- hook-based weight_norm / spectral_norm --------------------------------------------------------

@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dim", [0, 1, None])
def test_old_weight_norm(dtype, dim):
    def make(lib):
        m = set_params(lib, lib.nn.Linear(4, 3), dtype)
        with pytest.warns(FutureWarning, match="`torch.nn.utils.weight_norm` is deprecated in "
                                               "favor of `torch.nn.utils.parametrizations"):
            return lib.nn.utils.weight_norm(m, dim=dim)
    assert compare_training(make, (2, 4), dtype) == ["bias", "weight_g", "weight_v"]


def _old_weight_norm_remove(lib):
    m = set_params(lib, lib.nn.Linear(4, 3), "float64")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lib.nn.utils.weight_norm(m)
        with pytest.raises(RuntimeError, match="Cannot register two weight_norm hooks on the "
                                               "same parameter weight"):
            lib.nn.utils.weight_norm(m)
    with lib.no_grad():
        m.weight_g.mul_(2)
    m(lib.ones(1, 4, dtype=lib.float64))
    lib.nn.utils.remove_weight_norm(m)
    with pytest.raises(ValueError, match="weight_norm of 'weight' not found in"):
        lib.nn.utils.remove_weight_norm(m)
    return [list(m.state_dict()), type(m.weight).__name__, m.weight.detach()]


def test_old_weight_norm_remove():
    e, t = _old_weight_norm_remove(ember), _old_weight_norm_remove(torch)
    assert e[:2] == t[:2]
    assert_close(e[2], t[2])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layer", ["linear", "convT1d"])
def test_old_spectral_norm(dtype, layer):
    def make(lib):
        m = lib.nn.Linear(5, 4) if layer == "linear" else lib.nn.ConvTranspose1d(3, 2, 3)
        set_params(lib, m, dtype)
        lib.manual_seed(11)
        return lib.nn.utils.spectral_norm(m, n_power_iterations=3)
    shape = (2, 5) if layer == "linear" else (2, 3, 4)
    keys = compare_training(make, shape, dtype, steps=3)
    assert keys == ["bias", "weight_orig", "weight_u", "weight_v"]


def _old_spectral_norm_state(lib):
    m = set_params(lib, lib.nn.Linear(4, 3), "float64")
    lib.manual_seed(2)
    lib.nn.utils.spectral_norm(m)
    with pytest.raises(RuntimeError, match="Cannot register two spectral_norm hooks on the "
                                           "same parameter weight"):
        lib.nn.utils.spectral_norm(m)
    m(lib.ones(1, 4, dtype=lib.float64))
    sd = m.state_dict()
    meta = dict(sd._metadata[""])
    fresh = lib.nn.utils.spectral_norm(lib.nn.Linear(4, 3).double())
    fresh.load_state_dict(sd)
    lib.nn.utils.remove_spectral_norm(m)
    with pytest.raises(ValueError, match="spectral_norm of 'weight' not found in"):
        lib.nn.utils.remove_spectral_norm(m)
    return [meta, list(m.state_dict()), type(m.weight).__name__, len(m._state_dict_hooks),
            len(m._load_state_dict_pre_hooks), m.weight.detach(), fresh.weight_v.detach()]


def test_old_spectral_norm_state_and_remove():
    e, t = _old_spectral_norm_state(ember), _old_spectral_norm_state(torch)
    assert e[0] == t[0] and e[1:5] == t[1:5]
    assert_close(e[5], t[5])
    assert_close(e[6], t[6])


def test_old_spectral_norm_loads_version_0_checkpoints():
    # a checkpoint without weight_v (and with weight): v is solved from weight_orig / weight
    res = []
    for lib in (ember, torch):
        m = set_params(lib, lib.nn.Linear(4, 3), "float64")
        lib.manual_seed(2)
        lib.nn.utils.spectral_norm(m)
        m(lib.ones(1, 4, dtype=lib.float64))
        sd = m.state_dict()
        sd["weight"] = m.weight.detach()
        del sd["weight_v"]
        sd._metadata[""].pop("spectral_norm")
        fresh = lib.nn.utils.spectral_norm(lib.nn.Linear(4, 3).double())
        fresh.load_state_dict(sd)
        res.append(fresh.weight_v.detach())
    assert_close(res[0], res[1], rtol=1e-6, atol=1e-8)


def test_old_norms_refuse_uninitialized():
    same_error(lambda lib: lib.nn.utils.spectral_norm(lib.nn.LazyLinear(3)),
               match="The module passed to `SpectralNorm` can't have uninitialized parameters")

    def wn(lib):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            lib.nn.utils.weight_norm(lib.nn.LazyLinear(3))
    same_error(wn, match="The module passed to `WeightNorm` can't have uninitialized parameters")


@pytest.mark.parametrize("dim", [0, 1, 2, -1, -2])
def test_norm_except_dim(dim):
    from ember.nn.utils.weight_norm import norm_except_dim
    x = np.random.default_rng(0).standard_normal((3, 4, 5))
    assert_close(norm_except_dim(ember.tensor(x), 2, dim),
                 torch.norm_except_dim(torch.tensor(x), 2, dim))


def test_gradcheck_weight_norm_and_spectral_norm():
    lin = ember.nn.Linear(3, 2).double()
    ember.nn.utils.parametrizations.weight_norm(lin)
    g = lin.parametrizations.weight.original0
    v = lin.parametrizations.weight.original1
    x = ember.randn(4, 3, dtype=ember.float64)

    def wn(g_, v_):
        from ember.nn.utils.weight_norm import _weight_norm
        return x @ _weight_norm(v_, g_, 0).T
    assert ember.autograd.gradcheck(wn, (g.detach().requires_grad_(), v.detach().requires_grad_()))
    sn = ember.nn.Linear(3, 2).double()
    ember.nn.utils.parametrizations.spectral_norm(sn)
    sn.eval()  # no power iteration: a function of the weight alone
    par = sn.parametrizations.weight[0]
    w = sn.parametrizations.weight.original.detach().requires_grad_()
    assert ember.autograd.gradcheck(lambda w_: par(w_), (w,))


@pytest.mark.parametrize("orthogonal_map", ["matrix_exp", "cayley", "householder"])
@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 4)])
def test_gradcheck_orthogonal_maps(orthogonal_map, shape):
    m = ember.nn.Linear(shape[1], shape[0]).double()
    ember.nn.utils.parametrizations.orthogonal(m, orthogonal_map=orthogonal_map)
    par = m.parametrizations.weight[0]
    X = m.parametrizations.weight.original.detach() + 0.1 * ember.randn(*shape,
                                                                        dtype=ember.float64)
    assert ember.autograd.gradcheck(lambda x: par(x), (X.requires_grad_(),))


def test_householder_product_against_torch():
    from ember.nn.utils.parametrizations import _householder_product
    rng = np.random.default_rng(0)
    A, tau = rng.standard_normal((2, 5, 3)), rng.standard_normal((2, 3))
    assert_close(_householder_product(ember.tensor(A), ember.tensor(tau)),
                 torch.linalg.householder_product(torch.tensor(A), torch.tensor(tau)))


@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5)])
def test_orthogonal_householder_without_trivialization(shape):
    def run(lib):
        m = set_params(lib, lib.nn.Linear(shape[1], shape[0]), "float64")
        lib.nn.utils.parametrizations.orthogonal(m, orthogonal_map="householder",
                                                 use_trivialization=False)
        keys = list(m.state_dict())
        W0 = m.weight.detach().clone()
        Q = np.linalg.qr(np.random.default_rng(4).standard_normal(
            (max(shape), min(shape))))[0]
        m.weight = lib.tensor(Q if shape[0] >= shape[1] else Q.T)
        return keys, W0, m.weight.detach(), m.parametrizations.weight.original.detach()
    e, t = run(ember), run(torch)
    assert e[0] == t[0] == ["bias", "parametrizations.weight.original"]
    for a, b in zip(e[1:], t[1:]):
        assert_close(a, b, rtol=1e-6, atol=1e-9)
    same_error(lambda lib: setattr(lib.nn.utils.parametrizations.orthogonal(
        lib.nn.Linear(2, 2), use_trivialization=False), "weight", lib.eye(2)),
        match="It is not possible to assign to the matrix exponential or the Cayley "
              "parametrizations when use_trivialization=False.")
