"""A speech-recognition-style CTC training step (the shape of the torchaudio / DeepSpeech
tutorials: frames -> per-frame class log-probabilities -> nn.CTCLoss over (T, N, C)), then a
metric-learning step with nn.TripletMarginLoss and nn.CosineEmbeddingLoss."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

rng = np.random.default_rng(3)
frames, batch, features, classes, max_target = 20, 4, 8, 6, 5


def set_(param, array):
    with torch.no_grad():
        param.copy_(torch.tensor(array, dtype=torch.float32))


class FrameClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(features, 16)
        self.out = nn.Linear(16, classes)

    def forward(self, x):
        return F.log_softmax(self.out(torch.relu(self.hidden(x))), dim=-1)


model = FrameClassifier()
for p in model.parameters():
    set_(p, rng.normal(0, 0.3, tuple(p.shape)))
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
ctc = nn.CTCLoss(blank=0, zero_infinity=True)

x = torch.tensor(rng.standard_normal((frames, batch, features)), dtype=torch.float32)
targets = torch.tensor(rng.integers(1, classes, (batch, max_target)))
input_lengths = torch.tensor([20, 18, 15, 2])          # the last is too short: inf -> 0
target_lengths = torch.tensor([5, 4, 5, 3])

for step in range(5):
    optimizer.zero_grad()
    log_probs = model(x)                                  # (T, N, C)
    loss = ctc(log_probs, targets, input_lengths, target_lengths)
    loss.backward()
    optimizer.step()
    print(f"step {step}: ctc {loss.item():.5f}")

per_sample = F.ctc_loss(model(x), targets, input_lengths, target_lengths, reduction="none")
print("per-sample ctc", [round(v, 4) for v in per_sample.tolist()])

# metric learning: anchors, positives (noisy copies), negatives
embed = nn.Linear(features, 4)
set_(embed.weight, rng.normal(0, 0.5, (4, features)))
set_(embed.bias, np.zeros(4))
opt = torch.optim.Adam(embed.parameters(), lr=0.01)
anchor = torch.tensor(rng.standard_normal((16, features)), dtype=torch.float32)
positive = anchor + 0.1 * torch.tensor(rng.standard_normal((16, features)), dtype=torch.float32)
negative = torch.tensor(rng.standard_normal((16, features)), dtype=torch.float32)
triplet = nn.TripletMarginLoss(margin=1.0, swap=True)
cosine = nn.CosineEmbeddingLoss(margin=0.2)
same = torch.tensor([1, -1] * 8)
for step in range(5):
    opt.zero_grad()
    a, p, n = embed(anchor), embed(positive), embed(negative)
    loss = triplet(a, p, n) + cosine(a, torch.where(same[:, None] > 0, p, n), same)
    loss.backward()
    opt.step()
    print(f"step {step}: metric {loss.item():.5f}")
