"""Training-step time of W1–W3 (bench/workloads.py), deepseek eager vs PyTorch eager, from the
same weights and batch, in one process. (bench/run.py adds ds.jit, torch.compile and memory.)

    python bench/train_step.py [--steps 20] [--only W1]
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from _harness import fmt_time, paired_models, select, time_steps, train_step  # noqa: E402
from workloads import WORKLOADS  # noqa: E402

import deepseek as ds  # noqa: E402
import torch  # noqa: E402


def run(lib, spec, model, x, y, steps):
    return time_steps(train_step(lib, spec, model), lib.from_numpy(x), lib.from_numpy(y), steps)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    print(f"{'workload':<12} {'deepseek':>11} {'torch':>11} {'ratio':>6}  first-step losses")
    for name, spec in select(WORKLOADS, args.only).items():
        tm, dm, (x, y) = paired_models(spec, torch, ds)
        ours, theirs = run(ds, spec, dm, x, y, args.steps), run(torch, spec, tm, x, y, args.steps)
        print(f"{name:<12} {fmt_time(ours['median']):>11} {fmt_time(theirs['median']):>11} "
              f"{ours['median'] / theirs['median']:6.2f}  {ours['first_loss']:.4f} vs "
              f"{theirs['first_loss']:.4f}; after {args.steps + 2}: {ours['last_loss']:.4f} vs "
              f"{theirs['last_loss']:.4f}")


if __name__ == "__main__":
    main()
