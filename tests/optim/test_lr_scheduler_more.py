"""The schedulers added in issue 12 (ConstantLR, LinearLR, PolynomialLR, MultiplicativeLR,
CosineAnnealingWarmRestarts, CyclicLR, SequentialLR, ChainedScheduler) against torch's: the
same lr (and momentum) sequences over 35 steps, closed forms for step(epoch), state_dict,
warnings and errors."""
from __future__ import annotations

import warnings

import pytest
import torch

import ember
from tests.helpers import same_error
from tests.optim.test_lr_scheduler import Scale, _optimizer, _sequence

STEPS = 35

SCHEDULES = [
    ("ConstantLR", dict()),
    ("ConstantLR", dict(factor=0.5, total_iters=4)),
    ("LinearLR", dict()),
    ("LinearLR", dict(start_factor=0.25, end_factor=1.0, total_iters=6)),
    ("LinearLR", dict(start_factor=1.0, end_factor=0.1, total_iters=10)),
    ("PolynomialLR", dict()),
    ("PolynomialLR", dict(total_iters=8, power=2.0)),
    ("MultiplicativeLR", dict(lr_lambda=lambda epoch: 0.95)),
    ("MultiplicativeLR", dict(lr_lambda=[Scale(0.99), lambda epoch: 0.9 if epoch % 3 else 1.0])),
    ("CosineAnnealingWarmRestarts", dict(T_0=5)),
    ("CosineAnnealingWarmRestarts", dict(T_0=3, T_mult=2, eta_min=0.01)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=4)),
    ("CyclicLR", dict(base_lr=[0.01, 0.02], max_lr=[0.1, 0.3], step_size_up=3, step_size_down=6,
                      mode="triangular2", base_momentum=0.7, max_momentum=[0.95, 0.9])),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=5, mode="exp_range", gamma=0.9)),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=2, scale_fn=lambda x: 1 / (1 + x),
                      scale_mode="iterations")),
    ("CyclicLR", dict(base_lr=0.01, max_lr=0.1, step_size_up=3, cycle_momentum=False)),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(SCHEDULES)]


def _assert_same(ours, theirs):
    assert len(ours) == len(theirs)
    for (lr_e, mom_e, g_e), (lr_t, mom_t, g_t) in zip(ours, theirs):
        assert lr_e == pytest.approx(lr_t, rel=1e-14, abs=1e-17)
        assert g_e == pytest.approx(g_t, rel=1e-14, abs=1e-17)
        for m_e, m_t in zip(mom_e, mom_t):
            if isinstance(m_t, tuple):
                assert m_e == pytest.approx(m_t, rel=1e-14)
            else:
                assert m_e == pytest.approx(m_t, rel=1e-14)


@pytest.mark.parametrize("kind", ["SGD", "Adam"])
@pytest.mark.parametrize("name,kwargs", SCHEDULES, ids=IDS)
def test_same_sequence_as_torch(name, kwargs, kind):
    ours, _ = _sequence(ember, name, kwargs, STEPS, kind)
    theirs, _ = _sequence(torch, name, kwargs, STEPS, kind)
    _assert_same(ours, theirs)


@pytest.mark.parametrize("name,kwargs", SCHEDULES, ids=IDS)
def test_state_dict_matches_torch_and_resumes(name, kwargs):
    _, ours = _sequence(ember, name, kwargs, 7)
    _, theirs = _sequence(torch, name, kwargs, 7)
    sd_e, sd_t = ours.state_dict(), theirs.state_dict()
    assert set(sd_e) == set(sd_t)
    for key in sd_t:
        if key not in ("lr_lambdas", "_scale_fn_custom"):
            assert sd_e[key] == pytest.approx(sd_t[key]) if isinstance(sd_t[key], float) \
                else sd_e[key] == sd_t[key], key
    # resume as torch documents it: build the scheduler, then load the optimizer's state (the
    # constructor's step 0 changes the lr) and the scheduler's
    straight, _ = _sequence(ember, name, kwargs, 14)
    opt = _optimizer(ember)
    resumed = getattr(ember.optim.lr_scheduler, name)(opt, **kwargs)
    opt.load_state_dict(ours.optimizer.state_dict())
    resumed.load_state_dict(ours.state_dict())
    for i in range(7):
        opt.step()
        resumed.step()
        assert resumed.get_last_lr() == pytest.approx(straight[7 + i][0])


