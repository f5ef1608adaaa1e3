"""The benchmark table: W1–W3 (bench/workloads.py) trained with deepseek eager, ds.jit, PyTorch
eager and torch.compile, from the same weights and batch.

    python bench/run.py [--workloads W1,W3] [--steps 20] [--rounds 3] [--quick]

Each cell runs in fresh subprocesses, so the libraries are measured alike, and in rounds: every
column of a workload once per round, so that the machine's drift over minutes (large on shared
hosts) moves all columns alike instead of the ratios:
- step: median seconds of ``--steps`` training steps, split over the rounds, each round's after
  a first call and two warm-up steps;
- first call: seconds of the first round's first step (tracing/compilation included);
- peak RSS: growth of the process's resident-set high-water mark (``ru_maxrss``) from just before
  the first step to the end (the largest of the rounds): activations, gradients, optimizer
  state, workspaces, caches;
- traced (deepseek only): peak of the Python/NumPy allocations tracemalloc sees during one step.
A cell that raises or runs past its time limit prints ``n/a (reason)``. Ratios are to torch eager.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _harness import fmt_time, paired_models, print_grid, select, time_steps, train_step  # noqa: E402,E501
from workloads import WORKLOADS  # noqa: E402

COLUMNS = ["ds eager", "ds.jit", "torch eager", "torch.compile"]
BASELINE = "torch eager"


def _rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def run_cell(workload: str, column: str, steps: int) -> dict:
    """Time one cell in this process (a fresh one: see :func:`spawn_cell`)."""
    import deepseek as ds
    import torch

    spec = WORKLOADS[workload]
    theirs, ours, (x, y) = paired_models(spec, torch, ds)
    lib, model = (ds, ours) if column.startswith("ds") else (torch, theirs)
    step = train_step(lib, spec, model)
    if column == "ds.jit":
        step = ds.jit(step)
    elif column == "torch.compile":
        step = torch.compile(step)
    xs, ys = lib.from_numpy(x), lib.from_numpy(y)
    before = _rss()
    result = time_steps(step, xs, ys, steps)
    result["rss"] = _rss() - before
    if lib is ds:
        tracemalloc.start()
        start = tracemalloc.get_traced_memory()[0]
        step(xs, ys)
        result["traced"] = tracemalloc.get_traced_memory()[1] - start
        tracemalloc.stop()
    return result


def spawn_cell(workload: str, column: str, steps: int, timeout: float) -> dict:
    """Run :func:`run_cell` in a subprocess; a failure becomes ``{"error": reason}``."""
    command = [sys.executable, __file__, "--cell", workload, column, "--steps", str(steps)]
    t0 = time.perf_counter()
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                             check=False)
    except subprocess.TimeoutExpired:
        return {"error": f"over {timeout:.0f} s"}
    lines = out.stdout.strip().splitlines()
    if out.returncode or not lines:
        tail = (out.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": tail}
    result = json.loads(lines[-1])
    result["wall"] = time.perf_counter() - t0
    return result


def _mib(n: float) -> str:
    return f"{n / 2**20:.1f} MiB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workloads", default="W1,W2,W3")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true",
                        help="5 steps and a 60 s limit per cell: a smoke run, not a measurement")
    parser.add_argument("--timeout", type=float, default=150, help="seconds per cell")
    parser.add_argument("--cell", nargs=2, metavar=("WORKLOAD", "COLUMN"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.steps, args.rounds, args.timeout = min(args.steps, 5), 1, min(args.timeout, 60)
    if args.cell:
        try:
            result = run_cell(*args.cell, args.steps)
        except Exception as e:  # noqa: BLE001 (reported as the cell's reason)
            result = {"error": f"{type(e).__name__}: {e}".splitlines()[0]}
        print(json.dumps(result))
        return

    results = {}
    per_round = -(-args.steps // args.rounds)
    for name in select(WORKLOADS, args.workloads):
        rounds: dict = {column: [] for column in COLUMNS}
        for r in range(args.rounds):
            for column, done in rounds.items():
                if done and "error" in done[0]:
                    continue
                done.append(spawn_cell(name, column, per_round, args.timeout))
                status = done[-1].get("error") or fmt_time(done[-1]["median"]).strip()
                print(f"  {name} / {column} round {r + 1}: {status}", file=sys.stderr,
                      flush=True)
        results[name] = {column: _merge(done) for column, done in rounds.items()}
    print_grid(f"training step, median of {per_round * args.rounds} in {args.rounds} rounds",
               COLUMNS, _rows(results, "median"), BASELINE)
    print_grid("first call (tracing/compilation included)", COLUMNS, _rows(results, "first"),
               BASELINE)
    print_grid("peak RSS growth while training (ru_maxrss delta, fresh process per cell)",
               COLUMNS, _rows(results, "rss"), BASELINE, fmt=_mib)
    print_grid("peak traced allocation during one step (tracemalloc, deepseek only)",
               COLUMNS[:2], _rows(results, "traced"), "ds eager", fmt=_mib)


def _merge(rounds: list) -> dict:
    """One cell's result from its rounds' (the first error, if any)."""
    if "error" in rounds[0]:
        return rounds[0]
    times = [t for r in rounds for t in r["times"]]
    return dict(rounds[0], median=float(np.median(times)), rss=max(r["rss"] for r in rounds))


def _rows(results: dict, metric: str) -> list:
    """One metric of every cell: its number, or ``n/a (reason)``."""
    return [(name, {column: result[metric] if metric in result else
                    f"n/a ({result.get('error', 'not measured')})"
                    for column, result in cells.items()})
            for name, cells in results.items()]


if __name__ == "__main__":
    main()
