"""The GEMM floor of W1–W3 (bench/workloads.py): the time a deepseek training step spends in
matrix products if nothing else took any, next to its eager and ds.jit step times.

    python bench/gemm_floor.py [--workloads W3] [--steps 20]

The products of one eager step are recorded (every ``backend.cpu.matmul`` and ``np.matmul``
call, with its real operands) and each is then timed alone, warm, with the same operands
and layout: the sum of their medians is the floor. Eager and jit run the same products, so
``eager / floor`` bounds how much faster than eager any compilation of the step can be while
it keeps the products as they are; ``GF/s`` is the rate the products ran at alone.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _harness import fmt_time, select, time_steps, train_step  # noqa: E402
from workloads import WORKLOADS  # noqa: E402

import deepseek as ds  # noqa: E402
from deepseek.backend import cpu  # noqa: E402


def record_products(step, x, y) -> list:
    """The ``(function, a, b)`` of every matrix product one call of ``step(x, y)`` makes."""
    calls, inside = [], [False]
    originals = cpu.matmul, np.matmul

    def recording(original):
        def product(a, b, *args, **kwargs):
            if inside[0]:  # the NumPy calls inside backend.cpu.matmul are its own
                return original(a, b, *args, **kwargs)
            calls.append((original, a, b))
            inside[0] = True
            try:
                return original(a, b, *args, **kwargs)
            finally:
                inside[0] = False
        return product

    cpu.matmul, np.matmul = (recording(f) for f in originals)
    try:
        step(x, y).item()
    finally:
        cpu.matmul, np.matmul = originals
    return calls


def product_time(fn, a, b, repeat: int = 7) -> float:
    """Median seconds of ``fn(a, b)`` alone, after one warm-up call."""
    fn(a, b)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(a, b)
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def flops(a, b) -> float:
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) if a.ndim > 1 and b.ndim > 1 else ()
    m = a.shape[-2] if a.ndim > 1 else 1
    n = b.shape[-1] if b.ndim > 1 else 1
    return 2.0 * np.prod(batch) * m * a.shape[-1] * n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workloads", default="")
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    print(f"{'workload':<12} {'products':>8} {'GFLOP':>7} {'GF/s':>6} {'floor':>10} "
          f"{'ds eager':>10} {'ds.jit':>10} {'eager/floor':>12} {'eager/jit':>10}")
    for name, spec in select(WORKLOADS, args.workloads).items():
        x, y = (ds.from_numpy(a) for a in spec["batch"](np.random.default_rng(0)))
        model = spec["build"](ds)
        eager, jit = train_step(ds, spec, model), ds.jit(train_step(ds, spec, model))
        t_eager = time_steps(eager, x, y, args.steps)["median"]
        t_jit = time_steps(jit, x, y, args.steps)["median"]
        calls = record_products(eager, x, y)
        floor = sum(product_time(*c) for c in calls)
        work = sum(flops(a, b) for _, a, b in calls) / 1e9
        print(f"{name:<12} {len(calls):>8} {work:>7.2f} {work / floor:>6.0f} "
              f"{fmt_time(floor):>10} {fmt_time(t_eager):>10} {fmt_time(t_jit):>10} "
              f"{t_eager / floor:>12.2f} {t_eager / t_jit:>10.2f}")


if __name__ == "__main__":
    main()
