"""An N-gram language model with nn.Embedding, as torch's tutorial "Word Embeddings: Encoding
Lexical Semantics" writes it: (context, target) trigrams, NGramLanguageModeler (Embedding ->
view(1, -1) -> Linear -> relu -> Linear -> log_softmax), NLLLoss, SGD one n-gram at a time.
Generated text (a Markov chain over a small vocabulary); the vocabulary is sorted (a set's order
changes between processes) and the weights come from NumPy, so both libraries start alike."""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

rng = np.random.default_rng(7)
CONTEXT_SIZE = 2
EMBEDDING_DIM = 10
words = ["when", "forty", "winters", "shall", "besiege", "thy", "brow", "and", "dig", "deep",
         "trenches", "in", "beauty's", "field", "youth's", "proud"]
transition = rng.dirichlet(np.full(len(words), 0.3), len(words))
state, test_sentence = 0, []
for _ in range(60):
    test_sentence.append(words[state])
    state = int(rng.choice(len(words), p=transition[state]))

ngrams = [
    ([test_sentence[i - j - 1] for j in range(CONTEXT_SIZE)], test_sentence[i])
    for i in range(CONTEXT_SIZE, len(test_sentence))
]
print(ngrams[:3])

vocab = sorted(set(test_sentence))
word_to_ix = {word: i for i, word in enumerate(vocab)}


class NGramLanguageModeler(nn.Module):

    def __init__(self, vocab_size, embedding_dim, context_size):
        super(NGramLanguageModeler, self).__init__()
        self.embeddings = nn.Embedding(vocab_size, embedding_dim)
        self.linear1 = nn.Linear(context_size * embedding_dim, 128)
        self.linear2 = nn.Linear(128, vocab_size)

    def forward(self, inputs):
        embeds = self.embeddings(inputs).view((1, -1))
        out = F.relu(self.linear1(embeds))
        out = self.linear2(out)
        log_probs = F.log_softmax(out, dim=1)
        return log_probs


losses = []
loss_function = nn.NLLLoss()
model = NGramLanguageModeler(len(vocab), EMBEDDING_DIM, CONTEXT_SIZE)
init = np.random.default_rng(0)
with torch.no_grad():
    for name, param in model.named_parameters():
        param.copy_(torch.tensor(init.normal(0, 0.3, tuple(param.shape)).astype(np.float32)))
print(model)
optimizer = optim.SGD(model.parameters(), lr=0.05)

for epoch in range(8):
    total_loss = 0
    for context, target in ngrams:
        context_idxs = torch.tensor([word_to_ix[w] for w in context], dtype=torch.long)
        model.zero_grad()
        log_probs = model(context_idxs)
        loss = loss_function(log_probs, torch.tensor([word_to_ix[target]], dtype=torch.long))
        loss.backward()
        optimizer.step()
        total_loss += loss.item()
    losses.append(total_loss)
print([round(l, 4) for l in losses])

# To get the embedding of a particular word, e.g. "beauty's"
print([round(v, 4) for v in model.embeddings.weight[word_to_ix[vocab[0]]].tolist()])
with torch.no_grad():
    context = torch.tensor([[word_to_ix[w] for w in c] for c, _ in ngrams[:4]])
    print("most likely next", [vocab[i] for i in
                               model.linear2(F.relu(model.linear1(model.embeddings(context).flatten(1))))
                               .argmax(1).tolist()])
