"""ember.nn.Module and Parameter against torch.nn.Module and Parameter.

Most tests build the same test-local modules on top of ``lib.nn.Module`` for ``lib`` in
(ember, torch) and assert the same things about both, so every expectation is checked against
torch's actual behaviour too."""
import copy
import math
import types
from collections import OrderedDict

import numpy as np
import pytest
import torch

import ember
from ember.nn import init

LIBS = pytest.mark.parametrize("lib", [ember, torch], ids=["ember", "torch"])


def classes(lib):
    """Small modules written once against ``lib`` (ember or torch)."""
    nn = lib.nn

    class Linear(nn.Module):
        def __init__(self, in_features, out_features, bias=True):
            super().__init__()
            self.in_features, self.out_features = in_features, out_features
            self.weight = nn.Parameter(lib.zeros(out_features, in_features))
            if bias:
                self.bias = nn.Parameter(lib.zeros(out_features))
            else:
                self.register_parameter("bias", None)
            self.reset_parameters()

        def reset_parameters(self):
            lib.nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
            if self.bias is not None:
                bound = 1 / math.sqrt(self.in_features)
                lib.nn.init.uniform_(self.bias, -bound, bound)

        def forward(self, x):
            y = x @ self.weight.t()
            return y + self.bias if self.bias is not None else y

        def extra_repr(self):
            return (f"in_features={self.in_features}, out_features={self.out_features}, "
                    f"bias={self.bias is not None}")

    class Norm(nn.Module):
        def __init__(self, n):
            super().__init__()
            self.n = n
            self.weight = nn.Parameter(lib.ones(n))
            self.register_buffer("running_mean", lib.zeros(n))
            self.register_buffer("num_batches_tracked", lib.tensor(0))
            self.register_buffer("scratch", lib.zeros(n), persistent=False)

        def forward(self, x):
            return x * self.weight

        def extra_repr(self):
            return f"{self.n}"

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = Linear(3, 4)
            self.norm = Norm(4)
            self.head = Linear(4, 2, bias=False)

        def forward(self, x):
            return self.head(self.norm(self.fc(x)))

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.stem = Linear(2, 3)
            self.block = Block()
            self.shared = self.stem  # the same module twice
            self.scale = nn.Parameter(lib.ones(()))

        def forward(self, x):
            return self.block(self.shared(self.stem(x).tanh()[..., :2]).tanh()) * self.scale

    class MultiLine(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = Norm(2)

        def extra_repr(self):
            return "first line\nsecond line"

    return types.SimpleNamespace(Linear=Linear, Norm=Norm, Block=Block, Net=Net, MultiLine=MultiLine)


E = classes(ember)
T = classes(torch)


def same_weights(ember_module, torch_module):
    """Copy torch's parameters and buffers into the ember module (through NumPy)."""
    ember_module.load_state_dict({k: v.numpy() for k, v in torch_module.state_dict().items()})


# -- Parameter -----------------------------------------------------------------------------------

def test_parameter_is_a_leaf_tensor_that_requires_grad():
    p = ember.nn.Parameter(ember.tensor([1.0, 2.0]))
    assert isinstance(p, ember.Tensor) and isinstance(p, ember.nn.Parameter)
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    assert not ember.nn.Parameter(ember.zeros(2), requires_grad=False).requires_grad
    with ember.no_grad():
        assert ember.nn.Parameter(ember.zeros(2)).requires_grad  # no_grad does not matter


def test_parameter_shares_storage_and_version_counter_with_its_data():
    t = ember.zeros(3)
    p = ember.nn.Parameter(t)
    t._data[0] = 5.0
    assert p._data[0] == 5.0
    t.add_(1.0)
    assert p.detach().numpy().tolist() == [6.0, 1.0, 1.0]
    tp = torch.zeros(3)
    pp = torch.nn.Parameter(tp)
    tp.add_(1.0)
    assert p._version == pp._version == 1


def test_parameter_from_a_non_leaf_is_a_new_leaf():
    x = ember.ones(2, requires_grad=True)
    y = x * 2
    p = ember.nn.Parameter(y)
    assert p.is_leaf and p.grad_fn is None and p.requires_grad
    (p * p).sum().backward()
    assert x.grad is None
    np.testing.assert_array_equal(p.grad.numpy(), [4.0, 4.0])


def test_parameter_repr_matches_torch():
    for values in ([1.0, 2.0, 3.0], [[0.5, -1.25]]):
        e = repr(ember.nn.Parameter(ember.tensor(values)))
        t = repr(torch.nn.Parameter(torch.tensor(values)))
        assert e == t
    e = repr(ember.nn.Parameter(ember.tensor([1.0], dtype=ember.float64), requires_grad=False))
    t = repr(torch.nn.Parameter(torch.tensor([1.0], dtype=torch.float64), requires_grad=False))
    assert e == t.replace("torch.", "ember.")
    assert repr(ember.nn.Parameter()) == repr(torch.nn.Parameter()) == \
        "Parameter containing:\ntensor([], requires_grad=True)"


def test_parameter_of_integer_tensor():
    p = ember.nn.Parameter(ember.tensor([1, 2]), requires_grad=False)
    assert p.dtype is ember.int64 and not p.requires_grad
    with pytest.raises(RuntimeError, match="floating point"):
        ember.nn.Parameter(ember.tensor([1, 2]))


def test_parameter_rejects_non_tensors():
    with pytest.raises(TypeError):
        ember.nn.Parameter(np.zeros(3))


def test_parameter_detach_is_a_plain_tensor_and_deepcopy_a_parameter():
    p = ember.nn.Parameter(ember.tensor([1.0, 2.0]))
    d = p.detach()
    assert type(d) is ember.Tensor and not d.requires_grad
    assert np.shares_memory(d._data, p._data)
    c = copy.deepcopy(p)
    assert type(c) is ember.nn.Parameter and c.requires_grad
    assert not np.shares_memory(c._data, p._data)
    np.testing.assert_array_equal(c.detach().numpy(), p.detach().numpy())


def test_parameter_module_path():
    from ember.nn.parameter import Buffer, Parameter
    assert Parameter is ember.nn.Parameter
    assert Buffer is ember.nn.modules.module.Buffer


# -- registration by __setattr__ --------------------------------------------------------------------

@LIBS
def test_setattr_fills_the_registries(lib):
    m = lib.nn.Module()
    m.w = lib.nn.Parameter(lib.zeros(2))
    m.child = lib.nn.Module()
    m.register_buffer("buf", lib.zeros(1))
    m.plain = lib.zeros(3)
    m.number = 5
    assert list(m._parameters) == ["w"] and list(m._modules) == ["child"]
    assert list(m._buffers) == ["buf"]
    assert "plain" in m.__dict__ and "number" in m.__dict__
    assert m.w is m._parameters["w"] and m.child is m._modules["child"] and m.buf is m._buffers["buf"]
    # assigning a plain tensor to a buffer name keeps it a buffer
    m.buf = lib.ones(4)
    assert m._buffers["buf"].shape == (4,)


@LIBS
def test_setattr_moves_a_name_between_registries(lib):
    m = lib.nn.Module()
    m.x = 1
    m.x = lib.nn.Parameter(lib.zeros(1))
    assert "x" not in m.__dict__ and "x" in m._parameters
    del m.x
    m.register_buffer("x", lib.zeros(1), persistent=False)
    m.x = lib.nn.Parameter(lib.zeros(1))
    assert "x" not in m._buffers and "x" not in m._non_persistent_buffers_set
    del m.x
    m.x = lib.nn.Module()
    assert "x" in m._modules and "x" not in m._parameters
    m.x = lib.nn.Parameter(lib.zeros(1))
    assert "x" not in m._modules and "x" in m._parameters


@LIBS
def test_assigning_none_keeps_registered_names(lib):
    m = lib.nn.Module()
    m.w = lib.nn.Parameter(lib.zeros(2))
    m.c = lib.nn.Module()
    m.register_buffer("b", lib.zeros(1))
    m.w, m.c, m.b = None, None, None
    assert m._parameters == {"w": None} and m._modules == {"c": None} and m._buffers == {"b": None}
    assert m.w is None and list(m.parameters()) == [] and list(m.state_dict()) == []
    assert list(m.children()) == [] and list(m.buffers()) == []


@LIBS
def test_assigning_wrong_types_to_registered_names(lib):
    name = lib.__name__
    m = lib.nn.Module()
    m.w = lib.nn.Parameter(lib.zeros(2))
    m.c = lib.nn.Module()
    with pytest.raises(TypeError, match=rf"cannot assign '{name}.(FloatTensor|Tensor)' as parameter 'w' "
                                        rf"\({name}.nn.Parameter or None expected\)"):
        m.w = lib.zeros(2)
    with pytest.raises(TypeError, match=rf"cannot assign 'int' as child module 'c' \({name}.nn.Module "
                                        r"or None expected\)"):
        m.c = 3
    m.register_buffer("b", lib.zeros(1))
    with pytest.raises(TypeError, match=r"cannot assign 'str' as buffer 'b'"):
        m.b = "x"


@LIBS
def test_assigning_before_init(lib):
    class Bad(lib.nn.Module):
        def __init__(self):
            self.w = lib.nn.Parameter(lib.zeros(1))

    class BadModule(lib.nn.Module):
        def __init__(self):
            self.c = lib.nn.Module()

    class BadBuffer(lib.nn.Module):
        def __init__(self):
            self.register_buffer("b", lib.zeros(1))

    with pytest.raises(AttributeError, match=r"cannot assign parameters before Module.__init__\(\) call"):
        Bad()
    with pytest.raises(AttributeError, match=r"cannot assign module before Module.__init__\(\) call"):
        BadModule()
    with pytest.raises(AttributeError, match=r"cannot assign buffer before Module.__init__\(\) call"):
        BadBuffer()


@LIBS
def test_register_parameter_checks(lib):
    m = lib.nn.Module()
    m.attr = 1
    p = lib.nn.Parameter(lib.zeros(1))
    with pytest.raises(TypeError, match="parameter name should be a string. Got int"):
        m.register_parameter(1, p)
    with pytest.raises(KeyError, match="parameter name can.{0,2}t contain"):
        m.register_parameter("a.b", p)
    with pytest.raises(KeyError, match="parameter name can.{0,2}t be empty string"):
        m.register_parameter("", p)
    with pytest.raises(KeyError, match="attribute 'attr' already exists"):
        m.register_parameter("attr", p)
    with pytest.raises(KeyError, match="attribute 'training' already exists"):
        m.register_parameter("training", p)
    with pytest.raises(TypeError, match=rf"cannot assign '{lib.__name__}.(FloatTensor|Tensor)' object "
                                        "to parameter 'x'"):
        m.register_parameter("x", lib.zeros(1))
    m.register_parameter("x", None)
    assert m._parameters == {"x": None}


@LIBS
def test_register_buffer_checks(lib):
    m = lib.nn.Module()
    m.attr = 1
    with pytest.raises(TypeError, match="buffer name should be a string. Got int"):
        m.register_buffer(1, lib.zeros(1))
    with pytest.raises(KeyError, match="buffer name can.{0,2}t contain"):
        m.register_buffer("a.b", lib.zeros(1))
    with pytest.raises(KeyError, match="buffer name can.{0,2}t be empty string"):
        m.register_buffer("", lib.zeros(1))
    with pytest.raises(KeyError, match="attribute 'attr' already exists"):
        m.register_buffer("attr", lib.zeros(1))
    with pytest.raises(TypeError, match=r"cannot assign 'list' object to buffer 'b'"):
        m.register_buffer("b", [1.0])


@LIBS
def test_add_module_checks(lib):
    m = lib.nn.Module()
    m.attr = 1
    with pytest.raises(TypeError, match="int is not a Module subclass"):
        m.add_module("x", 3)
    with pytest.raises(TypeError, match="module name should be a string. Got int"):
        m.add_module(1, lib.nn.Module())
    with pytest.raises(KeyError, match="attribute 'attr' already exists"):
        m.add_module("attr", lib.nn.Module())
    with pytest.raises(KeyError, match="module name can.{0,2}t contain \".\", got: a.b"):
        m.add_module("a.b", lib.nn.Module())
    with pytest.raises(KeyError, match="module name can.{0,2}t be empty string"):
        m.add_module("", lib.nn.Module())
    child = lib.nn.Module()
    m.register_module("child", child)
    assert m.child is child


@LIBS
def test_buffer_class_and_persistence(lib):
    m = lib.nn.Module()
    m.keep = lib.nn.Buffer(lib.zeros(1))
    m.drop = lib.nn.Buffer(lib.ones(1), persistent=False)
    assert list(m._buffers) == ["keep", "drop"]
    assert list(m.state_dict()) == ["keep"]
    assert m._non_persistent_buffers_set == {"drop"}
    m.drop = lib.zeros(2)  # reassigning a plain tensor keeps the buffer non-persistent
    assert list(m.state_dict()) == ["keep"]
    m.register_buffer("drop", lib.zeros(2), persistent=True)
    assert list(m.state_dict()) == ["keep", "drop"]


@LIBS
def test_delattr_removes_from_each_registry(lib):
    m = lib.nn.Module()
    m.w = lib.nn.Parameter(lib.zeros(1))
    m.register_buffer("b", lib.zeros(1), persistent=False)
    m.c = lib.nn.Module()
    m.plain = 1
    for name in ("w", "b", "c", "plain"):
        delattr(m, name)
        assert not hasattr(m, name)
    assert not m._parameters and not m._buffers and not m._modules
    assert not m._non_persistent_buffers_set
    with pytest.raises(AttributeError):
        del m.missing


@LIBS
def test_getattr_error_message(lib):
    with pytest.raises(AttributeError, match="'Net' object has no attribute 'nothing'"):
        classes(lib).Net().nothing


@LIBS
def test_dir_lists_registered_names(lib):
    names = dir(classes(lib).Net())
    for name in ("stem", "block", "shared", "scale", "forward", "training", "state_dict"):
        assert name in names
    assert names == sorted(names)


@LIBS
def test_init_rejects_arguments(lib):
    with pytest.raises(TypeError, match=r"Module.__init__\(\) got an unexpected keyword argument 'x'"):
        lib.nn.Module(x=1)
    with pytest.raises(TypeError, match=r"Module.__init__\(\) takes 1 positional argument but 2 were given"):
        lib.nn.Module(1)


@LIBS
def test_forward_not_implemented(lib):
    with pytest.raises(NotImplementedError, match='Module \\[Module\\] is missing the required "forward" function'):
        lib.nn.Module()(lib.zeros(1))


# -- traversal -------------------------------------------------------------------------------------

def test_named_members_match_torch():
    e, t = E.Net(), T.Net()
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()] == [
        "scale", "stem.weight", "stem.bias", "block.fc.weight", "block.fc.bias",
        "block.norm.weight", "block.head.weight"]
    for kwargs in ({}, {"prefix": "model"}, {"recurse": False}, {"remove_duplicate": False}):
        assert [n for n, _ in e.named_parameters(**kwargs)] == [n for n, _ in t.named_parameters(**kwargs)]
        assert [n for n, _ in e.named_buffers(**kwargs)] == [n for n, _ in t.named_buffers(**kwargs)]
    assert [n for n, _ in e.named_modules()] == [n for n, _ in t.named_modules()] == [
        "", "stem", "block", "block.fc", "block.norm", "block.head"]
    assert [n for n, _ in e.named_modules(remove_duplicate=False)] == \
        [n for n, _ in t.named_modules(remove_duplicate=False)]
    assert [n for n, _ in e.named_modules(prefix="m")] == [n for n, _ in t.named_modules(prefix="m")]
    assert [n for n, _ in e.named_children()] == [n for n, _ in t.named_children()] == ["stem", "block"]
    assert [n for n, _ in e.named_buffers()] == ["block.norm.running_mean",
                                                 "block.norm.num_batches_tracked", "block.norm.scratch"]


