"""Run a deepseek module and the torch.nn module of the same name on the same weights and
inputs, and compare outputs, gradients (inputs and parameters) and buffers."""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch

import deepseek as ds

TOL = {"float64": (1e-9, 1e-7), "float32": (1e-5, 1e-4)}


def copy_weights(src: torch.nn.Module, dst: ds.nn.Module) -> None:
    """Load torch's state_dict into the deepseek module (strict: names must agree)."""
    state = {k: ds.from_numpy(v.detach().numpy().copy()) for k, v in src.state_dict().items()}
    dst.load_state_dict(state)


def _flat(out: Any) -> list:
    if isinstance(out, (tuple, list)):
        return [x for o in out for x in _flat(o)]
    if hasattr(out, "batch_sizes"):  # PackedSequence
        return _flat(out.data)
    return [] if out is None else [out]


class Const:
    """An array argument that does not require grad (targets the reference rejects grads of)."""

    def __init__(self, array: np.ndarray) -> None:
        self.array = array


def _to(lib: Any, a: Any, grad: bool) -> Any:
    if isinstance(a, Const):
        return _to(lib, a.array, False)
    if not isinstance(a, np.ndarray):
        return a
    t = torch.from_numpy(a.copy()) if lib is torch else ds.from_numpy(a.copy())
    if grad and a.dtype.kind == "f":
        t.requires_grad_(True)
    return t


def _np(t: Any) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        return t.detach().numpy()
    return t.detach().numpy()


def _cast(a: Any, dtype: str) -> Any:
    if isinstance(a, Const):
        return Const(_cast(a.array, dtype))
    return a.astype(dtype) if isinstance(a, np.ndarray) and a.dtype.kind == "f" else a


def close(what: str, got: Any, want: Any, dtype: str) -> None:
    atol, rtol = TOL[dtype]
    assert got is not None, f"{what}: deepseek gave None, torch gave {type(want)}"
    assert tuple(got.shape) == tuple(want.shape), (
        f"{what}: shape {tuple(got.shape)} != torch's {tuple(want.shape)}")
    np.testing.assert_allclose(_np(got), _np(want), atol=atol, rtol=rtol, equal_nan=True,
                               err_msg=f"{what} (atol={atol}, rtol={rtol})")


def compare_module(make: Callable, args: tuple, *, dtype: str = "float64", grad: bool = True,
                   train: bool = False, call: Callable = None, seed: int = 0) -> None:
    """``make(lib)`` builds the module on ``deepseek`` or ``torch``; ``args`` holds NumPy
    arrays (made into tensors of each library) and other values passed as they are;
    ``call(lib, module, *args)`` overrides calling ``module(*args)``."""
    torch.manual_seed(seed)
    t_mod = make(torch).to(getattr(torch, dtype))
    d_mod = make(ds).to(getattr(ds, dtype))
    copy_weights(t_mod, d_mod)
    t_mod.train(train)
    d_mod.train(train)
    rng = np.random.default_rng(seed)
    args = tuple(_cast(a, dtype) for a in args)
    t_args = [_to(torch, a, grad) for a in args]
    d_args = [_to(ds, a, grad) for a in args]
    call = call or (lambda lib, m, *a: m(*a))
    t_out, d_out = _flat(call(torch, t_mod, *t_args)), _flat(call(ds, d_mod, *d_args))
    name = type(t_mod).__name__
    assert len(d_out) == len(t_out), f"{name}: {len(d_out)} outputs, torch gives {len(t_out)}"
    for i, (d, t) in enumerate(zip(d_out, t_out)):
        close(f"{name} output {i}", d, t, dtype)
    for (k, tb), (k2, db) in zip(t_mod.named_buffers(), d_mod.named_buffers()):
        assert k == k2, f"{name}: buffer {k2} where torch has {k}"
        close(f"{name} buffer {k}", db, tb, dtype)
    if not grad:
        return
    t_loss, d_loss = 0, 0
    for d, t in zip(d_out, t_out):
        if t.requires_grad and t.is_floating_point():
            g = rng.standard_normal(tuple(t.shape)).astype(dtype)
            t_loss = t_loss + (t * torch.from_numpy(g)).sum()
            d_loss = d_loss + (d * ds.from_numpy(g)).sum()
    if isinstance(t_loss, int):
        return
    t_loss.backward()
    d_loss.backward()
    for i, (d, t) in enumerate(zip(d_args, t_args)):
        if isinstance(t, torch.Tensor) and t.grad is not None:
            close(f"{name} grad of input {i}", d.grad, t.grad, dtype)
    t_params = dict(t_mod.named_parameters())
    for k, p in d_mod.named_parameters():
        tp = t_params.pop(k)
        if tp.grad is None:
            assert p.grad is None, f"{name}: {k} has a gradient, torch's has none"
        else:
            close(f"{name} grad of {k}", p.grad, tp.grad, dtype)
    assert not t_params, f"{name}: parameters missing in deepseek: {list(t_params)}"
