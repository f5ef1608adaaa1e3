"""Training-step time of W1–W3 (bench/workloads.py), deepseek eager vs PyTorch eager, from the
same weights and batch, in one process.

    python bench/train_step.py [--steps 20] [--only W1]
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _harness import fmt_time  # noqa: E402
from workloads import WORKLOADS, copy_weights, make_step  # noqa: E402

import deepseek as ds  # noqa: E402
import torch  # noqa: E402


def run(lib, spec, model, x, y, steps):
    opt_name, opt_kw = spec["optim"]
    opt = getattr(lib.optim, opt_name)(model.parameters(), **opt_kw)
    step = make_step(lib, model, opt, spec["loss"])
    xs, ys = lib.from_numpy(x), lib.from_numpy(y)
    t0 = time.perf_counter()
    first = step(xs, ys).item()
    warm = time.perf_counter() - t0
    times, losses = [], [first]
    for _ in range(steps):
        t0 = time.perf_counter()
        losses.append(step(xs, ys).item())
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), warm, losses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    print(f"{'workload':<12} {'deepseek':>11} {'torch':>11} {'ratio':>6}  first-step losses")
    for name, spec in WORKLOADS.items():
        if args.only and args.only not in name:
            continue
        rng = np.random.default_rng(0)
        x, y = spec["batch"](rng)
        torch.manual_seed(0)
        tm = spec["build"](torch)
        dm = spec["build"](ds)
        copy_weights(tm, dm, ds)
        t_ds, _, l_ds = run(ds, spec, dm, x, y, args.steps)
        t_t, _, l_t = run(torch, spec, tm, x, y, args.steps)
        print(f"{name:<12} {fmt_time(t_ds):>11} {fmt_time(t_t):>11} {t_ds / t_t:6.2f}  "
              f"{l_ds[0]:.4f} vs {l_t[0]:.4f}; after {args.steps}: {l_ds[-1]:.4f} vs "
              f"{l_t[-1]:.4f}")


if __name__ == "__main__":
    main()
