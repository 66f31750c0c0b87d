"""Helpers with one home (issue 16): the hook handle and typename shared by Module and Optimizer,
the optimisers' legacy group defaults kept once in Optimizer, conv's 'same' padding from _shapes,
and the torch legacy ember dropped."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import ember
from ember.utils.hooks import RemovableHandle

OPTIMIZERS = [("SGD", dict(lr=0.1, momentum=0.9)), ("Adam", dict(lr=0.01)),
              ("AdamW", dict(lr=0.01)), ("RMSprop", dict(lr=0.01, momentum=0.5)),
              ("Adagrad", dict(lr=0.1))]

# keys torch's __setstate__ fills in for groups saved by older versions
LEGACY_KEYS = ["nesterov", "maximize", "foreach", "differentiable", "fused", "amsgrad",
               "capturable", "decoupled_weight_decay", "momentum", "centered"]


def _trained(lib, name, kw):
    p = lib.nn.Parameter(lib.tensor([1.0, -2.0, 3.0]))
    opt = getattr(lib.optim, name)([p], **kw)
    (p * p).sum().backward()
    opt.step()
    return p, opt


def _old_style(sd, legacy_keys):
    """A state dict as an older torch saved it: fewer group options, steps as numbers."""
    for group in sd["param_groups"]:
        for key in legacy_keys:
            group.pop(key, None)
    for state in sd["state"].values():
        if "step" in state:
            state["step"] = float(state["step"])
    return sd


@pytest.mark.parametrize("name, kw", OPTIMIZERS, ids=[n for n, _ in OPTIMIZERS])
def test_loading_an_old_state_dict_fills_torchs_legacy_defaults(name, kw):
    groups, steps = [], []
    for lib in (ember, torch):
        _, opt = _trained(lib, name, kw)
        sd = _old_style(opt.state_dict(), LEGACY_KEYS)
        _, fresh = _trained(lib, name, kw)
        fresh.load_state_dict(sd)
        group = fresh.param_groups[0]
        groups.append({k: group.get(k, "absent") for k in LEGACY_KEYS})
        step = next(iter(fresh.state.values())).get("step")
        steps.append(None if step is None else (type(step).__name__, float(step)))
    assert groups[0] == groups[1]
    assert steps[0] == steps[1]


def test_adamw_keeps_its_decoupled_decay_when_loading_adams_state():
    for lib in (ember, torch):
        _, adam = _trained(lib, "Adam", dict(lr=0.01))
        _, adamw = _trained(lib, "AdamW", dict(lr=0.01))
        adamw.load_state_dict(adam.state_dict())
        assert adamw.param_groups[0]["decoupled_weight_decay"] is True


def test_module_and_optimizer_hooks_share_one_removable_handle():
    m = ember.nn.Linear(2, 2)
    opt = ember.optim.SGD(m.parameters(), lr=0.1)
    calls = []
    handles = [m.register_forward_hook(lambda *a: calls.append("fwd")),
               opt.register_step_pre_hook(lambda *a: calls.append("pre")),
               opt.register_step_post_hook(lambda *a: calls.append("post"))]
    assert all(type(h) is RemovableHandle for h in handles)
    assert len({h.id for h in handles}) == 3
    m(ember.ones(1, 2)).sum().backward()
    opt.step()
    assert calls == ["fwd", "pre", "post"]
    for h in handles:
        h.remove()
    m(ember.ones(1, 2)).sum().backward()
    opt.step()
    assert calls == ["fwd", "pre", "post"]
    with opt.register_step_pre_hook(lambda *a: calls.append("ctx")):
        opt.step()
    opt.step()
    assert calls[-1] == "ctx" and calls.count("ctx") == 1


def _message(fn):
    with pytest.raises(TypeError) as info:
        fn()
    return str(info.value).replace("torch.", "ember.")


@pytest.mark.parametrize("case", ["buffer_name", "optimizer_param", "module_child"])
def test_typename_in_messages_is_torchs(case):
    # (for a tensor torch names its legacy type, torch.FloatTensor; ember says ember.Tensor)
    def call(lib):
        if case == "buffer_name":
            return lib.nn.Module().register_buffer(5, None)
        if case == "optimizer_param":
            return lib.optim.SGD([lib.zeros(1, requires_grad=True), 3], lr=0.1)
        return lib.nn.Module().add_module("child", {})

    ours, theirs = _message(lambda: call(ember)), _message(lambda: call(torch))
    assert ours == theirs


@pytest.mark.parametrize("kw", [dict(padding="same", padding_mode="reflect"),
                                dict(padding="same", padding_mode="reflect", dilation=(2,)),
                                dict(padding="same", padding_mode="circular", dilation=(1, 2),
                                     kernel_size=(3, 4)),
                                dict(padding="valid", padding_mode="replicate"),
                                dict(padding=(1, 2), padding_mode="circular"),
                                dict(padding=(1,), padding_mode="reflect")],
                         ids=lambda kw: "-".join(f"{k}={v}" for k, v in kw.items()))
def test_conv_padding_for_f_pad_is_torchs(kw):
    kw = dict(kw)
    k = kw.pop("kernel_size", 3)
    ours = ember.nn.Conv2d(2, 2, k, **kw)._reversed_padding_repeated_twice
    theirs = torch.nn.Conv2d(2, 2, k, **kw)._reversed_padding_repeated_twice
    assert list(ours) == list(theirs)


def test_conv_options_are_stored_as_given_like_torch():
    for lib in (ember, torch):
        m = lib.nn.Conv2d(2, 2, (3,), stride=2.0, dilation=[1, 1])
        assert (m.kernel_size, m.stride, m.dilation) == ((3,), (2.0, 2.0), (1, 1))


def test_torch_legacy_ember_never_needed_is_gone():
    assert not hasattr(ember.nn.Module, "dump_patches")
    assert not hasattr(ember.nn.Module, "call_super_init")
    for cls in (ember.nn.Module, ember.nn.Conv2d, ember.nn.Softmax):
        assert "__setstate__" not in vars(cls) and "__setstate__" not in vars(cls.__mro__[1])
    m = ember.nn.Linear(1, 1)

    def hook(module, state_dict, prefix, local_metadata):
        return None

    m.register_state_dict_post_hook(hook)
    assert not hasattr(hook, "_from_public_api")
    assert not hasattr(ember.optim.SGD.step, "_with_hooks")


def test_module_init_still_refuses_arguments_like_torch():
    for lib in (ember, torch):
        with pytest.raises(TypeError, match="unexpected keyword argument 'x'"):
            lib.nn.Module(x=1)
        with pytest.raises(TypeError, match="takes 1 positional argument but 2 were given"):
            lib.nn.Module(1)


def test_a_one_element_value_still_loads_into_a_0d_parameter_as_torch():
    m = ember.nn.Module()
    m.p = ember.nn.Parameter(ember.tensor(1.0))
    m.load_state_dict({"p": np.array([5.0], np.float32)})
    assert m.p.shape == () and float(m.p.detach().numpy()) == 5.0
