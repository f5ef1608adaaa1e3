"""The one-pass Numba updates of SGD and Adam/AdamW: equal to torch's (SGD bit for bit, Adam
within rounding, since torch's float32 sqrt is not correctly rounded), on parameters large enough
to run threaded, and the NumPy path taken where the kernels do not apply."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _compare import assert_close, fake_grad, set_grads, to_numpy

import deepseek as ds
from deepseek.optim import _kernels

SHAPES = [(7,), (3, 5), (_kernels._PARALLEL_MIN + 3,)]  # serial, serial, threaded
CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9, weight_decay=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3, maximize=True)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.01)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, betas=(0.3, 0.9), amsgrad=True, maximize=True)),
    ("AdamW", dict(lr=0.02, weight_decay=0.3, amsgrad=True)),
]


def _params(dtype: str, shapes: list = SHAPES) -> tuple:
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
    return ([ds.tensor(a.copy(), requires_grad=True) for a in arrays],
            [torch.tensor(a.copy(), requires_grad=True) for a in arrays])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_fused_matches_torch(name: str, kwargs: dict, dtype: str) -> None:
    params = _params(dtype)
    assert _kernels.usable(None, *(p._data for p in params[0]))
    ours = getattr(ds.optim, name)(params[0], **kwargs)
    theirs = getattr(torch.optim, name)(params[1], **kwargs)
    tight = 1e-6 if dtype == "float32" else 1e-14
    for k in range(5):
        set_grads(*params, k)
        ours.step()
        theirs.step()
        for i, (a, b) in enumerate(zip(*params)):
            if name == "SGD":
                np.testing.assert_array_equal(to_numpy(a), to_numpy(b), f"{name} step {k} #{i}")
            else:
                assert_close(a.detach(), b.detach(), f"{name} step {k} #{i}", tight, tight)
    assert_close(ours.state_dict(), theirs.state_dict(), f"{name} state_dict", tight, tight)


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_fused_matches_numpy_path(name: str, kwargs: dict) -> None:
    fused, plain = _params("float32")[0], _params("float32")[0]
    opts = [getattr(ds.optim, name)(ps, **kwargs, fused=f) for ps, f in ((fused, None),
                                                                         (plain, False))]
    for k in range(4):
        for ps in (fused, plain):
            for i, p in enumerate(ps):
                p.grad = ds.tensor(fake_grad(to_numpy(p), k, i))
        for opt in opts:
            opt.step()
    for i, (a, b) in enumerate(zip(fused, plain)):
        np.testing.assert_allclose(to_numpy(a), to_numpy(b), 1e-6, 1e-6, err_msg=f"{name} #{i}")


@pytest.mark.parametrize("name,kwargs", [CASES[1], CASES[6]], ids=["SGD", "AdamW"])
def test_falls_back_where_the_kernels_do_not_apply(name: str, kwargs: dict) -> None:
    """A non-contiguous gradient and bfloat16 parameters take the NumPy path."""
    assert not _kernels.usable(None, np.zeros((4, 3), np.float32).T)
    assert not _kernels.usable(None, ds.ones(3, dtype=ds.bfloat16)._data)
    assert not _kernels.usable(False, np.zeros(3, np.float32))
    ours, theirs = _params("float32", [(3, 4)])
    opt = getattr(ds.optim, name)(ours, **kwargs)
    ref = getattr(torch.optim, name)(theirs, **kwargs)
    for k in range(3):
        g = fake_grad(to_numpy(ours[0]).T.copy(), k, 0)
        ours[0].grad = ds.tensor(g).t()  # a transposed view
        theirs[0].grad = torch.tensor(g).t()
        opt.step()
        ref.step()
    assert_close(ours[0].detach(), theirs[0].detach(), f"{name} non-contiguous grad")

    low = ds.ones(5, dtype=ds.bfloat16, requires_grad=True)
    low_ref = torch.ones(5, dtype=torch.bfloat16, requires_grad=True)
    opt, ref = getattr(ds.optim, name)([low], **kwargs), getattr(torch.optim, name)([low_ref],
                                                                                  **kwargs)
    for _ in range(2):
        low.grad, low_ref.grad = ds.full((5,), 0.5, dtype=ds.bfloat16), torch.full(
            (5,), 0.5, dtype=torch.bfloat16)
        opt.step()
        ref.step()
    np.testing.assert_allclose(low.float().detach().numpy(), low_ref.float().detach().numpy(),
                               rtol=1e-2)
