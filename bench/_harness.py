"""Timing helpers shared by the benchmarks: medians of repeated runs, printed as ratios."""

from __future__ import annotations

import gc
import time
from typing import Any, Callable

import numpy as np
from workloads import copy_weights, make_step


def median_time(fn: Callable[[], object], repeat: int = 20, number: int = 1,
                warmup: int = 3, best: bool = False) -> float:
    """Median (``best``: least) seconds per call of ``fn`` over ``repeat`` timings of ``number``
    calls each."""
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
    return times[0] if best else times[len(times) // 2]


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


def print_grid(title: str, columns: list, rows: list, baseline: str,
               fmt: Callable[[float], str] = fmt_time) -> None:
    """One line per row: ``(name, {column: number, or a string such as "n/a (reason)"})``, each
    number written by ``fmt`` and followed by its ratio to the ``baseline`` column (below 1.0:
    less than the baseline)."""
    width = max(24, *(len(c) + 2 for c in columns))
    print(f"\n{title}  (ratio: / {baseline})")
    print(f"{'':<14}" + "".join(f"{c:>{width}}" for c in columns))
    for name, cells in rows:
        base = cells.get(baseline)
        line = f"{name:<14}"
        for c in columns:
            value = cells.get(c, "n/a")
            if isinstance(value, str):
                line += f"{value[:width - 1]:>{width}}"
            else:
                ratio = f" x{value / base:5.2f}" if isinstance(base, (int, float)) and base else ""
                line += f"{fmt(value).strip() + ratio:>{width}}"
        print(line)


def time_steps(step: Callable, x: Any, y: Any, steps: int, warmup: int = 2) -> dict:
    """Run a training ``step(x, y)`` (returning the loss) ``1 + warmup + steps`` times: the
    first call's seconds (``first``, compilation included), the last ``steps`` (``times``) and
    their median (``median``), and the losses of the first and last calls."""
    t0 = time.perf_counter()
    first_loss = float(step(x, y).item())
    first = time.perf_counter() - t0
    for _ in range(warmup):
        step(x, y)
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        loss = step(x, y).item()
        times.append(time.perf_counter() - t0)
    return dict(first=first, median=float(np.median(times)), times=times,
                first_loss=first_loss, last_loss=float(loss) if steps else first_loss)


def paired_models(spec: dict, torch: Any, ds: Any) -> tuple:
    """A workload's model built with torch and with deepseek from the same weights, and its
    batch as NumPy arrays: ``(torch model, deepseek model, (x, y))``."""
    torch.manual_seed(0)
    theirs = spec["build"](torch)
    ours = spec["build"](ds)
    copy_weights(theirs, ours, ds)
    return theirs, ours, spec["batch"](np.random.default_rng(0))


def select(workloads: dict, names: str) -> dict:
    """The workloads whose key starts with one of the comma-separated ``names`` (all if empty)."""
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    return {k: v for k, v in workloads.items()
            if not wanted or any(k.split()[0] == n or k == n for n in wanted)}


def train_step(lib: Any, spec: dict, model: Any) -> Callable:
    """The workload's training step on ``model`` (forward, loss, backward, optimizer step)."""
    opt_name, opt_kw = spec["optim"]
    opt = getattr(lib.optim, opt_name)(model.parameters(), **opt_kw)
    return make_step(lib, model, opt, spec["loss"])
