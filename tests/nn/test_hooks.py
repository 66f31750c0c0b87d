"""Module hooks against torch: forward (pre-)hooks, full backward (pre-)hooks, the legacy
backward hook, the global hooks of torch.nn.modules.module, registration hooks, state_dict
hooks, and tensor hooks on activations (Grad-CAM).

Each scenario runs once per library and writes a log of what its hooks saw (names, None or the
values as arrays); the two logs must be equal."""
import warnings

import numpy as np
import pytest
import torch

import ember
from tests.helpers import assert_close, same_error

LIBS = pytest.mark.parametrize("lib", [ember, torch], ids=["ember", "torch"])


def arr(x):
    return None if x is None else np.array(x.detach().numpy())


def grads(gs):
    return tuple(arr(g) for g in gs)


def assert_same_log(scenario, **kw):
    logs = [scenario(lib, **kw) for lib in (ember, torch)]
    assert len(logs[0]) == len(logs[1]), f"ember {logs[0]}\ntorch {logs[1]}"
    for e, t in zip(*logs):
        assert _same(e, t), f"ember {e} != torch {t}"


def _same(a, b):
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.shape == b.shape
                and np.allclose(a, b, rtol=1e-5, atol=1e-6))
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def small_net(lib):
    lib.manual_seed(0)
    net = lib.nn.Sequential(lib.nn.Linear(3, 4), lib.nn.Tanh(), lib.nn.Linear(4, 2))
    w = np.random.default_rng(0)
    with lib.no_grad():
        for p in net.parameters():
            p.copy_(lib.tensor(w.standard_normal(tuple(p.shape)).astype(np.float32)))
    return net


def x_in(lib, requires_grad=True):
    x = np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32)
    return lib.tensor(x, requires_grad=requires_grad)


# -- full backward hooks -------------------------------------------------------------------------

def _full_hooks_on_sequential(lib):
    net = small_net(lib)
    log = []
    for name, m in net.named_children():
        m.register_full_backward_pre_hook(lambda mod, go, n=name: log.append(("pre", n, grads(go))))
        m.register_full_backward_hook(
            lambda mod, gi, go, n=name: log.append(("hook", n, grads(gi), grads(go))))
    x = x_in(lib)
    out = net(x)
    (out ** 2).sum().backward()
    log.append(("x.grad", arr(x.grad)))
    log += [("p", arr(p.grad)) for p in net.parameters()]
    return log


def test_full_backward_hooks_order_and_arguments():
    assert_same_log(_full_hooks_on_sequential)


def _multi_io(lib, b_requires_grad, use_y):
    class M(lib.nn.Module):
        def forward(self, a, b, c=None):
            return a * 2, b * 3, a.detach()

    m = M()
    log = []
    m.register_full_backward_pre_hook(lambda mod, go: log.append(("pre", grads(go))))
    m.register_full_backward_hook(lambda mod, gi, go: log.append(("hook", grads(gi), grads(go))))
    a = lib.ones(2, requires_grad=True)
    b = lib.ones(2, requires_grad=b_requires_grad)
    x, y, z = m(a, b, 5)
    log.append(("z", z.requires_grad, z.grad_fn is None))
    loss = x.sum() + (y * y).sum() if use_y else x.sum()
    loss.backward()
    return log


@pytest.mark.parametrize("b_requires_grad", [False, True])
@pytest.mark.parametrize("use_y", [False, True])
def test_full_backward_hook_none_and_zero_entries(b_requires_grad, use_y):
    # non-Tensor arguments and outputs that no gradient reached are None; an input that does
    # not require grad (or that forward did not use) gets zeros, as torch's BackwardHook
    assert_same_log(_multi_io, b_requires_grad=b_requires_grad, use_y=use_y)


def _replace_grad_input(lib):
    net = small_net(lib)
    net[0].register_full_backward_hook(lambda mod, gi, go: (gi[0] * 10,))
    net[2].register_full_backward_pre_hook(lambda mod, go: (go[0] + 1,))
    x = x_in(lib)
    net(x).sum().backward()
    return [arr(x.grad)] + [arr(p.grad) for p in net.parameters()]


def test_backward_hooks_replace_gradients():
    assert_same_log(_replace_grad_input)


