"""Higher-order gradients (issue 11, G6): create_graph=True, gradgradcheck, autograd.functional,
anomaly detection, against torch."""
import numpy as np
import pytest
import torch

import ember
import ember.nn.functional as F
from ember.autograd import gradgradcheck

RNG = np.random.default_rng(0)


def _pair(shape, dtype=np.float64):
    a = RNG.standard_normal(shape).astype(dtype)
    return ember.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def _leaf(shape):
    return ember.tensor(RNG.standard_normal(shape), requires_grad=True)


UNARY = {
    "exp": lambda x: x.exp(), "log": lambda x: (x * x + 1).log(), "sqrt": lambda x: (x * x + 1).sqrt(),
    "abs": lambda x: x.abs() * x, "sin_cos": lambda x: x.sin() * x.cos(), "tanh": lambda x: x.tanh(),
    "sigmoid": lambda x: x.sigmoid(), "neg_pow": lambda x: -(x ** 3) + 2 ** x,
    "relu": F.relu, "leaky_relu": lambda x: F.leaky_relu(x, 0.1) * x, "elu": F.elu,
    "selu": F.selu, "softplus": F.softplus, "gelu": F.gelu, "silu": F.silu,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "softmax": lambda x: F.softmax(x, 1), "log_softmax": lambda x: F.log_softmax(x, 0),
    "shapes": lambda x: x.reshape(3, 2).t().permute(1, 0).unsqueeze(0).expand(2, 3, 2).squeeze(),
    "index": lambda x: x[[0, 1, 1]] * x[0],
    "sum_mean": lambda x: x.sum(0) * x.mean(1, keepdim=True),
    "var_logsumexp": lambda x: x.var(1, keepdim=True) * x.var((0, 1), keepdim=True, correction=0) + x.logsumexp(0),
    "pad": lambda x: F.pad(x, (1, 2), value=3.0) ** 2 + F.pad(x, (1, 1), mode="reflect").sum(),
    "norms": lambda x: ember.stack([(x.norm(2, dim=1) ** 2).sum(), x.norm() ** 3,
                                    (x.norm(3, dim=0, keepdim=True) ** 2).sum(),
                                    (x.norm(float("inf"), dim=1) ** 2).sum()]),
    "clamp": lambda x: x.clamp(min=0) ** 2 + x.clamp(-0.5, 0.5) * x,
    "max_min": lambda x: ember.stack([x.max() ** 2, (x.max(1)[0] ** 2).sum(),
                                      (x.min(0, keepdim=True)[0] ** 2).sum(), (x.amax(1) ** 2).sum()]),
    "split": lambda x: (x.split(1)[0] ** 2).sum() + (x.chunk(3, 1)[1] ** 2).sum(),
    "cross_entropy": lambda x: F.cross_entropy(x, ember.tensor(np.array([0, 2]))),
    "nll_loss": lambda x: F.nll_loss(x, ember.tensor(np.array([1, 2])), reduction="sum") * x,
}


@pytest.mark.parametrize("name", sorted(UNARY))
def test_gradgradcheck_unary(name):
    assert gradgradcheck(UNARY[name], (_leaf((2, 3)),))


BINARY = {
    "mul_add_sub": lambda a, b: a * b + a - b * 2,
    "div": lambda a, b: a / (b * b + 1),
    "pow": lambda a, b: (a * a + 1) ** b,
    "matmul": lambda a, b: a @ b.t(),
    "linear": lambda a, b: F.linear(a, b, b[:, 0]),
    "cat_stack": lambda a, b: ember.cat([a, b], 1).sum(0) * ember.stack([a, b]).mean(1)[0, 0],
    "mse_loss": F.mse_loss,
}


@pytest.mark.parametrize("name", sorted(BINARY))
def test_gradgradcheck_binary(name):
    assert gradgradcheck(BINARY[name], (_leaf((2, 3)), _leaf((2, 3))))


def test_gradgradcheck_conv_and_pool():
    x, w, b = _leaf((1, 2, 5, 5)), _leaf((3, 2, 3, 3)), _leaf((3,))
    assert gradgradcheck(lambda x, w, b: F.conv2d(x, w, b, padding=1, stride=2), (x, w, b))
    assert gradgradcheck(lambda x, w: F.conv_transpose2d(x, w, stride=2), (x, _leaf((2, 1, 2, 2))))
    assert gradgradcheck(lambda x, w: F.conv1d(x, w), (_leaf((1, 2, 6)), _leaf((3, 2, 3))))
    assert gradgradcheck(lambda x: F.max_pool2d(x, 2) ** 2, (x,))
    assert gradgradcheck(lambda x: F.avg_pool2d(x, 2) ** 2, (x,))


