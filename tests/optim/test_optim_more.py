"""The optimisers added in issue 12 (Adadelta, Adamax, NAdam, RAdam, ASGD, Rprop, LBFGS) and the
options every optimiser shares (foreach/fused/capturable/differentiable, parameter groups,
state_dict in torch's layout, hooks), against torch.optim: the same parameters and state after
N steps from the same start and the same gradients, for a product of each one's options."""
from __future__ import annotations

import copy
import importlib
import itertools

import numpy as np
import pytest
import torch

import ember

N_STEPS = 8


def _product(name, **options):
    """One config per combination of the given option values."""
    keys = list(options)
    return [(name, dict(zip(keys, values))) for values in itertools.product(*options.values())]


CONFIGS = (
    _product("Adadelta", maximize=[False, True], weight_decay=[0, 0.1],
             lr=[1.0, 0.5], rho=[0.9, 0.6], eps=[1e-6, 1e-3])
    + _product("Adamax", maximize=[False, True], weight_decay=[0, 0.1],
               betas=[(0.9, 0.999), (0.5, 0.8)], lr=[0.002, 0.1])
    + _product("NAdam", maximize=[False, True], weight_decay=[0, 0.1],
               decoupled_weight_decay=[False, True], momentum_decay=[4e-3, 0.3],
               betas=[(0.9, 0.999), (0.6, 0.9)])
    + _product("RAdam", maximize=[False, True], weight_decay=[0, 0.1],
               decoupled_weight_decay=[False, True], betas=[(0.9, 0.999), (0.8, 0.9)],
               eps=[1e-8, 1e-3])
    + _product("ASGD", maximize=[False, True], weight_decay=[0, 0.1], t0=[1e6, 3],
               lambd=[1e-4, 0.3], alpha=[0.75, 0.5], lr=[0.01, 0.2])
    + _product("Rprop", maximize=[False, True], etas=[(0.5, 1.2), (0.3, 1.7)],
               step_sizes=[(1e-6, 50), (1e-3, 0.05)], lr=[0.01, 0.1])
    # the implementation switches: torch takes its foreach or fused code, ember its one loop
    + [(name, dict(foreach=True)) for name in ("Adadelta", "Adamax", "NAdam", "RAdam", "ASGD",
                                                "Rprop", "SGD", "Adam", "AdamW", "Adagrad",
                                                "RMSprop")]
    + [("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1, fused=True)),
       ("SGD", dict(lr=0.1, momentum=0.5, dampening=0.3, maximize=True, fused=True)),
       ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1, fused=True)),
       ("Adam", dict(lr=0.01, maximize=True, decoupled_weight_decay=True, weight_decay=0.1,
                     fused=True)),
       ("AdamW", dict(lr=0.01, amsgrad=True, maximize=True, fused=True)),
       ("Adagrad", dict(lr=0.1, lr_decay=0.1, weight_decay=0.1, maximize=True, fused=True)),
       ("NAdam", dict(lr=0.05, capturable=False, differentiable=False)),
       ("RAdam", dict(lr=torch.tensor(0.05))),
       ("Adamax", dict(lr=torch.tensor(0.05)))]
)
IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for name, kw in CONFIGS]


def _kwargs(lib, kwargs):
    """torch-valued options (a Tensor lr) as the library's own tensors."""
    return {k: (lib.tensor(v.item()) if isinstance(v, torch.Tensor) else v)
            for k, v in kwargs.items()}


def _start(rng, dtype, n_steps=N_STEPS):
    shapes = [(5, 4), (4,), (3, 2, 2), ()]
    params = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(n_steps)]
    grads[2][1] = None  # a step where one parameter has no gradient: it is skipped
    grads[4][0] = np.zeros(shapes[0], dtype)  # a zero gradient still takes a step (Rprop: sign 0)
    return params, grads


def _set_grads(lib, ps, gs):
    for p, g in zip(ps, gs):
        p.grad = None if g is None else lib.tensor(g.copy())


