"""Tensor basics against torch: creation, dtypes, Size, conversion, printing, random."""
import numpy as np
import pytest
import torch

import ember
from tests.helpers import same_error


def same_repr(make):
    e, t = make(ember), make(torch)
    assert repr(e) == repr(t).replace("torch.", "ember."), f"\nember: {e!r}\ntorch: {t!r}"


REPRS = [
    lambda lib: lib.tensor([[1.0, 2.0, 3.0]]),
    lambda lib: lib.tensor([1.5, -2.25, 3.0]),
    lambda lib: lib.tensor([1e-5, 1e3, 2.0]),
    lambda lib: lib.tensor([1e10, 1.0]),
    lambda lib: lib.tensor(3.0),
    lambda lib: lib.tensor(7),
    lambda lib: lib.tensor([True, False]),
    lambda lib: lib.tensor([1, 2], dtype=lib.int32),
    lambda lib: lib.tensor([[1.0, 2.0]], dtype=lib.float64),
    lambda lib: lib.zeros(0),
    lambda lib: lib.zeros(2, 0),
    lambda lib: lib.tensor([float("nan"), float("inf"), 1.0]),
    lambda lib: lib.arange(2000).reshape(40, 50),
    lambda lib: lib.arange(24, dtype=lib.float32).reshape(2, 3, 4) / 7,
    lambda lib: lib.ones(2, 2, requires_grad=True),
    lambda lib: lib.ones(2, 2, requires_grad=True) * 2,
    lambda lib: lib.linspace(-1, 1, 30),
]


@pytest.mark.parametrize("i", range(len(REPRS)))
def test_repr_matches_torch(i):
    same_repr(REPRS[i])


def test_tutorial_linear_repr():
    x = ember.tensor([[1.0, 2, 3]])
    w = ember.tensor([[1.0] * 3, [2.0] * 3, [3.0] * 3, [4.0] * 3], requires_grad=True)
    b = ember.full((4,), 0.5, requires_grad=True)
    out = x @ w.t() + b
    assert repr(out) == "tensor([[ 6.5000, 12.5000, 18.5000, 24.5000]], grad_fn=<AddBackward0>)"


def test_size():
    s = ember.zeros(1, 3, 512, 512).shape
    assert repr(s) == "ember.Size([1, 3, 512, 512])"
    assert isinstance(s, tuple) and s == (1, 3, 512, 512) and s.numel() == 786432
    assert ember.zeros(2, 3).size(1) == 3 and ember.zeros(2, 3).size(-1) == 3
    assert isinstance(s[1:], ember.Size)


@pytest.mark.parametrize("name", ["float32", "float64", "float16", "int64", "int32", "uint8", "bool"])
def test_dtypes(name):
    e = ember.zeros(2, dtype=getattr(ember, name))
    t = torch.zeros(2, dtype=getattr(torch, name))
    assert e.numpy().dtype == t.numpy().dtype
    assert repr(getattr(ember, name)) == f"ember.{name}"
    assert e.dtype.is_floating_point == t.dtype.is_floating_point


def test_creation_matches_torch():
    for make in [lambda lib: lib.tensor([1, 2]), lambda lib: lib.tensor([1.0, 2]),
                 lambda lib: lib.tensor([[True]]), lambda lib: lib.tensor(np.array([1.0], np.float64)),
                 lambda lib: lib.zeros(2, 3), lambda lib: lib.ones((2, 3), dtype=lib.int64),
                 lambda lib: lib.full((2,), 3), lambda lib: lib.full((2,), 3.0),
                 lambda lib: lib.full((2,), True), lambda lib: lib.arange(5), lambda lib: lib.arange(1, 2.5, 0.5),
                 lambda lib: lib.arange(0, 1, 0.1), lambda lib: lib.linspace(0, 1, 5),
                 lambda lib: lib.eye(3), lambda lib: lib.eye(2, 3), lambda lib: lib.zeros_like(lib.ones(2, dtype=lib.int32)),
                 lambda lib: lib.ones_like(lib.ones(2)), lambda lib: lib.full_like(lib.ones(2), 7),
                 lambda lib: lib.empty(2, 3).shape, lambda lib: lib.tensor([[1, 2], [3, 4]]).tolist(),
                 lambda lib: lib.tensor([2.5]).item(), lambda lib: lib.Tensor([1, 2]),
                 lambda lib: lib.Tensor(2, 3).shape]:
        e, t = make(ember), make(torch)
        if isinstance(t, torch.Tensor):
            assert str(e.dtype)[6:] == str(t.dtype)[6:], (e.dtype, t.dtype)
            np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-6)
        else:
            assert e == t


