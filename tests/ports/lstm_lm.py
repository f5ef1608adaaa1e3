"""An LSTM character language model trained with truncated backpropagation through time, the
way PyTorch's word_language_model example does it: the corpus is batchified into columns, the
hidden state is carried across chunks and detached between them, gradients are clipped."""

import json
import math

import torch
import torch.nn as nn

TEXT = """\
it was the best of times, it was the worst of times, it was the age of wisdom, it was the
age of foolishness, it was the epoch of belief, it was the epoch of incredulity, it was the
season of light, it was the season of darkness, it was the spring of hope, it was the winter
of despair, we had everything before us, we had nothing before us, we were all going direct
to heaven, we were all going direct the other way.
"""
BATCH, BPTT, EMBD, HIDDEN, LAYERS, EPOCHS = 8, 16, 24, 64, 2, 25


class RNNModel(nn.Module):
    def __init__(self, ntoken):
        super().__init__()
        self.drop = nn.Dropout(0.1)
        self.encoder = nn.Embedding(ntoken, EMBD)
        self.rnn = nn.LSTM(EMBD, HIDDEN, LAYERS, dropout=0.1)
        self.decoder = nn.Linear(HIDDEN, ntoken)

    def forward(self, input, hidden):
        emb = self.drop(self.encoder(input))
        output, hidden = self.rnn(emb, hidden)
        return self.decoder(self.drop(output)), hidden

    def init_hidden(self, bsz):
        weight = next(self.parameters())
        return (weight.new_zeros(LAYERS, bsz, HIDDEN), weight.new_zeros(LAYERS, bsz, HIDDEN))


def batchify(data, bsz):
    nbatch = data.size(0) // bsz
    return data.narrow(0, 0, nbatch * bsz).view(bsz, -1).t().contiguous()


def get_batch(source, i):
    seq_len = min(BPTT, len(source) - 1 - i)
    return source[i:i + seq_len], source[i + 1:i + 1 + seq_len].reshape(-1)


def repackage_hidden(h):
    if isinstance(h, torch.Tensor):
        return h.detach()
    return tuple(repackage_hidden(v) for v in h)


def evaluate(model, source, ntokens):
    model.eval()
    total, hidden = 0.0, model.init_hidden(BATCH)
    with torch.no_grad():
        for i in range(0, source.size(0) - 1, BPTT):
            data, targets = get_batch(source, i)
            output, hidden = model(data, hidden)
            total += len(data) * criterion(output.view(-1, ntokens), targets).item()
    return total / (len(source) - 1)


torch.manual_seed(0)
chars = sorted(set(TEXT))
corpus = torch.tensor([chars.index(c) for c in TEXT], dtype=torch.long)
train_data = batchify(corpus, BATCH)
ntokens = len(chars)
model = RNNModel(ntokens)
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
for epoch in range(EPOCHS):
    model.train()
    hidden = model.init_hidden(BATCH)
    for i in range(0, train_data.size(0) - 1, BPTT):
        data, targets = get_batch(train_data, i)
        hidden = repackage_hidden(hidden)
        model.zero_grad()
        output, hidden = model(data, hidden)
        loss = criterion(output.view(-1, ntokens), targets)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        optimizer.step()
eval_loss = evaluate(model, train_data, ntokens)
print(json.dumps({"eval_loss": eval_loss, "perplexity": math.exp(eval_loss),
                  "final_loss": loss.item()}))