def _run(lib, name, kwargs, params, grads, groups=None):
    ps = [lib.nn.Parameter(lib.tensor(p.copy())) for p in params]
    spec = ps if groups is None else [dict(g, params=[ps[i] for i in g["params"]]) for g in groups]
    opt = getattr(lib.optim, name)(spec, **_kwargs(lib, kwargs))
    for gs in grads:
        _set_grads(lib, ps, gs)
        opt.step()
    return [p.detach().numpy() for p in ps], opt


def _tolerance(dtype):
    # float32: about an ulp per step apart (torch fuses multiply-adds; see optimizer.py)
    return dict(rtol=1e-12, atol=1e-14) if dtype == np.float64 else dict(rtol=1e-5, atol=1e-6)


def _assert_same_state(sd_e, sd_t, **tol):
    """Two state_dicts in torch's layout: the same groups, indices, keys, dtypes and values."""
    groups_t = [{k: v for k, v in g.items() if k != "lr" or not isinstance(v, torch.Tensor)}
                for g in sd_t["param_groups"]]
    groups_e = [{k: v for k, v in g.items() if k != "lr" or not isinstance(v, ember.Tensor)}
                for g in sd_e["param_groups"]]
    assert groups_e == groups_t
    assert sd_e["state"].keys() == sd_t["state"].keys()
    for idx, state in sd_t["state"].items():
        assert sd_e["state"][idx].keys() == state.keys(), idx
        for key, value in state.items():
            mine = sd_e["state"][idx][key]
            assert mine.dtype.name == str(value.dtype).replace("torch.", ""), key
            assert tuple(mine.shape) == tuple(value.shape), key
            np.testing.assert_allclose(mine.numpy(), value.numpy(), **tol, err_msg=key)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=IDS)
def test_same_parameters_and_state_as_torch(rng, name, kwargs, dtype):
    params, grads = _start(rng, dtype)
    ours, opt_e = _run(ember, name, kwargs, params, grads)
    theirs, opt_t = _run(torch, name, kwargs, params, grads)
    tol = _tolerance(dtype)
    if name == "ASGD" and kwargs.get("foreach"):
        # torch's foreach ASGD rearranges the update (param - eta * (g + lambd * param)) and
        # rounds eta in float32 tensors; ember follows the single-tensor code torch uses on the
        # CPU by default, so the two agree to about float32 precision only
        tol = dict(rtol=1e-6, atol=1e-7)
    for a, b in zip(ours, theirs):
        assert a.dtype == b.dtype
        np.testing.assert_allclose(a, b, **tol)
    _assert_same_state(opt_e.state_dict(), opt_t.state_dict(), **tol)


NEW = ["Adadelta", "Adamax", "NAdam", "RAdam", "ASGD", "Rprop"]
GROUP_OPTIONS = {
    "Adadelta": dict(rho=0.5, weight_decay=0.1, maximize=True),
    "Adamax": dict(betas=(0.5, 0.7), weight_decay=0.2),
    "NAdam": dict(momentum_decay=0.2, weight_decay=0.1, decoupled_weight_decay=True),
    "RAdam": dict(betas=(0.7, 0.9), weight_decay=0.1, decoupled_weight_decay=True),
    "ASGD": dict(t0=2, lambd=0.2, maximize=True),
    "Rprop": dict(etas=(0.2, 1.5), step_sizes=(1e-2, 0.3)),
}


@pytest.mark.parametrize("name", NEW)
def test_parameter_groups_with_their_own_options(rng, name):
    params, grads = _start(rng, np.float64)
    groups = [{"params": [0, 2]}, {"params": [1, 3], "lr": 0.03, **GROUP_OPTIONS[name]}]
    ours, opt_e = _run(ember, name, {}, params, grads, groups)
    theirs, opt_t = _run(torch, name, {}, params, grads, groups)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    _assert_same_state(opt_e.state_dict(), opt_t.state_dict(), rtol=1e-12, atol=1e-14)