def test_gradgradcheck_batch_norm_and_layer_norm():
    x, w, b = _leaf((3, 2, 4)), _leaf((2,)), _leaf((2,))
    rm, rv = ember.tensor(RNG.standard_normal(2)), ember.tensor(RNG.random(2) + 0.5)
    assert gradgradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
                         (x, w, b))
    assert gradgradcheck(lambda x, w, b: F.batch_norm(x, rm, rv, w, b), (x, w, b))
    assert gradgradcheck(lambda x, w, b: F.layer_norm(x, (2, 4), w, b),
                         (x, _leaf((2, 4)), _leaf((2, 4))))


def test_third_order():
    x, tx = _pair((3,))
    (g,) = ember.autograd.grad((x ** 4).sum(), x, create_graph=True)
    (h,) = ember.autograd.grad(g.sum(), x, create_graph=True)
    (k,) = ember.autograd.grad(h.sum(), x)
    (tg,) = torch.autograd.grad((tx ** 4).sum(), tx, create_graph=True)
    (th,) = torch.autograd.grad(tg.sum(), tx, create_graph=True)
    (tk,) = torch.autograd.grad(th.sum(), tx)
    np.testing.assert_allclose(k.detach().numpy(), tk.numpy(), rtol=1e-10)
    assert g.grad_fn is not None and h.grad_fn is not None


def _critic(nn):
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.LeakyReLU(0.2), nn.AvgPool2d(2),
                         nn.Conv2d(4, 4, 3, stride=2), nn.Tanh(), nn.Flatten(), nn.Linear(4, 1))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_wgan_gp_gradient_penalty_matches_torch(dtype):
    torch.manual_seed(0)
    tcritic = _critic(torch.nn).to(torch.float64 if dtype == np.float64 else torch.float32)
    critic = _critic(ember.nn)
    critic = critic.double() if dtype == np.float64 else critic
    critic.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in
                            tcritic.state_dict().items()})
    real, fake = RNG.standard_normal((2, 3, 2, 6, 6)).astype(dtype)
    eps = RNG.random((3, 1, 1, 1)).astype(dtype)

    def penalty(lib, model):
        x_hat = lib.tensor(eps * real + (1 - eps) * fake, requires_grad=True)
        out = model(x_hat)
        (g,) = lib.autograd.grad(out, x_hat, grad_outputs=lib.ones_like(out), create_graph=True)
        gp = ((g.reshape(3, -1).norm(2, dim=1) - 1) ** 2).mean() * 10
        loss = out.mean() + gp
        loss.backward()
        return loss

    loss, tloss = penalty(ember, critic), penalty(torch, tcritic)
    tol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(loss.item(), tloss.item(), rtol=tol)
    for (name, p), tp in zip(critic.named_parameters(), tcritic.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=tol * 10, atol=tol,
                                   err_msg=name)


def test_hessian_vector_product_of_mlp_loss_matches_torch():
    torch.manual_seed(1)
    tnet = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Softplus(), torch.nn.Linear(8, 3)).double()
    net = ember.nn.Sequential(ember.nn.Linear(4, 8), ember.nn.Softplus(), ember.nn.Linear(8, 3)).double()
    net.load_state_dict({k: ember.tensor(v.detach().numpy()) for k, v in tnet.state_dict().items()})
    x = RNG.standard_normal((5, 4))
    y = np.array([0, 2, 1, 1, 0])
    vs = [RNG.standard_normal(tuple(p.shape)) for p in tnet.parameters()]

    def hvp(lib, model):
        params = list(model.parameters())
        loss = lib.nn.functional.cross_entropy(model(lib.tensor(x)), lib.tensor(y))
        grads = lib.autograd.grad(loss, params, create_graph=True)
        dot = sum((g * lib.tensor(v)).sum() for g, v in zip(grads, vs))
        return lib.autograd.grad(dot, params)

    for h, th in zip(hvp(ember, net), hvp(torch, tnet)):
        np.testing.assert_allclose(h.numpy(), th.numpy(), rtol=1e-9, atol=1e-12)


def _f(a, b):
    return (a.exp() * b).sum(0) + (a * a).sum()


def _scalar(a, b):
    return (a.sin() * b * b).sum()


@pytest.mark.parametrize("name", ["jacobian", "hessian", "vjp", "jvp", "hvp", "vhp"])
def test_autograd_functional_matches_torch(name):
    a, b = RNG.standard_normal((2, 3)), RNG.standard_normal((2, 3))
    v1, v2 = RNG.standard_normal((2, 3)), RNG.standard_normal((2, 3))
    E, T = ember.autograd.functional, torch.autograd.functional

    def run(lib, mod):
        ins = (lib.tensor(a), lib.tensor(b))
        vin = (lib.tensor(v1), lib.tensor(v2))
        if name == "jacobian":
            return mod.jacobian(_f, ins)
        if name == "hessian":
            return mod.hessian(_scalar, ins)
        if name == "vjp":
            return mod.vjp(_f, ins, lib.tensor(v1[0]))
        if name == "jvp":
            return mod.jvp(_f, ins, vin)
        return getattr(mod, name)(_scalar, ins, vin)

    def flat(r):
        if isinstance(r, (tuple, list)):
            return [y for x in r for y in flat(x)]
        return [r.detach().numpy()]

    got, want = flat(run(ember, E)), flat(run(torch, T))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)


