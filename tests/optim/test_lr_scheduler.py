"""Learning-rate schedulers (ember/optim/lr_scheduler.py) against torch's: the same lr sequences,
get_last_lr, state_dict round trips, momentum cycling, errors."""
from __future__ import annotations

import math
import warnings

import pytest
import torch

import ember


class Scale:
    """A callable object (not a function): LambdaLR saves its __dict__ in state_dict."""

    def __init__(self, rate):
        self.rate = rate

    def __call__(self, epoch):
        return self.rate ** epoch


SCHEDULES = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("MultiStepLR", dict(milestones=[2, 5, 5, 9], gamma=0.3)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=5, eta_min=0.001)),
    ("CosineAnnealingLR", dict(T_max=4)),
    ("LambdaLR", dict(lr_lambda=lambda epoch: 1 / (epoch + 1))),
    ("LambdaLR", dict(lr_lambda=Scale(0.8))),
    ("OneCycleLR", dict(max_lr=1.0, total_steps=12)),
    ("OneCycleLR", dict(max_lr=[0.5, 2.0], epochs=3, steps_per_epoch=4, pct_start=0.25,
                        anneal_strategy="linear", three_phase=True, div_factor=10.0)),
    ("OneCycleLR", dict(max_lr=0.3, total_steps=10, cycle_momentum=False)),
]
IDS = [f"{name}-{i}" for i, (name, _) in enumerate(SCHEDULES)]


def _optimizer(lib, kind="SGD"):
    groups = [{"params": [lib.nn.Parameter(lib.zeros(2))]},
              {"params": [lib.nn.Parameter(lib.zeros(1))], "lr": 0.05}]
    if kind == "Adam":
        return lib.optim.Adam(groups, lr=0.1)
    return lib.optim.SGD(groups, lr=0.1, momentum=0.9)


def _sequence(lib, name, kwargs, steps, kind="SGD"):
    opt = _optimizer(lib, kind)
    sched = getattr(lib.optim.lr_scheduler, name)(opt, **kwargs)
    out = []
    for _ in range(steps):
        opt.step()
        sched.step()
        out.append((sched.get_last_lr(), [g.get("momentum", g.get("betas")) for g in opt.param_groups],
                    [g["lr"] for g in opt.param_groups]))
    return out, sched


@pytest.mark.parametrize("kind", ["SGD", "Adam"])
@pytest.mark.parametrize("name,kwargs", SCHEDULES, ids=IDS)
def test_same_sequence_as_torch(name, kwargs, kind):
    steps = 10 if name == "OneCycleLR" else 15
    ours, _ = _sequence(ember, name, kwargs, steps, kind)
    theirs, _ = _sequence(torch, name, kwargs, steps, kind)
    assert len(ours) == len(theirs)
    for (lr_e, mom_e, g_e), (lr_t, mom_t, g_t) in zip(ours, theirs):
        assert lr_e == pytest.approx(lr_t, rel=1e-14, abs=1e-17)
        assert g_e == pytest.approx(g_t, rel=1e-14, abs=1e-17)
        assert mom_e == mom_t or all(
            tuple(m_e) == pytest.approx(tuple(m_t)) if isinstance(m_e, tuple) else
            m_e == pytest.approx(m_t) for m_e, m_t in zip(mom_e, mom_t))


@pytest.mark.parametrize("name,kwargs", SCHEDULES, ids=IDS)
def test_state_dict_matches_torch_and_resumes(name, kwargs):
    _, ours = _sequence(ember, name, kwargs, 4)
    _, theirs = _sequence(torch, name, kwargs, 4)
    sd_e, sd_t = ours.state_dict(), theirs.state_dict()
    assert set(sd_e) == set(sd_t)
    for key in sd_t:
        if key not in ("lr_lambdas", "_schedule_phases"):
            assert sd_e[key] == pytest.approx(sd_t[key]) if isinstance(sd_t[key], float) \
                else sd_e[key] == sd_t[key], key

    # resume: a fresh scheduler loading the state continues the same sequence
    straight, _ = _sequence(ember, name, kwargs, 8)
    opt = _optimizer(ember)
    opt.load_state_dict(ours.optimizer.state_dict())
    resumed = getattr(ember.optim.lr_scheduler, name)(opt, **kwargs)
    resumed.load_state_dict(ours.state_dict())
    for i in range(4):
        opt.step()
        resumed.step()
        assert resumed.get_last_lr() == pytest.approx(straight[4 + i][0])


def test_lambda_lr_saves_callable_objects_state_only():
    opt = _optimizer(ember)
    sched = ember.optim.lr_scheduler.LambdaLR(opt, [lambda e: 1.0, Scale(0.5)])
    assert sched.state_dict()["lr_lambdas"] == [None, {"rate": 0.5}]
    other = ember.optim.lr_scheduler.LambdaLR(_optimizer(ember), [lambda e: 1.0, Scale(0.9)])
    other.load_state_dict(sched.state_dict())
    assert other.lr_lambdas[1].rate == 0.5


