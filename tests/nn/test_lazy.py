"""Lazy modules (LazyLinear, LazyConv*, LazyConvTranspose*, LazyBatchNorm*) and
UninitializedParameter/Buffer against torch: shapes, class after the first call, the eager
layer's initialisation (same draws as the eager layer under the same seed), state_dict and
load_state_dict, errors."""
import copy

import numpy as np
import pytest
import torch

import ember
from tests.helpers import assert_close, same_error

LIBS = pytest.mark.parametrize("lib", [ember, torch], ids=["ember", "torch"])

# (lazy class, eager class, lazy args, eager args given in_channels C, input shape)
CASES = [
    ("LazyLinear", "Linear", (3,), lambda c: (c, 3), (4, 5)),
    ("LazyLinear", "Linear", (3, False), lambda c: (c, 3, False), (2, 4, 6)),
    ("LazyConv1d", "Conv1d", (4, 3), lambda c: (c, 4, 3), (2, 3, 9)),
    ("LazyConv2d", "Conv2d", (6, 5), lambda c: (c, 6, 5), (1, 2, 9, 9)),
    ("LazyConv2d", "Conv2d", (4, 3, 2, 1, 1, 2, False), lambda c: (c, 4, 3, 2, 1, 1, 2, False),
     (2, 4, 7, 7)),
    ("LazyConv3d", "Conv3d", (2, 2), lambda c: (c, 2, 2), (1, 2, 4, 4, 4)),
    ("LazyConvTranspose1d", "ConvTranspose1d", (4, 3, 2), lambda c: (c, 4, 3, 2), (2, 3, 5)),
    ("LazyConvTranspose2d", "ConvTranspose2d", (4, 3, 2, 1, 1, 2), lambda c: (c, 4, 3, 2, 1, 1, 2),
     (2, 4, 5, 5)),
    ("LazyConvTranspose3d", "ConvTranspose3d", (2, 2), lambda c: (c, 2, 2), (1, 3, 3, 3, 3)),
    ("LazyBatchNorm1d", "BatchNorm1d", (), lambda c: (c,), (4, 3)),
    ("LazyBatchNorm2d", "BatchNorm2d", (1e-3, 0.2), lambda c: (c, 1e-3, 0.2), (2, 3, 4, 4)),
    ("LazyBatchNorm3d", "BatchNorm3d", (), lambda c: (c,), (2, 2, 2, 3, 3)),
    # torch's lazy instance norms default to affine=True, track_running_stats=True
    ("LazyInstanceNorm1d", "InstanceNorm1d", (), lambda c: (c, 1e-5, 0.1, True, True), (2, 3, 5)),
    ("LazyInstanceNorm2d", "InstanceNorm2d", (1e-3, 0.2, True, False),
     lambda c: (c, 1e-3, 0.2, True, False), (2, 3, 4, 4)),
    ("LazyInstanceNorm3d", "InstanceNorm3d", (), lambda c: (c, 1e-5, 0.1, True, True),
     (2, 2, 2, 3, 3)),
]
IDS = [f"{c[0]}-{i}" for i, c in enumerate(CASES)]


def _input(shape, lib, dtype=np.float64):
    return lib.tensor(np.random.default_rng(0).standard_normal(shape).astype(dtype),
                      requires_grad=True)


