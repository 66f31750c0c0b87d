"""ember.optim.swa_utils against torch.optim.swa_utils: AveragedModel (SWA and EMA, per-tensor
and multi-tensor averaging functions, with and without buffers), update_bn, SWALR."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

import ember
from tests.helpers import same_error


def _model(lib, state=None):
    nn = lib.nn
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    model = model.double()
    if state is not None:
        model.load_state_dict({k: lib.tensor(v.copy()) for k, v in state.items()})
    return model


def _pair():
    """The same float64 model in torch and in ember."""
    torch.manual_seed(0)
    theirs = _model(torch)
    ours = _model(ember, {k: v.numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def _train_a_little(lib, model, rng_seed):
    """A forward pass in training mode (moves the BatchNorm statistics) and a deterministic
    change of every parameter, the same in both libraries."""
    rng = np.random.default_rng(rng_seed)
    model.train()
    model(lib.tensor(rng.standard_normal((8, 3))))
    with lib.no_grad():
        for p in model.parameters():
            p.add_(lib.tensor(0.3 * rng.standard_normal(tuple(p.shape))))


def _averaging(lib, which):
    su = lib.optim.swa_utils
    return {
        "swa": {},
        "swa-buffers": dict(use_buffers=True),
        "avg_fn-ema": dict(avg_fn=su.get_ema_avg_fn(0.9)),
        "avg_fn-swa": dict(avg_fn=su.get_swa_avg_fn(), use_buffers=True),
        "multi-ema": dict(multi_avg_fn=su.get_ema_multi_avg_fn(0.8)),
        "multi-ema-buffers": dict(multi_avg_fn=su.get_ema_multi_avg_fn(0.7), use_buffers=True),
        "multi-swa": dict(multi_avg_fn=su.get_swa_multi_avg_fn()),
        "multi-swa-buffers": dict(multi_avg_fn=su.get_swa_multi_avg_fn(), use_buffers=True),
    }[which]


WHICH = ["swa", "swa-buffers", "avg_fn-ema", "avg_fn-swa", "multi-ema", "multi-ema-buffers",
         "multi-swa"]


@pytest.mark.parametrize("which", WHICH)
def test_averaged_model_like_torch(which):
    ours, theirs = _pair()
    avg_e = ember.optim.swa_utils.AveragedModel(ours, **_averaging(ember, which))
    avg_t = torch.optim.swa_utils.AveragedModel(theirs, **_averaging(torch, which))
    for epoch in range(5):
        for lib, model, avg in ((ember, ours, avg_e), (torch, theirs, avg_t)):
            _train_a_little(lib, model, epoch)
            avg.update_parameters(model)
    sd_e, sd_t = avg_e.state_dict(), avg_t.state_dict()
    assert list(sd_e) == list(sd_t)
    for key, value in sd_t.items():
        mine = sd_e[key].numpy()
        assert mine.dtype == value.numpy().dtype, key
        np.testing.assert_allclose(mine, value.numpy(), rtol=1e-13, atol=1e-15, err_msg=key)
    assert int(sd_e["n_averaged"]) == 5
    # the averaged copy runs like torch's, and is a copy: the model's own weights differ
    x = np.random.default_rng(9).standard_normal((4, 3))
    avg_e.eval()
    avg_t.eval()
    np.testing.assert_allclose(avg_e(ember.tensor(x)).detach().numpy(),
                               avg_t(torch.tensor(x)).detach().numpy(), rtol=1e-12)
    assert not np.allclose(avg_e.module[0].weight.detach().numpy(),
                           ours[0].weight.detach().numpy())


def test_multi_swa_of_integer_buffers_raises_like_torch():
    """get_swa_multi_avg_fn with use_buffers=True reaches BatchNorm's integer
    num_batches_tracked on the second update; torch's addcdiv refuses integers."""
    def run(lib):
        model = _model(lib)
        avg = lib.optim.swa_utils.AveragedModel(
            model, multi_avg_fn=lib.optim.swa_utils.get_swa_multi_avg_fn(), use_buffers=True)
        for epoch in range(2):
            _train_a_little(lib, model, epoch)
            avg.update_parameters(model)

    same_error(run, match="Integer division with addcdiv is no longer supported")


def test_averaged_model_first_update_copies_and_mean_is_exact():
    p = ember.nn.Linear(2, 1, bias=False).double()
    avg = ember.optim.swa_utils.AveragedModel(p)
    seen = []
    for value in (1.0, 2.0, 6.0):
        with ember.no_grad():
            p.weight.fill_(value)
        avg.update_parameters(p)
        seen.append(avg.module.weight.detach().numpy().copy())
    np.testing.assert_allclose(np.stack(seen)[:, 0, 0], [1.0, 1.5, 3.0])


def test_averaged_model_argument_errors_like_torch():
    su = lambda lib: lib.optim.swa_utils  # noqa: E731
    same_error(lambda lib: su(lib).AveragedModel(lib.nn.Linear(1, 1),
                                                 avg_fn=su(lib).get_swa_avg_fn(),
                                                 multi_avg_fn=su(lib).get_swa_multi_avg_fn()),
               match="Only one of avg_fn and multi_avg_fn should be provided")
    same_error(lambda lib: su(lib).get_ema_multi_avg_fn(1.5), match="Invalid decay value 1.5")
    same_error(lambda lib: su(lib).get_ema_avg_fn(-0.1), match="Invalid decay value -0.1")


