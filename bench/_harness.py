"""Timing helpers shared by the benchmarks: medians of repeated runs, printed as ratios."""

from __future__ import annotations

import gc
import time
from typing import Callable


def median_time(fn: Callable[[], object], repeat: int = 20, number: int = 1,
                warmup: int = 3) -> float:
    """Median seconds per call of ``fn`` over ``repeat`` timings of ``number`` calls each."""
    for _ in range(warmup):
        fn()
    times = []
    gc_was = gc.isenabled()
    gc.disable()
    try:
        for _ in range(repeat):
            t0 = time.perf_counter()
            for _ in range(number):
                fn()
            times.append((time.perf_counter() - t0) / number)
    finally:
        if gc_was:
            gc.enable()
    times.sort()
    return times[len(times) // 2]


def fmt_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:8.2f} us"
    return f"{seconds * 1e3:8.2f} ms"


def print_table(title: str, rows: list) -> None:
    """rows: (name, deepseek seconds, torch seconds or None)."""
    print(f"\n{title}")
    print(f"{'workload':<44} {'deepseek':>12} {'torch':>12} {'ratio':>7}")
    for name, ours, theirs in rows:
        ratio = f"{ours / theirs:7.2f}" if theirs else "    n/a"
        print(f"{name:<44} {fmt_time(ours):>12} {fmt_time(theirs) if theirs else 'n/a':>12} "
              f"{ratio}")
