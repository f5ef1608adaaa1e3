"""Running a deepseek optimizer and torch's of the same name side by side."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

import deepseek as ds

SHAPES = [(3, 4), (5,)]


def to_numpy(x: Any) -> Any:
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    if isinstance(x, ds.Tensor):
        return x.detach().numpy()
    return x


def assert_close(ours: Any, theirs: Any, what: str, rtol: float = 1e-5, atol: float = 1e-6) -> None:
    """Compare shape, then dtype, then values; nested lists, dicts and numbers too."""
    if isinstance(theirs, dict):
        assert set(ours) == set(theirs), f"{what}: keys {sorted(ours)} != {sorted(theirs)}"
        for k in theirs:
            assert_close(ours[k], theirs[k], f"{what}[{k!r}]", rtol, atol)
        return
    if isinstance(theirs, (list, tuple)):
        assert len(ours) == len(theirs), f"{what}: length {len(ours)} != {len(theirs)}"
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_close(a, b, f"{what}[{i}]", rtol, atol)
        return
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, ds.Tensor), f"{what}: {type(ours).__name__} is not a Tensor"
        a, b = to_numpy(ours), to_numpy(theirs)
        assert a.shape == b.shape, f"{what}: shape {a.shape} != {b.shape}"
        assert str(a.dtype) == str(b.dtype), f"{what}: dtype {a.dtype} != {b.dtype}"
        np.testing.assert_allclose(a, b, rtol=rtol, atol=atol, err_msg=what)
        return
    if isinstance(theirs, float):
        np.testing.assert_allclose(float(ours), theirs, rtol=rtol, atol=atol, err_msg=what)
        return
    assert ours == theirs, f"{what}: {ours!r} != {theirs!r}"


def make_params(dtype: str = "float32", seed: int = 0) -> tuple:
    rng = np.random.default_rng(seed)
    arrays = [rng.standard_normal(s).astype(dtype) for s in SHAPES]
    ours = [ds.tensor(a.copy(), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a.copy(), requires_grad=True) for a in arrays]
    return ours, theirs


def fake_grad(x: np.ndarray, step: int, index: int) -> np.ndarray:
    """A gradient that depends on the parameter (so the runs' dynamics matter) and on the step."""
    rng = np.random.default_rng(1000 * step + index)
    noise = rng.standard_normal(x.shape).astype(x.dtype)
    return (2 * (x - 0.5) + noise + 0.1 * x * x * x).astype(x.dtype)


def set_grads(ours: list, theirs: list, step: int) -> None:
    for i, (a, b) in enumerate(zip(ours, theirs)):
        a.grad = ds.tensor(fake_grad(to_numpy(a), step, i))
        b.grad = torch.tensor(fake_grad(to_numpy(b), step, i))


def torch_state_to_ds(state_dict: Any) -> Any:
    """torch's optimizer state_dict with its tensors converted to deepseek tensors."""
    if isinstance(state_dict, torch.Tensor):
        return ds.tensor(state_dict.detach().numpy().copy())
    if isinstance(state_dict, dict):
        return {k: torch_state_to_ds(v) for k, v in state_dict.items()}
    if isinstance(state_dict, (list, tuple)):
        return type(state_dict)(torch_state_to_ds(v) for v in state_dict)
    return state_dict
