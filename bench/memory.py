"""Peak memory and time of one training step, deepseek vs PyTorch, on W3 (GPT, 4 layers,
context 128, batch 16) and a deeper GPT (8 layers, context 256, batch 8): eager, automatic
checkpointing, bfloat16 autocast, offload under a limit of 0.6x the eager peak, and the whole step
compiled by ``ds.jit`` (its row's torch cells are PyTorch eager's again: the compiled peak is
to be no higher); then the largest batch of the deeper GPT that trains under a 1 GiB limit, per
mode.

    python bench/memory.py [--quick]

Peaks are of allocated bytes during the second training step (so gradients and AdamW state
exist), everything included: parameters, gradients, optimizer state, activations, temporaries.
deepseek's is its allocator's (``ds.max_memory_allocated``). PyTorch keeps no allocator
statistics on the CPU, so its peak is the running sum of the allocation and free events of
``torch.profiler`` (``profile_memory=True``) over the step, plus the bytes of parameters,
gradients and optimizer state alive when the step starts: the same quantity. The step is timed
separately, without the profiler. Both also report the peak resident set (VmHWM, reset through
/proc/self/clear_refs) above the resident set before the step, which glibc's caching makes
coarser.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from workloads import copy_weights, gpt  # noqa: E402

import deepseek as ds  # noqa: E402
import torch  # noqa: E402

MiB = 1 << 20
GiB = 1 << 30
OFFLOAD_LIMIT = 0.6  # of the eager peak


def _rss() -> tuple:
    with open("/proc/self/status") as f:
        fields = dict(line.split(":", 1) for line in f)
    return int(fields["VmRSS"].split()[0]) * 1024, int(fields["VmHWM"].split()[0]) * 1024


def _reset_hwm() -> None:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


class Run:
    """A model, its AdamW and a batch of one library, in one mode (eager, checkpoint, bf16,
    offload, offload+checkpoint)."""

    def __init__(self, lib, cfg: dict, mode: str) -> None:
        self.lib, self.mode = lib, mode
        torch.manual_seed(0)
        reference = gpt(torch, **cfg)
        self.model = reference if lib is torch else gpt(ds, **cfg)
        if lib is ds:
            copy_weights(reference, self.model, ds)
        if "checkpoint" in mode:
            if lib is ds:
                ds.memory.auto_checkpoint(self.model)
            else:
                from torch.utils.checkpoint import checkpoint

                for block in self.model.blocks:
                    block.forward = (lambda f: lambda z: checkpoint(f, z, use_reentrant=False))(
                        block.forward)
        self.opt = lib.optim.AdamW(self.model.parameters(), lr=3e-4)
        self.ctx = cfg["ctx"]
        self.train = ds.jit(self._train) if mode == "jit" else self._train

    def batch(self, size: int) -> tuple:
        rng = np.random.default_rng(0)
        return tuple(self.lib.from_numpy(rng.integers(0, 256, (size, self.ctx)))
                     for _ in range(2))

    def step(self, x, y, limit: int = 0) -> float:
        lib = self.lib
        if self.mode == "bf16":
            cast = lib.autocast("cpu", dtype=lib.bfloat16)
        else:
            cast = contextlib.nullcontext()
        budget = contextlib.nullcontext()
        if limit:
            budget = ds.memory.limit(limit, offload=self.mode.startswith("offload"))
        with budget:
            with cast:
                loss = self.train(x, y)
        return float(loss.item())

    def _train(self, x, y):
        loss = self.lib.nn.functional.cross_entropy(self.model(x).flatten(0, 1).float(),
                                                    y.flatten())
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return loss

    def state_bytes(self) -> int:
        """Parameters, gradients and optimizer state alive now (PyTorch)."""
        tensors = list(self.model.parameters())
        tensors += [p.grad for p in tensors if p.grad is not None]
        tensors += [t for s in self.opt.state.values() for t in s.values() if torch.is_tensor(t)]
        return sum(t.numel() * t.element_size() for t in tensors)

    def peak(self, x, y, limit: int = 0) -> tuple:
        """(peak allocated bytes, peak RSS growth) of one step."""
        rss0, _ = _rss()
        _reset_hwm()
        if self.lib is ds:
            ds.reset_peak_memory_stats()
            self.step(x, y, limit)
            peak = ds.max_memory_allocated()
        else:
            from torch.profiler import ProfilerActivity, profile

            fixed = self.state_bytes()
            with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
                self.step(x, y)
            events = sorted((e.start_ns(), e.nbytes()) for e in prof.profiler.kineto_results
                            .events() if e.name() == "[memory]")
            running = top = 0
            for _, nbytes in events:
                running += nbytes
                top = max(top, running)
            peak = fixed + top
        return peak, _rss()[1] - rss0

    def time(self, x, y, limit: int = 0, steps: int = 3) -> float:
        """Median seconds of ``steps`` steps (one step is at the mercy of a noisy machine)."""
        seconds = []
        for _ in range(steps):
            t0 = time.perf_counter()
            self.step(x, y, limit)
            seconds.append(time.perf_counter() - t0)
        return float(np.median(seconds))


def measure(lib, cfg: dict, batch: int, mode: str, limit: int = 0) -> tuple:
    """(peak allocated bytes, peak RSS growth, seconds a step) at ``batch``, once the first step
    has made gradients and AdamW state."""
    gc.collect()  # the previous measurement's model, if in reference cycles, is not this one's
    run = Run(lib, cfg, mode)
    x, y = run.batch(batch)
    run.step(x, y, limit)  # the first step creates gradients and AdamW state
    seconds = run.time(x, y, limit)
    peak, rss = run.peak(x, y, limit)
    return peak, rss, seconds


def largest_batch(lib, cfg: dict, mode: str, limit: int, start: int) -> tuple:
    """(largest batch, its step seconds) that trains under ``limit``: doubling from ``start``,
    then bisection to within 1/8. deepseek runs under the limit (an OutOfMemoryError means it
    does not fit); PyTorch's peak is measured as in :meth:`Run.peak`."""
    run = Run(lib, cfg, mode)
    run.step(*run.batch(1))  # gradients and AdamW state exist before the probes

    def fits(batch: int) -> float:
        x, y = run.batch(batch)
        t0 = time.perf_counter()
        try:
            if lib is ds:
                run.step(x, y, limit)
            elif run.peak(x, y)[0] > limit:
                return 0.0
        except ds.OutOfMemoryError:
            return 0.0
        return time.perf_counter() - t0

    low, high, batch, seconds = 0, 0, start, 0.0
    while not high:
        t = fits(batch)
        if t:
            low, seconds, batch = batch, t, batch * 2
        else:
            high = batch
    while high - low > max(1, low // 8):
        mid = (low + high) // 2
        t = fits(mid)
        if t:
            low, seconds = mid, t
        else:
            high = mid
    return low, seconds


def _row(label: str, *cells: str) -> str:
    return f"{label:<34}" + "".join(f"{c:>16}" for c in cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller batches")
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    deep = dict(layers=8, ctx=256)
    configs = {"W3 (4L ctx128 b16)": (dict(layers=4, ctx=128), 16),
               "GPT 8L ctx256 b8": (deep, 4 if args.quick else 8)}
    print(_row("workload / mode", "ds peak", "ds/eager", "torch peak", "torch/eager",
               "ds step", "torch step", "ds slowdown", "ds/torch RSS"))
    for name, (cfg, batch) in configs.items():
        eager = teager = torch_eager = None
        for mode in ("eager", "checkpoint", "bf16", "offload", "jit"):
            limit = int(eager[0] * OFFLOAD_LIMIT) if mode == "offload" else 0
            peak, rss, t = measure(ds, cfg, batch, mode, limit)
            tpeak = trss = tt = None
            if mode == "jit":
                tpeak, trss, tt = torch_eager
            elif mode != "offload":  # PyTorch has no offload under a limit on the CPU
                tpeak, trss, tt = measure(torch, cfg, batch, mode)
            if mode == "eager":
                eager, teager, torch_eager = (peak, t), tpeak, (tpeak, trss, tt)
            label = f"{name} {mode}" + (f" ({limit / MiB:.0f} MiB limit)" if limit else "")
            print(_row(label, f"{peak / MiB:.1f} MiB", f"{peak / eager[0]:.2f}",
                       f"{tpeak / MiB:.1f} MiB" if tpeak else "n/a",
                       f"{tpeak / teager:.2f}" if tpeak else "n/a", f"{t * 1e3:.0f} ms",
                       f"{tt * 1e3:.0f} ms" if tt else "n/a", f"{t / eager[1]:.2f}x",
                       f"{rss / MiB:.0f}/{trss / MiB:.0f} MiB" if trss else f"{rss / MiB:.0f} MiB"),
                  flush=True)
    print("\nlargest batch of GPT 8L ctx256 under a 1 GiB limit (seconds per step at it):")
    start = 4 if args.quick else 16
    plain = None
    for mode in ("eager", "checkpoint", "offload", "offload+checkpoint"):
        batch, seconds = largest_batch(ds, deep, mode, GiB, start)
        plain = plain or batch
        cell = f"  {mode:<20} ds {batch:4d} ({batch / plain:.1f}x eager, {seconds:.1f} s)"
        if mode in ("eager", "checkpoint"):
            tbatch, tseconds = largest_batch(torch, deep, mode, GiB, start)
            cell += f"   torch {tbatch:4d} ({tseconds:.1f} s)"
        print(cell, flush=True)


if __name__ == "__main__":
    main()