def test_parameters_yield_the_registered_objects():
    net = E.Net()
    params = list(net.parameters())
    assert params[0] is net.scale and params[1] is net.stem.weight
    assert len(params) == 7 and all(isinstance(p, ember.nn.Parameter) for p in params)
    assert list(net.parameters(recurse=False)) == [net.scale]
    assert list(net.children()) == [net.stem, net.block]
    assert list(net.modules())[0] is net
    assert list(net.buffers())[0] is net.block.norm.running_mean


@LIBS
def test_shared_parameter_counted_once(lib):
    a, b = lib.nn.Module(), lib.nn.Module()
    p = lib.nn.Parameter(lib.zeros(2))
    a.p, b.p = p, p
    root = lib.nn.Module()
    root.a, root.b = a, b
    assert [n for n, _ in root.named_parameters()] == ["a.p"]
    assert [n for n, _ in root.named_parameters(remove_duplicate=False)] == ["a.p", "b.p"]


@LIBS
def test_get_submodule_parameter_buffer(lib):
    net = classes(lib).Net()
    assert net.get_submodule("") is net
    assert net.get_submodule("block.fc") is net.block.fc
    assert net.get_parameter("block.fc.weight") is net.block.fc.weight
    assert net.get_parameter("scale") is net.scale
    assert net.get_buffer("block.norm.running_mean") is net.block.norm.running_mean
    with pytest.raises(AttributeError, match="Block has no attribute `nope`"):
        net.get_submodule("block.nope")
    with pytest.raises(AttributeError, match="`weight` is not an nn.Module"):
        net.get_submodule("stem.weight")
    with pytest.raises(AttributeError, match="`running_mean` is not an nn.Parameter"):
        net.get_parameter("block.norm.running_mean")
    with pytest.raises(AttributeError, match="Linear has no attribute `nope`"):
        net.get_parameter("stem.nope")
    with pytest.raises(AttributeError, match="`weight` is not a buffer"):
        net.get_buffer("stem.weight")


