"""Time of one ``opt.step()`` on W3's parameters (AdamW) and W1's (SGD, momentum 0.9):
deepseek's NumPy path (``fused=False``) and its one-pass Numba kernels (the default) next to
PyTorch's default (a loop over parameters on the CPU), ``foreach`` and ``fused`` updates.

    python bench/optim_step.py [--workloads W1,W3] [--repeat 30] [--best]

``--best`` prints the least time instead of the median: steadier on a shared machine, where
threaded kernels (ours and torch's) lose most to other processes.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _harness import median_time, paired_models, print_grid, select  # noqa: E402
from workloads import WORKLOADS  # noqa: E402

import deepseek as ds  # noqa: E402
import torch  # noqa: E402

OURS = {"ds NumPy": dict(fused=False), "ds fused": dict(fused=None)}
THEIRS = {"torch": dict(), "torch foreach": dict(foreach=True), "torch fused": dict(fused=True)}


def time_step(lib, model, opt_name: str, opt_kw: dict, repeat: int, best: bool) -> float:
    """Median (``best``: least) seconds of ``opt.step()`` with the gradients fixed (random)."""
    params = list(model.parameters())
    rng = np.random.default_rng(1)
    for p in params:
        p.grad = lib.from_numpy(rng.standard_normal(tuple(p.shape)).astype(np.float32))
    opt = getattr(lib.optim, opt_name)(params, **opt_kw)
    return median_time(opt.step, repeat=repeat, warmup=3, best=best)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workloads", default="W3,W1")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--best", action="store_true", help="least time instead of the median")
    args = parser.parse_args()
    rows = []
    for name, spec in select(WORKLOADS, args.workloads).items():
        opt_name, opt_kw = spec["optim"]
        theirs, ours, _ = paired_models(spec, torch, ds)
        count = sum(p.numel() for p in ours.parameters())
        cells = {}
        for column, extra in OURS.items():
            cells[column] = time_step(ds, ours, opt_name, {**opt_kw, **extra}, args.repeat,
                                      args.best)
        for column, extra in THEIRS.items():
            try:
                cells[column] = time_step(torch, theirs, opt_name, {**opt_kw, **extra},
                                          args.repeat, args.best)
            except Exception as e:  # noqa: BLE001 (a variant this torch build lacks)
                cells[column] = f"n/a ({type(e).__name__})"
        rows.append((f"{name.split()[0]} {opt_name}", cells))
        print(f"{name}: {opt_name} {opt_kw}, {len(list(ours.parameters()))} tensors, "
              f"{count / 1e6:.2f}M parameters")
    stat = "least" if args.best else "median"
    print_grid(f"optimizer step, {stat} of {args.repeat}, {torch.get_num_threads()} threads",
               [*OURS, *THEIRS], rows, "torch")


if __name__ == "__main__":
    main()
