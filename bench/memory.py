"""Peak memory and time of one training step, deepseek vs PyTorch, on W3 (GPT, 4 layers,
context 128) and a deeper GPT (8 layers, context 256): eager, automatic checkpointing,
bfloat16 autocast, offload under a limit; then the largest batch that trains under 1 GiB.

    python bench/memory.py [--quick]

deepseek's peak is its allocator's (exact bytes of array data, ``ds.max_memory_allocated``).
PyTorch on the CPU keeps no allocator statistics, so both libraries are also measured by the
peak resident set (VmHWM, reset through /proc/self/clear_refs) above the resident set before
the step; glibc's caching makes that figure coarser.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from workloads import copy_weights, gpt  # noqa: E402

import deepseek as ds  # noqa: E402
import torch  # noqa: E402

MiB = 1 << 20


def _rss() -> tuple:
    with open("/proc/self/status") as f:
        fields = dict(line.split(":", 1) for line in f)
    return int(fields["VmRSS"].split()[0]) * 1024, int(fields["VmHWM"].split()[0]) * 1024


def _reset_hwm() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _step(lib, model, opt, x, y, mode):
    F = lib.nn.functional
    if mode == "bf16" and lib is ds:
        ctx = ds.autocast("cpu", dtype=ds.bfloat16)
    elif mode == "bf16":
        ctx = torch.autocast("cpu", dtype=torch.bfloat16)
    else:
        ctx = _Null()
    with ctx:
        out = model(x)
        loss = F.cross_entropy(out.flatten(0, 1).float(), y.flatten())
    opt.zero_grad()
    loss.backward()
    opt.step()
    return float(loss.item())


class _Null:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return None


def measure(lib, cfg, batch, mode, limit=None, steps=2):
    """(peak bytes by the allocator or None, peak RSS delta, seconds per step)."""
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (batch, cfg["ctx"]))
    y = rng.integers(0, 256, (batch, cfg["ctx"]))
    torch.manual_seed(0)
    model = gpt(lib, **cfg)
    if lib is ds:
        copy_weights(gpt(torch, **cfg), model, ds)
        if mode in ("checkpoint", "offload+checkpoint"):
            ds.memory.auto_checkpoint(model)
    opt = lib.optim.AdamW(model.parameters(), lr=3e-4)
    xs, ys = lib.from_numpy(x), lib.from_numpy(y)
    if lib is torch and mode == "checkpoint":
        from torch.utils.checkpoint import checkpoint

        for block in model.blocks:
            block.forward = (lambda f: lambda z: checkpoint(f, z, use_reentrant=False))(
                block.forward)
    times = []
    for i in range(steps):
        if i == steps - 1:  # measure the last step: optimizer state exists by then
            if lib is ds:
                ds.reset_peak_memory_stats()
            rss0, _ = _rss()
            _reset_hwm()
        t0 = time.perf_counter()
        if lib is ds and limit:
            with ds.memory.limit(limit, offload=mode.startswith("offload")):
                _step(lib, model, opt, xs, ys, mode)
        else:
            _step(lib, model, opt, xs, ys, mode)
        times.append(time.perf_counter() - t0)
    _, hwm = _rss()
    peak = ds.max_memory_allocated() if lib is ds else None
    return peak, hwm - rss0, times[-1]


def largest_batch(cfg, mode, limit, top):
    """The largest power-of-two batch whose step fits under ``limit`` (deepseek)."""
    best, batch = 0, 1
    while batch <= top:
        try:
            measure(ds, cfg, batch, mode, limit=limit, steps=1)
        except ds.OutOfMemoryError:
            break
        best, batch = batch, batch * 2
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    configs = {"W3 GPT (4L, ctx 128, b16)": (dict(layers=4, ctx=128), 16),
               "GPT 8L, ctx 256, b8": (dict(layers=8, ctx=256), 4 if args.quick else 8)}
    print(f"{'workload / mode':<42}{'ds alloc peak':>14}{'ds RSS peak':>13}{'torch RSS':>11}"
          f"{'ds time':>10}{'torch time':>11}{'ds slowdown':>12}")
    for name, (cfg, batch) in configs.items():
        base = None
        eager_peak = None
        for mode in ("eager", "checkpoint", "bf16", "offload"):
            limit = None
            if mode == "offload":
                limit = int(eager_peak * 0.6)
            peak, rss, t = measure(ds, cfg, batch, mode, limit=limit)
            tpeak, trss, tt = (None, None, None) if mode == "offload" else \
                measure(torch, cfg, batch, mode)
            if mode == "eager":
                base, eager_peak = t, peak
            label = f"{name} {mode}" + (f" (limit {limit / MiB:.0f} MiB)" if limit else "")
            print(f"{label:<42}{peak / MiB:>11.1f} MiB{rss / MiB:>9.1f} MiB"
                  + (f"{trss / MiB:>7.1f} MiB" if trss is not None else f"{'n/a':>11}")
                  + f"{t * 1e3:>8.0f}ms" + (f"{tt * 1e3:>9.0f}ms" if tt else f"{'n/a':>11}")
                  + f"{t / base:>11.2f}x   peak/eager {peak / eager_peak:.2f}")
    cfg = dict(layers=8, ctx=256)
    top = 16 if args.quick else 64
    plain = largest_batch(cfg, "eager", 1 << 30, top)
    managed = largest_batch(cfg, "offload+checkpoint", 1 << 30, top)
    print(f"\nlargest batch under 1 GiB, GPT 8L ctx 256 (powers of two up to {top}): "
          f"eager {plain}, checkpoint+offload {managed}")


if __name__ == "__main__":
    main()
