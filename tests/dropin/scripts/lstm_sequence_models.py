"""Sequence models as the PyTorch tutorials write them ("Sequence Models and LSTM Networks",
"Classifying names with a character-level RNN"): an LSTM stepped one input at a time and run
over the whole sequence at once, then a name classifier on one-hot characters with a
bidirectional GRU over packed sequences of unequal lengths, trained with SGD."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence, pad_sequence

rng = np.random.default_rng(5)


def same_start(module):
    with torch.no_grad():  # the same starting weights on both libraries
        for name, p in module.named_parameters():
            p.copy_(torch.tensor(rng.uniform(-0.3, 0.3, tuple(p.shape)).astype(np.float32)))


# --- the tutorial's first example: step by step vs the whole sequence -------------------------
lstm = nn.LSTM(3, 3)  # input dim 3, output dim 3
same_start(lstm)
inputs = [torch.tensor(rng.standard_normal((1, 3)).astype(np.float32)) for _ in range(5)]
hidden = (torch.zeros(1, 1, 3), torch.zeros(1, 1, 3))
for i in inputs:
    out, hidden = lstm(i.view(1, 1, -1), hidden)
print("stepped out", [round(v, 5) for v in out.view(-1).tolist()])
whole = torch.cat(inputs).view(len(inputs), 1, -1)
hidden = (torch.zeros(1, 1, 3), torch.zeros(1, 1, 3))
out, hidden = lstm(whole, hidden)
print("whole out", out.shape, [round(v, 5) for v in out[-1].view(-1).tolist()])
print("hidden", [round(v, 5) for v in hidden[0].view(-1).tolist()],
      [round(v, 5) for v in hidden[1].view(-1).tolist()])

# --- a character-level classifier over names of unequal lengths ------------------------------
letters = "abcdefghijklmnopqrstuvwxyz"
n_letters, n_categories = len(letters), 3
names, labels = [], []
for k in range(24):
    category = k % n_categories
    length = int(rng.integers(2, 9))
    # each category prefers its own third of the alphabet, so there is something to learn
    chars = rng.integers(category * 8, category * 8 + 10, length) % n_letters
    names.append("".join(letters[c] for c in chars))
    labels.append(category)


def name_to_tensor(name):
    return F.one_hot(torch.tensor([letters.index(c) for c in name]), n_letters).float()


class NameClassifier(nn.Module):
    def __init__(self, input_size, hidden_size, output_size):
        super().__init__()
        self.rnn = nn.GRU(input_size, hidden_size, num_layers=2, bidirectional=True,
                          batch_first=True)
        self.h2o = nn.Linear(2 * hidden_size, output_size)

    def forward(self, batch, lengths):
        packed = pack_padded_sequence(batch, lengths, batch_first=True, enforce_sorted=False)
        output, hidden = self.rnn(packed)
        padded, out_lengths = pad_packed_sequence(output, batch_first=True)
        # the last layer's final states, forward and backward direction
        last = torch.cat([hidden[-2], hidden[-1]], dim=1)
        return F.log_softmax(self.h2o(last), dim=1), padded, out_lengths


model = NameClassifier(n_letters, 12, n_categories)
same_start(model)
print(model)
print("parameters", sum(p.numel() for p in model.parameters()),
      [n for n, _ in model.named_parameters()][:5])

batch = pad_sequence([name_to_tensor(n) for n in names], batch_first=True)
lengths = torch.tensor([len(n) for n in names])
targets = torch.tensor(labels)
criterion = nn.NLLLoss()
optimizer = optim.SGD(model.parameters(), lr=0.5)
for epoch in range(6):
    optimizer.zero_grad()
    output, padded, out_lengths = model(batch, lengths)
    loss = criterion(output, targets)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 5.0)
    optimizer.step()
    print(f"epoch {epoch} loss {loss.item():.5f} grad {model.rnn.weight_hh_l0.grad.abs().sum().item():.5f}")
print("padded", tuple(padded.shape), out_lengths.tolist()[:6])

model.eval()
with torch.no_grad():
    output, _, _ = model(batch, lengths)
    guesses = output.argmax(dim=1)
print("accuracy", (guesses == targets).float().mean().item())
print("first guesses", guesses[:8].tolist(), [round(v, 4) for v in output[0].tolist()])