def _in_channels(name, shape):
    if name == "LazyLinear":
        return shape[-1]
    return shape[1]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_lazy_becomes_eager_with_eager_init(case):
    lazy_name, eager_name, args, eager_args, shape = case
    ember.manual_seed(7)
    lazy = getattr(ember.nn, lazy_name)(*args)
    assert lazy.has_uninitialized_params()
    x = _input(shape, ember, np.float32)
    y = lazy(x)
    ember.manual_seed(7)
    eager = getattr(ember.nn, eager_name)(*eager_args(_in_channels(lazy_name, shape)))
    assert type(lazy) is type(eager)
    assert repr(lazy) == repr(eager)
    assert not any(ember.nn.parameter.is_lazy(t) for t in lazy.state_dict().values())
    assert not hasattr(lazy, "_initialize_hook") and not lazy._forward_pre_hooks
    assert_close(y, eager(x), "float32")  # (BatchNorm: both update their running statistics)
    for (n1, t1), (n2, t2) in zip(lazy.state_dict().items(), eager.state_dict().items()):
        assert n1 == n2 and type(t1) is type(t2)
        np.testing.assert_array_equal(t1.numpy(), t2.numpy())  # same draws, same order


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_lazy_against_torch_after_dry_call(case, dtype):
    lazy_name, _, args, _, shape = case
    mods, outs = [], []
    for lib in (ember, torch):
        m = getattr(lib.nn, lazy_name)(*args)
        m(_input(shape, lib, np.float32))  # dry call
        mods.append(m)
    e, t = mods
    assert type(e).__name__ == type(t).__name__ and repr(e) == repr(t)
    assert list(e.state_dict()) == list(t.state_dict())
    with ember.no_grad():
        for k, v in t.state_dict().items():
            e.state_dict()[k].copy_(ember.tensor(v.numpy()))
    getattr(e, "train")()
    for lib, m in zip((ember, torch), mods):
        m.to(getattr(lib, dtype))
        x = _input(shape, lib, dtype)
        out = m(x)
        out.pow(2).sum().backward()
        outs.append((out, x.grad, [p.grad for p in m.parameters()]))
    (eo, ex, ep), (to, tx, tp) = outs
    assert_close(eo, to, dtype)
    assert_close(ex, tx, dtype, what="input grad")
    for a, b in zip(ep, tp):
        assert_close(a, b, dtype, what="param grad")


def _d2l_lenet(lib):
    nn = lib.nn
    return nn.Sequential(
        nn.LazyConv2d(6, kernel_size=5, padding=2), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.LazyConv2d(16, kernel_size=5), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.LazyLinear(120), nn.Sigmoid(),
        nn.LazyLinear(84), nn.Sigmoid(),
        nn.LazyLinear(10))


def test_d2l_lenet_with_lazy_layers():
    nets = []
    for lib in (ember, torch):
        net = _d2l_lenet(lib)
        net(lib.zeros(1, 1, 28, 28))  # d2l's dry run: every layer materialises
        nets.append(net)
    e, t = nets
    assert repr(e) == repr(t)
    e.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((4, 1, 28, 28)).astype(np.float32)
    target = np.array([1, 0, 3, 9])
    results = []
    for lib, net in zip((ember, torch), nets):
        opt = lib.optim.SGD(net.parameters(), lr=0.9)
        for _ in range(2):
            opt.zero_grad()
            loss = lib.nn.functional.cross_entropy(net(lib.tensor(x)), lib.tensor(target))
            loss.backward()
            opt.step()
        results.append([loss] + [p.detach().clone() for p in net.parameters()])
    for a, b in zip(*results):
        assert_close(a, b, "float32", rtol=1e-4, atol=1e-5)


def _lazy_d2l_init_fn(lib):
    # d2l's apply_init: a dry call, then net.apply(init) with xavier on the now-eager layers
    net = _d2l_lenet(lib)
    net(lib.zeros(1, 1, 28, 28))
    kinds = []

    def init(m):
        if type(m) in (lib.nn.Linear, lib.nn.Conv2d):
            kinds.append(type(m).__name__)
            lib.nn.init.xavier_uniform_(m.weight)

    net.apply(init)
    return kinds


def test_apply_after_dry_call_sees_eager_classes():
    assert _lazy_d2l_init_fn(ember) == _lazy_d2l_init_fn(torch)


# -- state_dict / load_state_dict ------------------------------------------------------------------

@LIBS
def test_state_dict_of_uninitialized_module_holds_the_uninitialized(lib):
    m = lib.nn.LazyBatchNorm1d()
    sd = m.state_dict()
    assert list(sd) == ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"]
    assert isinstance(sd["weight"], lib.nn.UninitializedParameter)
    assert isinstance(sd["running_mean"], lib.nn.UninitializedBuffer)
    assert repr(sd["weight"]) == "<UninitializedParameter>"
    assert repr(sd["running_var"]) == "<UninitializedBuffer>"