@pytest.mark.parametrize("kwargs", [
    dict(), dict(mode="max", factor=0.5, patience=1, threshold=0.1, threshold_mode="abs",
                 cooldown=2, min_lr=[0.02, 0.0]),
    dict(patience=0, factor=0.5, min_lr=0.04, eps=1e-3),
])
def test_reduce_lr_on_plateau(kwargs):
    metrics = [1.0, 0.9, 0.91, 0.92, 0.95, 0.85, 0.86, 0.87, 0.88, 0.9, 0.95, 1.0, 0.7, 0.71,
               0.72, 0.73, 0.74] + [0.74] * 12

    def run(lib):
        opt = _optimizer(lib)
        sched = lib.optim.lr_scheduler.ReduceLROnPlateau(opt, **kwargs)
        lrs = []
        for m in metrics:
            opt.step()
            sched.step(m)
            lrs.append(sched.get_last_lr())
        return lrs, sched

    (ours, se), (theirs, st) = run(ember), run(torch)
    assert ours == theirs
    sd_e, sd_t = se.state_dict(), st.state_dict()
    assert sd_e == sd_t


def test_reduce_lr_on_plateau_state_dict_round_trip():
    opt = _optimizer(ember)
    sched = ember.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", patience=2)
    for m in (1.0, 0.5, 0.5):
        sched.step(m)
    other = ember.optim.lr_scheduler.ReduceLROnPlateau(_optimizer(ember))
    other.load_state_dict(sched.state_dict())
    assert (other.mode, other.best, other.num_bad_epochs, other.mode_worse) == ("max", 1.0, 2,
                                                                                -math.inf)


def test_step_with_epoch_uses_closed_form():
    def run(lib):
        opt = _optimizer(lib)
        sched = lib.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sched.step(7)
        return sched.get_last_lr()

    assert run(ember) == run(torch)


def test_warns_when_stepped_before_the_optimizer():
    opt = _optimizer(ember)
    sched = ember.optim.lr_scheduler.StepLR(opt, step_size=2)
    with pytest.warns(UserWarning, match="before `optimizer.step\\(\\)`"):
        sched.step()


def test_get_lr_outside_step_warns():
    sched = ember.optim.lr_scheduler.ExponentialLR(_optimizer(ember), gamma=0.5)
    with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
        sched.get_lr()


def test_resuming_without_initial_lr_raises():
    with pytest.raises(KeyError, match="param 'initial_lr' is not specified in param_groups\\[0\\]"):
        ember.optim.lr_scheduler.StepLR(_optimizer(ember), step_size=1, last_epoch=3)


@pytest.mark.parametrize("make,err,match", [
    (lambda lib, o: lib.optim.lr_scheduler.StepLR(object(), 1), TypeError, "is not an Optimizer"),
    (lambda lib, o: lib.optim.lr_scheduler.LambdaLR(o, [lambda e: 1.0]), ValueError,
     "Expected 2 lr_lambdas, but got 1"),
    (lambda lib, o: lib.optim.lr_scheduler.ReduceLROnPlateau(o, factor=1.0), ValueError,
     "Factor should be < 1.0."),
    (lambda lib, o: lib.optim.lr_scheduler.ReduceLROnPlateau(o, mode="median"), ValueError,
     "mode median is unknown!"),
    (lambda lib, o: lib.optim.lr_scheduler.ReduceLROnPlateau(o, min_lr=[0.1]), ValueError,
     "expected 2 min_lrs, got 1"),
    (lambda lib, o: lib.optim.lr_scheduler.OneCycleLR(o, 1.0), ValueError,
     "You must define either total_steps OR"),
    (lambda lib, o: lib.optim.lr_scheduler.OneCycleLR(o, 1.0, total_steps=0), ValueError,
     "Expected positive integer total_steps, but got 0"),
    (lambda lib, o: lib.optim.lr_scheduler.OneCycleLR(o, 1.0, total_steps=5, pct_start=2.0),
     ValueError, "Expected float between 0 and 1 pct_start"),
    (lambda lib, o: lib.optim.lr_scheduler.OneCycleLR(o, 1.0, total_steps=5,
                                                      anneal_strategy="exp"), ValueError,
     "anneal_strategy must be one of 'cos' or 'linear'"),
    (lambda lib, o: lib.optim.lr_scheduler.OneCycleLR(o, [1.0], total_steps=5), ValueError,
     "max_lr must have the same length as optimizer.param_groups"),
])
def test_errors_match_torch(make, err, match):
    for lib in (ember, torch):
        with pytest.raises(err, match=match):
            make(lib, _optimizer(lib))


def test_one_cycle_past_total_steps_raises():
    opt = _optimizer(ember)
    sched = ember.optim.lr_scheduler.OneCycleLR(opt, 1.0, total_steps=2)
    for _ in range(2):
        opt.step()
        sched.step()
    with pytest.raises(ValueError, match="Tried to step 3 times. The specified number of total "
                                         "steps is 2"):
        sched.step()
