"""The benchmark workloads W1–W3, written once against a library module (``torch`` or
``deepseek``) so both run the same model from the same weights.

W1: MLP 784-1024-1024-10, ReLU, cross-entropy, batch 256, SGD momentum 0.9.
W2: small ResNet on 3x32x32, batch 64, SGD momentum.
W3: GPT (vocab 256, context 128, 4 layers, 4 heads, width 256, pre-LayerNorm, tanh-GELU MLP,
    learned positions), batch 16, AdamW.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np


def mlp(lib: Any) -> Any:
    nn = lib.nn
    return nn.Sequential(nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(),
                         nn.Linear(1024, 10))


def resnet(lib: Any) -> Any:
    nn, F = lib.nn, lib.nn.functional

    class Block(nn.Module):
        def __init__(self, cin: int, cout: int, stride: int) -> None:
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.short = None
            if stride != 1 or cin != cout:
                self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False),
                                           nn.BatchNorm2d(cout))

        def forward(self, x):
            y = F.relu(self.bn1(self.conv1(x)))
            y = self.bn2(self.conv2(y))
            return F.relu(y + (x if self.short is None else self.short(x)))

    return nn.Sequential(nn.Conv2d(3, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU(),
                         Block(32, 32, 1), Block(32, 32, 1), Block(32, 64, 2), Block(64, 64, 1),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))


def gpt(lib: Any, vocab: int = 256, ctx: int = 128, layers: int = 4, heads: int = 4,
        width: int = 256) -> Any:
    nn, F = lib.nn, lib.nn.functional

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
            self.qkv, self.proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
            self.fc, self.out = nn.Linear(width, 4 * width), nn.Linear(4 * width, width)

        def forward(self, x):
            b, t, c = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(width, dim=2)
            q, k, v = (z.view(b, t, heads, c // heads).transpose(1, 2) for z in (q, k, v))
            y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
            x = x + self.proj(y.transpose(1, 2).reshape(b, t, c))
            return x + self.out(F.gelu(self.fc(self.ln2(x)), approximate="tanh"))

    class GPT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.tok, self.pos = nn.Embedding(vocab, width), nn.Embedding(ctx, width)
            self.blocks = nn.ModuleList([Block() for _ in range(layers)])
            self.ln, self.head = nn.LayerNorm(width), nn.Linear(width, vocab, bias=False)

        def forward(self, idx):
            x = self.tok(idx) + self.pos(lib.arange(idx.shape[1]))
            for block in self.blocks:
                x = block(x)
            return self.head(self.ln(x))

    return GPT()


def copy_weights(src: Any, dst: Any, dst_lib: Any) -> None:
    """Give ``dst`` (a model of ``dst_lib``) the parameters and buffers of ``src``."""
    theirs = src.state_dict()
    with dst_lib.no_grad():
        for name, t in dst.state_dict().items():
            value = np.array(theirs[name].detach().numpy(), order="C")
            t.copy_(dst_lib.from_numpy(value))


WORKLOADS = {
    "W1 MLP": dict(build=mlp, batch=lambda rng: (rng.standard_normal((256, 784)).astype(
        np.float32), rng.integers(0, 10, 256)), optim=("SGD", dict(lr=0.01, momentum=0.9)),
        loss="classify"),
    "W2 ResNet": dict(build=resnet, batch=lambda rng: (rng.standard_normal(
        (64, 3, 32, 32)).astype(np.float32), rng.integers(0, 10, 64)),
        optim=("SGD", dict(lr=0.01, momentum=0.9)), loss="classify"),
    "W3 GPT": dict(build=gpt, batch=lambda rng: (rng.integers(0, 256, (16, 128)),
                                                  rng.integers(0, 256, (16, 128))),
                   optim=("AdamW", dict(lr=3e-4)), loss="lm"),
}


def make_step(lib: Any, model: Any, opt: Any, kind: str) -> Callable:
    F = lib.nn.functional

    def step(x, y):
        out = model(x)
        loss = F.cross_entropy(out.flatten(0, 1), y.flatten()) if kind == "lm" else \
            F.cross_entropy(out, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return step

