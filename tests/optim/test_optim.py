"""Optimisers (ember/optim) against torch.optim: the same parameters after N steps from the same
start for every option, parameter groups, zero_grad, state_dict round trips, errors."""
from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import ember

N_STEPS = 6

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, momentum=0.5, weight_decay=0.1, maximize=True)),
    ("SGD", dict(lr=0.05, weight_decay=0.01, nesterov=True, momentum=0.2)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True, maximize=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.5, amsgrad=True, betas=(0.5, 0.6))),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-6, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, momentum=0.9, centered=True)),
    ("RMSprop", dict(lr=0.01, centered=True, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.2,
                     eps=1e-6)),
    ("Adagrad", dict(lr=0.1, maximize=True)),
]

IDS = [f"{name}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for name, kw in CONFIGS]


def _start(rng, dtype):
    shapes = [(5, 4), (4,), (3, 2, 2), ()]
    params = [rng.standard_normal(s).astype(dtype) for s in shapes]
    grads = [[rng.standard_normal(s).astype(dtype) for s in shapes] for _ in range(N_STEPS)]
    grads[2][1] = None  # a step where one parameter has no gradient: it is skipped
    return params, grads


def _run(lib, name, kwargs, params, grads, per_step=None):
    ps = [lib.nn.Parameter(lib.tensor(p.copy())) for p in params]
    opt = getattr(lib.optim, name)(ps, **kwargs)
    for step, gs in enumerate(grads):
        for p, g in zip(ps, gs):
            p.grad = None if g is None else lib.tensor(g.copy())
        opt.step()
        if per_step is not None:
            per_step(opt, step)
    return [p.detach().numpy() for p in ps], opt


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=IDS)
def test_same_parameters_as_torch(rng, name, kwargs, dtype):
    params, grads = _start(rng, dtype)
    ours, _ = _run(ember, name, kwargs, params, grads)
    theirs, _ = _run(torch, name, kwargs, params, grads)
    # float32: about an ulp per step apart (torch fuses multiply-adds; see ember/optim/optimizer.py)
    tol = dict(rtol=1e-12, atol=1e-14) if dtype == np.float64 else dict(rtol=3e-6, atol=1e-7)
    for a, b in zip(ours, theirs):
        assert a.dtype == b.dtype
        np.testing.assert_allclose(a, b, **tol)


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=IDS)
def test_state_dict_layout_and_values_match_torch(rng, name, kwargs):
    params, grads = _start(rng, np.float64)
    _, ours = _run(ember, name, kwargs, params, grads[:3])
    _, theirs = _run(torch, name, kwargs, params, grads[:3])
    sd_e, sd_t = ours.state_dict(), theirs.state_dict()
    assert sd_e["param_groups"] == sd_t["param_groups"]
    assert sd_e["state"].keys() == sd_t["state"].keys()
    for idx, state in sd_t["state"].items():
        assert sd_e["state"][idx].keys() == state.keys()
        for key, value in state.items():
            mine = sd_e["state"][idx][key]
            assert mine.dtype.name == str(value.dtype).replace("torch.", "")
            np.testing.assert_allclose(mine.numpy(), value.numpy(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=IDS)
def test_state_dict_round_trip_resumes_exactly(rng, name, kwargs):
    """3 steps, save, load into a fresh optimiser on copies of the parameters, 3 more steps:
    the same parameters as 6 uninterrupted steps."""
    params, grads = _start(rng, np.float64)
    straight, _ = _run(ember, name, kwargs, params, grads)

    first, opt = _run(ember, name, kwargs, params, grads[:3])
    saved = copy.deepcopy(opt.state_dict())
    ps = [ember.nn.Parameter(ember.tensor(p)) for p in first]
    resumed = getattr(ember.optim, name)(ps, **kwargs)
    resumed.load_state_dict(saved)
    for gs in grads[3:]:
        for p, g in zip(ps, gs):
            p.grad = None if g is None else ember.tensor(g.copy())
        resumed.step()
    for a, b in zip(straight, ps):
        np.testing.assert_array_equal(a, b.detach().numpy())


def test_load_state_dict_copies_and_casts_state(rng):
    p64 = ember.nn.Parameter(ember.tensor(rng.standard_normal(3)))
    opt = ember.optim.Adam([p64])
    p64.grad = ember.ones(3, dtype=ember.float64)
    opt.step()
    sd = opt.state_dict()
    p32 = ember.nn.Parameter(ember.zeros(3))
    opt32 = ember.optim.Adam([p32])
    opt32.load_state_dict(sd)
    state = opt32.state[p32]
    assert state["exp_avg"].dtype == ember.float32  # cast to the parameter's dtype
    assert state["step"].dtype == ember.float32  # 'step' is never cast (torch #74424)
    assert state["exp_avg"]._data is not sd["state"][0]["exp_avg"]._data


def test_param_groups_with_their_own_options(rng):
    params, grads = _start(rng, np.float64)

    def run(lib):
        ps = [lib.nn.Parameter(lib.tensor(p.copy())) for p in params]
        opt = lib.optim.SGD([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.5, "momentum": 0.9}],
                            lr=0.1, momentum=0.1)
        for gs in grads:
            for p, g in zip(ps, gs):
                p.grad = None if g is None else lib.tensor(g.copy())
            opt.step()
        return [p.detach().numpy() for p in ps], opt

    (ours, oe), (theirs, ot) = run(ember), run(torch)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-12)
    assert oe.state_dict()["param_groups"] == ot.state_dict()["param_groups"]
    assert [g["lr"] for g in oe.param_groups] == [0.1, 0.5]


