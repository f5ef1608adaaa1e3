"""Generic op tests driven by the OpInfo rows: forward and gradients against PyTorch,
memory layouts, and float64 finite differences."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import deepseek as ds
from opinfo import all_rows
from reference import (assert_close, dtype_name, flat_outputs, grad_wanted, make_inputs, rng_for,
                       scale_tol, to_lib)

ROWS = all_rows()
CASES = [(row, i, s) for row in ROWS for i, s in enumerate(row.samples)]


def _id(case) -> str:
    row, i, s = case
    return f"{row.name}-{s.name or i}"


def _run_both(row, sample, dtype, grad, layout="contiguous"):
    rng = rng_for(row.name, sample.name, dtype)
    arrays = make_inputs(sample, dtype, rng)
    wants = [grad and grad_wanted(a, dtype) for a in sample.args]
    ins_ds = [to_lib(ds, x, a, w, layout) for x, a, w in zip(arrays, sample.args, wants)]
    ins_t = [to_lib(torch, x, a, w, layout) for x, a, w in zip(arrays, sample.args, wants)]
    out_ds = row.fn(ds, *ins_ds, **sample.kwargs)
    out_t = row.fn(torch, *ins_t, **sample.kwargs)
    return ins_ds, ins_t, out_ds, out_t, wants, rng


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_forward(case):
    row, _, sample = case
    for dtype in row.dtypes:
        _, _, out_ds, out_t, _, _ = _run_both(row, sample, dtype, grad=False)
        for k, (a, b) in enumerate(zip(flat_outputs(out_ds), flat_outputs(out_t))):
            atol, rtol = scale_tol(row, dtype_name(b))
            assert_close(f"{row.name}[{sample.name}] output {k} ({dtype})", a, b, atol, rtol,
                         row.sort_output)


def _upstream(outs, rng):
    return [rng.standard_normal(tuple(o.shape)) for o in outs]


def _backward_both(row, sample, dtype, layout="contiguous"):
    ins_ds, ins_t, out_ds, out_t, wants, rng = _run_both(row, sample, dtype, True, layout)
    outs_ds = [o for o in flat_outputs(out_ds) if isinstance(o, ds.Tensor) and o.requires_grad]
    outs_t = [o for o in flat_outputs(out_t) if isinstance(o, torch.Tensor) and o.requires_grad]
    assert len(outs_ds) == len(outs_t), f"{row.name}: differentiable outputs differ"
    if not outs_t:
        return [], []
    gs = _upstream(outs_t, rng)
    np_dt = {"float32": np.float32, "float64": np.float64}[dtype]
    loss_ds = sum((o * ds.tensor(g.astype(np_dt))).sum() for o, g in zip(outs_ds, gs))
    loss_t = sum((o * torch.tensor(g.astype(np_dt))).sum() for o, g in zip(outs_t, gs))
    loss_ds.backward()
    loss_t.backward()
    pairs = [(a.grad, b.grad) for a, b, w in zip(ins_ds, ins_t, wants) if w]
    return pairs, outs_t


GRAD_CASES = [(c, dt) for c in CASES if c[0].grad for dt in ("float32", "float64")
              if dt in c[0].dtypes]


@pytest.mark.parametrize("case,dtype", GRAD_CASES, ids=lambda v: v if isinstance(v, str)
                         else _id(v))
def test_gradients(case, dtype):
    row, _, sample = case
    pairs, _ = _backward_both(row, sample, dtype)
    atol, rtol = scale_tol(row, dtype)
    for k, (a, b) in enumerate(pairs):
        if b is None:
            assert a is None or not np.any(a.numpy()), f"{row.name}: torch has no grad {k}"
            continue
        assert a is not None, f"{row.name}[{sample.name}]: no gradient for input {k}"
        assert_close(f"{row.name}[{sample.name}] grad {k}", a, b, atol * 10, rtol * 10)


@pytest.mark.parametrize("case", [c for c in CASES if c[0].noncontig], ids=_id)
@pytest.mark.parametrize("layout", ["noncontiguous", "negative_stride"])
def test_layouts(case, layout):
    row, _, sample = case
    dtype = row.dtypes[0]
    grad = row.grad and dtype in ("float32", "float64")
    if grad:
        pairs, _ = _backward_both(row, sample, dtype, layout)
        for k, (a, b) in enumerate(pairs):
            if a is not None and b is not None:
                assert_close(f"{row.name} {layout} grad {k}", a, b, row.atol * 10, row.rtol * 10)
    _, _, out_ds, out_t, _, _ = _run_both(row, sample, dtype, False, layout)
    for a, b in zip(flat_outputs(out_ds), flat_outputs(out_t)):
        atol, rtol = scale_tol(row, dtype_name(b))
        assert_close(f"{row.name} {layout}", a, b, atol, rtol, row.sort_output)


def _numeric_jacobian_check(row, sample):
    rng = rng_for("fd", row.name, sample.name)
    arrays = make_inputs(sample, "float64", rng)
    wants = [grad_wanted(a, "float64") for a in sample.args]
    ins = [to_lib(ds, x, a, w) for x, a, w in zip(arrays, sample.args, wants)]
    out = [o for o in flat_outputs(row.fn(ds, *ins, **sample.kwargs))
           if isinstance(o, ds.Tensor) and o.requires_grad]
    if not out:
        return
    gs = [rng.standard_normal(tuple(o.shape)) for o in out]

    def loss_value():
        with ds.no_grad():
            outs = [o for o in flat_outputs(row.fn(ds, *ins, **sample.kwargs))
                    if isinstance(o, ds.Tensor) and o.is_floating_point()]
            return sum(float((o.numpy() * g).sum()) for o, g in zip(outs, gs))

    loss = sum((o * ds.tensor(g)).sum() for o, g in zip(out, gs))
    loss.backward()
    eps = 1e-6
    for k, (t, w) in enumerate(zip(ins, wants)):
        if not w:
            continue
        data = t.detach().numpy()
        analytic = t.grad.numpy() if t.grad is not None else np.zeros_like(data)
        numeric = np.zeros_like(data)
        for idx in np.ndindex(data.shape):
            old = data[idx]
            data[idx] = old + eps
            hi = loss_value()
            data[idx] = old - eps
            lo = loss_value()
            data[idx] = old
            numeric[idx] = (hi - lo) / (2 * eps)
        np.testing.assert_allclose(analytic, numeric, atol=1e-5, rtol=1e-4,
                                   err_msg=f"{row.name}[{sample.name}] input {k}: analytic vs "
                                           "finite-difference gradient (float64)")


@pytest.mark.parametrize("case", [c for c in CASES if c[0].grad and c[0].gradcheck
                                  and "float64" in c[0].dtypes], ids=_id)
def test_finite_differences(case):
    row, _, sample = case
    _numeric_jacobian_check(row, sample)
