"""Optimiser steps (issue 12): ``optimizer.step()`` over four parameters of 250k float32
elements each, gradients set once, for the optimisers added in issue 12 and RMSprop/Adagrad;
and one L-BFGS step (20 iterations) on a least-squares closure. Adam's own case is
``adam_step_4x1M`` in bench_train.py. Targets are ember/torch time ratios: ember runs torch's
single-tensor arithmetic with NumPy ufuncs (a few more passes over memory than torch's fused
loops).
"""
from benchmarks.harness import case, randn


def _step_case(lib, name, **kwargs):
    params = [lib.nn.Parameter(randn(lib, 500, 500)) for _ in range(4)]
    for p in params:
        p.grad = randn(lib, 500, 500)
    opt = getattr(lib.optim, name)(params, **kwargs)
    opt.step()  # create the state outside the timing
    return opt.step


def _register(label, name, target, **kwargs):
    @case(f"{label}_step_4x250k", target=target)
    def setup(lib):
        return _step_case(lib, name, **kwargs)

    setup.__qualname__ = setup.__name__ = f"{label}_step"
    setup.__doc__ = f"{name}({', '.join(f'{k}={v}' for k, v in kwargs.items())}).step() over " \
                    "four (500, 500) float32 parameters."
    return setup


for _label, _name, _kwargs in (
        ("sgd_nesterov", "SGD", dict(lr=0.01, momentum=0.9, nesterov=True)),
        ("rmsprop_centered", "RMSprop", dict(centered=True, momentum=0.9)),
        ("adagrad", "Adagrad", dict()),
        ("adadelta", "Adadelta", dict(weight_decay=0.01)),
        ("adamax", "Adamax", dict()),
        ("nadam", "NAdam", dict()),
        ("radam", "RAdam", dict()),
        ("asgd", "ASGD", dict(t0=0)),
        ("rprop", "Rprop", dict())):
    _register(_label, _name, 2.0, **_kwargs)


@case("lbfgs_step_least_squares_256x64", target=2.0)
def lbfgs_step(lib):
    """LBFGS(history_size=10).step(closure): 20 iterations of a (256, 64) least-squares fit,
    the closure's forward and backward included."""
    A, b = randn(lib, 256, 64), randn(lib, 256)
    x = lib.nn.Parameter(lib.zeros(64))
    opt = lib.optim.LBFGS([x], history_size=10)

    def closure():
        opt.zero_grad()
        loss = ((A @ x - b) ** 2).mean()
        loss.backward()
        return loss

    def step():
        with lib.no_grad():
            x.zero_()
        opt.state.clear()
        opt.step(closure)
    return step
