"""Per-call cost of small ops and time of large ones, deepseek vs PyTorch in one process.

    python bench/op_overhead.py [--quick]

Prints median times and the ratio deepseek / torch (below 1.0: deepseek is faster).
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _harness import median_time, print_table  # noqa: E402

import deepseek as ds  # noqa: E402

try:
    import torch
except ImportError:  # the table still prints deepseek's own figures
    torch = None


def small_ops(lib, repeat):
    a, b = lib.ones(1), lib.ones(1)
    ag, bg = lib.ones(1, requires_grad=True), lib.ones(1, requires_grad=True)

    def chain():
        x = ag
        for _ in range(100):
            x = x * 1.0001 + 0.0001
        x.sum().backward()

    return [
        ("add, 1 element", median_time(lambda: a + b, repeat, 2000)),
        ("add, 1 element, requires_grad", median_time(lambda: ag + bg, repeat, 2000)),
        ("mul+add scalar, 1 element", median_time(lambda: a * 2.0 + 1.0, repeat, 1000)),
        ("backward through 100 small ops (200 ops)", median_time(chain, repeat, 5)),
    ]


def large_ops(lib, repeat):
    F = lib.nn.functional
    rng = np.random.default_rng(0)
    out = []
    for n, c, hw in ((64, 32, 32), (64, 64, 16)):
        x = lib.tensor(rng.standard_normal((n, c, hw, hw)).astype(np.float32), requires_grad=True)
        w = lib.tensor(rng.standard_normal((c, c, 3, 3)).astype(np.float32) * 0.1,
                       requires_grad=True)
        if not hasattr(F, "conv2d"):
            continue

        def conv(x=x, w=w):
            y = F.conv2d(x, w, padding=1)
            y.sum().backward()

        out.append((f"conv2d fwd+bwd {n}x{c}x{hw}x{hw}, 3x3 {c}->{c}",
                    median_time(conv, max(repeat // 4, 3), 1)))
    # W2's downsampling block: a strided 3x3 and its 1x1 projection (input grad = col2im)
    x = lib.tensor(rng.standard_normal((64, 32, 32, 32)).astype(np.float32), requires_grad=True)
    for k in (3, 1):
        w = lib.tensor(rng.standard_normal((64, 32, k, k)).astype(np.float32) * 0.1,
                       requires_grad=True)

        def strided(w=w, k=k):
            F.conv2d(x, w, stride=2, padding=k // 2).sum().backward()

        out.append((f"conv2d fwd+bwd 64x32x32x32, {k}x{k} stride 2 32->64",
                    median_time(strided, max(repeat // 4, 3), 1)))
    x = lib.tensor(rng.standard_normal((16, 128, 256)).astype(np.float32), requires_grad=True)
    if hasattr(F, "softmax"):
        out.append(("softmax fwd+bwd 16x128x256",
                    median_time(lambda: F.softmax(x, -1).sum().backward(), repeat, 1)))
    if hasattr(F, "layer_norm"):
        wl = lib.ones(256, requires_grad=True)
        bl = lib.zeros(256, requires_grad=True)
        out.append(("layer_norm fwd+bwd 16x128x256",
                    median_time(lambda: F.layer_norm(x, (256,), wl, bl).sum().backward(),
                                repeat, 1)))
    out += transformer_rows(lib, x, repeat)
    out += recurrent_rows(lib, repeat)
    return out


def recurrent_rows(lib, repeat):
    """The recurrent layers over a sequence, fwd+bwd: one step after another, so per-step
    costs add up."""
    lib.manual_seed(0)
    x = lib.tensor(np.random.default_rng(2).standard_normal((50, 16, 64)).astype(np.float32))
    rows = []
    for name in ("LSTM", "GRU", "RNN"):
        layer = getattr(lib.nn, name)(64, 128)

        def run(layer=layer):
            layer(x)[0].sum().backward()

        rows.append((f"nn.{name} fwd+bwd seq 50, batch 16, 64->128",
                     median_time(run, max(repeat // 2, 3), 1)))
    return rows


def transformer_rows(lib, x, repeat):
    """The other non-GEMM ops of a GPT step: GELU and the cross-entropy loss, fwd+bwd."""
    F = lib.nn.functional
    logits = x.detach().reshape(16 * 128, 256).requires_grad_()
    target = lib.from_numpy(np.random.default_rng(1).integers(0, 256, 16 * 128))
    return [
        ("log_softmax fwd+bwd 16x128x256",
         median_time(lambda: F.log_softmax(x, -1).sum().backward(), repeat, 1)),
        ("gelu(tanh) fwd+bwd 16x128x256",
         median_time(lambda: F.gelu(x, approximate="tanh").sum().backward(), repeat, 1)),
        ("cross_entropy fwd+bwd 2048x256",
         median_time(lambda: F.cross_entropy(logits, target).backward(), repeat, 1)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    args = parser.parse_args()
    repeat = 5 if args.quick else 20
    for title, fn in (("small ops (per call)", small_ops), ("large ops", large_ops)):
        ours = fn(ds, repeat)
        theirs = dict(fn(torch, repeat)) if torch is not None else {}
        print_table(title, [(name, t, theirs.get(name)) for name, t in ours])


if __name__ == "__main__":
    main()
