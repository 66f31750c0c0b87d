"""A recurrent step written by hand (char-RNN tutorials): tanh(x W_xh + h W_hh + b), unrolled,
backpropagation through time, gradient clipping by hand, in-place parameter updates."""
import math

import numpy as np
import torch

rng = np.random.default_rng(7)
vocab, hidden, steps, batch = 6, 16, 5, 4


def param(*shape):
    return torch.tensor(rng.normal(0, 0.1, shape).astype(np.float32), requires_grad=True)


W_xh, W_hh, b_h = param(vocab, hidden), param(hidden, hidden), torch.zeros(hidden, requires_grad=True)
W_hq, b_q = param(hidden, vocab), torch.zeros(vocab, requires_grad=True)
params = [W_xh, W_hh, b_h, W_hq, b_q]

tokens = torch.tensor(rng.integers(0, vocab, (batch, steps + 1)))
inputs = torch.nn.functional.one_hot(tokens[:, :-1].T, vocab).type(torch.float32)
targets = tokens[:, 1:].T.reshape(-1)


def rnn(inputs, state):
    H, = state
    outputs = []
    for X in inputs:
        H = torch.tanh(torch.mm(X, W_xh) + torch.mm(H, W_hh) + b_h)
        Y = torch.mm(H, W_hq) + b_q
        outputs.append(Y)
    return torch.cat(outputs, dim=0), (H,)


def grad_clipping(params, theta):
    norm = torch.sqrt(sum(torch.sum((p.grad ** 2)) for p in params))
    if norm > theta:
        for p in params:
            p.grad[:] *= theta / norm
    return norm


loss_fn = torch.nn.CrossEntropyLoss()
for epoch in range(8):
    state = (torch.zeros((batch, hidden)),)
    y_hat, state = rnn(inputs, state)
    l = loss_fn(y_hat, targets)
    for p in params:
        if p.grad is not None:
            p.grad.zero_()
    l.backward()
    norm = grad_clipping(params, 1.0)
    with torch.no_grad():
        for p in params:
            p -= 0.5 * p.grad
    print(f"epoch {epoch} loss {l.item():.5f} perplexity {math.exp(l.item()):.4f} grad-norm {float(norm):.5f}")
print("state", state[0].shape, round(state[0].abs().mean().item(), 6))
