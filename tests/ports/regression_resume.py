"""A regression written for PyTorch: a custom Dataset subclass, gradient accumulation, activation
checkpointing (torch.utils.checkpoint) around residual blocks with dropout, AdamW with
CosineAnnealingLR, and a mid-run save/resume of model, optimizer and scheduler state that must
continue bit-identically to an uninterrupted run."""

import json
import os
import tempfile

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint
from torch.utils.data import DataLoader, Dataset

FEATURES, WIDTH, BATCH, ACCUM, EPOCHS, RESUME_AT = 8, 64, 32, 2, 16, 7


class Synthetic(Dataset):
    """y = sin(x . w) + 0.5 * x_0 * x_1 + noise, generated from a seeded Generator."""

    def __init__(self, n, seed):
        g = torch.Generator().manual_seed(seed)
        w = torch.ones(FEATURES) / FEATURES ** 0.5
        self.x = torch.randn(n, FEATURES, generator=g)
        noise = 0.05 * torch.randn(n, generator=g)
        self.y = (torch.sin(self.x @ w * 2) + 0.5 * self.x[:, 0] * self.x[:, 1] + noise)[:, None]

    def __len__(self):
        return len(self.x)

    def __getitem__(self, index):
        return self.x[index], self.y[index]


class Net(nn.Module):
    def __init__(self, use_checkpoint=True):
        super().__init__()
        self.use_checkpoint = use_checkpoint
        self.inp = nn.Linear(FEATURES, WIDTH)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.LayerNorm(WIDTH), nn.Linear(WIDTH, WIDTH), nn.GELU(),
                          nn.Dropout(0.1)) for _ in range(2))
        self.out = nn.Linear(WIDTH, 1)

    def forward(self, x):
        h = self.inp(x)
        for block in self.blocks:
            if self.use_checkpoint and self.training:
                h = h + checkpoint(block, h, use_reentrant=False)
            else:
                h = h + block(h)
        return self.out(h)


def make(seed):
    torch.manual_seed(seed)
    model = Net()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=1e-2)
    steps = EPOCHS * len(loader) // ACCUM
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=steps, eta_min=1e-4)
    return model, optimizer, scheduler


def train(model, optimizer, scheduler, epochs):
    model.train()
    for epoch in epochs:
        torch.manual_seed(1000 + epoch)  # the epoch's shuffle and dropout masks
        optimizer.zero_grad()
        for i, (xb, yb) in enumerate(loader):
            loss = F.mse_loss(model(xb), yb) / ACCUM
            loss.backward()
            if (i + 1) % ACCUM == 0:
                optimizer.step()
                scheduler.step()
                optimizer.zero_grad()


def same_state(a, b):
    """Exact equality of two nested state dicts (tensors bitwise, everything else ==)."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.shape == b.shape and torch.equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_state(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same_state(x, y) for x, y in zip(a, b))
    return a == b


train_set, test_set = Synthetic(512, seed=1), Synthetic(256, seed=2)
loader = DataLoader(train_set, batch_size=BATCH, shuffle=True)

# Checkpointing must not change gradients: same weights, same dropout masks (RNG replayed).
plain, ckpt = Net(use_checkpoint=False), Net()
ckpt.load_state_dict(plain.state_dict())
grads = []
for net in (plain, ckpt):
    torch.manual_seed(7)
    F.mse_loss(net(train_set.x[:64]), train_set.y[:64]).backward()
    grads.append([p.grad for p in net.parameters()])
checkpoint_grad_diff = max((a - b).abs().max().item() for a, b in zip(*grads))

model, optimizer, scheduler = make(seed=0)
train(model, optimizer, scheduler, range(EPOCHS))

resumed, optimizer2, scheduler2 = make(seed=0)
train(resumed, optimizer2, scheduler2, range(RESUME_AT))
with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "ckpt.pt")
    torch.save({"model": resumed.state_dict(), "optimizer": optimizer2.state_dict(),
                "scheduler": scheduler2.state_dict(), "epoch": RESUME_AT}, path)
    del resumed, optimizer2, scheduler2
    state = torch.load(path)
resumed, optimizer2, scheduler2 = make(seed=123)  # fresh objects, different initial weights
resumed.load_state_dict(state["model"])
optimizer2.load_state_dict(state["optimizer"])
scheduler2.load_state_dict(state["scheduler"])
train(resumed, optimizer2, scheduler2, range(state["epoch"], EPOCHS))

model.eval()
with torch.no_grad():
    test_mse = F.mse_loss(model(test_set.x), test_set.y).item()
    baseline = test_set.y.var(unbiased=False).item()
print(json.dumps({
    "test_mse": test_mse, "relative_mse": test_mse / baseline,
    "resume_identical": same_state(model.state_dict(), resumed.state_dict())
    and same_state(optimizer.state_dict(), optimizer2.state_dict())
    and scheduler.get_last_lr() == scheduler2.get_last_lr(),
    "checkpoint_grad_diff": checkpoint_grad_diff, "lr": scheduler.get_last_lr()[0]}))
