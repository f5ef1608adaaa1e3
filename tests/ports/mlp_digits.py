"""An MLP on the 8x8 digits with DataLoader and Adam, written for PyTorch."""

import json
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

data = np.load(os.path.join(os.path.dirname(__file__), "../../deepseek/data/digits.npz"))
order = np.random.default_rng(0).permutation(len(data["labels"]))  # a shuffled split
x = torch.tensor(data["images"][order].reshape(-1, 64) / 16.0, dtype=torch.float32)
y = torch.tensor(data["labels"][order].astype(np.int64))
torch.manual_seed(0)
train = TensorDataset(x[:1400], y[:1400])
loader = DataLoader(train, batch_size=64, shuffle=True)
model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
for epoch in range(10):
    for xb, yb in loader:
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
model.eval()
with torch.no_grad():
    acc = (model(x[1400:]).argmax(dim=1) == y[1400:]).float().mean().item()
print(json.dumps({"accuracy": acc, "final_loss": loss.item()}))