@pytest.mark.parametrize("batches", ["tensors", "tuples"])
def test_update_bn_like_torch(batches):
    ours, theirs = _pair()
    rng = np.random.default_rng(3)
    data = [rng.standard_normal((5, 3)) * (i + 1) for i in range(4)]
    for lib, model in ((ember, ours), (torch, theirs)):
        model.eval()
        model[1].momentum = 0.3
        loader = [lib.tensor(x) if batches == "tensors" else (lib.tensor(x), lib.zeros(5))
                  for x in data]
        lib.optim.swa_utils.update_bn(loader, model)
        assert not model.training and model[1].momentum == 0.3  # both restored
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        np.testing.assert_allclose(getattr(ours[1], name).numpy(),
                                   getattr(theirs[1], name).numpy(), rtol=1e-13, err_msg=name)
    # a cumulative average over all batches, not an exponential one
    w, b = theirs[0].weight.detach().numpy(), theirs[0].bias.detach().numpy()
    batch_means = [(x @ w.T + b).mean(0) for x in data]
    np.testing.assert_allclose(ours[1].running_mean.numpy(), np.mean(batch_means, 0), rtol=1e-12)


def test_update_bn_without_batchnorm_does_nothing():
    model = ember.nn.Linear(2, 2)
    model.eval()
    ember.optim.swa_utils.update_bn([ember.ones(1, 2)], model)
    assert not model.training


def test_update_bn_on_an_averaged_model():
    ours, theirs = _pair()
    avgs = []
    for lib, model in ((ember, ours), (torch, theirs)):
        avg = lib.optim.swa_utils.AveragedModel(model)
        for epoch in range(3):
            _train_a_little(lib, model, epoch)
            avg.update_parameters(model)
        rng = np.random.default_rng(5)
        lib.optim.swa_utils.update_bn([lib.tensor(rng.standard_normal((6, 3))) for _ in range(3)],
                                      avg)
        avgs.append(avg.module[1])
    np.testing.assert_allclose(avgs[0].running_var.numpy(), avgs[1].running_var.numpy(),
                               rtol=1e-13)


def _opt(lib, kind="SGD"):
    groups = [{"params": [lib.nn.Parameter(lib.zeros(2))]},
              {"params": [lib.nn.Parameter(lib.zeros(1))], "lr": 0.5}]
    return getattr(lib.optim, kind)(groups, lr=0.1)


@pytest.mark.parametrize("kwargs", [
    dict(swa_lr=0.05),
    dict(swa_lr=[0.05, 0.01], anneal_epochs=3, anneal_strategy="linear"),
    dict(swa_lr=0.2, anneal_epochs=0),
    dict(swa_lr=0.02, anneal_epochs=1, anneal_strategy="cos"),
])
def test_swalr_like_torch(kwargs):
    def run(lib):
        opt = _opt(lib)
        before = lib.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
        lrs = []
        for _ in range(3):  # the lr SWALR starts from is wherever training left it
            opt.step()
            before.step()
        sched = lib.optim.swa_utils.SWALR(opt, **kwargs)
        lrs.append(sched.get_last_lr())
        for _ in range(15):
            opt.step()
            sched.step()
            lrs.append(sched.get_last_lr())
        return lrs, sched

    (ours, se), (theirs, st) = run(ember), run(torch)
    for a, b in zip(ours, theirs):
        assert a == pytest.approx(b, rel=1e-14)
    sd_e, sd_t = se.state_dict(), st.state_dict()
    assert set(sd_e) == set(sd_t) and "anneal_func" not in sd_e
    other = ember.optim.swa_utils.SWALR(_opt(ember), swa_lr=1.0, anneal_strategy="linear")
    other.load_state_dict(sd_e)
    assert other.anneal_func == se.anneal_func and other._anneal_strategy == se._anneal_strategy


@pytest.mark.parametrize("make,match", [
    (lambda lib, o: lib.optim.swa_utils.SWALR(o, 0.1, anneal_strategy="exp"),
     "anneal_strategy must be one of 'cos' or 'linear', instead got exp"),
    (lambda lib, o: lib.optim.swa_utils.SWALR(o, 0.1, anneal_epochs=-1),
     "anneal_epochs must be equal or greater than 0, got -1"),
    (lambda lib, o: lib.optim.swa_utils.SWALR(o, 0.1, anneal_epochs=2.5),
     "anneal_epochs must be equal or greater than 0, got 2.5"),
    (lambda lib, o: lib.optim.swa_utils.SWALR(o, [0.1]),
     "swa_lr must have the same length as optimizer.param_groups"),
])
def test_swalr_errors_like_torch(make, match):
    same_error(lambda lib: make(lib, _opt(lib)), match=match)


def test_swalr_get_lr_outside_step_warns():
    sched = ember.optim.swa_utils.SWALR(_opt(ember), 0.1)
    with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
        sched.get_lr()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sched.get_last_lr()
