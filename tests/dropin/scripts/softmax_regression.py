"""Softmax regression from scratch (the d2l 'from scratch' chapter): manual cross-entropy,
accuracy with argmax, parameters updated in place with -= under no_grad."""
import numpy as np
import torch

rng = np.random.default_rng(3)
num_inputs, num_outputs, n = 8, 3, 96
centers = rng.standard_normal((num_outputs, num_inputs)).astype(np.float32) * 2
labels = rng.integers(0, num_outputs, n)
X = torch.tensor(centers[labels] + rng.standard_normal((n, num_inputs)).astype(np.float32))
y = torch.tensor(labels)

W = torch.tensor(rng.normal(0, 0.01, (num_inputs, num_outputs)).astype(np.float32), requires_grad=True)
b = torch.zeros(num_outputs, requires_grad=True)


def softmax(X):
    X_exp = torch.exp(X)
    partition = X_exp.sum(1, keepdim=True)
    return X_exp / partition


def net(X):
    return softmax(torch.matmul(X.reshape((-1, W.shape[0])), W) + b)


def cross_entropy(y_hat, y):
    return -torch.log(y_hat[range(len(y_hat)), y])


def accuracy(y_hat, y):
    if len(y_hat.shape) > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(axis=1)
    cmp = y_hat.type(y.dtype) == y
    return float(cmp.type(y.dtype).sum())


def sgd(params, lr, batch_size):
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


batch_size, lr = 32, 0.5
for epoch in range(5):
    for i in range(0, n, batch_size):
        Xb, yb = X[i:i + batch_size], y[i:i + batch_size]
        l = cross_entropy(net(Xb), yb)
        l.sum().backward()
        sgd([W, b], lr, batch_size)
    with torch.no_grad():
        train_l = cross_entropy(net(X), y)
        print(f"epoch {epoch + 1}, loss {float(train_l.mean()):f}, acc {accuracy(net(X), y) / n:.4f}")
print("W", W.shape, "b", [round(v, 5) for v in b.tolist()])
