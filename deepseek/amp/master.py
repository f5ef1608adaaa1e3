"""float32 master weights: a low-precision model whose optimizer updates float32 copies of its
parameters (gradients moved up before each step, weights copied down after)."""

from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from .. import dtypes as _dt
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor

__all__ = ["master_weights"]

_F32 = np.dtype(np.float32)
_PAIRS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # optimizer -> [(model p, master)]


def master_weights(model: Any, optimizer: Any, dtype: Any = _dt.bfloat16) -> Any:
    """Keep ``model``'s parameters in ``dtype`` while ``optimizer`` updates float32 master copies.

    The optimizer's parameters are replaced by float32 copies of the model's current values (so
    call this before training, on a model built in float32 or already in ``dtype``), and the
    model's parameters are cast to ``dtype`` in place. Then each ``optimizer.step()`` (or
    ``GradScaler.unscale_``/``step``) first moves the model's gradients up into the masters'
    ``.grad`` (in float32; the model's ``.grad`` becomes None, so gradients accumulate on the
    model until the step), and copies the updated masters down into the model afterwards. Call
    ``optimizer.zero_grad()`` each iteration as usual. The optimizer's state and state_dict
    hold the masters; their names are in each group's ``"param_names"``. ``step(closure)`` is
    not supported (the closure's gradients would land after they are moved up).

    Args:
        model: the ``nn.Module`` whose parameters ``optimizer`` was built on.
        optimizer: the optimizer (modified in place).
        dtype: the model's low-precision dtype. Default: ``ds.bfloat16``.

    Returns:
        ``optimizer``.

    Example:
        >>> model = ds.nn.Linear(4, 2)
        >>> opt = ds.amp.master_weights(model, ds.optim.SGD(model.parameters(), lr=0.1))
        >>> model.weight.dtype, opt.param_groups[0]["params"][0].dtype
        (deepseek.bfloat16, deepseek.float32)
        >>> model(ds.randn(3, 4, dtype=ds.bfloat16)).float().sum().backward()
        >>> opt.step()
    """
    if optimizer in _PAIRS:
        raise RuntimeError("master_weights() was already applied to this optimizer")
    low = _dt.to_dtype(dtype)
    if not low.is_floating_point:
        raise TypeError(f"master_weights: dtype must be a floating point dtype, got {low}")
    names = {id(p): name for name, p in model.named_parameters()}
    pairs = []
    for group in optimizer.param_groups:
        masters = []
        for p in group["params"]:
            if id(p) not in names:
                raise ValueError("master_weights: the optimizer holds a parameter that is not in "
                                 "the model; build the optimizer on model.parameters()")
            master = Tensor._wrap(p._data.astype(_F32), p._device)
            master.requires_grad_(p.requires_grad)
            if p in optimizer.state:
                optimizer.state[master] = optimizer.state.pop(p)
            with no_grad():
                p.data = p.detach().to(low)
            if p.grad is not None:
                p.grad = p.grad.to(low)
            pairs.append((p, master))
            masters.append(master)
        group["param_names"] = [names[id(p)] for p in group["params"]]
        group["params"] = masters
    _PAIRS[optimizer] = pairs
    optimizer.register_step_pre_hook(lambda opt, args, kwargs: move_grads_to_masters(opt))
    optimizer.register_step_post_hook(lambda opt, args, kwargs: _copy_down(opt))
    return optimizer


def move_grads_to_masters(optimizer: Any) -> None:
    """Move the model's gradients into the float32 masters' ``.grad`` (a no-op for an optimizer
    without master weights, or a parameter with no new gradient)."""
    for p, master in _PAIRS.get(optimizer, ()):
        if p.grad is not None:
            master.grad = Tensor._wrap(p.grad._data.astype(_F32), p._device)
            p.grad = None


def _copy_down(optimizer: Any) -> None:
    for p, master in _PAIRS[optimizer]:
        np.copyto(p._data, master._data, casting="unsafe")
        p._version_box[0] += 1