@pytest.mark.parametrize("name,kwargs", [
    ("ConstantLR", dict(factor=0.5, total_iters=4)),
    ("LinearLR", dict(start_factor=0.25, total_iters=6)),
    ("PolynomialLR", dict(total_iters=8, power=2.0)),
])
def test_step_with_epoch_uses_the_closed_form(name, kwargs):
    def run(lib):
        opt = _optimizer(lib)
        sched = getattr(lib.optim.lr_scheduler, name)(opt, **kwargs)
        out = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for epoch in (3, 1, 7, 12, 2, 5):
                opt.step()
                sched.step(epoch)
                out.append(sched.get_last_lr())
        return out

    assert _flat(run(ember)) == pytest.approx(_flat(run(torch)), rel=1e-14)


def test_step_with_epoch_warns_deprecation():
    opt = _optimizer(ember)
    sched = ember.optim.lr_scheduler.LinearLR(opt)
    opt.step()
    with pytest.warns(UserWarning, match="The epoch parameter in `scheduler.step\\(\\)` was not"):
        sched.step(2)


@pytest.mark.parametrize("T_mult", [1, 2, 3])
def test_cosine_warm_restarts_with_fractional_epochs(T_mult):
    """The SGDR example: step(epoch + i / iters) inside each epoch, and jumps back and forth."""
    def run(lib):
        opt = _optimizer(lib)
        sched = lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=T_mult,
                                                                   eta_min=0.001)
        out = []
        for epoch in range(12):
            for i in range(4):
                opt.step()
                sched.step(epoch + i / 4)
                out.append((sched.get_last_lr(), sched.T_cur, sched.T_i, sched.last_epoch))
        for epoch in (0.5, 30.25, 7, 2.75):
            sched.step(epoch)
            out.append((sched.get_last_lr(), sched.T_cur, sched.T_i, sched.last_epoch))
        sched.step()
        out.append((sched.get_last_lr(), sched.T_cur, sched.T_i, sched.last_epoch))
        return out

    ours, theirs = run(ember), run(torch)
    for (lr_e, *rest_e), (lr_t, *rest_t) in zip(ours, theirs):
        assert lr_e == pytest.approx(lr_t, rel=1e-14)
        assert rest_e == pytest.approx(rest_t, rel=1e-14)


def _sub_schedulers(lib, opt, which):
    ls = lib.optim.lr_scheduler
    if which == "warmup-cosine":
        return [ls.LinearLR(opt, start_factor=0.1, total_iters=5),
                ls.CosineAnnealingLR(opt, T_max=10, eta_min=0.001)], [5]
    if which == "three":
        return [ls.ConstantLR(opt, factor=0.5, total_iters=3), ls.ExponentialLR(opt, gamma=0.9),
                ls.StepLR(opt, step_size=4, gamma=0.5)], [4, 12]
    return [ls.ConstantLR(opt, factor=0.2, total_iters=6), ls.ExponentialLR(opt, gamma=0.95),
            ls.PolynomialLR(opt, total_iters=20, power=1.5)], None