@LIBS
def test_set_submodule(lib):
    net = classes(lib).Net()
    new = lib.nn.Module()
    net.set_submodule("block.fc", new)
    assert net.block.fc is new
    with pytest.raises(AttributeError, match="Block has no attribute `extra`"):
        net.set_submodule("block.extra", new, strict=True)
    net.set_submodule("block.extra", new)
    assert net.block.extra is new
    with pytest.raises(ValueError, match="Cannot set the submodule without a target name!"):
        net.set_submodule("", new)


# -- modes, gradients, apply ---------------------------------------------------------------------

@LIBS
def test_train_and_eval_recurse(lib):
    net = classes(lib).Net()
    assert net.training and net.block.norm.training
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    assert net.train() is net
    assert all(m.training for m in net.modules())
    net.block.train(False)
    assert net.training and not net.block.fc.training
    with pytest.raises(ValueError, match="training mode is expected to be boolean"):
        net.train(1)


def test_requires_grad_and_zero_grad():
    net = E.Net()
    assert net.requires_grad_(False) is net
    assert not any(p.requires_grad for p in net.parameters())
    net.requires_grad_()
    for p in net.parameters():
        p.grad = ember.ones(*p.shape)
    grad = net.stem.weight.grad
    net.zero_grad(set_to_none=False)
    assert net.stem.weight.grad is grad and np.all(grad.numpy() == 0)
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_backward_reaches_every_parameter_and_zero_grad_resets():
    net = E.Net()
    out = net(ember.ones(5, 2)).sum()
    out.backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_forward_and_gradients_match_torch():
    e, t = E.Net(), T.Net()
    same_weights(e, t)
    x = np.random.default_rng(0).standard_normal((5, 2)).astype(np.float32)
    ye, yt = e(ember.tensor(x)), t(torch.tensor(x))
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), rtol=1e-5, atol=1e-6)
    ye.sum().backward()
    yt.sum().backward()
    for (ne, pe), (nt, pt) in zip(e.named_parameters(), t.named_parameters()):
        assert ne == nt
        np.testing.assert_allclose(pe.grad.numpy(), pt.grad.numpy(), rtol=1e-5, atol=1e-6)