def _torch_state_to_ember(sd):
    """A torch state_dict with every tensor turned into an ember tensor (same layout)."""
    def convert(v):
        if isinstance(v, torch.Tensor):
            return ember.tensor(v.numpy().copy())
        if isinstance(v, dict):
            return {k: convert(x) for k, x in v.items()}
        if isinstance(v, list):
            return [convert(x) for x in v]
        return v
    return convert(sd)


@pytest.mark.parametrize("name", NEW + ["SGD", "Adam", "Adagrad", "RMSprop"])
def test_resumes_from_torchs_state_dict(rng, name):
    """Half the steps in torch, its state_dict loaded into a fresh ember optimiser and into a
    fresh torch one: the other half gives the same parameters. (Loading casts 0-d state such
    as NAdam's mu_product to the parameters' dtype in both.)"""
    kwargs = dict(GROUP_OPTIONS.get(name, {}))
    if name == "SGD":
        kwargs = dict(lr=0.1, momentum=0.9)
    params, grads = _start(rng, np.float64)
    half, opt_t = _run(torch, name, kwargs, params, grads[:4])
    saved = opt_t.state_dict()
    resumed = {}
    for lib in (ember, torch):
        ps = [lib.nn.Parameter(lib.tensor(p)) for p in half]
        opt = getattr(lib.optim, name)(ps, **kwargs)
        opt.load_state_dict(_torch_state_to_ember(saved) if lib is ember else copy.deepcopy(saved))
        for gs in grads[4:]:
            _set_grads(lib, ps, gs)
            opt.step()
        resumed[lib.__name__] = [p.detach().numpy() for p in ps], opt.state_dict()
    for a, b in zip(resumed["ember"][0], resumed["torch"][0]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)
    _assert_same_state(resumed["ember"][1], resumed["torch"][1], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name", NEW)
def test_state_dict_round_trip_resumes_exactly(rng, name):
    # float32 parameters: loading casts 0-d state (NAdam's mu_product, ASGD's eta and mu,
    # float32 tensors) to the parameters' dtype, as torch does, which in float64 would change
    # the rounding of the rest of the run
    params, grads = _start(rng, np.float32)
    straight, _ = _run(ember, name, GROUP_OPTIONS[name], params, grads)
    first, opt = _run(ember, name, GROUP_OPTIONS[name], params, grads[:3])
    saved = copy.deepcopy(opt.state_dict())
    ps = [ember.nn.Parameter(ember.tensor(p)) for p in first]
    resumed = getattr(ember.optim, name)(ps, **GROUP_OPTIONS[name])
    resumed.load_state_dict(saved)
    for gs in grads[3:]:
        _set_grads(ember, ps, gs)
        resumed.step()
    for a, b in zip(straight, ps):
        np.testing.assert_array_equal(a, b.detach().numpy())


def test_old_checkpoints_with_numbers_for_tensor_state_load():
    """torch < 1.12 saved ``step`` (and NAdam's mu_product, ASGD's eta/mu) as numbers; loading
    turns them into 0-d tensors, as torch's __setstate__ does."""
    for name, keys in (("NAdam", ("step", "mu_product")), ("ASGD", ("step", "eta", "mu"))):
        p = ember.nn.Parameter(ember.ones(2))
        opt = getattr(ember.optim, name)([p])
        p.grad = ember.ones(2)
        opt.step()
        sd = opt.state_dict()
        for key in keys:
            sd["state"][0][key] = float(sd["state"][0][key].item())
        opt.load_state_dict(sd)
        for key in keys:
            assert isinstance(opt.state[p][key], ember.Tensor) and opt.state[p][key].dim() == 0


def test_step_state_follows_the_default_dtype():
    """torch's 0-d state (step, mu_product, eta) is float64 while the default dtype is; fused
    optimisers keep float32."""
    before = ember.get_default_dtype()
    try:
        ember.set_default_dtype(ember.float64)
        torch.set_default_dtype(torch.float64)
        for lib in (ember, torch):
            p = lib.nn.Parameter(lib.ones(2))
            nadam, adam = lib.optim.NAdam([p]), lib.optim.Adam([p], fused=True)
            p.grad = lib.ones(2)
            nadam.step()
            adam.step()
            dtypes = [str(nadam.state[p]["step"].dtype), str(nadam.state[p]["mu_product"].dtype),
                      str(adam.state[p]["step"].dtype)]
            assert [d.split(".")[-1] for d in dtypes] == ["float64", "float64", "float32"]
    finally:
        ember.set_default_dtype(before)
        torch.set_default_dtype(torch.float32)


# -- LBFGS -------------------------------------------------------------------------------------

def _rosenbrock(x):
    return (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2


def _lbfgs_run(lib, dtype, steps, **kwargs):
    x = lib.nn.Parameter(lib.tensor(np.array([-1.5, 2.0], dtype=dtype)))
    opt = lib.optim.LBFGS([x], **kwargs)
    losses = []

    def closure():
        opt.zero_grad()
        loss = _rosenbrock(x)
        loss.backward()
        return loss

    for _ in range(steps):
        losses.append(opt.step(closure).item())
    return x.detach().numpy(), losses, opt


LBFGS_OPTIONS = [
    dict(),
    dict(line_search_fn="strong_wolfe"),
    dict(lr=0.5, history_size=3, max_iter=7),
    dict(line_search_fn="strong_wolfe", history_size=2, max_iter=5, max_eval=6),
    dict(tolerance_grad=1e-3, tolerance_change=1e-4, line_search_fn="strong_wolfe"),
    dict(lr=0.1, max_iter=1),
]


@pytest.mark.parametrize("kwargs", LBFGS_OPTIONS, ids=[str(k) for k in LBFGS_OPTIONS])
def test_lbfgs_on_rosenbrock_like_torch(kwargs):
    """The same path: every iteration, line-search trial and stopping test as torch (the
    evaluation counts agree exactly). The values agree to rounding, not bit for bit: torch's
    dot products go through MKL and its ``add_(alpha=)`` fuses the multiply-add; on
    Rosenbrock's curved valley such ulps grow, about 100x per 20 iterations."""
    x_e, losses_e, opt_e = _lbfgs_run(ember, np.float64, 2, **kwargs)
    x_t, losses_t, opt_t = _lbfgs_run(torch, np.float64, 2, **kwargs)
    np.testing.assert_allclose(x_e, x_t, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(losses_e, losses_t, rtol=1e-9, atol=1e-10)
    s_e, s_t = opt_e.state_dict()["state"][0], opt_t.state_dict()["state"][0]
    assert s_e.keys() == s_t.keys()
    assert (s_e["func_evals"], s_e["n_iter"]) == (s_t["func_evals"], s_t["n_iter"])
    assert len(s_e["old_dirs"]) == len(s_t["old_dirs"])
    for a, b in zip(s_e["old_dirs"] + [s_e["d"]], s_t["old_dirs"] + [s_t["d"]]):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-7, atol=1e-8)
    assert opt_e.state_dict()["param_groups"] == opt_t.state_dict()["param_groups"]


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_lbfgs_float32_like_torch(line_search_fn):
    """float32 scalars (ys, H_diag, t, gtd) stay float32 as torch's 0-d tensors do. (Short
    runs: float32 ulps grow on Rosenbrock as float64's do, only sooner.)"""
    kwargs = dict(line_search_fn=line_search_fn, max_iter=5)
    x_e, losses_e, opt_e = _lbfgs_run(ember, np.float32, 2, **kwargs)
    x_t, losses_t, opt_t = _lbfgs_run(torch, np.float32, 2, **kwargs)
    assert x_e.dtype == np.float32
    np.testing.assert_allclose(x_e, x_t, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(losses_e, losses_t, rtol=1e-5, atol=1e-6)
    s_e, s_t = opt_e.state_dict()["state"][0], opt_t.state_dict()["state"][0]
    assert (s_e["func_evals"], s_e["n_iter"]) == (s_t["func_evals"], s_t["n_iter"])
    for key in ("H_diag", "ro", "al"):
        e, t = s_e[key], s_t[key]
        e, t = (e, t) if isinstance(t, list) else ([e], [t])
        assert [x.dtype.name if x is not None else None for x in e] == \
            [str(x.dtype)[6:] if x is not None else None for x in t]


def test_lbfgs_converges_on_rosenbrock_with_strong_wolfe():
    x, losses, opt = _lbfgs_run(ember, np.float64, 6, line_search_fn="strong_wolfe")
    x_t, _, opt_t = _lbfgs_run(torch, np.float64, 6, line_search_fn="strong_wolfe")
    np.testing.assert_allclose(x, [1.0, 1.0], atol=1e-5)
    np.testing.assert_allclose(x, x_t, rtol=1e-9)
    assert opt.state[opt.param_groups[0]["params"][0]]["func_evals"] == \
        opt_t.state_dict()["state"][0]["func_evals"]


def test_lbfgs_several_parameters_and_a_model(rng):
    """A least-squares fit of a Linear layer: flat vectors span weight and bias."""
    X, Y = rng.standard_normal((20, 3)), rng.standard_normal((20, 2))

    def run(lib):
        lib.manual_seed(0)
        model = lib.nn.Linear(3, 2).double()
        with lib.no_grad():
            model.weight.copy_(lib.tensor(np.full((2, 3), 0.1)))
            model.bias.zero_()
        opt = lib.optim.LBFGS(model.parameters(), history_size=4, max_iter=10)
        x, y = lib.tensor(X), lib.tensor(Y)

        def closure():
            opt.zero_grad()
            loss = ((model(x) - y) ** 2).mean()
            loss.backward()
            return loss

        for _ in range(3):
            opt.step(closure)
        return [p.detach().numpy() for p in model.parameters()]

    for a, b in zip(run(ember), run(torch)):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


def test_lbfgs_state_dict_round_trip():
    _, _, opt = _lbfgs_run(ember, np.float64, 2, history_size=3)
    x_straight, _, _ = _lbfgs_run(ember, np.float64, 4, history_size=3)
    saved = copy.deepcopy(opt.state_dict())
    x = ember.nn.Parameter(ember.tensor(opt.param_groups[0]["params"][0].detach().numpy()))
    resumed = ember.optim.LBFGS([x], history_size=3)
    resumed.load_state_dict(saved)

    def closure():
        resumed.zero_grad()
        loss = _rosenbrock(x)
        loss.backward()
        return loss

    for _ in range(2):
        resumed.step(closure)
    np.testing.assert_array_equal(x.detach().numpy(), x_straight)


def test_lbfgs_errors_like_torch():
    from tests.helpers import same_error

    def two_groups(lib):
        a, b = lib.nn.Parameter(lib.zeros(1)), lib.nn.Parameter(lib.zeros(1))
        lib.optim.LBFGS([{"params": [a]}, {"params": [b]}])

    def bad_line_search(lib):
        x = lib.nn.Parameter(lib.ones(2))
        opt = lib.optim.LBFGS([x], line_search_fn="armijo")

        def closure():
            opt.zero_grad()
            loss = (x ** 2).sum()
            loss.backward()
            return loss
        opt.step(closure)

    same_error(two_groups, match="LBFGS doesn't support per-parameter options")
    same_error(bad_line_search, match="only 'strong_wolfe' is supported")
    same_error(lambda lib: lib.optim.LBFGS([lib.nn.Parameter(lib.ones(1))], lr=-1.0),
               match="Invalid learning rate: -1.0")


def test_lbfgs_stops_at_once_when_the_gradient_is_small():
    x = ember.nn.Parameter(ember.tensor([1.0, 1.0], dtype=ember.float64))
    opt = ember.optim.LBFGS([x])
    calls = []

    def closure():
        calls.append(1)
        opt.zero_grad()
        loss = _rosenbrock(x)
        loss.backward()
        return loss

    assert float(opt.step(closure)) == 0.0
    assert len(calls) == 1 and opt.state[x]["n_iter"] == 0


# -- the shared switches -----------------------------------------------------------------------

ALL = ["SGD", "Adam", "AdamW", "Adagrad", "RMSprop"] + NEW
FUSED = ["SGD", "Adam", "AdamW", "Adagrad"]


def _one_step(lib, name, **kwargs):
    p = lib.nn.Parameter(lib.ones(3))
    opt = getattr(lib.optim, name)([p], lr=0.1, **kwargs)
    p.grad = lib.ones(3)
    opt.step()
    return opt


@pytest.mark.parametrize("name", ALL)
def test_capturable_fails_on_the_cpu_as_torch(name):
    from tests.helpers import same_error
    if name in ("SGD", "Adagrad"):
        same_error(lambda lib: _one_step(lib, name, capturable=True),
                   match="unexpected keyword argument 'capturable'")
        return
    err = same_error(lambda lib: _one_step(lib, name, capturable=True))
    with pytest.raises(AssertionError) as theirs:
        _one_step(torch, name, capturable=True)
    assert str(err) == str(theirs.value)


@pytest.mark.parametrize("name", ALL)
def test_fused_where_torch_has_it(name):
    from tests.helpers import same_error
    if name not in FUSED:
        same_error(lambda lib: _one_step(lib, name, fused=True),
                   match="unexpected keyword argument 'fused'")
        return
    same_error(lambda lib: _one_step(lib, name, fused=True, foreach=True),
               match="`fused` and `foreach` cannot be `True` together.")
    same_error(lambda lib: _one_step(lib, name, fused=True, differentiable=True),
               match="`fused` does not support `differentiable`")
    assert _one_step(ember, name, fused=True).param_groups[0]["fused"] is True


@pytest.mark.parametrize("name", ALL)
def test_differentiable_is_refused_clearly(name):
    with pytest.raises(NotImplementedError, match="differentiable=True is not supported"):
        _one_step(ember, name, differentiable=True)
    _one_step(ember, name, differentiable=False)


@pytest.mark.parametrize("name", ALL + ["LBFGS"])
def test_complex_parameters_are_refused_clearly(name):
    p = ember.nn.Parameter(ember.ones(2))
    p._data = p._data.astype(np.complex64)
    with pytest.raises(TypeError, match="do not support complex parameters"):
        getattr(ember.optim, name)([p])


@pytest.mark.parametrize("name", ALL)
def test_zero_grad_add_param_group_and_hooks(name):
    a, b = ember.nn.Parameter(ember.ones(2)), ember.nn.Parameter(ember.ones(3))
    opt = getattr(ember.optim, name)([a], lr=0.1)
    opt.add_param_group({"params": [b], "lr": 0.5})
    calls = []
    opt.register_step_pre_hook(lambda o, args, kwargs: calls.append("pre"))
    opt.register_step_post_hook(lambda o, args, kwargs: calls.append("post"))
    (a.sum() * 2 + (b * b).sum()).backward()
    opt.step()
    assert calls == ["pre", "post"]
    assert (b.detach().numpy() != 1.0).all() and opt.param_groups[1]["lr"] == 0.5
    opt.zero_grad(set_to_none=False)
    assert not a.grad.numpy().any() and not b.grad.numpy().any()
    opt.zero_grad()
    assert a.grad is None and b.grad is None


@pytest.mark.parametrize("name", NEW + ["LBFGS"])
def test_repr_like_torch(name):
    e = getattr(ember.optim, name)([ember.nn.Parameter(ember.zeros(1))])
    t = getattr(torch.optim, name)([torch.nn.Parameter(torch.zeros(1))])
    assert repr(e) == repr(t)


@pytest.mark.parametrize("make,match", [
    (lambda lib, ps: lib.optim.Adadelta(ps, rho=1.5), "Invalid rho value: 1.5"),
    (lambda lib, ps: lib.optim.Adadelta(ps, eps=-1.0), "Invalid epsilon value: -1.0"),
    (lambda lib, ps: lib.optim.Adadelta(ps, lr=-0.1), "Invalid learning rate: -0.1"),
    (lambda lib, ps: lib.optim.Adamax(ps, betas=(0.9, 1.0)), "Invalid beta parameter at index 1"),
    (lambda lib, ps: lib.optim.Adamax(ps, weight_decay=-1), "Invalid weight_decay value: -1"),
    (lambda lib, ps: lib.optim.NAdam(ps, momentum_decay=-1), "Invalid momentum_decay value: -1"),
    (lambda lib, ps: lib.optim.NAdam(ps, betas=(-0.1, 0.9)), "Invalid beta parameter at index 0"),
    (lambda lib, ps: lib.optim.RAdam(ps, eps=-1e-8), "Invalid epsilon value"),
    (lambda lib, ps: lib.optim.ASGD(ps, weight_decay=-0.5), "Invalid weight_decay value: -0.5"),
    (lambda lib, ps: lib.optim.Rprop(ps, etas=(1.2, 0.5)), "Invalid eta values: 1.2, 0.5"),
    (lambda lib, ps: lib.optim.Rprop(ps, lr=lib.tensor([0.1, 0.2])), "Tensor lr must be 1-element"),
    (lambda lib, ps: lib.optim.Adam(ps, betas=(0, 0.9)), "betas must be either both floats or"),
    (lambda lib, ps: lib.optim.Adam(ps, lr=lib.tensor(0.1), foreach=True),
     "lr as a Tensor is not supported for capturable=False and foreach=True"),
    (lambda lib, ps: lib.optim.Rprop(ps, foo=1), "unexpected keyword argument 'foo'"),
])
def test_errors_match_torch(make, match):
    for lib in (ember, torch):
        ps = [lib.nn.Parameter(lib.zeros(2))]
        with pytest.raises((ValueError, TypeError), match=match):
            make(lib, ps)


def test_sparse_adam_is_not_provided():
    """ember has no sparse gradients, so no SparseAdam (docs/torch_api_coverage.md)."""
    assert not hasattr(ember.optim, "SparseAdam")


def test_state_dict_hooks_like_torch():
    """The four state_dict hooks (with prepend) and the global step hooks: the same calls in
    the same order, and what a hook returns replaces the dict."""
    def run(lib):
        calls = []
        p = lib.nn.Parameter(lib.ones(2))
        opt = lib.optim.Adamax([p], lr=0.1)
        opt.register_state_dict_pre_hook(lambda o: calls.append("sd-pre"))
        opt.register_state_dict_pre_hook(lambda o: calls.append("sd-pre-first"), prepend=True)
        opt.register_state_dict_post_hook(
            lambda o, sd: calls.append(("sd-post", sorted(sd))) or dict(sd, extra=1))
        opt.register_load_state_dict_pre_hook(
            lambda o, sd: calls.append(("load-pre", sd.get("extra"))) or
            {k: v for k, v in sd.items() if k != "extra"})
        handle = opt.register_load_state_dict_post_hook(lambda o: calls.append("load-post"))
        opt.register_load_state_dict_post_hook(lambda o: calls.append("load-post-first"),
                                               prepend=True)
        hooks = importlib.import_module(lib.__name__ + ".optim.optimizer")
        pre = hooks.register_optimizer_step_pre_hook(lambda o, a, k: calls.append("global-pre"))
        post = hooks.register_optimizer_step_post_hook(lambda o, a, k: calls.append("global-post"))
        opt.register_step_pre_hook(lambda o, a, k: calls.append("pre"))
        opt.register_step_post_hook(lambda o, a, k: calls.append("post"))
        try:
            p.grad = lib.ones(2)
            opt.step()
        finally:
            pre.remove()
            post.remove()
        opt.step()
        sd = opt.state_dict()
        assert sd["extra"] == 1
        opt.load_state_dict(sd)
        handle.remove()
        opt.load_state_dict(sd)
        return calls

    assert run(ember) == run(torch)