@pytest.mark.parametrize("which", ["warmup-cosine", "three", "chained"])
def test_sequential_and_chained_like_torch(which):
    def run(lib):
        opt = _optimizer(lib)
        schedulers, milestones = _sub_schedulers(lib, opt, which)
        ls = lib.optim.lr_scheduler
        sched = ls.ChainedScheduler(schedulers) if milestones is None else \
            ls.SequentialLR(opt, schedulers, milestones)
        out = [sched.get_last_lr()]
        for _ in range(STEPS):
            opt.step()
            sched.step()
            out.append((sched.get_last_lr(), [g["lr"] for g in opt.param_groups]))
        return out, sched

    (ours, se), (theirs, st) = run(ember), run(torch)
    for a, b in zip(ours, theirs):
        assert _flat(a) == pytest.approx(_flat(b), rel=1e-13)
    sd_e, sd_t = se.state_dict(), st.state_dict()
    assert set(sd_e) == set(sd_t)
    assert [set(s) for s in sd_e["_schedulers"]] == [set(s) for s in sd_t["_schedulers"]]

    # a fresh chain loading the state continues the same sequence
    opt = _optimizer(ember)
    schedulers, milestones = _sub_schedulers(ember, opt, which)
    ls = ember.optim.lr_scheduler
    resumed = ls.ChainedScheduler(schedulers) if milestones is None else \
        ls.SequentialLR(opt, schedulers, milestones)
    opt.load_state_dict(se.optimizer.state_dict())
    resumed.load_state_dict(se.state_dict())
    more_e = []
    for _ in range(5):
        opt.step()
        resumed.step()
        more_e.append(resumed.get_last_lr())
    more_t = []
    for _ in range(5):
        st.optimizer.step()
        st.step()
        more_t.append(st.get_last_lr())
    assert _flat(more_e) == pytest.approx(_flat(more_t), rel=1e-13)


def _flat(x):
    if isinstance(x, (list, tuple)):
        return [y for item in x for y in _flat(item)]
    return [x]


def test_chained_and_sequential_errors_like_torch():
    def sequential(lib, kind):
        opt, other = _optimizer(lib), _optimizer(lib)
        ls = lib.optim.lr_scheduler
        if kind == "empty":
            ls.SequentialLR(opt, [], [])
        elif kind == "milestones":
            ls.SequentialLR(opt, [ls.ConstantLR(opt), ls.ConstantLR(opt)], [1, 2])
        elif kind == "plateau":
            ls.SequentialLR(opt, [ls.ConstantLR(opt), ls.ReduceLROnPlateau(opt)], [1])
        elif kind == "other":
            ls.SequentialLR(opt, [ls.ConstantLR(opt), ls.ConstantLR(other)], [1])
        elif kind == "no-optimizer":
            ls.ChainedScheduler([ls.ConstantLR(opt), object()])
        elif kind == "chain-empty":
            ls.ChainedScheduler([])

    same_error(sequential, "empty", match="SequentialLR expects at least one scheduler, but got")
    same_error(sequential, "milestones", match="expects number of schedulers provided to be one")
    same_error(sequential, "plateau", match="does not support `ReduceLROnPlateau` scheduler")
    same_error(sequential, "other", match="expects all schedulers to belong to the same optimizer")
    same_error(sequential, "no-optimizer", match="at index 1 should have `optimizer` as its")
    same_error(sequential, "chain-empty", match="expects at least one scheduler to be chained")


