"""Adafactor: Adam-like steps from a second moment kept as row and column factors for
parameters of two or more dimensions, with a relative step size and update clipping."""

from __future__ import annotations

import math
from typing import Iterable, Optional, Tuple

import ml_dtypes
import numpy as np

from ..tensor import Tensor
from .optimizer import Optimizer, advance, check, check_real, step_state, zeros_state

__all__ = ["Adafactor"]


def lerp_(start: np.ndarray, end: np.ndarray, weight: float) -> None:
    """``start.lerp_(end, weight)`` for any weight in [0, 1], from the nearer end as torch
    rounds it (so weight 1 gives ``end`` exactly)."""
    if weight < 0.5:
        start += weight * (end - start)
    else:
        np.subtract(end, (end - start) * (1 - weight), out=start)


def _rms(x: np.ndarray) -> float:
    """The root mean square of ``x``, ``x.norm() / sqrt(x.numel())``, in ``x``'s dtype."""
    return float(np.sqrt(np.sum(x * x))) / math.sqrt(x.size)


class Adafactor(Optimizer):
    """Adafactor, as ``torch.optim.Adafactor``.

    At step ``t`` the second moment ``v`` decays with ``1 - beta2_t = t ** beta2_decay``; for a
    parameter of two or more dimensions it is kept as a row factor (mean of ``g^2`` over the
    last dimension) and a column factor (over the second-to-last), and estimated as their
    outer product over the mean row factor. The update ``u = g / sqrt(max(v, eps1^2))`` is
    clipped to RMS ``d`` and applied with the relative step
    ``max(eps2, rms(p)) * min(lr, 1 / sqrt(t))``.

    Args:
        params: parameters or parameter groups.
        lr: the largest relative step size. Default: 1e-2.
        beta2_decay: the exponent of the second moment's decay schedule (``<= 0``).
            Default: -0.8.
        eps: ``(eps1, eps2)``: eps1 floors the second moment (None: the parameter dtype's
            machine epsilon), eps2 the parameter RMS in the step size. Default: (None, 1e-3).
        d: the update RMS clipping threshold (``>= 1``). Default: 1.0.
        weight_decay: decoupled weight decay, ``p *= 1 - lr * weight_decay``. Default: 0.
        foreach: accepted for compatibility (one code path serves both).
        maximize: maximize the objective instead of minimizing. Default: False.

    Example:
        >>> w = ds.zeros(3, 4, requires_grad=True)
        >>> opt = ds.optim.Adafactor([w], lr=0.1)
        >>> (w - 1).square().sum().backward(); opt.step()
        >>> sorted(opt.state[w])
        ['col_var', 'row_var', 'step']
    """

    def __init__(self, params: Iterable, lr: float = 1e-2, beta2_decay: float = -0.8,
                 eps: Tuple[Optional[float], float] = (None, 1e-3), d: float = 1.0,
                 weight_decay: float = 0.0, *, foreach: Optional[bool] = None,
                 maximize: bool = False) -> None:
        check(self, "lr", lr, "Learning rate should be >= 0 but is")
        if not check_real(self, "beta2_decay", beta2_decay) <= 0:
            raise ValueError(f"Adafactor: beta2_decay should be <= 0 but is: {beta2_decay}")
        if not isinstance(eps, (tuple, list)) or len(eps) != 2:
            raise TypeError("Adafactor: eps must be a pair (eps1 or None, eps2), got "
                            f"{type(eps).__name__} {eps!r}")
        if eps[0] is not None:
            check(self, "eps[0]", eps[0], "epsilon1 should be >= 0 but is")
        check(self, "eps[1]", eps[1], "epsilon2 should be >= 0 but is")
        if not check_real(self, "d", d) >= 1:
            raise ValueError(f"Adafactor: Clipping threshold d should be >= 1 but is: {d}")
        check(self, "weight_decay", weight_decay, "weight_decay should be >= 0 but is")
        super().__init__(params, dict(lr=lr, beta2_decay=beta2_decay, eps=tuple(eps), d=d,
                                      weight_decay=weight_decay, foreach=foreach,
                                      maximize=maximize))

    def _init_state(self, p: Tensor, state: dict, group: dict) -> None:
        if p.is_complex():
            raise RuntimeError("Adafactor does not support complex parameters")
        state["step"] = step_state()
        if p.ndim > 1:
            row_shape, col_shape = list(p.shape), list(p.shape)
            row_shape[-1], col_shape[-2] = 1, 1
            dtype = p._data.dtype
            state["row_var"] = Tensor._wrap(np.zeros(row_shape, dtype), p._device)
            state["col_var"] = Tensor._wrap(np.zeros(col_shape, dtype), p._device)
        else:
            state["variance"] = zeros_state(p)

    def _update_group(self, group: dict) -> None:
        lr, decay, beta2_decay, d = (group["lr"], group["weight_decay"], group["beta2_decay"],
                                     group["d"])
        eps1, eps2 = group["eps"]
        for _, x, g, state in self._grads(group):
            floor = ml_dtypes.finfo(x.dtype).eps if eps1 is None else eps1
            step = advance(state)
            weight = step ** beta2_decay
            alpha = max(eps2, _rms(x)) * min(lr, 1 / step ** 0.5)
            if decay:
                x *= 1 - lr * decay
            if g.ndim > 1:
                row_var, col_var = state["row_var"]._data, state["col_var"]._data
                lerp_(row_var, np.mean(g * g, axis=-1, keepdims=True), weight)
                lerp_(col_var, np.mean(g * g, axis=-2, keepdims=True), weight)
                estimate = row_var @ col_var
                estimate /= np.maximum(np.mean(row_var, axis=-2, keepdims=True), floor)
                state["row_var"]._version_box[0] += 1
                state["col_var"]._version_box[0] += 1
            else:
                variance = state["variance"]._data
                lerp_(variance, g * g, weight)
                state["variance"]._version_box[0] += 1
                estimate = variance.copy()
            np.maximum(estimate, floor * floor, out=estimate)
            update = np.sqrt(estimate, out=estimate)
            np.divide(g, update, out=update)
            clip = max(1.0, _rms(update) / d)
            x -= (alpha / clip) * update
