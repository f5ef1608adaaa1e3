"""LBFGS against torch.optim.LBFGS on a small nonlinear least-squares problem."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from _compare import assert_close, torch_state_to_ds

import deepseek as ds

RNG = np.random.default_rng(0)
A = RNG.standard_normal((6, 4))
B = RNG.standard_normal(6)
X0 = [RNG.standard_normal(4), RNG.standard_normal(2)]


def _problem(lib, dtype: str) -> tuple:
    """Parameters and a closure computing a smooth nonconvex loss and its gradient."""
    params = [lib.tensor(x.astype(dtype), requires_grad=True) for x in X0]
    a, b = lib.tensor(A.astype(dtype)), lib.tensor(B.astype(dtype))

    def loss_fn() -> object:
        w, v = params
        r = lib.tanh(a @ w) * v[0] + v[1] - b
        return (r * r).sum() + 0.1 * (w ** 4).sum()

    return params, loss_fn


def _closure(opt, loss_fn):
    def closure():
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    return closure


@pytest.mark.parametrize("kwargs", [
    dict(),
    dict(lr=0.5, max_iter=7, history_size=3),
    dict(line_search_fn="strong_wolfe"),
    dict(line_search_fn="strong_wolfe", history_size=2, max_iter=5, max_eval=9),
], ids=["fixed", "fixed-short-history", "wolfe", "wolfe-short"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_matches_torch(kwargs: dict, dtype: str) -> None:
    tol = dict(rtol=1e-9, atol=1e-10) if dtype == "float64" else dict(rtol=2e-4, atol=2e-5)
    ours_params, ours_loss = _problem(ds, dtype)
    theirs_params, theirs_loss = _problem(torch, dtype)
    ours = ds.optim.LBFGS(ours_params, **kwargs)
    theirs = torch.optim.LBFGS(theirs_params, **kwargs)
    for k in range(3):
        a = ours.step(_closure(ours, ours_loss))
        b = theirs.step(_closure(theirs, theirs_loss))
        assert_close(a.detach(), b.detach(), f"LBFGS loss at step {k}", **tol)
        for i, (p, q) in enumerate(zip(ours_params, theirs_params)):
            assert_close(p.detach(), q.detach(), f"LBFGS step {k} param {i}", **tol)
    if dtype == "float64":
        ours_state, theirs_state = ours.state_dict(), theirs.state_dict()
        assert set(ours_state["state"][0]) == set(theirs_state["state"][0])
        for key in ("func_evals", "n_iter", "d", "prev_flat_grad", "old_dirs", "old_stps", "ro"):
            assert_close(ours_state["state"][0][key], theirs_state["state"][0][key],
                         f"LBFGS state {key}", **tol)
        assert_close(ours_state["param_groups"], theirs_state["param_groups"], "groups")


def test_resume_from_torch_state() -> None:
    ours_params, ours_loss = _problem(ds, "float64")
    theirs_params, theirs_loss = _problem(torch, "float64")
    theirs = torch.optim.LBFGS(theirs_params, max_iter=4, history_size=3)
    theirs.step(_closure(theirs, theirs_loss))
    for p, q in zip(ours_params, theirs_params):
        p.detach().numpy()[...] = q.detach().numpy()
    ours = ds.optim.LBFGS(ours_params, max_iter=4, history_size=3)
    ours.load_state_dict(torch_state_to_ds(theirs.state_dict()))
    for k in range(2):
        ours.step(_closure(ours, ours_loss))
        theirs.step(_closure(theirs, theirs_loss))
        for i, (p, q) in enumerate(zip(ours_params, theirs_params)):
            assert_close(p.detach(), q.detach(), f"resumed LBFGS step {k} param {i}",
                         rtol=1e-9, atol=1e-10)


def test_errors() -> None:
    w = ds.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="per-parameter options"):
        ds.optim.LBFGS([{"params": [w]}, {"params": [ds.zeros(1, requires_grad=True)]}])
    opt = ds.optim.LBFGS([w], line_search_fn="backtracking")
    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        opt.step(_closure(opt, lambda: ((w - 1) ** 2).sum()))