def _no_input_requires_grad(lib):
    net = small_net(lib)
    log = []
    net[0].register_full_backward_hook(lambda mod, gi, go: log.append((grads(gi), grads(go))))
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        net(x_in(lib, requires_grad=False)).sum().backward()
    log.append([str(x.message)[:60] for x in w if "Full backward hook" in str(x.message)])
    return log


def test_full_backward_hook_fires_on_outputs_when_no_input_requires_grad():
    assert_same_log(_no_input_requires_grad)


@LIBS
def test_backward_hook_wrong_number_of_grads(lib):
    m = lib.nn.Linear(2, 2)
    m.register_full_backward_hook(lambda mod, gi, go: (gi[0], gi[0]))
    with pytest.raises(RuntimeError, match="Backward hook returned an invalid number of "
                                           "grad_input, got 2, but expected 1"):
        m(lib.ones(1, 2, requires_grad=True)).sum().backward()
    m = lib.nn.Linear(2, 2)
    m.register_full_backward_pre_hook(lambda mod, go: ())
    with pytest.raises(RuntimeError, match="Backward pre hook returned an invalid number of "
                                           "grad_output, got 0, but expected 1"):
        m(lib.ones(1, 2, requires_grad=True)).sum().backward()


@LIBS
def test_full_and_legacy_hooks_do_not_mix(lib):
    m = lib.nn.Linear(2, 2)
    m.register_full_backward_hook(lambda *a: None)
    with pytest.raises(RuntimeError, match="Cannot use both regular backward hooks and full "
                                           "backward hooks on a single Module"):
        m.register_backward_hook(lambda *a: None)


def _prepend_and_remove(lib):
    m = lib.nn.Tanh()
    log = []
    h1 = m.register_full_backward_hook(lambda *a: log.append("first"))
    m.register_full_backward_hook(lambda *a: log.append("prepended"), prepend=True)
    m.register_full_backward_pre_hook(lambda *a: log.append("pre"))
    m.register_full_backward_pre_hook(lambda *a: log.append("pre-prepended"), prepend=True)
    m(lib.ones(2, requires_grad=True)).sum().backward()
    h1.remove()
    m(lib.ones(2, requires_grad=True)).sum().backward()
    return log


def test_backward_hook_prepend_and_remove():
    assert_same_log(_prepend_and_remove)


def _legacy_tanh(lib):
    m = lib.nn.Tanh()
    log = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m.register_backward_hook(lambda mod, gi, go: log.append((grads(gi), grads(go))))
        x = x_in(lib)
        (m(x) * 3).sum().backward()
    log.append(arr(x.grad))
    return log


def test_legacy_backward_hook_on_a_one_op_module():
    # the legacy hook sees the last op's grad_fn: for a one-op module that is its input's grad
    assert_same_log(_legacy_tanh)


def _legacy_warning(lib):
    m = lib.nn.Sequential(lib.nn.Tanh(), lib.nn.Sigmoid())
    m.register_backward_hook(lambda *a: None)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        m(x_in(lib))
    return [(x.category.__name__, str(x.message)[:70]) for x in w]


def test_legacy_backward_hook_warns_as_torch():
    assert_same_log(_legacy_warning)


def _hook_with_create_graph(lib):
    m = lib.nn.Tanh()
    log = []
    m.register_full_backward_hook(lambda mod, gi, go: log.append(("hook", grads(gi))))
    x = x_in(lib)
    y = m(x).pow(2).sum()
    (g,) = lib.autograd.grad(y, x, create_graph=True)
    g.sum().backward()
    log.append(arr(x.grad))
    return log


def test_full_backward_hook_with_create_graph():
    assert_same_log(_hook_with_create_graph)


# -- global hooks ----------------------------------------------------------------------------------

def _globals(lib):
    mm = lib.nn.modules.module
    net = small_net(lib)
    log = []
    handles = [
        mm.register_module_forward_pre_hook(lambda m, a: log.append(("gpre", type(m).__name__))),
        mm.register_module_forward_hook(lambda m, a, o: log.append(("gfwd", type(m).__name__))),
        mm.register_module_full_backward_pre_hook(
            lambda m, go: log.append(("gbpre", type(m).__name__))),
        mm.register_module_full_backward_hook(
            lambda m, gi, go: log.append(("gbwd", type(m).__name__, grads(gi)))),
    ]
    try:
        net[1].register_forward_hook(lambda m, a, o: log.append(("local", type(m).__name__)))
        net[1].register_full_backward_hook(lambda m, gi, go: log.append(("lbwd",)))
        net(x_in(lib)).sum().backward()
    finally:
        for h in handles:
            h.remove()
    net(x_in(lib)).sum().backward()  # removed: nothing more is logged
    return log