@LIBS
def test_apply_visits_children_first(lib):
    net = classes(lib).Net()
    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ["Linear", "Linear", "Norm", "Linear", "Block", "Net"]


def test_apply_for_initialisation():
    net = E.Block()

    def init_weights(m):
        if isinstance(m, E.Linear):
            init.ones_(m.weight)
    net.apply(init_weights)
    assert np.all(net.fc.weight.detach().numpy() == 1) and np.all(net.head.weight.detach().numpy() == 1)


# -- dtype / device --------------------------------------------------------------------------------

@pytest.mark.parametrize("convert,dtype", [
    (lambda m: m.double(), ember.float64), (lambda m: m.to(ember.float64), ember.float64),
    (lambda m: m.to(dtype=ember.float64), ember.float64), (lambda m: m.half(), ember.float16),
    (lambda m: m.to("cpu", ember.float64), ember.float64),
    (lambda m: m.to(ember.zeros(1, dtype=ember.float64)), ember.float64)])
def test_dtype_conversion_keeps_parameter_identity(convert, dtype):
    net = E.Block()
    params = list(net.parameters())
    net.fc.weight.grad = ember.ones(4, 3)
    before = net.fc.weight.detach().numpy().copy()
    assert convert(net) is net
    assert [id(p) for p in net.parameters()] == [id(p) for p in params]  # optimizers stay valid
    assert all(p.dtype is dtype for p in net.parameters())
    assert net.fc.weight.grad.dtype is dtype
    assert net.norm.running_mean.dtype is dtype
    assert net.norm.num_batches_tracked.dtype is ember.int64  # integer buffers keep their dtype
    np.testing.assert_allclose(net.fc.weight.detach().numpy(), before, rtol=1e-3)
    net.float()
    assert all(p.dtype is ember.float32 for p in net.parameters())