def test_add_param_group_and_named_parameters():
    a, b = ember.nn.Parameter(ember.zeros(2)), ember.nn.Parameter(ember.zeros(3))
    opt = ember.optim.Adam([("a", a)], lr=0.1)
    opt.add_param_group({"params": [("b", b)], "lr": 0.2})
    groups = opt.state_dict()["param_groups"]
    assert [g["params"] for g in groups] == [[0], [1]]
    assert [g["param_names"] for g in groups] == [["a"], ["b"]]
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        opt.add_param_group({"params": [("a2", a)]})


def test_zero_grad():
    p = ember.nn.Parameter(ember.ones(2))
    opt = ember.optim.SGD([p], lr=0.1)
    (p * 3).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert p.grad is not None and not p.grad.numpy().any()
    opt.zero_grad()
    assert p.grad is None


def test_step_is_in_place_bumps_version_and_is_not_recorded():
    p = ember.nn.Parameter(ember.ones(3))
    array, version = p._data, p._version
    y = (p * p).sum()
    y.backward(retain_graph=True)
    ember.optim.SGD([p], lr=0.1).step()
    assert p._data is array  # updated in place
    assert p._version > version and p.grad_fn is None and p.is_leaf
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.backward()  # the graph saved p before the step


def test_closure_and_hooks():
    p = ember.nn.Parameter(ember.tensor([2.0]))
    opt = ember.optim.SGD([p], lr=0.25)
    calls = []
    opt.register_step_pre_hook(lambda o, args, kwargs: calls.append("pre"))
    handle = opt.register_step_post_hook(lambda o, args, kwargs: calls.append("post"))

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == 4.0 and p.item() == 1.0
    handle.remove()
    opt.step(closure)
    assert calls == ["pre", "post", "pre"]


def test_repr_like_torch():
    e = ember.optim.SGD([ember.nn.Parameter(ember.zeros(1))], lr=0.1, momentum=0.9)
    t = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
    assert repr(e) == repr(t)


@settings(max_examples=20, deadline=None)
@given(lr=st.floats(1e-4, 1.0), momentum=st.floats(0.0, 0.99), wd=st.floats(0.0, 0.1),
       nesterov=st.booleans(), seed=st.integers(0, 2**16))
def test_sgd_property(lr, momentum, wd, nesterov, seed):
    nesterov = nesterov and momentum > 0
    params, grads = _start(np.random.default_rng(seed), np.float64)
    kwargs = dict(lr=lr, momentum=momentum, weight_decay=wd, nesterov=nesterov)
    ours, _ = _run(ember, "SGD", kwargs, params, grads)
    theirs, _ = _run(torch, "SGD", kwargs, params, grads)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("make,err,match", [
    (lambda lib, ps: lib.optim.SGD(ps, lr=-1), ValueError, "Invalid learning rate: -1"),
    (lambda lib, ps: lib.optim.SGD(ps, momentum=-0.5), ValueError, "Invalid momentum value: -0.5"),
    (lambda lib, ps: lib.optim.SGD(ps, weight_decay=-1), ValueError, "Invalid weight_decay value"),
    (lambda lib, ps: lib.optim.SGD(ps, nesterov=True), ValueError,
     "Nesterov momentum requires a momentum and zero dampening"),
    (lambda lib, ps: lib.optim.Adam(ps, betas=(1.0, 0.9)), ValueError,
     "Invalid beta parameter at index 0: 1.0"),
    (lambda lib, ps: lib.optim.Adam(ps, eps=-1.0), ValueError, "Invalid epsilon value: -1.0"),
    (lambda lib, ps: lib.optim.RMSprop(ps, alpha=-1.0), ValueError, "Invalid alpha value: -1.0"),
    (lambda lib, ps: lib.optim.Adagrad(ps, lr_decay=-1.0), ValueError, "Invalid lr_decay value"),
    (lambda lib, ps: lib.optim.SGD([], lr=0.1), ValueError, "optimizer got an empty parameter list"),
    (lambda lib, ps: lib.optim.SGD(ps[0], lr=0.1), TypeError,
     "params argument given to the optimizer should be an iterable of Tensors or dicts"),
    (lambda lib, ps: lib.optim.SGD([{"params": set(ps)}], lr=0.1), TypeError,
     "optimizer parameters need to be organized in ordered collections"),
    (lambda lib, ps: lib.optim.SGD([ps[0] * 2], lr=0.1), ValueError,
     "can't optimize a non-leaf Tensor"),
    (lambda lib, ps: lib.optim.SGD([1.0], lr=0.1), TypeError, "optimizer can only optimize Tensors"),
])
def test_errors_match_torch(make, err, match):
    for lib in (ember, torch):
        ps = [lib.nn.Parameter(lib.zeros(2))]
        with pytest.raises(err, match=match):
            make(lib, ps)


def test_load_state_dict_errors():
    p = ember.nn.Parameter(ember.zeros(2))
    opt = ember.optim.SGD([p], lr=0.1)
    with pytest.raises(ValueError, match="different number of parameter groups"):
        opt.load_state_dict({"state": {}, "param_groups": []})
    with pytest.raises(ValueError, match="doesn't match the size of optimizer's group"):
        opt.load_state_dict({"state": {}, "param_groups": [{"lr": 0.1, "params": [0, 1]}]})