def test_global_forward_and_backward_hooks():
    assert_same_log(_globals)


def _global_always_call(lib):
    mm = lib.nn.modules.module
    log = []

    class Boom(lib.nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    h = mm.register_module_forward_hook(lambda m, a, o: log.append(("always", o)),
                                        always_call=True)
    try:
        with pytest.raises(ValueError, match="boom"):
            Boom()(lib.ones(1))
    finally:
        h.remove()
    return log


def test_global_forward_hook_always_call():
    assert_same_log(_global_always_call)


@LIBS
def test_global_full_and_legacy_backward_hooks_do_not_mix(lib):
    mm = lib.nn.modules.module
    h = mm.register_module_full_backward_hook(lambda *a: None)
    try:
        with pytest.raises(RuntimeError, match="Cannot use both regular backward hooks and full "
                                               "backward hooks as a global Module hook"):
            mm.register_module_backward_hook(lambda *a: None)
    finally:
        h.remove()
        mm._global_is_full_backward_hook = None  # torch keeps the kind; reset for other tests


def _registration(lib):
    mm = lib.nn.modules.module
    log = []

    def on_param(m, name, p):
        log.append(("param", type(m).__name__, name, tuple(p.shape)))

    def on_buffer(m, name, b):
        log.append(("buffer", type(m).__name__, name, None if b is None else tuple(b.shape)))
        return lib.zeros(7) if name == "swap" else None

    def on_module(m, name, sub):
        log.append(("module", type(m).__name__, name, type(sub).__name__))

    handles = [mm.register_module_parameter_registration_hook(on_param),
               mm.register_module_buffer_registration_hook(on_buffer),
               mm.register_module_module_registration_hook(on_module)]
    try:
        seq = lib.nn.Sequential(lib.nn.Linear(2, 3))
        seq.add_module("bn", lib.nn.BatchNorm1d(3))
        seq.register_buffer("swap", lib.ones(2))
        log.append(("swapped", tuple(seq.swap.shape)))
    finally:
        for h in handles:
            h.remove()
    lib.nn.Linear(1, 1)  # removed: not logged
    return log


def test_registration_hooks():
    assert_same_log(_registration)


# -- state_dict hooks ------------------------------------------------------------------------------

def _state_dict_hooks(lib):
    net = small_net(lib)
    log = []
    net.register_state_dict_pre_hook(lambda m, prefix, keep_vars: log.append(("pre", prefix)))
    net[0].register_state_dict_post_hook(
        lambda m, sd, prefix, meta: log.append(("post", prefix, sorted(sd))))

    def private(m, sd, prefix, meta):
        return {"replaced": 1}

    net._register_state_dict_hook(private)
    sd = net.state_dict()
    log.append(("root result", sorted(sd)))
    net[2]._register_state_dict_hook(private)  # on a child, the returned dict is ignored
    log.append(("child result", sorted(net.state_dict())))
    return log


def test_state_dict_hooks():
    assert_same_log(_state_dict_hooks)


@LIBS
def test_public_state_dict_post_hook_must_return_none(lib):
    m = lib.nn.Linear(1, 1)
    m.register_state_dict_post_hook(lambda *a: {})
    with pytest.raises(RuntimeError, match="state_dict post-hook must return None"):
        m.state_dict()

    def hook(*a):
        return None

    m.register_state_dict_post_hook(hook)
    with pytest.raises(RuntimeError, match="Cannot register the same function as the state dict "
                                           "post hook"):
        m._register_state_dict_hook(hook)


def _load_hooks(lib):
    net = small_net(lib)
    log = []
    net[0]._register_load_state_dict_pre_hook(
        lambda sd, prefix, *rest: log.append(("pre", prefix, len(rest))))
    net[0].register_load_state_dict_pre_hook(
        lambda m, sd, prefix, *rest: log.append(("pre-with-module", type(m).__name__, prefix)))
    net.register_load_state_dict_post_hook(
        lambda m, keys: log.append(("post", list(keys.missing_keys))))
    net.load_state_dict(net.state_dict())
    return log


def test_load_state_dict_hooks():
    assert_same_log(_load_hooks)


# -- tensor hooks on activations: Grad-CAM ---------------------------------------------------------

def _grad_cam(lib):
    lib.manual_seed(0)
    rng = np.random.default_rng(3)
    nn = lib.nn
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 6, 3, padding=1),
                        nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 5))
    with lib.no_grad():
        for p in net.parameters():
            p.copy_(lib.tensor(rng.standard_normal(tuple(p.shape)).astype(np.float32) * 0.5))
    saved = {}

    def save_activation(module, args, output):
        saved["act"] = output
        output.register_hook(lambda g: saved.__setitem__("grad", g))

    net[3].register_forward_hook(save_activation)
    x = lib.tensor(rng.standard_normal((2, 3, 8, 8)).astype(np.float32))
    scores = net(x)
    scores[:, 2].sum().backward()
    act, grad = saved["act"], saved["grad"]
    weights = grad.mean(dim=(2, 3), keepdim=True)
    cam = lib.relu((weights * act).sum(dim=1))
    cam = cam / (cam.amax(dim=(1, 2), keepdim=True) + 1e-8)
    return [arr(scores), arr(grad), arr(cam), act.requires_grad, act.is_leaf]