def test_converted_module_computes_in_the_new_dtype():
    net = E.Linear(3, 2).double()
    y = net(ember.ones(4, 3, dtype=ember.float64))
    assert y.dtype is ember.float64
    y.sum().backward()
    assert net.weight.grad.dtype is ember.float64


@LIBS
def test_to_rejects_integer_dtypes(lib):
    with pytest.raises(TypeError, match="nn.Module.to only accepts floating point or complex dtypes, "
                                        f"but got desired dtype={lib.__name__}.int64"):
        classes(lib).Norm(2).to(lib.int64)


def test_device_moves():
    net = E.Block()
    assert net.to("cpu") is net and net.cpu() is net and net.to(device="cpu") is net
    with pytest.raises(RuntimeError, match="CPU only"):
        net.to("cuda")
    with pytest.raises(RuntimeError, match="CPU only"):
        net.cuda()


def test_type_casts_integer_buffers_too():
    norm = E.Norm(2).type(ember.float64)
    assert norm.num_batches_tracked.dtype is ember.float64


# -- state_dict / load_state_dict ------------------------------------------------------------------

def test_state_dict_keys_match_torch_and_values_are_detached_views():
    e, t = E.Net(), T.Net()
    sd = e.state_dict()
    assert isinstance(sd, OrderedDict)
    assert list(sd) == list(t.state_dict()) == [
        "scale", "stem.weight", "stem.bias", "block.fc.weight", "block.fc.bias", "block.norm.weight",
        "block.norm.running_mean", "block.norm.num_batches_tracked", "block.head.weight",
        "shared.weight", "shared.bias"]  # a shared module is saved under each of its names
    w = sd["stem.weight"]
    assert type(w) is ember.Tensor and not w.requires_grad and w.grad_fn is None
    assert np.shares_memory(w._data, e.stem.weight._data)
    assert e.state_dict(keep_vars=True)["stem.weight"] is e.stem.weight
    assert list(e.state_dict(prefix="model.")) == list(t.state_dict(prefix="model."))
    assert dict(sd._metadata) == dict(t.state_dict()._metadata)


