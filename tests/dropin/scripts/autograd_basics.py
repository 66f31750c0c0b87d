"""Autograd basics, as the 'A gentle introduction to torch.autograd' tutorial walks them."""
import torch

a = torch.tensor([2.0, 3.0], requires_grad=True)
b = torch.tensor([6.0, 4.0], requires_grad=True)
Q = 3 * a ** 3 - b ** 2
external_grad = torch.tensor([1.0, 1.0])
Q.backward(gradient=external_grad)
print("a.grad", a.grad.tolist(), "b.grad", b.grad.tolist())
print("check", (9 * a ** 2 == a.grad).tolist(), (-2 * b == b.grad).tolist())

x = torch.ones(5)
y = torch.zeros(3)
w = torch.tensor([[0.1 * (i + j) for j in range(3)] for i in range(5)], requires_grad=True)
bias = torch.tensor([0.5, -0.5, 0.25], requires_grad=True)
z = torch.matmul(x, w) + bias
loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
print("grad_fn", type(z.grad_fn).__name__, type(loss.grad_fn).__name__)
loss.backward()
print("w.grad", [round(v, 6) for v in w.grad.flatten().tolist()])
print("bias.grad", [round(v, 6) for v in bias.grad.tolist()])

# gradients accumulate until zeroed
inp = torch.eye(4, 5, requires_grad=True)
out = (inp + 1).pow(2).t()
out.backward(torch.ones_like(out), retain_graph=True)
print("first", inp.grad.sum().item())
out.backward(torch.ones_like(out), retain_graph=True)
print("second", inp.grad.sum().item())
inp.grad.zero_()
out.backward(torch.ones_like(out), retain_graph=True)
print("after zero", inp.grad.sum().item())

# no_grad, detach, requires_grad_
with torch.no_grad():
    z2 = torch.matmul(x, w) + bias
print("no_grad", z2.requires_grad, z.detach().requires_grad)
t = torch.tensor([1.0, 2.0])
t.requires_grad_()
s = (t * t).sum()
s.backward()
print("requires_grad_", t.grad.tolist())

# retain_grad on an intermediate, and a hook that doubles the gradient
u = torch.tensor([1.0, -2.0, 3.0], requires_grad=True)
v = u * 2
v.retain_grad()
h = v.register_hook(lambda g: g * 2)
(v ** 2).sum().backward()
print("v.grad", v.grad.tolist(), "u.grad", u.grad.tolist())
h.remove()
print("is_leaf", u.is_leaf, v.is_leaf)