def test_grad_cam_tensor_hook_on_activation():
    assert_same_log(_grad_cam)


def _retain_grad(lib):
    x = x_in(lib)
    h = lib.tanh(x * 2)
    h.retain_grad()
    y = (h ** 3).sum()
    seen = []
    handle = h.register_hook(lambda g: seen.append(arr(g)) or g * 2)
    y.backward(retain_graph=True)
    handle.remove()
    return [arr(h.grad), h.retains_grad, arr(x.grad), seen]


def test_retain_grad_and_hook_on_non_leaf():
    assert_same_log(_retain_grad)


@LIBS
def test_removable_handle_is_shared_module(lib):
    m = lib.nn.Linear(1, 1)
    h = m.register_full_backward_hook(lambda *a: None)
    assert isinstance(h, lib.utils.hooks.RemovableHandle)
    with h:
        assert len(m._backward_hooks) == 1
    assert len(m._backward_hooks) == 0


def test_forward_hook_on_module_output_is_not_the_identity_view():
    # the forward hook sees forward's own output; the caller gets the backward-hook identity
    for lib in (ember, torch):
        m = lib.nn.Tanh()
        seen = []
        m.register_forward_hook(lambda mod, a, o: seen.append(o))
        m.register_full_backward_hook(lambda *a: None)
        out = m(lib.ones(2, requires_grad=True))
        assert out is not seen[0]
        assert type(out.grad_fn).__name__ == "BackwardHookFunctionBackward"
        assert_close(out, seen[0], "float32")


def test_hooks_error_in_backward_hook_propagates():
    def f(lib):
        m = lib.nn.Tanh()
        m.register_full_backward_hook(lambda *a: 1 / 0)
        m(lib.ones(2, requires_grad=True)).sum().backward()
    same_error(f)


def _tensor_hook_on_unused_hooked_output(lib):
    # a tensor hook on a module output that gets no gradient is not called (torch calls tensor
    # hooks only with defined gradients), also behind a full backward hook's identity node
    class Two(lib.nn.Module):
        def forward(self, x):
            return x * 2, x * 3

    m = Two()
    m.register_full_backward_hook(lambda mod, gi, go: None)
    x = lib.ones(2, requires_grad=True)
    a, b = m(x)
    log = []
    a.register_hook(lambda g: log.append(("a", arr(g))))
    b.register_hook(lambda g: log.append(("b", arr(g))))
    b.retain_grad()
    a.sum().backward()
    log.append(("b.grad", arr(b.grad)))
    log.append(("x.grad", arr(x.grad)))
    return log


def test_tensor_hook_on_unused_output_behind_backward_hook():
    assert_same_log(_tensor_hook_on_unused_hooked_output)