def test_state_dict_round_trip_through_numpy():
    src, dst = E.Net(), E.Net()
    params = {n: p for n, p in dst.named_parameters()}
    arrays = {k: v.numpy().copy() for k, v in src.state_dict().items()}
    arrays["block.norm.running_mean"][:] = [1, 2, 3, 4]
    arrays["block.norm.num_batches_tracked"] = np.array(7)
    result = dst.load_state_dict(arrays)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == "<All keys matched successfully>"
    for k, v in dst.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), arrays[k])
    # copied in place: the same Parameter objects, not sharing the given arrays
    assert all(p is params[n] for n, p in dst.named_parameters())
    assert not np.shares_memory(dst.stem.weight._data, arrays["stem.weight"])
    assert dst.block.norm.num_batches_tracked.dtype is ember.int64


def test_load_state_dict_from_ember_tensors_and_from_torch():
    src, dst = E.Block(), E.Block()
    dst.load_state_dict(src.state_dict())
    for (k, a), (_, b) in zip(src.state_dict().items(), dst.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    t = T.Block()
    dst.load_state_dict(t.state_dict())  # CPU torch tensors are array-likes
    np.testing.assert_array_equal(dst.fc.weight.detach().numpy(), t.fc.weight.detach().numpy())


def test_load_state_dict_casts_to_the_parameter_dtype_without_recording():
    net = E.Linear(3, 2)
    version = net.weight._version
    net.load_state_dict({"weight": np.ones((2, 3), np.float64), "bias": np.zeros(2, np.float64)})
    assert net.weight.dtype is ember.float32 and np.all(net.weight.detach().numpy() == 1)
    assert net.weight.is_leaf and net.weight.requires_grad and net.weight.grad_fn is None
    assert net.weight._version > version


def test_load_state_dict_0d_compat():
    e, t = E.Net(), T.Net()
    for m in (e, t):
        sd = {k: np.asarray(v) for k, v in m.state_dict().items()} if m is e else m.state_dict()
        sd["scale"] = np.array([3.0], np.float32) if m is e else torch.tensor([3.0])
        m.load_state_dict(sd)
    assert float(e.scale.detach().numpy()) == float(t.scale.detach()) == 3.0


def _error_text(fn):
    with pytest.raises(RuntimeError) as info:
        fn()
    return str(info.value)


def test_missing_and_unexpected_keys_reported_like_torch():
    e, t = E.Block(), T.Block()
    for drop_and_add in [
        lambda sd: (sd.pop("fc.bias"), sd.pop("norm.running_mean")),
        lambda sd: sd.update({"extra": sd["fc.bias"], "fc.extra": sd["fc.bias"], "nope.x": sd["fc.bias"]}),
        lambda sd: (sd.pop("head.weight"), sd.update({"head.bias": sd["fc.bias"]})),
    ]:
        sde = OrderedDict((k, v.numpy()) for k, v in e.state_dict().items())
        sdt = t.state_dict()
        drop_and_add(sde)
        drop_and_add(sdt)
        assert _error_text(lambda: e.load_state_dict(sde)) == _error_text(lambda: t.load_state_dict(sdt))
        # strict=False: no error, the same keys are returned
        re, rt = e.load_state_dict(sde, strict=False), t.load_state_dict(sdt, strict=False)
        assert re.missing_keys == rt.missing_keys and re.unexpected_keys == rt.unexpected_keys
        assert re.missing_keys or re.unexpected_keys


def test_load_state_dict_error_texts():
    e, t = E.Linear(3, 2), T.Linear(3, 2)
    sde = {"weight": np.zeros((3, 3), np.float32), "bias": np.zeros(2, np.float32), "extra": np.zeros(1)}
    sdt = {"weight": torch.zeros(3, 3), "bias": torch.zeros(2), "extra": torch.zeros(1)}
    del sde["bias"], sdt["bias"]
    msg_e = _error_text(lambda: e.load_state_dict(sde))
    msg_t = _error_text(lambda: t.load_state_dict(sdt))
    assert msg_e == msg_t.replace("torch.Size", "ember.Size")
    assert msg_e == (
        'Error(s) in loading state_dict for Linear:\n\tMissing key(s) in state_dict: "bias". \n\t'
        'Unexpected key(s) in state_dict: "extra". \n\tsize mismatch for weight: copying a param with '
        "shape ember.Size([3, 3]) from checkpoint, the shape in current model is ember.Size([2, 3]).")
    # shape mismatches are errors even when strict=False
    with pytest.raises(RuntimeError, match="size mismatch for weight"):
        e.load_state_dict(sde, strict=False)


def test_load_state_dict_strict_false_returns_the_keys():
    net = E.Linear(3, 2)
    keys = net.load_state_dict({"weight": np.zeros((2, 3)), "other": np.zeros(1)}, strict=False)
    assert keys.missing_keys == ["bias"] and keys.unexpected_keys == ["other"]
    assert repr(keys) == "_IncompatibleKeys(missing_keys=['bias'], unexpected_keys=['other'])"
    assert np.all(net.weight.detach().numpy() == 0)


def test_load_state_dict_rejects_non_mappings_and_non_arrays():
    net = E.Linear(3, 2)
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like, got <class 'list'>."):
        net.load_state_dict([("weight", np.zeros((2, 3)))])
    with pytest.raises(RuntimeError, match='While copying the parameter named "bias", expected '
                                           "ember.Tensor or a NumPy array from checkpoint but "
                                           "received <class 'str'>"):
        net.load_state_dict({"weight": np.zeros((2, 3)), "bias": "zeros"})


def test_load_state_dict_assign():
    net = E.Linear(3, 2)
    net.bias.requires_grad_(False)
    w = ember.ones(2, 3)
    b = np.full(2, 5.0, np.float32)
    net.load_state_dict({"weight": w, "bias": b}, assign=True)
    assert isinstance(net.weight, ember.nn.Parameter) and net.weight.requires_grad
    assert np.shares_memory(net.weight._data, w._data)   # assigned, not copied
    assert not net.bias.requires_grad                      # requires_grad kept from the module
    np.testing.assert_array_equal(net.bias.detach().numpy(), b)


def test_extra_state_round_trip():
    class WithExtra(ember.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = ember.nn.Parameter(ember.zeros(1))
            self.note = "a"

        def get_extra_state(self):
            return {"note": self.note}

        def set_extra_state(self, state):
            self.note = state["note"]

    src, dst = WithExtra(), WithExtra()
    src.note = "b"
    sd = src.state_dict()
    assert list(sd) == ["w", "_extra_state"]
    dst.load_state_dict(sd)
    assert dst.note == "b"


def test_state_dict_and_load_hooks():
    net = E.Linear(3, 2)
    calls = []
    h1 = net.register_state_dict_pre_hook(lambda m, prefix, keep_vars: calls.append(("pre", prefix)))
    h2 = net.register_state_dict_post_hook(lambda m, sd, prefix, meta: calls.append(("post", list(sd))))
    net.state_dict()
    assert calls == [("pre", ""), ("post", ["weight", "bias"])]
    h1.remove(), h2.remove()
    calls.clear()
    net.register_load_state_dict_post_hook(lambda m, keys: calls.append(list(keys.missing_keys)))
    net.load_state_dict({"weight": np.zeros((2, 3))}, strict=False)
    assert calls == [["bias"]]


# -- hooks and __call__ ----------------------------------------------------------------------------

@LIBS
def test_forward_pre_hook_can_replace_inputs(lib):
    m = classes(lib).Norm(2)
    seen = []
    h = m.register_forward_pre_hook(lambda mod, args: seen.append(len(args)) or args[0] * 2)
    out = m(lib.ones(2))
    assert seen == [1] and out.tolist() == [2.0, 2.0]  # a single value is wrapped into a tuple
    h.remove()
    assert m(lib.ones(2)).tolist() == [1.0, 1.0]


@LIBS
def test_forward_hook_can_replace_output(lib):
    m = classes(lib).Norm(2)
    seen = []
    h = m.register_forward_hook(lambda mod, args, out: seen.append((mod, len(args))) or out + 1)
    assert m(lib.ones(2)).tolist() == [2.0, 2.0]
    assert seen == [(m, 1)]
    with h:
        pass  # the handle is a context manager that removes the hook
    assert m(lib.ones(2)).tolist() == [1.0, 1.0]


@LIBS
def test_hooks_with_kwargs_and_prepend(lib):
    class Scale(lib.nn.Module):
        def forward(self, x, factor=1.0):
            return x * factor

    m = Scale()
    order = []
    m.register_forward_pre_hook(lambda mod, args, kwargs: (order.append("a"), (args, {"factor": 3.0}))[1],
                                with_kwargs=True)
    m.register_forward_pre_hook(lambda mod, args: order.append("b"), prepend=True)
    m.register_forward_hook(lambda mod, args, kwargs, out: order.append(("c", kwargs["factor"])),
                            with_kwargs=True)
    m.register_forward_hook(lambda mod, args, out: order.append("d"), prepend=True)
    assert m(lib.ones(1)).tolist() == [3.0]
    assert order == ["b", "a", "d", ("c", 3.0)]


@LIBS
def test_bad_kwargs_pre_hook_result(lib):
    m = classes(lib).Norm(1)
    m.register_forward_pre_hook(lambda mod, args, kwargs: 5, with_kwargs=True)
    with pytest.raises(RuntimeError, match=r"forward pre-hook must return None or a tuple of "
                                           r"\(new_args, new_kwargs\), but got 5."):
        m(lib.ones(1))


@LIBS
def test_always_call_hook_runs_when_forward_raises(lib):
    class Boom(lib.nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    m = Boom()
    seen = []
    m.register_forward_hook(lambda mod, args, out: seen.append("always"), always_call=True)
    m.register_forward_hook(lambda mod, args, out: seen.append("normal"))
    with pytest.raises(ValueError, match="boom"):
        m(lib.ones(1))
    assert seen == ["always"]


# -- repr --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("build", [
    lambda ns: ns.Net(), lambda ns: ns.Block(), lambda ns: ns.Linear(3, 4), lambda ns: ns.MultiLine(),
    lambda ns: ns.Norm(3)])
def test_repr_matches_torch(build):
    assert repr(build(E)) == repr(build(T))


def test_repr_of_bare_and_nested_modules():
    assert repr(ember.nn.Module()) == repr(torch.nn.Module()) == "Module()"
    e, t = E.Net(), T.Net()
    e.block.empty, t.block.empty = ember.nn.Module(), torch.nn.Module()
    e.block.fc, t.block.fc = None, None
    assert repr(e) == repr(t)
    assert repr(e).splitlines()[:4] == ["Net(", "  (stem): Linear(in_features=2, out_features=3, bias=True)",
                                        "  (block): Block(", "    (fc): None"]


# -- copying ---------------------------------------------------------------------------------------

def test_deepcopy_copies_parameters():
    net = E.Net()
    clone = copy.deepcopy(net)
    assert clone.shared is clone.stem  # the sharing is kept
    for (n1, p1), (n2, p2) in zip(net.named_parameters(), clone.named_parameters()):
        assert n1 == n2 and p1 is not p2 and isinstance(p2, ember.nn.Parameter)
        np.testing.assert_array_equal(p1.detach().numpy(), p2.detach().numpy())
        assert not np.shares_memory(p1._data, p2._data)
    init.zeros_(clone.stem.weight)
    assert not np.all(net.stem.weight.detach().numpy() == 0)