@LIBS
def test_load_state_dict_materialises_but_keeps_the_lazy_class(lib):
    src = lib.nn.Linear(5, 3)
    m = lib.nn.LazyLinear(3)
    m.load_state_dict(src.state_dict())
    assert type(m).__name__ == "LazyLinear"
    assert not m.has_uninitialized_params()
    assert tuple(m.weight.shape) == (3, 5) and type(m.weight) is lib.nn.Parameter
    np.testing.assert_array_equal(m.weight.detach().numpy(), src.weight.detach().numpy())
    assert m.in_features == 0  # as torch: only the first call sets it
    y = m(lib.ones(2, 5))
    assert type(m).__name__ == "Linear" and m.in_features == 5
    np.testing.assert_allclose(y.detach().numpy(), src(lib.ones(2, 5)).detach().numpy())


@LIBS
def test_partial_load_materialises_only_what_it_holds(lib):
    m = lib.nn.LazyLinear(3)
    keys = m.load_state_dict({"weight": lib.zeros(3, 5)}, strict=False)
    assert list(keys.missing_keys) == ["bias"]
    assert type(m.weight) is lib.nn.Parameter
    assert isinstance(m.bias, lib.nn.UninitializedParameter)
    assert m.has_uninitialized_params()


def test_loading_uninitialized_into_initialized_raises():
    def f(lib):
        lib.nn.Linear(2, 3).load_state_dict(lib.nn.LazyLinear(3).state_dict())
    same_error(f, match="Can't access the shape of an uninitialized parameter")


def test_lazy_load_then_call_with_wrong_width_raises():
    def f(lib):
        m = lib.nn.LazyLinear(3)
        m.load_state_dict(lib.nn.Linear(5, 3).state_dict())
        m(lib.ones(2, 4))
    same_error(f, match="The in_features inferred from input: 4 is not equal to in_features "
                        "from self.weight: 5")


# -- UninitializedParameter / Buffer --------------------------------------------------------------

@LIBS
def test_uninitialized_parameter_allows_dtype_and_size(lib):
    p = lib.nn.UninitializedParameter()
    assert p.requires_grad and p.dtype == lib.float32 and tuple(p.size()) == (0,)
    assert p.is_floating_point()
    b = lib.nn.UninitializedBuffer()
    assert not b.requires_grad and b.persistent
    p2 = lib.nn.UninitializedParameter(requires_grad=False, dtype=lib.float64)
    assert not p2.requires_grad and p2.dtype == lib.float64
    p.materialize((2, 3))
    assert type(p) is lib.nn.Parameter and tuple(p.shape) == (2, 3) and p.requires_grad
    b.materialize((4,))
    assert type(b) is lib.Tensor and tuple(b.shape) == (4,)
    assert lib.nn.parameter.is_lazy(p2) and not lib.nn.parameter.is_lazy(p)


@pytest.mark.parametrize("use", [
    lambda lib, p: p + 1,
    lambda lib, p: p.numel(),
    lambda lib, p: p.dim(),
    lambda lib, p: p.requires_grad_(False),
    lambda lib, p: lib.nn.functional.linear(lib.ones(2, 4), p),
    lambda lib, p: p.sum(),
], ids=["add", "numel", "dim", "requires_grad_", "linear", "sum"])
def test_using_uninitialized_raises_value_error(use):
    same_error(lambda lib: use(lib, lib.nn.LazyLinear(3).weight),
               match="Attempted to use an uninitialized parameter in")


def test_shape_of_uninitialized_raises():
    same_error(lambda lib: lib.nn.UninitializedParameter().shape,
               match="Can't access the shape of an uninitialized parameter or buffer")


@LIBS
def test_dtype_conversion_keeps_lazy(lib):
    m = lib.nn.LazyBatchNorm1d()
    m.double()
    assert isinstance(m.weight, lib.nn.UninitializedParameter) and m.weight.dtype == lib.float64
    assert isinstance(m.running_mean, lib.nn.UninitializedBuffer)
    assert m.running_mean.dtype == lib.float64
    assert m.num_batches_tracked.dtype == lib.int64
    m(lib.ones(4, 3, dtype=lib.float64))
    assert m.weight.dtype == lib.float64 and tuple(m.running_var.shape) == (3,)