@pytest.mark.parametrize("make,match", [
    (lambda ls, o: ls.ConstantLR(o, factor=1.5), "Constant multiplicative factor expected"),
    (lambda ls, o: ls.LinearLR(o, start_factor=0), "Starting multiplicative factor expected"),
    (lambda ls, o: ls.LinearLR(o, end_factor=1.5), "Ending multiplicative factor expected"),
    (lambda ls, o: ls.MultiplicativeLR(o, lr_lambda=0.9),
     "lr_lambda should be a function, but got float"),
    (lambda ls, o: ls.MultiplicativeLR(o, lr_lambda=[lambda e: 1.0]), "Expected 2 lr_lambdas"),
    (lambda ls, o: ls.CosineAnnealingWarmRestarts(o, T_0=0), "Expected positive integer T_0"),
    (lambda ls, o: ls.CosineAnnealingWarmRestarts(o, T_0=2.0), "Expected positive integer T_0"),
    (lambda ls, o: ls.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0),
     "Expected integer T_mult >= 1, but got 0"),
    (lambda ls, o: ls.CosineAnnealingWarmRestarts(o, T_0=2, eta_min="0"),
     "Expected float or int eta_min"),
    (lambda ls, o: ls.CosineAnnealingWarmRestarts(o, T_0=2).step(-1),
     "Expected non-negative epoch, but got -1"),
    (lambda ls, o: ls.CyclicLR(o, 0.1, 1.0, mode="square"), "mode is invalid and scale_fn is None"),
    (lambda ls, o: ls.CyclicLR(o, [0.1], 1.0), "base_lr must have the same length as"),
    (lambda ls, o: ls.CyclicLR(object(), 0.1, 1.0), "is not an Optimizer"),
])
def test_errors_match_torch(make, match):
    same_error(lambda lib: make(lib.optim.lr_scheduler, _optimizer(lib)), match=match)


def test_cyclic_momentum_needs_an_optimizer_with_momentum():
    def make(lib):
        opt = lib.optim.Adagrad([lib.nn.Parameter(lib.zeros(1))])
        lib.optim.lr_scheduler.CyclicLR(opt, 0.1, 1.0)
    same_error(make, match="optimizer must support momentum or beta1 with `cycle_momentum`")


def test_cyclic_state_dict_keeps_callable_objects_only():
    opt = _optimizer(ember)
    sched = ember.optim.lr_scheduler.CyclicLR(opt, 0.01, 0.1, scale_fn=Scale(0.5))
    sd = sched.state_dict()
    assert sd["_scale_fn_custom"] == {"rate": 0.5} and "_scale_fn_ref" not in sd
    other = ember.optim.lr_scheduler.CyclicLR(_optimizer(ember), 0.01, 0.1, scale_fn=Scale(0.9))
    other.load_state_dict(sd)
    assert other._scale_fn_custom.rate == 0.5
    plain = ember.optim.lr_scheduler.CyclicLR(_optimizer(ember), 0.01, 0.1, mode="exp_range",
                                              gamma=0.5)
    plain.load_state_dict(plain.state_dict())
    assert plain.scale_fn(2) == 0.25


def test_step_order_warning_has_torchs_wording():
    def message(lib):
        opt = _optimizer(lib)
        sched = lib.optim.lr_scheduler.LinearLR(opt)
        with pytest.warns(UserWarning) as record:
            sched.step()
        return str(record[0].message)

    assert message(ember) == message(torch)


def test_overridden_optimizer_step_warns():
    opt = _optimizer(ember)
    sched = ember.optim.lr_scheduler.ConstantLR(opt)
    opt.step = lambda closure=None: None
    with pytest.warns(UserWarning, match="Seems like `optimizer.step\\(\\)` has been overridden"):
        sched.step()


def test_tensor_lr_is_filled_in_place():
    """A Tensor lr stays the same Tensor (the optimiser holds it); get_last_lr copies."""
    def run(lib):
        lr = lib.tensor(0.1)
        opt = lib.optim.Adam([lib.nn.Parameter(lib.zeros(2))], lr=lr)
        sched = lib.optim.lr_scheduler.LinearLR(opt, start_factor=0.5, total_iters=3)
        out = []
        for _ in range(5):
            opt.step()
            sched.step()
            last = sched.get_last_lr()[0]
            assert opt.param_groups[0]["lr"] is lr and last is not lr
            out.append(float(last))
        return out

    assert run(ember) == pytest.approx(run(torch), rel=1e-7)


def test_lr_scheduler_old_name():
    assert issubclass(ember.optim.lr_scheduler._LRScheduler, ember.optim.lr_scheduler.LRScheduler)
