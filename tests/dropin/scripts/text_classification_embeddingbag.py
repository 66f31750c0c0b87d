"""Text classification with nn.EmbeddingBag, as torch's text tutorial ("Text classification with
the torchtext library") writes it: a collate_batch that concatenates the token ids and builds
offsets with cumsum, TextClassificationModel (EmbeddingBag + Linear), CrossEntropyLoss, SGD with
StepLR and clip_grad_norm_, evaluation under no_grad. Generated data: each class favours its own
band of a small vocabulary; the weights come from NumPy so both libraries start alike."""
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader

rng = np.random.default_rng(12)
VOCAB, NUM_CLASS, EMSIZE = 60, 4, 16


def make_text(label):
    length = int(rng.integers(3, 12))
    own = rng.integers(label * 15, label * 15 + 15, length)
    noise = rng.integers(0, VOCAB, length)
    return [int(t) for t in np.where(rng.random(length) < 0.7, own, noise)]


train_iter = [(int(label), make_text(label)) for label in rng.integers(0, NUM_CLASS, 160)]
test_iter = [(int(label), make_text(label)) for label in rng.integers(0, NUM_CLASS, 40)]

text_pipeline = lambda x: x  # noqa: E731 - the tutorial's vocab(tokenizer(x)), pre-tokenised
label_pipeline = lambda x: int(x)  # noqa: E731


def collate_batch(batch):
    label_list, text_list, offsets = [], [], [0]
    for _label, _text in batch:
        label_list.append(label_pipeline(_label))
        processed_text = torch.tensor(text_pipeline(_text), dtype=torch.int64)
        text_list.append(processed_text)
        offsets.append(processed_text.size(0))
    label_list = torch.tensor(label_list, dtype=torch.int64)
    offsets = torch.tensor(offsets[:-1]).cumsum(dim=0)
    text_list = torch.cat(text_list)
    return label_list, text_list, offsets


class TextClassificationModel(nn.Module):
    def __init__(self, vocab_size, embed_dim, num_class):
        super(TextClassificationModel, self).__init__()
        self.embedding = nn.EmbeddingBag(vocab_size, embed_dim, sparse=False)
        self.fc = nn.Linear(embed_dim, num_class)
        self.init_weights()

    def init_weights(self):
        initrange = 0.5
        init = np.random.default_rng(0)  # the tutorial draws uniform_(-0.5, 0.5) here
        with torch.no_grad():
            self.embedding.weight.copy_(torch.tensor(
                init.uniform(-initrange, initrange, (VOCAB, EMSIZE)).astype(np.float32)))
            self.fc.weight.copy_(torch.tensor(
                init.uniform(-initrange, initrange, (NUM_CLASS, EMSIZE)).astype(np.float32)))
            self.fc.bias.zero_()

    def forward(self, text, offsets):
        embedded = self.embedding(text, offsets)
        return self.fc(embedded)


model = TextClassificationModel(VOCAB, EMSIZE, NUM_CLASS)
print(model)


def train(dataloader):
    model.train()
    total_acc, total_count = 0, 0
    for idx, (label, text, offsets) in enumerate(dataloader):
        optimizer.zero_grad()
        predicted_label = model(text, offsets)
        loss = criterion(predicted_label, label)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.1)
        optimizer.step()
        total_acc += (predicted_label.argmax(1) == label).sum().item()
        total_count += label.size(0)
    return total_acc / total_count, loss.item()


def evaluate(dataloader):
    model.eval()
    total_acc, total_count = 0, 0
    with torch.no_grad():
        for idx, (label, text, offsets) in enumerate(dataloader):
            predicted_label = model(text, offsets)
            loss = criterion(predicted_label, label)
            total_acc += (predicted_label.argmax(1) == label).sum().item()
            total_count += label.size(0)
    return total_acc / total_count, loss.item()


EPOCHS, LR, BATCH_SIZE = 6, 5, 16
criterion = torch.nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=LR)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1.0, gamma=0.1)
total_accu = None
train_dataloader = DataLoader(train_iter, batch_size=BATCH_SIZE, shuffle=False,
                              collate_fn=collate_batch)
test_dataloader = DataLoader(test_iter, batch_size=BATCH_SIZE, shuffle=False,
                             collate_fn=collate_batch)

for epoch in range(1, EPOCHS + 1):
    train_acc, train_loss = train(train_dataloader)
    accu_val, val_loss = evaluate(test_dataloader)
    if total_accu is not None and total_accu > accu_val:
        scheduler.step()
    else:
        total_accu = accu_val
    print(f"| end of epoch {epoch:3d} | train accuracy {train_acc:8.3f} | train loss "
          f"{train_loss:8.4f} | valid accuracy {accu_val:8.3f} | valid loss {val_loss:8.4f} | "
          f"lr {scheduler.get_last_lr()[0]:.4f}")

label, text, offsets = collate_batch(test_iter[:3])
with torch.no_grad():
    print("predictions", model(text, offsets).argmax(1).tolist(), "labels", label.tolist())
    print("bag sums", [round(v, 4) for v in nn.functional.embedding_bag(
        text, model.embedding.weight, offsets, mode="sum").sum(1).tolist()])
