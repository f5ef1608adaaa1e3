"""A CNN with BatchNorm, MaxPool, AdaptiveAvgPool, Adam and StepLR on the digits, for PyTorch."""

import json
import os

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset

data = np.load(os.path.join(os.path.dirname(__file__), "../../deepseek/data/digits.npz"))
order = np.random.default_rng(0).permutation(len(data["labels"]))  # a shuffled split
x = torch.tensor(data["images"][order][:, None] / 16.0, dtype=torch.float32)
y = torch.tensor(data["labels"][order].astype(np.int64))
torch.manual_seed(0)
loader = DataLoader(TensorDataset(x[:1400], y[:1400]), batch_size=64, shuffle=True)
model = nn.Sequential(
    nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
    nn.Flatten(), nn.Linear(32, 10))
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.3)
criterion = nn.CrossEntropyLoss()
for epoch in range(6):
    model.train()
    for xb, yb in loader:
        loss = criterion(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
    sched.step()
model.eval()
with torch.no_grad():
    acc = (model(x[1400:]).argmax(1) == y[1400:]).float().mean().item()
print(json.dumps({"accuracy": acc, "final_loss": loss.item(), "lr": sched.get_last_lr()[0]}))
