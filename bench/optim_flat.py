"""W3's optimizer step (AdamW) with per-parameter tensors vs flat buffers
(``ds.memory.flatten_parameters(model, optimizer=opt)``), plus zero_grad.

    python bench/optim_flat.py
"""

from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from _harness import fmt_time, median_time  # noqa: E402
from workloads import gpt  # noqa: E402

import deepseek as ds  # noqa: E402


def setup(flat: bool):
    ds.manual_seed(0)
    model = gpt(ds)
    opt = ds.optim.AdamW(model.parameters(), lr=3e-4)
    if flat:
        ds.memory.flatten_parameters(model, optimizer=opt)
    rng = np.random.default_rng(0)
    for p in model.parameters():
        if p.grad is None:
            p.grad = ds.zeros_like(p)
        p.grad._data[...] = rng.standard_normal(p.shape).astype(np.float32)
    opt.step()
    return opt


def main() -> None:
    rows = []
    for what in ("step", "zero_grad"):
        t = {}
        for flat in (False, True):
            opt = setup(flat)
            fn = opt.step if what == "step" else (lambda o=opt: o.zero_grad(set_to_none=False))
            t[flat] = median_time(fn, 20, 1)
        rows.append((what, t[False], t[True]))
    print(f"{'W3 AdamW':<12}{'per-param':>12}{'flat':>12}{'flat/per-param':>16}")
    for what, a, b in rows:
        print(f"{what:<12}{fmt_time(a):>12}{fmt_time(b):>12}{b / a:>16.2f}")


if __name__ == "__main__":
    main()