@LIBS
def test_dtype_argument(lib):
    m = lib.nn.LazyConv1d(2, 3, dtype=lib.float64)
    m(lib.ones(1, 4, 5, dtype=lib.float64))
    assert m.weight.dtype == lib.float64 and tuple(m.weight.shape) == (2, 4, 3)


@LIBS
def test_deepcopy_of_lazy_linear(lib):
    m = copy.deepcopy(lib.nn.LazyLinear(3))
    assert isinstance(m.weight, lib.nn.UninitializedParameter)
    m(lib.ones(1, 2))
    assert tuple(m.weight.shape) == (3, 2)


@pytest.mark.parametrize("lib", [
    ember, torch], ids=["ember", "torch"])
def test_optimizer_accepts_uninitialized_parameters(lib):
    m = lib.nn.LazyLinear(3)
    opt = lib.optim.SGD(m.parameters(), lr=0.1)
    m(lib.ones(2, 4)).sum().backward()  # materialised in place: the optimizer holds them
    opt.step()
    assert opt.param_groups[0]["params"][0] is m.weight


def test_lazy_conv_input_rank_error():
    same_error(lambda lib: lib.nn.LazyConv2d(4, 3)(lib.ones(3, 8)),
               match=r"Expected 3D \(unbatched\) or 4D \(batched\) input to LazyConv2d, but got "
                     r"input of size: ")


def test_lazy_conv_groups_error():
    same_error(lambda lib: lib.nn.LazyConvTranspose2d(4, 3, groups=2)(lib.ones(1, 3, 5, 5)),
               match="in_channels must be divisible by groups")


@LIBS
def test_unbatched_conv_infers_channels_from_dim_0(lib):
    m = lib.nn.LazyConv1d(2, 3)
    m(lib.ones(5, 7))
    assert m.in_channels == 5


@LIBS
def test_lazy_repr_before_call(lib):
    assert repr(lib.nn.LazyLinear(3)) == "LazyLinear(in_features=0, out_features=3, bias=True)"
    assert repr(lib.nn.LazyConv2d(4, 3)) == \
        "LazyConv2d(0, 4, kernel_size=(3, 3), stride=(1, 1))"
    assert repr(lib.nn.LazyBatchNorm2d()) == ("LazyBatchNorm2d(0, eps=1e-05, momentum=0.1, "
                                             "affine=True, bias=True, track_running_stats=True)")


@LIBS
def test_lazy_batchnorm_without_affine_or_stats(lib):
    m = lib.nn.LazyBatchNorm1d(affine=False, track_running_stats=False)
    assert not m.has_uninitialized_params()  # nothing to infer: the first call only converts
    m(lib.ones(4, 3))
    assert type(m) is lib.nn.BatchNorm1d and m.num_features == 0  # torch keeps 0 here


@LIBS
def test_custom_lazy_module_not_implemented(lib):
    class Lazy(lib.nn.modules.lazy.LazyModuleMixin, lib.nn.Module):
        def forward(self, x):
            return x

    with pytest.raises(NotImplementedError, match="initialize_parameters is not implemented "
                                                  "for Lazy"):
        Lazy()(lib.ones(1))


def test_lazy_instance_norm_unbatched_reads_dim_1():
    # torch infers num_features from input.shape[1] even for unbatched input, then rejects it
    same_error(lambda lib: lib.nn.LazyInstanceNorm1d()(lib.ones(3, 5)),
               match=r"expected input's size at dim=0 to match num_features \(5\), but got: 3.")


@LIBS
def test_pickle_round_trip_of_lazy_module(lib):
    import pickle
    m = pickle.loads(pickle.dumps(lib.nn.Sequential(lib.nn.LazyLinear(3), lib.nn.ReLU())))
    assert isinstance(m[0].weight, lib.nn.UninitializedParameter)
    m(lib.ones(2, 4))
    assert type(m[0]) is lib.nn.Linear and tuple(m[0].weight.shape) == (3, 4)
    assert not m[0]._forward_pre_hooks and not m[0]._load_state_dict_pre_hooks