def test_from_numpy_shares_memory_and_as_tensor():
    a = np.zeros(3, dtype=np.float32)
    t = ember.from_numpy(a)
    a[0] = 5
    assert t[0].item() == 5
    assert ember.as_tensor(a).numpy() is a
    assert ember.tensor(a).numpy() is not a
    with pytest.raises(TypeError, match="can't convert np.ndarray of type"):
        ember.from_numpy(np.zeros(2, dtype=np.complex64))


def test_conversions():
    x = ember.tensor([1.7, -2.2])
    assert x.long().dtype is ember.int64 and x.long().tolist() == [1, -2]
    assert x.int().dtype is ember.int32
    assert x.double().dtype is ember.float64
    assert x.half().dtype is ember.float16
    assert x.bool().tolist() == [True, True]
    assert x.to(ember.float64).dtype is ember.float64
    assert x.to("cpu") is x
    assert x.to(ember.ones(1, dtype=ember.float64)).dtype is ember.float64
    assert x.float() is x
    y = ember.ones(2, 3).t()
    assert not y.is_contiguous() and y.contiguous().is_contiguous()
    with pytest.raises(RuntimeError, match="CPU only"):
        x.to("cuda")


def test_to_dtype_is_differentiable():
    x = ember.tensor([1.0, 2.0], requires_grad=True)
    y = x.double() * 2
    y.sum().backward()
    assert x.grad.dtype is ember.float32
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 2.0])


def test_numpy_of_tensor_requiring_grad_raises():
    same_error(lambda lib: lib.ones(2, requires_grad=True).numpy(), match="requires grad")


def test_item_and_bool_errors():
    same_error(lambda lib: lib.ones(2).item(), match="cannot be converted to Scalar")
    same_error(lambda lib: len(lib.tensor(1.0)))


def test_manual_seed_reproduces():
    ember.manual_seed(42)
    a = ember.randn(3, 4)
    ember.manual_seed(42)
    b = ember.randn(3, 4)
    assert ember.equal(a, b)
    g = ember.Generator().manual_seed(7)
    c = ember.rand(5, generator=g)
    assert c.dtype is ember.float32 and 0 <= c.min().item() and c.max().item() < 1
    state = ember.get_rng_state()
    d = ember.rand(3)
    ember.set_rng_state(state)
    assert ember.equal(d, ember.rand(3))
    r = ember.randint(0, 10, (1000,))
    assert r.dtype is ember.int64 and r.min().item() >= 0 and r.max().item() <= 9
    assert ember.randint(5, (3,)).shape == (3,)
    assert sorted(ember.randperm(6).tolist()) == list(range(6))


def test_random_distributions():
    ember.manual_seed(0)
    x = ember.randn(200000)
    assert abs(x.mean().item()) < 0.01 and abs(x.std().item() - 1) < 0.01
    u = ember.empty(100000).uniform_(-2, 3)
    assert -2 <= u.min().item() and u.max().item() < 3 and abs(u.mean().item() - 0.5) < 0.02
    n = ember.empty(100000).normal_(5, 2)
    assert abs(n.mean().item() - 5) < 0.03 and abs(n.std().item() - 2) < 0.03


def test_module_level_functions():
    x = ember.tensor([[1.0, -2.0], [3.0, 4.0]])
    assert ember.sum(x).item() == 6.0
    assert ember.max(x, 1).indices.tolist() == [0, 1]
    assert ember.exp(ember.zeros(1)).item() == 1.0
    assert ember.cat([x, x]).shape == (4, 2) and ember.stack([x, x], 1).shape == (2, 2, 2)
    assert ember.where(x > 0, x, ember.zeros(1)).tolist() == [[1.0, 0.0], [3.0, 4.0]]
    assert ember.is_tensor(x) and not ember.is_tensor(1)
    assert ember.argmax(x).item() == 3


def test_iteration_and_len():
    x = ember.arange(6).reshape(3, 2)
    rows = list(x)
    assert len(x) == 3 and rows[1].tolist() == [2, 3]


def test_setitem_without_grad():
    x = ember.zeros(3, 4)
    x[0] = 1
    x[:, 1] = ember.tensor([5.0, 6.0, 7.0])
    x[x > 6] = -1
    t = torch.zeros(3, 4)
    t[0] = 1
    t[:, 1] = torch.tensor([5.0, 6.0, 7.0])
    t[t > 6] = -1
    np.testing.assert_array_equal(x.numpy(), t.numpy())


def test_data_attribute():
    w = ember.ones(2, 2, requires_grad=True)
    w.data.fill_(3.0)
    assert w.detach().numpy().tolist() == [[3.0, 3.0], [3.0, 3.0]]
    w.data = ember.zeros(2, 2)
    assert w.requires_grad and w.sum().item() == 0
