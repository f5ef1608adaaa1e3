"""Adam and AdamW: one update body; AdamW decouples the weight decay."""

from __future__ import annotations

import math
from typing import Iterable, Tuple

import numpy as np

from ..tensor import Tensor
from . import _kernels
from .optimizer import (
    Optimizer,
    add_ratio_,
    advance,
    apply_weight_decay,
    check_betas,
    ema_square_,
    lerp_,
    step_state,
    zeros_state,
)

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    """Adam, as ``torch.optim.Adam``: bias-corrected moving averages of the gradient and its
    square; ``p -= lr / (1 - beta1^t) * m / (sqrt(v / (1 - beta2^t)) + eps)``.

    Args:
        params: parameters or parameter groups.
        lr: learning rate. Default: 1e-3.
        betas: decay rates of the two moving averages. Default: (0.9, 0.999).
        eps: added to the denominator. Default: 1e-8.
        weight_decay: L2 penalty (decoupled with ``decoupled_weight_decay``). Default: 0.
        amsgrad: use the running maximum of the second moment. Default: False.
        maximize: maximize the objective instead of minimizing. Default: False.
        fused: update each parameter in one multi-threaded pass (float32/float64 contiguous
            arrays); None: wherever it applies, False: never. Default: None.
        decoupled_weight_decay: decay the weights directly, as AdamW. Default: False.

    Example:
        >>> w = ds.zeros(3, requires_grad=True)
        >>> opt = ds.optim.Adam([w], lr=0.1)
        >>> (w - 1).square().sum().backward(); opt.step()
    """

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: Tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, foreach=None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused=None, decoupled_weight_decay: bool = False) -> None:
        check_betas(self, lr, eps, betas, weight_decay)
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize, foreach=foreach, capturable=capturable,
                                      differentiable=differentiable, fused=fused,
                                      decoupled_weight_decay=decoupled_weight_decay))

    _sparse_refusal = "Adam does not support sparse gradients, please consider SparseAdam instead"

    def _init_state(self, p: Tensor, state: dict, group: dict) -> None:
        state["step"] = step_state()
        state["exp_avg"] = zeros_state(p)
        state["exp_avg_sq"] = zeros_state(p)
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = zeros_state(p)

    def _update_group(self, group: dict) -> None:
        lr, (beta1, beta2), eps = group["lr"], group["betas"], group["eps"]
        decay, decoupled = group["weight_decay"], group["decoupled_weight_decay"]
        keys = 3 if group["amsgrad"] else 2
        for _, x, g, state in self._grads(group):
            step = advance(state)
            moments = [state[k] for k in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")[:keys]]
            if _kernels.usable(group.get("fused"), x, g, *(t._data for t in moments)):
                arrays = [t._data for t in moments] + [None] * (3 - keys)
                _kernels.adam_(x, g, *arrays, lr, beta1, beta2, eps, decay, decoupled, step)
                for t in moments:
                    t._version_box[0] += 1
                continue
            g = apply_weight_decay(x, g, decay, lr, decoupled)
            m, v = state["exp_avg"]._data, state["exp_avg_sq"]._data
            tmp = np.empty_like(x)
            lerp_(m, g, 1 - beta1, tmp)
            ema_square_(v, g, beta2, tmp)
            if group["amsgrad"]:
                v_max = state["max_exp_avg_sq"]._data
                np.maximum(v_max, v, out=v_max)
                v = v_max
            np.sqrt(v, out=tmp)
            tmp /= math.sqrt(1 - beta2 ** step)
            tmp += eps
            add_ratio_(x, m, tmp, -lr / (1 - beta1 ** step), tmp)


class AdamW(Adam):
    """AdamW, as ``torch.optim.AdamW``: Adam with decoupled weight decay
    (``p *= 1 - lr * weight_decay`` before the update).

    Args:
        params: parameters or parameter groups.
        lr: learning rate. Default: 1e-3.
        betas: decay rates of the two moving averages. Default: (0.9, 0.999).
        eps: added to the denominator. Default: 1e-8.
        weight_decay: decoupled weight decay. Default: 1e-2.
        amsgrad: use the running maximum of the second moment. Default: False.
        maximize: maximize the objective instead of minimizing. Default: False.
        fused: update each parameter in one multi-threaded pass (float32/float64 contiguous
            arrays); None: wherever it applies, False: never. Default: None.
    """

    def __init__(self, params: Iterable, lr: float = 1e-3,
                 betas: Tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 foreach=None, capturable: bool = False, differentiable: bool = False,
                 fused=None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable, differentiable=differentiable,
                         fused=fused, decoupled_weight_decay=True)