def test_uncovered_op_raises_clearly_instead_of_a_zero_second_derivative():
    x = _leaf((3, 3))
    index = ember.tensor([[0, 1, 0], [1, 0, 1], [0, 0, 1]])
    y = ember.zeros(3, 3, dtype=ember.float64).scatter_reduce(0, index, x, reduce="prod")
    with pytest.raises(RuntimeError, match="double backward of ScatterReduceBackward0 is not implemented"):
        ember.autograd.grad(y.sum(), x, create_graph=True)


def test_create_graph_leaves_grad_with_graph_and_retains_it():
    x, tx = _pair((3,))
    with pytest.warns(UserWarning, match="will create a reference cycle"):
        (x ** 3).sum().backward(create_graph=True)
    with pytest.warns(UserWarning, match="will create a reference cycle"):
        (tx ** 3).sum().backward(create_graph=True)
    assert x.grad.grad_fn is not None
    (g2,) = ember.autograd.grad(x.grad.sum(), x)
    (tg2,) = torch.autograd.grad(tx.grad.sum(), tx)
    np.testing.assert_allclose(g2.numpy(), tg2.numpy())


def test_detect_anomaly_names_the_nan_producing_node_as_torch():
    def msg(lib):
        x = lib.tensor([-1.0], requires_grad=True)
        with lib.autograd.detect_anomaly():
            with pytest.raises(RuntimeError) as info:
                x.sqrt().sum().backward()
        return str(info.value)

    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
        want = msg(torch)
    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
        got = msg(ember)
    assert got == want
    assert not ember.autograd.is_anomaly_enabled()
    with ember.autograd.set_detect_anomaly(True):
        assert ember.autograd.is_anomaly_enabled()
    assert not ember.autograd.is_anomaly_enabled()


def test_retain_graph_error_as_torch():
    x = _leaf((3,))
    y = (x * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward()
    z = (x.exp()).sum()
    ember.autograd.grad(z, x, create_graph=True)  # retain_graph defaults to create_graph
    ember.autograd.grad(z, x)


def test_recording_keeps_no_input_alive_that_backward_did_not_save():
    # create_graph support must not cost memory when unused: relu saves its output, so the
    # array of its input (an Add result, which saves nothing) is freed once user code drops it
    import gc
    import weakref

    x = _leaf((1000,))
    h = x + 1
    y = h.relu()
    ref = weakref.ref(h._data)
    del h
    gc.collect()
    assert ref() is None
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), (x.detach().numpy() + 1 > 0).astype(float))


def test_x_times_x_second_derivative_uses_both_saved_operands():
    # x * x saves the same array twice; each saved copy must name its own argument (else the
    # second one reads as unsaved and the second derivative halves)
    x, tx = _pair((3,))
    v, tv = _pair((3,))

    def second(lib, x, v):
        (g,) = lib.autograd.grad(x * x, x, v, create_graph=True)
        return lib.autograd.grad((g * g).sum(), (x, v))

    for h, th in zip(second(ember, x, v), second(torch, tx, tv)):
        np.testing.assert_allclose(h.numpy(), th.numpy())


@pytest.mark.parametrize("call", [
    lambda F, lib: F.hessian(lambda x: x.sin(), lib.ones(3, dtype=lib.float64)),
    lambda F, lib: F.hvp(lambda x: (x.sin(),), lib.ones(3, dtype=lib.float64), lib.ones(3, dtype=lib.float64)),
    lambda F, lib: F.vhp(lambda x: x.sin(), lib.ones(3, dtype=lib.float64), lib.ones(3, dtype=lib.float64)),
    lambda F, lib: F.vjp(lambda x: x.sin(), lib.ones(3, dtype=lib.float64), lib.ones(2, dtype=lib.float64)),
    lambda F, lib: F.jvp(lambda x, y: x * y, (lib.ones(3, dtype=lib.float64),) * 2, (lib.ones(3, dtype=lib.float64),)),
    lambda F, lib: F.vjp(lambda x: x.sin(), lib.ones(3, dtype=lib.float64)),
    lambda F, lib: F.jacobian(lambda x: x, [lib.ones(1)]),
])
def test_autograd_functional_errors_as_torch(call):
    def error(F, lib):
        with pytest.raises(Exception) as info:
            call(F, lib)
        return type(info.value), str(info.value).replace("ember", "torch")

    assert error(ember.autograd.functional, ember) == error(torch.autograd.functional, torch)
